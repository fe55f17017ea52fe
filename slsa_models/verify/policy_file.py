"""Policy files: what one deployment trusts, in TOML, read into a ``Policy``.

One table per kind of evidence; a table holds only the rules its kind can
check (the same names as the verifier's flags, see ``flags.POLICY_FLAGS``)::

    version = 2                                  # required: this format
    require = ["slsa-github-generator", "local-builder"]   # optional; default: any kind passes
    accept-unnamed = false                       # optional: evidence naming no model may count

    [slsa-github-generator]                      # provenance from the SLSA generic generator
    source-uri = "github.com/acme/models"        # required in this table
    builder-id = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0"
                                                 # optional; default: the slsa-github-generator builders
    source-versioned-tag = "v1"                  # or source-tag = "v1.4.0"; not both
    source-branch = "main"                       # optional
    triggers = ["push", "release"]               # optional: the events a build may come from
    trusted-root = "trusted_root.json"           # optional; default: Sigstore public good

    [slsa-github-generator.build-workflow-inputs]   # optional: inputs of a workflow_dispatch run
    epochs = "5"

    [github-attestation]                         # GitHub artifact attestations: the same keys,
    repo = "acme/models"                         # and gh attestation verify's: one of owner, repo
    signer-workflow = "acme/models/.github/workflows/train.yml"  # or source-uri; signer-repo,
    source-ref = "refs/heads/main"               # signer-workflow, cert-identity[-regex] (default:
    deny-self-hosted-runners = true              # a workflow of repo, or of owner's repositories),
    # cert-oidc-issuer, hostname, source-ref, source-digest, signer-digest, predicate-type;
    # deny-self-hosted-runners defaults to true here (false only when written)

    [local-builder.gpu-box]                      # a local builder; one table per key
    builder-id = "https://ci.example.com/builders/gpu-box"   # required: no default builder
    public-key = "keys/gpu-box.pub.pem"          # relative to this file; or public-key-pem = "..."
    expires = 2027-01-01                         # optional: TOML date, or date-time with offset
    source-uri = "github.com/acme/models"        # optional: the checkout the build must record

    [oms]                                        # OpenSSF model signing signatures (model_signing)
    public-key = ["keys/release.pub.pem"]        # signers, at least one of: public keys (PEM files),
    certificate-chain = ["keys/root-ca.pem"]     # root certificates, or a Sigstore identity with
    identity = "release@acme.com"                # its OIDC issuer (identity-provider; trusted-root
    identity-provider = "https://accounts.google.com"   # optional: a TrustedRoot/ClientTrustConfig)
    ignore-paths = ["README.md"]                 # optional: files or folders of the model left out
    ignore-unsigned-files = false                # optional

    [deployer.stack]                             # keys trusted to sign deployment records (serving)
    public-key = "keys/deployer.pub.pem"

Anything else (an unknown key, a rule in a table whose kind cannot check it,
a bad semantic version, an unreadable key, a date without a time zone, both a
tag and a versioned tag, a ``require`` naming a kind without a table) is
refused with one line naming the file, the table and the problem.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slsa_models.errors import InputError, PolicyError
from slsa_models.flags import ATTESTATION_FILE_KEYS, GITHUB_KINDS, OMS_FLAGS, POLICY_FLAGS
from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL, KIND_OMS
from slsa_models.provenance.keys import load_public_key
from slsa_models.untrusted import read_regular_file
from slsa_models.verify.keys import TrustedKey, public_key_from_pem
from slsa_models.verify.policy import (
    AttestationPolicy,
    GeneratorPolicy,
    GitHubBuildRules,
    LocalBuilderPolicy,
    OMSPolicy,
    Policy,
)

FORMAT_VERSION = 2
DEPLOYER = "deployer"
TOP_KEYS = ("version", "require", "accept-unnamed", KIND_GENERATOR, KIND_GITHUB_ATTESTATION,
            KIND_LOCAL, KIND_OMS, DEPLOYER)
OMS_KEYS = tuple(flag.key for flag in OMS_FLAGS)
# Table keys come from the flag table: a kind's table takes the flags that kind can check.
GITHUB_KEYS = tuple(f.key for f in POLICY_FLAGS if f.kinds & GITHUB_KINDS and f.dest != "public_key") \
    + ("triggers",)
ATTESTATION_KEYS = GITHUB_KEYS + ATTESTATION_FILE_KEYS
KEY_MATERIAL = ("public-key", "public-key-pem", "expires")
LOCAL_KEYS = tuple(f.key for f in POLICY_FLAGS if KIND_LOCAL in f.kinds and f.dest != "public_key") \
    + KEY_MATERIAL
DEPLOYER_KEYS = KEY_MATERIAL
GITHUB_TYPES: dict[str, type[GitHubBuildRules]] = {
    KIND_GENERATOR: GeneratorPolicy, KIND_GITHUB_ATTESTATION: AttestationPolicy,
}
V1_HINT = ("rename [github] to [slsa-github-generator] (copy it to [github-attestation] to trust "
           "GitHub attestations too) and [local.NAME] to [local-builder.NAME], move trusted-root "
           "into those tables, then set version = 2")
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

    def error(self, message: str) -> PolicyError:
        return PolicyError(f"{self.path}: {message}")

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

    def relative(self, value: str, where: str) -> Path:
        """A path named in the file (at ``where``: table and key), relative to the file; refused
        if no file system could hold it (control characters, a NUL, more than 4096 characters)."""
        if len(value) > 4096 or any(ord(char) < 32 or char == "\x7f" for char in value):
            raise self.error(f"{where} {value[:60]!r}: not a usable path (control characters, "
                             "or longer than 4096 characters)")
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.path.parent / path


def _read(path: Path) -> dict[str, Any]:
    data = read_regular_file(path, max_bytes=MAX_POLICY_BYTES, what="policy file",
                             hint="; is this a policy file?")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected a TOML policy file") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply; is this a policy file?") from None
    except ValueError:  # an integer of more than 4300 digits
        raise InputError(f"{path}: a number with more than 4300 digits; is this a policy file?") from None


def _github(reader: _Reader, kind: str, table: object) -> GitHubBuildRules:
    where = f"[{kind}]"
    if not isinstance(table, dict):
        raise reader.error(f"{kind} must be a table ({where}), got {_type_name(table)}")
    attestation = kind == KIND_GITHUB_ATTESTATION
    reader.table(table, ATTESTATION_KEYS if attestation else GITHUB_KEYS, f"in {where}")
    strings = ("source-uri", "builder-id", "source-tag", "source-versioned-tag", "source-branch") \
        + (tuple(key for key in ATTESTATION_FILE_KEYS if key != "deny-self-hosted-runners")
           if attestation else ())
    fields: dict[str, Any] = {
        key.replace("-", "_"): value for key in strings
        if (value := reader.string(table, key, where)) is not None or key == "source-uri"
    }
    if attestation:
        if all(fields.get(name) is None for name in ("source_uri", "repo", "owner")):
            raise reader.error(f"{where} needs one of owner, repo or source-uri: where the attestation "
                               "must come from, e.g. repo = \"OWNER/REPO\"")
        deny = table.get("deny-self-hosted-runners", True)
        if not isinstance(deny, bool):
            raise reader.error(f"{where} deny-self-hosted-runners: expected true or false, got "
                               f"{_type_name(deny)}")
        fields["deny_self_hosted_runners"] = deny
    elif fields["source_uri"] is None:
        raise reader.error(f"{where} needs source-uri: the repository GitHub builds must come from, "
                           "e.g. source-uri = \"github.com/OWNER/REPO\"")
    if fields.get("source_tag") is not None and fields.get("source_versioned_tag") is not None:
        raise reader.error(f"{where} sets both source-tag and source-versioned-tag: conflicting "
                           "ref rules; keep one (an exact tag, or a semantic-version match)")
    triggers = table.get("triggers", [])
    if not isinstance(triggers, list) or not all(isinstance(t, str) and t.strip() for t in triggers):
        raise reader.error(f"{where} triggers: expected an array of GitHub event names, "
                           "e.g. triggers = [\"push\", \"release\"]")
    fields["triggers"] = tuple(triggers)
    inputs = table.get("build-workflow-inputs", {})
    if not isinstance(inputs, dict):
        raise reader.error(f"{where} build-workflow-inputs: expected a table of names and string "
                           f"values, got {_type_name(inputs)}")
    for name, value in inputs.items():
        if not isinstance(value, str):
            raise reader.error(f"[{kind}.build-workflow-inputs] {name}: expected a string, got "
                               f"{_type_name(value)} (workflow inputs are strings: quote it)")
    fields["build_workflow_inputs"] = inputs
    root = reader.string(table, "trusted-root", where)
    if root is not None:
        fields["trusted_root"] = reader.relative(root, f"{where} trusted-root:")
        try:
            found = fields["trusted_root"].is_file()
        except OSError:  # e.g. a name longer than the file system allows
            found = False
        if not found:
            raise reader.error(f"{where} trusted-root: {fields['trusted_root']}: no such file")
    try:
        return GITHUB_TYPES[kind](**fields)
    except InputError as error:
        raise reader.error(f"{where} {error}") from None


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


def _trusted_key(reader: _Reader, section: str, name: str, table: object,
                 allowed: tuple[str, ...]) -> TrustedKey:
    """One ``[<section>.<name>]`` table: a public key and the rules ``allowed`` in it."""
    where = f"[{section}.{name}]"
    if not isinstance(table, dict):
        raise reader.error(f"{section}.{name} must be a table ({where}), got {_type_name(table)}")
    reader.table(table, allowed, f"in {where}")
    path = reader.string(table, "public-key", where)
    pem = reader.string(table, "public-key-pem", where)
    if (path is None) == (pem is None):
        raise reader.error(f"{where} needs exactly one of public-key (a PEM file) and "
                           "public-key-pem (the PEM text)")
    file = None if path is None else reader.relative(path, f"{where} public-key:")  # names the file: not in the try
    try:
        if file is not None:
            key = load_public_key(file)
        else:
            key = public_key_from_pem(pem or "", "public-key-pem")
    except InputError as error:
        prefix = "public-key: " if path is not None else ""
        raise reader.error(f"{where} {prefix}{error}") from None
    rules = {"builder_id": reader.string(table, "builder-id", where),
             "source_uri": reader.string(table, "source-uri", where),
             "expires": _expiry(reader, table.get("expires"), where)}
    if section == KIND_LOCAL and rules["builder_id"] is None:
        raise reader.error(f"{where} needs builder-id: key-signed provenance has no default "
                           "trusted builder")
    try:
        return TrustedKey(name=name, public_key=key, **rules)
    except InputError as error:
        raise reader.error(f"{where} {error}") from None


def _keys(reader: _Reader, section: str, table: object, allowed: tuple[str, ...]) -> tuple[TrustedKey, ...]:
    if not isinstance(table, dict) or not table:
        raise reader.error(f"{section} must hold one table per key, e.g. [{section}.NAME], "
                           f"got {_type_name(table) if table else 'an empty table'}")
    return tuple(_trusted_key(reader, section, name, entry, allowed) for name, entry in table.items())


def _paths(reader: _Reader, table: Mapping[str, Any], key: str, where: str) -> list[str]:
    """A string or an array of strings (non-empty)."""
    value = table.get(key, [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise reader.error(f"{where} {key}: expected a string or an array of non-empty strings")
    return values


def _oms(reader: _Reader, table: object) -> OMSPolicy:
    """The [oms] table: who may sign OMS signatures, and the paths left out."""
    from slsa_models.oms.trust import OMSKey, load_certificates

    where = "[oms]"
    if not isinstance(table, dict):
        raise reader.error(f"oms must be a table ({where}), got {_type_name(table)}")
    reader.table(table, OMS_KEYS, f"in {where}")
    key_files = [(path, reader.relative(path, f"{where} public-key:"))
                 for path in _paths(reader, table, "public-key", where)]
    chain_files = [reader.relative(path, f"{where} certificate-chain:")
                   for path in _paths(reader, table, "certificate-chain", where)]
    try:
        keys = tuple(OMSKey.from_file(path, name=name) for name, path in key_files)
        chain = load_certificates(chain_files)
    except InputError as error:
        raise reader.error(f"{where} {error}") from None
    root = reader.string(table, "trusted-root", where)
    trusted_root = None if root is None else reader.relative(root, f"{where} trusted-root:")
    unsigned = table.get("ignore-unsigned-files", False)
    if not isinstance(unsigned, bool):
        raise reader.error(f"{where} ignore-unsigned-files: expected true or false, got {_type_name(unsigned)}")
    identity = reader.string(table, "identity", where)  # read outside the try: their errors
    provider = reader.string(table, "identity-provider", where)  # name the file already
    ignore_paths = tuple(_paths(reader, table, "ignore-paths", where))
    try:
        return OMSPolicy(public_keys=keys, certificate_chain=chain, identity=identity, identity_provider=provider,
                         trusted_root=trusted_root, ignore_paths=ignore_paths, ignore_unsigned_files=unsigned)
    except InputError as error:
        message = str(error)
        raise reader.error(f"[oms] {message[len('oms: '):]}" if message.startswith("oms: ") else message) from None


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read a TOML policy file (see this module's docstring); PolicyError names any problem."""
    path = Path(path)
    reader = _Reader(path)
    document = _read(path)
    version = document.get("version")
    if version == 1 and not isinstance(version, bool):
        raise reader.error(f"version 1 policy files are not read any more: {V1_HINT}")
    if version != FORMAT_VERSION or isinstance(version, bool):
        shown = "missing" if version is None else repr(version)
        raise reader.error(f"version {shown} is not supported; this slsa-models reads version = "
                           f"{FORMAT_VERSION}")
    reader.table(document, TOP_KEYS, "at the top level")
    kinds: list[Any] = [_github(reader, kind, document[kind]) for kind in GITHUB_TYPES if kind in document]
    if KIND_LOCAL in document:
        keys = _keys(reader, KIND_LOCAL, document[KIND_LOCAL], LOCAL_KEYS)
        try:
            kinds.append(LocalBuilderPolicy(keys))
        except InputError as error:
            raise reader.error(str(error)) from None
    if KIND_OMS in document:
        kinds.append(_oms(reader, document[KIND_OMS]))
    if not kinds:
        raise reader.error("trusts nothing: add a [slsa-github-generator], [github-attestation] or "
                           "[local-builder.NAME] table")
    deployers = (_keys(reader, DEPLOYER, document[DEPLOYER], DEPLOYER_KEYS)
                 if DEPLOYER in document else ())
    require = document.get("require", [])
    if not isinstance(require, list) or not all(isinstance(kind, str) for kind in require):
        raise reader.error("require: expected an array of evidence kinds, e.g. "
                           "require = [\"slsa-github-generator\", \"local-builder\"]")
    accept_unnamed = document.get("accept-unnamed", False)
    if not isinstance(accept_unnamed, bool):
        raise reader.error(f"accept-unnamed: expected true or false, got {_type_name(accept_unnamed)}")
    try:
        return Policy(*kinds, require=require, accept_unnamed=accept_unnamed, deployers=deployers)
    except InputError as error:
        raise reader.error(str(error)) from None
