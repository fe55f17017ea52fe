"""The OpenSSF Model Signing (OMS) format: the signature file and its signed manifest.

An OMS signature (``model.sig``, written by ``model_signing`` from
sigstore/model-transparency) is a Sigstore bundle whose DSSE payload is an
in-toto Statement v1 with predicate type ``https://model_signing/signature/v1.0``:

    subject:   [{name: <model name, informative>, digest: {sha256: <root>}}]
    predicate: {serialization: {method: files|shards, hash_type, allow_symlinks,
                                [shard_size], [ignore_paths]},
                resources: [{name, algorithm, digest}, ...]}

``<root>`` is the SHA-256 of the concatenated resource digests (in resource
order). A ``files`` resource is a relative POSIX path (``.`` for a model that
is one file); a ``shards`` resource is ``path:start:end``. model_signing v0.2
wrote predicate type ``https://model_signing/Digests/v0.1`` with one subject per
file instead. Who signed is in the bundle's verification material: a key hint
(``publicKey``, the key kind), an X.509 chain without log entries (the
certificate kind), or a Fulcio certificate with a Rekor entry (the Sigstore kind).

Parsing here never trusts anything: ``parse_bundle`` reads the structure;
``parse_manifest`` reads the payload only after its signature verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from slsa_models.errors import ProvenanceError, StatementError
from slsa_models.manifest import validate_relative_path
from slsa_models.untrusted import loads_json

PREDICATE_TYPE = "https://model_signing/signature/v1.0"
PREDICATE_TYPE_V02 = "https://model_signing/Digests/v0.1"  # model_signing v0.2 (compat)
PREDICATE_TYPES = (PREDICATE_TYPE, PREDICATE_TYPE_V02)
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"  # what model_signing writes
MEDIA_TYPES = frozenset({
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    MEDIA_TYPE,
})
SIGNER_KEY = "key"
SIGNER_CERTIFICATE = "certificate"
SIGNER_SIGSTORE = "sigstore"
FILES, SHARDS = "files", "shards"
HASH_TYPES = ("sha256",)
MAX_RESOURCES = 1_000_000
_SHARD = re.compile(r"(.+):(0|[1-9][0-9]*):([1-9][0-9]*)")


@dataclass(frozen=True)
class OMSBundle:
    """An OMS signature file, parsed but not verified."""

    label: str
    media_type: str
    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]
    signer: str  # key | certificate | sigstore
    key_hint: str | None = None  # the key kind's hint (hex SHA-256 of the public key PEM)
    chain: tuple[bytes, ...] = ()  # the certificate kind's chain (DER), leaf first
    sigstore_bundle: Any = field(default=None, repr=False)  # sigstore-python's Bundle (sigstore kind)


def _b64(value: object, where: str, label: str) -> bytes:
    if not isinstance(value, str):
        raise ProvenanceError(f"{label}: {where}: expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProvenanceError(f"{label}: {where}: not valid base64") from None


def peek_predicate_type(document: dict[str, Any]) -> str | None:
    """The predicate type a bundle's DSSE payload claims, read WITHOUT verifying (for
    classification only); None when there is none to read."""
    envelope = document.get("dsseEnvelope")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), str):
        return None
    try:
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
    except (ValueError, binascii.Error, RecursionError):
        return None
    value = statement.get("predicateType") if isinstance(statement, dict) else None
    return value if isinstance(value, str) else None


def base64_cores(text: bytes) -> tuple[bytes, ...]:
    """For each of base64's three alignments, the characters of the encoding of ``text`` that
    do not depend on the bytes around it: base64 of any bytes holding ``text`` contains one."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + text)
        cores.append(encoded[-(-shift * 8 // 6):(shift + len(text)) * 8 // 6])
    return tuple(cores)


_OMS_PREDICATE_CORES = base64_cores(b"https://model_signing/")  # every OMS predicate type's prefix


def may_be_oms(raw: bytes) -> bool:
    """False when ``raw`` (a bundle's bytes) cannot hold a base64 payload naming an OMS predicate
    type, so the common case skips parsing the bundle twice. True is only "maybe": a payload
    spelling the type with JSON escapes is missed here, and then refused by the verifier that
    reads it (its predicate type is no SLSA provenance), never accepted."""
    return any(core in raw for core in _OMS_PREDICATE_CORES)


def is_oms_document(document: dict[str, Any]) -> bool:
    return peek_predicate_type(document) in PREDICATE_TYPES


def parse_bundle(label: str, raw: bytes, document: dict[str, Any] | None = None) -> OMSBundle:
    """Read an OMS signature's structure; ProvenanceError (one line) when it is not one."""
    if document is None:
        try:
            document = loads_json(raw, label, error=ProvenanceError)
        except (ValueError, UnicodeDecodeError):
            raise ProvenanceError(f"{label}: not JSON; expected an OMS signature (a Sigstore bundle)") from None
    if not isinstance(document, dict):
        raise ProvenanceError(f"{label}: not a JSON object; expected an OMS signature (a Sigstore bundle)")
    media_type = document.get("mediaType")
    if not isinstance(media_type, str) or media_type not in MEDIA_TYPES:  # a dict is not hashable
        raise ProvenanceError(f"{label}: media type {media_type!r} is not a Sigstore bundle "
                              f"(expected {MEDIA_TYPE!r})")
    envelope = document.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise ProvenanceError(f"{label}: no DSSE envelope (dsseEnvelope); not an OMS signature")
    payload = _b64(envelope.get("payload"), "dsseEnvelope.payload", label)
    payload_type = envelope.get("payloadType")
    if not isinstance(payload_type, str):
        raise ProvenanceError(f"{label}: dsseEnvelope.payloadType: expected a string")
    raw_signatures = envelope.get("signatures")
    if not isinstance(raw_signatures, list) or not raw_signatures:
        raise ProvenanceError(f"{label}: DSSE envelope without signatures")
    signatures = tuple(_b64(sig.get("sig") if isinstance(sig, dict) else None,
                            f"dsseEnvelope.signatures[{index}].sig", label)
                       for index, sig in enumerate(raw_signatures))
    material = document.get("verificationMaterial")
    if not isinstance(material, dict):
        raise ProvenanceError(f"{label}: no verificationMaterial; cannot tell who signed")
    entries = material.get("tlogEntries") or []
    common: dict[str, Any] = {"label": label, "media_type": media_type, "payload_type": payload_type,
                              "payload": payload, "signatures": signatures}
    if "publicKey" in material:
        key = material["publicKey"]
        hint = key.get("hint") if isinstance(key, dict) else None
        if hint is not None and not isinstance(hint, str):
            raise ProvenanceError(f"{label}: verificationMaterial.publicKey.hint: expected a string")
        return OMSBundle(signer=SIGNER_KEY, key_hint=hint or None, **common)
    if "certificate" in material or entries:
        return OMSBundle(signer=SIGNER_SIGSTORE, sigstore_bundle=_sigstore_bundle(label, raw), **common)
    chain = material.get("x509CertificateChain")
    certificates = chain.get("certificates") if isinstance(chain, dict) else None
    if not isinstance(certificates, list) or not certificates:
        raise ProvenanceError(f"{label}: verificationMaterial holds no public key hint, certificate "
                              "chain or certificate; cannot tell who signed")
    ders = tuple(_b64(cert.get("rawBytes") if isinstance(cert, dict) else None,
                      f"x509CertificateChain.certificates[{index}].rawBytes", label)
                 for index, cert in enumerate(certificates))
    return OMSBundle(signer=SIGNER_CERTIFICATE, chain=ders, **common)


def _sigstore_bundle(label: str, raw: bytes) -> Any:
    from sigstore.models import Bundle

    from slsa_models.verify.bundle import _describe_bundle_error

    try:
        return Bundle.from_json(raw)
    except Exception as error:  # noqa: BLE001 - InvalidBundle, ValueError, pydantic errors
        raise ProvenanceError(f"{label}: not a valid Sigstore bundle: {_describe_bundle_error(error)}") from None


@dataclass(frozen=True)
class SignedManifest:
    """The verified manifest: what was signed, per resource."""

    model_name: str
    method: str  # files | shards
    hash_type: str
    allow_symlinks: bool
    ignore_paths: tuple[str, ...]
    resources: dict[str, str]  # name -> hex (files: path or "."; shards: path:start:end)
    shard_size: int | None = None
    predicate_type: str = PREDICATE_TYPE

    @property
    def is_single_file(self) -> bool:
        return self.method == FILES and list(self.resources) == ["."]

    def shard_files(self) -> dict[str, list[tuple[int, int, str]]]:
        """Shards by file: path -> sorted [(start, end, hex)]."""
        files: dict[str, list[tuple[int, int, str]]] = {}
        for name, digest in self.resources.items():
            path, start, end = split_shard(name)
            files.setdefault(path, []).append((start, end, digest))
        return {path: sorted(shards) for path, shards in files.items()}


def split_shard(name: str) -> tuple[str, int, int]:
    match = _SHARD.fullmatch(name)
    if match is None:
        raise StatementError(f"shard resource {name!r}: expected PATH:START:END")
    return match.group(1), int(match.group(2)), int(match.group(3))


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise StatementError(f"OMS statement: {where}: expected a non-empty string")
    return value


def _hex(value: object, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise StatementError(f"OMS statement: {where}: expected a SHA-256 as 64 lowercase hex digits")
    return value


def _resource_name(name: str, method: str) -> str:
    if method == SHARDS:
        path, start, end = split_shard(name)
        if end <= start:
            raise StatementError(f"shard resource {name!r}: its end is not after its start")
        if path != ".":  # a one-file model's shards are ".:START:END"
            validate_statement_path(path)
    elif name != ".":
        validate_statement_path(name)
    return name


def validate_statement_path(path: str) -> str:
    try:
        return validate_relative_path(path)
    except Exception:  # noqa: BLE001 - InputError; a signed path that could leave the folder
        raise StatementError(f"OMS statement: resource {path!r} is not a relative path inside "
                             "the model") from None


def parse_manifest(payload_type: str | None, payload: bytes) -> SignedManifest:
    """The manifest a VERIFIED payload signs; StatementError (one line) when it is not OMS."""
    if payload_type != PAYLOAD_TYPE:
        raise StatementError(f"DSSE payload type {payload_type!r} is not {PAYLOAD_TYPE!r}")
    try:
        statement = loads_json(payload, "OMS statement", error=StatementError)
    except (ValueError, UnicodeDecodeError):
        raise StatementError("the signed payload is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        shown = statement.get("_type") if isinstance(statement, dict) else None
        raise StatementError(f"statement type {shown!r} is not {STATEMENT_TYPE!r}")
    predicate_type = statement.get("predicateType")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not all(isinstance(s, dict) for s in subjects):
        raise StatementError("OMS statement: subject: expected a list of objects")
    if predicate_type == PREDICATE_TYPE_V02:
        return _parse_v02(subjects)
    if predicate_type != PREDICATE_TYPE:
        raise StatementError(f"predicate type {predicate_type!r} is not an OMS signature "
                             f"({PREDICATE_TYPE!r})")
    if len(subjects) != 1:
        raise StatementError(f"OMS statement: expected one subject, got {len(subjects)}")
    model_name = _text(subjects[0].get("name"), "subject name")
    digest = subjects[0].get("digest")
    root = _hex(digest.get("sha256") if isinstance(digest, dict) else None, "subject digest sha256")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise StatementError("OMS statement: predicate: expected an object")
    serialization = predicate.get("serialization")
    if not isinstance(serialization, dict):
        raise StatementError("OMS statement: predicate.serialization: expected an object")
    method = serialization.get("method")
    if method not in (FILES, SHARDS):
        raise StatementError(f"OMS statement: serialization method {method!r} is not supported "
                             "(files or shards)")
    allow_symlinks = serialization.get("allow_symlinks", False)
    if not isinstance(allow_symlinks, bool):
        raise StatementError("OMS statement: serialization.allow_symlinks: expected true or false")
    ignore = serialization.get("ignore_paths", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        raise StatementError("OMS statement: serialization.ignore_paths: expected a list of paths")
    shard_size = None
    if method == SHARDS:
        size = serialization.get("shard_size")
        # protobuf's Struct (model_signing's writer) stores numbers as doubles: 1024.0
        if isinstance(size, bool) or not isinstance(size, int | float) or not math.isfinite(size) \
                or size != int(size) or size < 1:
            raise StatementError(f"OMS statement: shard size {size!r}: expected a positive integer")
        shard_size = int(size)
    hash_type = serialization.get("hash_type")
    if method == SHARDS and hash_type == f"sha256-sharded-{shard_size}":
        hash_type = "sha256"  # model_signing 0.3 named the shards' hash so
    if hash_type not in HASH_TYPES:
        raise StatementError(f"OMS statement: hash type {hash_type!r} is not supported (sha256)")
    resources = predicate.get("resources")
    if not isinstance(resources, list) or len(resources) > MAX_RESOURCES:
        raise StatementError("OMS statement: predicate.resources: expected a list of resources")
    hasher = hashlib.sha256()
    names: dict[str, str] = {}
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict):
            raise StatementError(f"OMS statement: resource {index}: expected an object")
        name = _resource_name(_text(resource.get("name"), f"resource {index} name"), method)
        algorithm = resource.get("algorithm")
        expected_algorithm = hash_type if method == FILES else f"{hash_type}-sharded-{shard_size}"
        if algorithm not in (hash_type, expected_algorithm):
            raise StatementError(f"OMS statement: resource {name!r}: algorithm {algorithm!r} is not "
                                 f"{expected_algorithm!r}")
        value = _hex(resource.get("digest"), f"resource {name!r} digest")
        if name in names:
            raise StatementError(f"OMS statement: resource {name!r} is listed twice")
        names[name] = value
        hasher.update(bytes.fromhex(value))
    if not names:
        raise StatementError("OMS statement: the manifest lists no file")
    paths = {split_shard(name)[0] for name in names} if method == SHARDS else set(names)
    if "." in paths and len(paths) > 1:
        raise StatementError("OMS statement: a single-file manifest ('.') lists other files too")
    if hasher.hexdigest() != root:
        raise StatementError(f"OMS statement: the manifest is inconsistent: the subject digest is "
                             f"{root}, the resources hash to {hasher.hexdigest()}")
    return SignedManifest(model_name, method, hash_type, allow_symlinks, tuple(ignore), names,
                          shard_size, PREDICATE_TYPE)


def _parse_v02(subjects: list[dict[str, Any]]) -> SignedManifest:
    """model_signing v0.2's statement: one subject per file, no root digest, no serialization."""
    names: dict[str, str] = {}
    for index, subject in enumerate(subjects):
        name = _resource_name(_text(subject.get("name"), f"subject {index} name"), FILES)
        digest = subject.get("digest")
        value = _hex(digest.get("sha256") if isinstance(digest, dict) else None,
                     f"subject {name!r} digest sha256")
        if name in names:
            raise StatementError(f"OMS statement: subject {name!r} is listed twice")
        names[name] = value
    if not names:
        raise StatementError("OMS statement: the manifest lists no file")
    return SignedManifest("compat-undefined-not-present", FILES, "sha256", False, (), names,
                          None, PREDICATE_TYPE_V02)


def build_statement(model_name: str, method: str, resources: dict[str, str], *,
                    ignore_paths: tuple[str, ...] = (), allow_symlinks: bool = False,
                    shard_size: int | None = None) -> bytes:
    """The in-toto statement model_signing writes for these resources (sorted by name)."""
    hasher = hashlib.sha256()
    algorithm = "sha256" if method == FILES else f"sha256-sharded-{shard_size}"
    items = []
    for name in sorted(resources):
        hasher.update(bytes.fromhex(resources[name]))
        items.append({"name": name, "algorithm": algorithm, "digest": resources[name]})
    serialization: dict[str, Any] = {"method": method, "hash_type": "sha256",
                                     "allow_symlinks": allow_symlinks}
    if method == SHARDS:
        serialization["shard_size"] = shard_size
    if ignore_paths:
        serialization["ignore_paths"] = list(ignore_paths)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": model_name, "digest": {"sha256": hasher.hexdigest()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": serialization, "resources": items},
    }
    return json.dumps(statement, indent=2).encode("utf-8")
