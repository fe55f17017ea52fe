"""Key layout of the artifact store, the same under an S3 prefix and a local directory.

    models/<model>/sha256-<hex>/<file>                 model bytes, write-once
    models/<model>/sha256-<hex>/<folder>.manifest      a folder model: its manifest, whose SHA-256 is <hex>
    models/<model>/sha256-<hex>/<folder>/<path>        the folder's files, write-once
    models/<model>/sha256-<hex>/<file>.intoto.jsonl    their provenance (the generator's file name)
    models/<model>/sha256-<hex>/<file>.<12 hex>.intoto.jsonl   more evidence, one key per piece
    deployments/<model>/current.json                   the signed record of what is deployed (CAS)
    deployments/<model>/history/<10-digit sequence>.json   one signed record per decision, a hash chain

Keys are plain relative paths. A key component never starts with '.', which
leaves dot-names free for the file backend's temp, lock and sidecar files.
"""

from __future__ import annotations

import re

from slsa_models.digest import normalize_sha256
from slsa_models.errors import InputError

PROVENANCE_SUFFIX = ".intoto.jsonl"
MAX_KEY_LENGTH = 1024

_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_COMPONENT = re.compile(r"[A-Za-z0-9_+=@,~-][A-Za-z0-9._+=@,~-]{0,254}")
_MODEL_KEY = re.compile(r"models/([^/]+)/sha256-([0-9a-f]{64})/([^/]+)")


def validate_model_name(name: str) -> str:
    """Return ``name`` if it is a usable model name, else raise InputError."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InputError(
            f"invalid model name {name!r}: use 1-128 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )
    return name


def validate_file_name(name: str) -> str:
    """Return ``name`` if it can be the last component of a key, else raise InputError."""
    if not isinstance(name, str) or not _COMPONENT.fullmatch(name):
        raise InputError(
            f"invalid file name {name!r}: use letters, digits and '._+=@,~-',"
            " no '/', not starting with '.'"
        )
    return name


def validate_key(key: str) -> str:
    """Return ``key`` if it is a relative store key of valid components, else raise InputError."""
    if not isinstance(key, str) or not key:
        raise InputError(f"invalid store key {key!r}: it is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InputError(f"invalid store key {key[:40]!r}...: longer than {MAX_KEY_LENGTH} characters")
    for part in key.split("/"):
        if not _COMPONENT.fullmatch(part):
            raise InputError(
                f"invalid store key {key!r}: component {part!r} must be letters, digits"
                " and '._+=@,~-', not empty and not starting with '.'"
            )
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: '' or a key whose last component may be partial or empty."""
    if not isinstance(prefix, str):
        raise InputError(f"invalid store prefix {prefix!r}: not a string")
    if prefix:
        head, slash, last = prefix.rpartition("/")
        parts = (head.split("/") if slash else []) + ([last] if last else [])
        for part in parts:
            if not _COMPONENT.fullmatch(part):
                raise InputError(
                    f"invalid store prefix {prefix!r}: component {part!r} must be letters, digits"
                    " and '._+=@,~-', not empty and not starting with '.'"
                )
    return prefix


def model_prefix(model_name: str) -> str:
    """``models/<model>/``: every stored version of one model."""
    return f"models/{validate_model_name(model_name)}/"


def model_key(model_name: str, sha256_hex: str, file_name: str) -> str:
    """``models/<model>/sha256-<hex>/<file>``; accepts ``sha256:HEX`` or ``HEX``."""
    return (
        f"{model_prefix(model_name)}sha256-{normalize_sha256(sha256_hex)}/"
        f"{validate_file_name(file_name)}"
    )


def provenance_key(model_key: str) -> str:
    """Where the provenance of a model object lives: the generator's own file name."""
    parse_model_key(model_key)
    return model_key + PROVENANCE_SUFFIX


