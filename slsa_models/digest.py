"""Streaming SHA-256 and sha256sum-format subjects.

Files are read in 1 MiB chunks into one reused buffer, so memory stays flat
whatever the file size. Subjects are byte-identical to ``sha256sum`` output,
which is what slsa-github-generator's ``base64-subjects`` input parses.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from slsa_models.errors import InputError

CHUNK_SIZE = 1 << 20
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")  # \Z: "$" would accept a trailing newline


def sha256_stream(
    stream: BinaryIO, on_progress: Callable[[int], None] | None = None
) -> tuple[str, int]:
    """Hash a binary stream to its end; return (hex digest, bytes read)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    total = 0
    while True:
        read = stream.readinto(buffer)  # type: ignore[attr-defined]
        if not read:
            break
        digest.update(view[:read])
        total += read
        if on_progress is not None:
            on_progress(read)
    return digest.hexdigest(), total


def open_input(path: str | os.PathLike[str], buffering: int = -1) -> BinaryIO:
    """Open a regular local file for reading, or raise InputError saying in one line why not
    (a FIFO or a device is refused instead of hanging or streaming forever)."""
    from slsa_models.untrusted import open_regular_file

    return open(open_regular_file(path, what="file"), "rb", buffering=buffering)


def sha256_file(
    path: str | os.PathLike[str], on_progress: Callable[[int], None] | None = None
) -> str:
    """Hex SHA-256 of a file, streamed."""
    with open_input(path, buffering=0) as stream:
        return sha256_stream(stream, on_progress)[0]


def normalize_sha256(value: str) -> str:
    """Accept ``sha256:HEX`` or ``HEX``; return lowercase HEX or raise InputError."""
    hex_part = value[len("sha256:"):] if value.lower().startswith("sha256:") else value
    hex_part = hex_part.lower()
    if not _HEX64.match(hex_part):
        raise InputError(f"not a SHA-256 digest: {value!r} (expected sha256:<64 hex digits>)")
    return hex_part


def subject_line(sha256_hex: str, name: str) -> str:
    """One sha256sum line: ``<hex>  <name>\\n``."""
    if "\n" in name or "\\" in name:
        raise InputError(f"subject name cannot contain a newline or backslash: {name!r}")
    return f"{normalize_sha256(sha256_hex)}  {name}\n"


def subjects_for_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """sha256sum-format lines for files, each named as given (as ``sha256sum`` does)."""
    return "".join(subject_line(sha256_file(p), os.fspath(p)) for p in paths)


def subjects_base64(subjects: str) -> str:
    """The generator's ``base64-subjects`` value: base64 of the lines, no line breaks."""
    return base64.b64encode(subjects.encode("utf-8")).decode("ascii")


@dataclass(frozen=True, slots=True)
class Digest:
    """A SHA-256 digest: ``str()`` is ``sha256:<hex>``, ``.hex`` the 64 lowercase hex digits.

    ``Digest.parse`` accepts ``sha256:HEX`` or bare ``HEX`` (any case) and nothing
    else, so code passes one value around instead of juggling prefixes.
    """

    hex: str

    def __post_init__(self) -> None:
        if not isinstance(self.hex, str) or not _HEX64.match(self.hex) or len(self.hex) != 64:
            raise InputError(f"not a SHA-256 digest: {self.hex!r} (expected 64 lowercase hex digits)")

    @classmethod
    def parse(cls, value: object) -> Digest:
        if isinstance(value, Digest):
            return value
        if not isinstance(value, str):
            raise InputError(f"not a SHA-256 digest: {value!r} (expected sha256:<64 hex digits>)")
        return cls(normalize_sha256(value))

    def __str__(self) -> str:
        return f"sha256:{self.hex}"

    @property
    def short(self) -> str:
        """The first 12 hex digits, for names and logs."""
        return self.hex[:12]
