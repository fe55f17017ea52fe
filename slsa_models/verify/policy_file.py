"""Policy files: what one deployment trusts, in TOML, read into a ``Policy``.

The keys are the verifier's flags without the dashes in front, and mean the
same. One file can trust GitHub provenance and local builders' keys at once::

    version = 1                                  # optional; the only version is 1
    trusted-root = "trusted_root.json"           # optional; default: Sigstore public good

    [github]                                     # Sigstore-signed provenance from GitHub Actions
    source-uri = "github.com/acme/models"        # required in this table
    builder-id = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0"
                                                 # optional; default: the slsa-github-generator builders
    source-versioned-tag = "v1"                  # or source-tag = "v1.4.0"; not both
    source-branch = "main"                       # optional
    triggers = ["push", "release"]               # optional: the events a build may come from

    [github.build-workflow-inputs]               # optional: inputs of a workflow_dispatch run
    epochs = "5"

    [local.gpu-box]                              # a local builder; one table per key
    builder-id = "https://ci.example.com/builders/gpu-box"   # required: no default builder
    public-key = "keys/gpu-box.pub.pem"          # relative to this file; or public-key-pem = "..."
    expires = 2027-01-01                         # optional: TOML date, or date-time with offset
    source-uri = "github.com/acme/models"        # optional: the checkout the build must record

The ``[github]`` rules apply to Sigstore-signed provenance (its certificate
vouches for repository, ref and trigger); a local builder's provenance is
judged by its ``[local.NAME]`` table. Paths are relative to the policy file.
Anything else (an unknown key, a bad semantic version, an unreadable key, a
date without a time zone, both a tag and a versioned tag) is refused with one
line naming the file, the table and the problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slsa_models.errors import InputError
from slsa_models.provenance.keys import load_public_key
from slsa_models.verify import semver
from slsa_models.verify.keys import TrustedKey, public_key_from_pem
from slsa_models.verify.policy import Policy

FORMAT_VERSION = 1
TOP_KEYS = ("version", "trusted-root", "github", "local")
GITHUB_KEYS = ("source-uri", "builder-id", "source-tag", "source-versioned-tag", "source-branch",
               "triggers", "build-workflow-inputs")
LOCAL_KEYS = ("builder-id", "public-key", "public-key-pem", "expires", "source-uri")
MAX_POLICY_BYTES = 1024 * 1024

_TOML_TYPES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
               list: "an array", dict: "a table", dt.datetime: "a date-time", dt.date: "a date",
               dt.time: "a time"}


def _type_name(value: object) -> str:
    return _TOML_TYPES.get(type(value), type(value).__name__)


class _Reader:
    """Reads one policy file; every error names the file and the table."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, message: str) -> InputError:
        return InputError(f"{self.path}: {message}")

    def table(self, document: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in document:
            if key not in allowed:
                raise self.error(f"unknown key {key!r} {where}; expected one of: {', '.join(allowed)}")

    def string(self, table: Mapping[str, Any], key: str, where: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            shown = "an empty string" if isinstance(value, str) else _type_name(value)
            raise self.error(f"{where} {key}: expected a non-empty string, got {shown}")
        return value

    def relative(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.path.parent / path


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_POLICY_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such policy file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a policy file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the policy file: {error.strerror}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise InputError(f"{path}: larger than 1 MiB; is this a policy file?")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected a TOML policy file") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None


def _github(reader: _Reader, table: object) -> dict[str, Any]:
    where = "in [github]"
    if not isinstance(table, dict):
        raise reader.error(f"github must be a table ([github]), got {_type_name(table)}")
    reader.table(table, GITHUB_KEYS, where)
    fields: dict[str, Any] = {
        key.replace("-", "_"): reader.string(table, key, "[github]")
        for key in ("source-uri", "builder-id", "source-tag", "source-versioned-tag", "source-branch")
    }
    if fields["source_uri"] is None:
        raise reader.error("[github] needs source-uri: the repository GitHub builds must come from, "
                           "e.g. source-uri = \"github.com/OWNER/REPO\"")
    if fields["source_tag"] is not None and fields["source_versioned_tag"] is not None:
        raise reader.error("[github] sets both source-tag and source-versioned-tag: conflicting "
                           "ref rules; keep one (an exact tag, or a semantic-version match)")
    versioned = fields["source_versioned_tag"]
    if versioned is not None and not semver.is_valid(versioned):
        raise reader.error(f"[github] source-versioned-tag {versioned!r} is not a semantic version; "
                           "expected vMAJOR, vMAJOR.MINOR or vMAJOR.MINOR.PATCH")
    triggers = table.get("triggers", [])
    if not isinstance(triggers, list) or not all(isinstance(t, str) and t.strip() for t in triggers):
        raise reader.error("[github] triggers: expected an array of GitHub event names, "
                           "e.g. triggers = [\"push\", \"release\"]")
    fields["triggers"] = tuple(triggers)
    inputs = table.get("build-workflow-inputs", {})
    if not isinstance(inputs, dict):
        raise reader.error("[github] build-workflow-inputs: expected a table of names and string "
                           f"values, got {_type_name(inputs)}")
    for name, value in inputs.items():
        if not isinstance(value, str):
            raise reader.error(f"[github.build-workflow-inputs] {name}: expected a string, got "
                               f"{_type_name(value)} (workflow inputs are strings: quote it)")
    fields["build_workflow_inputs"] = inputs
    return fields


def _expiry(reader: _Reader, value: object, where: str) -> dt.datetime | None:
    """A TOML date (midnight UTC), a date-time with an offset, or the same as a string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = (dt.date.fromisoformat(value) if len(value) == 10
                     else dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise reader.error(f"{where} expires {value!r} is not a date; expected a date like "
                               "2027-01-31 or a date-time like 2027-01-31T00:00:00Z") from None
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise reader.error(f"{where} expires {value.isoformat()} has no time zone; write "
                               f"{value.isoformat()}Z (UTC) or a date like {value.date().isoformat()}")
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise reader.error(f"{where} expires: expected a date or a date-time, got {_type_name(value)}")


def _local_key(reader: _Reader, name: str, table: object) -> TrustedKey:
    where = f"[local.{name}]"
    if not isinstance(table, dict):
        raise reader.error(f"local.{name} must be a table ({where}), got {_type_name(table)}")
    reader.table(table, LOCAL_KEYS, f"in {where}")
    builder_id = reader.string(table, "builder-id", where)
    if builder_id is None:
        raise reader.error(f"{where} needs builder-id: key-signed provenance has no default "
                           "trusted builder")
    path = reader.string(table, "public-key", where)
    pem = reader.string(table, "public-key-pem", where)
    if (path is None) == (pem is None):
        raise reader.error(f"{where} needs exactly one of public-key (a PEM file) and "
                           "public-key-pem (the PEM text)")
    try:
        if path is not None:
            key = load_public_key(reader.relative(path))
        else:
            key = public_key_from_pem(pem or "", "public-key-pem")
    except InputError as error:
        prefix = "public-key: " if path is not None else ""
        raise reader.error(f"{where} {prefix}{error}") from None
    expires = _expiry(reader, table.get("expires"), where)
    source_uri = reader.string(table, "source-uri", where)
    try:
        return TrustedKey(name=name, public_key=key, builder_id=builder_id, expires=expires,
                          source_uri=source_uri)
    except InputError as error:
        raise reader.error(f"{where} {error}") from None


def _local(reader: _Reader, table: object) -> tuple[TrustedKey, ...]:
    if not isinstance(table, dict):
        raise reader.error("local must hold one table per builder, e.g. [local.gpu-box], "
                           f"got {_type_name(table)}")
    return tuple(_local_key(reader, name, entry) for name, entry in table.items())


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read a TOML policy file (see this module's docstring); InputError names any problem."""
    path = Path(path)
    reader = _Reader(path)
    document = _read(path)
    reader.table(document, TOP_KEYS, "at the top level")
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise reader.error(f"version {version!r} is not supported; this slsa-models reads "
                           f"version {FORMAT_VERSION}")
    if "github" not in document and not document.get("local"):
        raise reader.error("trusts nothing: add a [github] table (GitHub provenance) or a "
                           "[local.NAME] table (a local builder's public key)")
    fields = _github(reader, document["github"]) if "github" in document else {}
    keys = _local(reader, document.get("local", {}))
    root = reader.string(document, "trusted-root", "top-level")
    trusted_root = reader.relative(root) if root is not None else None
    if trusted_root is not None and not trusted_root.is_file():
        raise reader.error(f"trusted-root: {trusted_root}: no such file")
    try:
        github = Policy(**fields)
    except InputError as error:
        raise reader.error(f"[github] {error}") from None
    try:
        return dataclasses.replace(github, public_keys=keys, trusted_root=trusted_root)
    except InputError as error:
        raise reader.error(str(error)) from None