def parse_model_key(key: str) -> tuple[str, str, str]:
    """Split a model key into (model name, sha256 hex, file name)."""
    match = _MODEL_KEY.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise InputError(f"not a model key: {key!r} (expected models/<model>/sha256-<hex>/<file>)")
    model, hex_digest, file_name = match.groups()
    return validate_model_name(model), hex_digest, validate_file_name(file_name)


MANIFEST_SUFFIX = ".manifest"


def is_folder_key(model_key: str) -> bool:
    """Whether a model key names a folder model's manifest (see ``folder_key``)."""
    return parse_model_key(model_key)[2].endswith(MANIFEST_SUFFIX)


def folder_key(model_name: str, manifest_sha256: str, folder_name: str) -> str:
    """``models/<model>/sha256-<manifest hex>/<folder>.manifest``: the key that names a folder model.

    The manifest plays the part of the model file: its digest is the folder's, its
    evidence sits beside it, and the deploy records and serving name it.
    """
    validate_file_name(folder_name)
    return model_key(model_name, manifest_sha256, folder_name + MANIFEST_SUFFIX)


def folder_prefix(manifest_key: str) -> str:
    """``models/<model>/sha256-<manifest hex>/<folder>/``: where a folder model's files are."""
    if not is_folder_key(manifest_key):
        raise InputError(f"not a folder model key: {manifest_key!r}")
    return f"{manifest_key[:-len(MANIFEST_SUFFIX)]}/"


def folder_file_key(manifest_key: str, relative_path: str) -> str:
    """``models/<model>/sha256-<manifest hex>/<folder>/<relative path>``: one file of a folder model."""
    key = folder_prefix(manifest_key) + relative_path
    try:
        return validate_key(key)
    except InputError:
        raise InputError(f"the file {relative_path!r} cannot be stored: each part of its path must be "
                         "letters, digits and '._+=@,~-', not starting with '.' (leave it out with "
                         "--ignore-paths)") from None


def folder_name(manifest_key: str) -> str:
    """The folder's name: the manifest's file name without ``.manifest``."""
    return parse_model_key(manifest_key)[2][:-len(MANIFEST_SUFFIX)]


def current_key(model_name: str) -> str:
    """``deployments/<model>/current.json``: the deployed model, replaced by compare-and-swap."""
    return f"deployments/{validate_model_name(model_name)}/current.json"


def history_prefix(model_name: str) -> str:
    """``deployments/<model>/history/``: append-only decision records."""
    return f"deployments/{validate_model_name(model_name)}/history/"


def evidence_key(model_key: str, evidence_sha256: str) -> str:
    """A further piece of evidence next to the model: ``<model key>.<12 hex>.intoto.jsonl``.

    The generator's own name (``provenance_key``) holds the first piece; others never
    replace it (nor each other), they get their own write-once keys.
    """
    parse_model_key(model_key)
    return f"{model_key}.{normalize_sha256(evidence_sha256)[:12]}{PROVENANCE_SUFFIX}"


def is_evidence_of(key: str, model_key: str) -> bool:
    """Whether ``key`` is a piece of evidence of the model at ``model_key``."""
    if key == model_key + PROVENANCE_SUFFIX:
        return True
    middle = key[len(model_key):] if key.startswith(model_key + ".") else ""
    return bool(re.fullmatch(r"\.[0-9a-f]{12}" + re.escape(PROVENANCE_SUFFIX), middle))


HISTORY_DIGITS = 10


def history_key(model_name: str, sequence: int) -> str:
    """``deployments/<model>/history/<sequence, 10 digits>.json``: sorts in decision order."""
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 <= sequence < 10**HISTORY_DIGITS:
        raise InputError(f"invalid history sequence {sequence!r}")
    return f"{history_prefix(model_name)}{sequence:0{HISTORY_DIGITS}d}.json"


def history_sequence(key: str) -> int | None:
    """The sequence of a history key, or None for any other key under the history prefix."""
    match = re.search(r"/history/([0-9]{%d})\.json$" % HISTORY_DIGITS, key)
    return int(match.group(1)) if match else None
