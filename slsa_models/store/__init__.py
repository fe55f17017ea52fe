"""The artifact store: content-addressed, write-once objects plus compare-and-swap pointers.

``open_store("s3://bucket/prefix")`` or ``open_store("file:///abs/dir")`` (a plain
local path works too). boto3 is imported only when an S3 store is opened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from slsa_models.errors import InputError, MissingObjectError
from slsa_models.store import layout
from slsa_models.store.base import (
    SMALL_OBJECT_LIMIT,
    ArtifactStore,
    StoredObject,
)
from slsa_models.store.file import FileStore

__all__ = [
    "SMALL_OBJECT_LIMIT",
    "ArtifactStore",
    "FileStore",
    "MissingObjectError",
    "StoredObject",
    "layout",
    "open_store",
]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
MIB = 1 << 20
# S3 tuning from the environment: (variable, S3Store argument, unit in bytes)
S3_TUNING_ENV = (
    ("SLSA_MODELS_S3_CONCURRENCY", "max_concurrency", 1),
    ("SLSA_MODELS_S3_PART_SIZE_MIB", "part_size", MIB),
    ("SLSA_MODELS_S3_DOWNLOAD_PART_SIZE_MIB", "download_part_size", MIB),
)


def _s3_tuning() -> dict[str, int]:
    """The S3 store's transfer settings set in the environment (S3_TUNING_ENV); the store
    checks their ranges. A value that is not a whole number is one line."""
    options = {}
    for variable, option, unit in S3_TUNING_ENV:
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        if not re.fullmatch(r"[0-9]+", value):  # not isdigit(): it takes "²", which int() refuses
            raise InputError(f"{variable} must be a whole number, got {value!r}")
        options[option] = int(value) * unit
    return options


def open_store(
    uri: str,
    *,
    endpoint_url: str | None = None,
    path_style: bool | None = None,
    multipart_threshold: int | None = None,
    part_size: int | None = None,
) -> ArtifactStore:
    """Open ``s3://bucket[/prefix]``, ``file:///abs/dir`` or a plain local directory path.

    ``endpoint_url``, ``path_style``, ``multipart_threshold`` and ``part_size``
    apply to S3 only, as do ``SLSA_MODELS_S3_CONCURRENCY`` (parts in transfer at once,
    1..64, default 8), ``SLSA_MODELS_S3_PART_SIZE_MIB`` (upload parts, at least 5, default
    16) and ``SLSA_MODELS_S3_DOWNLOAD_PART_SIZE_MIB`` (ranged GETs, default 8) from the
    environment. Opening makes no request; errors surface on first use.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InputError(f"empty store URI {uri!r}: use s3://bucket/prefix or file:///path")
    scheme_match = _SCHEME.match(uri)
    if scheme_match is None:
        return FileStore(Path(uri).expanduser().absolute())
    scheme = scheme_match.group(1).lower()
    parts = urlsplit(uri)
    if scheme == "s3" and uri[3:5] == "//":
        if parts.query or parts.fragment:
            raise InputError(f"store URI {uri!r} cannot have a query or fragment")
        if not parts.netloc:
            raise InputError(f"store URI {uri!r} names no bucket: use s3://bucket/prefix")
        from slsa_models.store.s3 import S3Store

        options = _s3_tuning()  # the environment; arguments given here win
        options.update({
            name: value
            for name, value in (("multipart_threshold", multipart_threshold), ("part_size", part_size))
            if value is not None
        })
        return S3Store(
            parts.netloc, parts.path, endpoint_url=endpoint_url, path_style=path_style, **options
        )
    if scheme == "file":
        if uri[5:7] != "//" or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InputError(f"file store URI {uri!r} must be file:///absolute/path")
        if parts.query or parts.fragment:
            raise InputError(f"store URI {uri!r} cannot have a query or fragment")
        return FileStore(Path(unquote(parts.path)))
    raise InputError(f"unsupported store URI {uri!r}: use s3://bucket/prefix or file:///path")
