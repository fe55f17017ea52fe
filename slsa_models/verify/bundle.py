"""Read a provenance file (bounded), parse it and say what kind it is.

Kinds:

- ``sigstore-bundle``: a Sigstore bundle with a Fulcio certificate and a
  Rekor entry (slsa-github-generator v2.1.0+, GitHub artifact attestations);
- ``legacy-dsse``: a bare DSSE envelope with a ``cert`` next to the signature
  (slsa-github-generator v1.x and v2.0.0), which carries no log proof;
- ``key-signed``: signed with a plain key (a bundle with ``publicKey``
  material, or a DSSE envelope without a certificate);
- ``oms-signature``: an OpenSSF model signing signature (``model_signing``'s
  ``model.sig``: any signer, its payload an OMS manifest), parsed by slsa_models.oms.

Anything that cannot be used at all raises ProvenanceError with one line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slsa_models.errors import ProvenanceError
from slsa_models.untrusted import loads_json, read_regular_file

MAX_PROVENANCE_BYTES = 16 * 1024 * 1024

KIND_SIGSTORE = "sigstore-bundle"
KIND_LEGACY_DSSE = "legacy-dsse"
KIND_KEY_SIGNED = "key-signed"
KIND_OMS_SIGNATURE = "oms-signature"  # an OpenSSF model signing signature (model_signing's model.sig)

BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
CURRENT_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SUPPORTED_BUNDLE_MEDIA_TYPES = frozenset({
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
})


@dataclass(frozen=True, slots=True)
class KeySignedEnvelope:
    """A key-signed DSSE envelope and the key hint the bundle gives (None for a
    bare envelope). Nothing here is verified yet; the hint is never trusted."""

    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]
    hint: str | None


@dataclass(frozen=True, slots=True)
class LoadedProvenance:
    """A parsed provenance file. ``bundle`` is sigstore-python's Bundle for
    the ``sigstore-bundle`` kind, a KeySignedEnvelope for ``key-signed``, else None."""

    label: str  # the path, or "provenance" for bytes; used in messages
    raw: bytes
    sha256: str
    kind: str
    bundle: Any = None
    parsed: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def document(self) -> dict[str, Any]:
        """The file as JSON (parsed on demand: the common path never needs it)."""
        return self.parsed if self.parsed is not None else parse_document(self.label, self.raw)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so a library's multi-line message fits our one-line rule."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def read_provenance(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes: a regular file of at most MAX_PROVENANCE_BYTES, else ProvenanceError."""
    return read_regular_file(
        path, max_bytes=MAX_PROVENANCE_BYTES, what="provenance file", error=ProvenanceError,
        hint="; is this the artifact instead of its .intoto.jsonl?",
    )


def parse_document(label: str, raw: bytes) -> dict[str, Any]:
    """The single JSON object in ``raw``; pretty-printed JSON is fine, several lines of JSON are not."""
    if not raw.strip():
        raise ProvenanceError(f"{label}: empty file; expected a Sigstore bundle (.intoto.jsonl)")
    try:
        document = loads_json(raw, label, error=ProvenanceError)
    except UnicodeDecodeError:
        raise ProvenanceError(f"{label}: not UTF-8 text; expected a JSON Sigstore bundle") from None
    except json.JSONDecodeError as error:
        raise ProvenanceError(_describe_json_error(label, raw, error)) from None
    if not isinstance(document, dict):
        raise ProvenanceError(
            f"{label}: a JSON {type(document).__name__}, not a Sigstore bundle object"
        )
    return document


def _describe_json_error(label: str, raw: bytes, error: json.JSONDecodeError) -> str:
    if error.msg == "Extra data":
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) > 1:
            return (
                f"{label}: {len(lines)} lines of JSON; expected exactly one provenance bundle "
                "in the file (split it, one bundle per file)"
            )
    if error.pos >= len(error.doc.rstrip()) or error.msg.startswith("Unterminated string"):
        return f"{label}: truncated JSON (the file ends after {len(raw)} bytes); it is incomplete"
    return (
        f"{label}: not JSON ({error.msg} at line {error.lineno} column {error.colno}); "
        "expected a Sigstore bundle (.intoto.jsonl)"
    )


def classify(label: str, document: dict[str, Any]) -> str:
    """The kind of provenance, or ProvenanceError for anything else."""
    media_type = document.get("mediaType")
    if media_type is not None:
        return _classify_bundle(label, document, media_type)
    if {"payloadType", "payload", "signatures"} <= document.keys():
        signatures = document["signatures"]
        if not isinstance(signatures, list) or not signatures:
            raise ProvenanceError(f"{label}: DSSE envelope without signatures")
        if any(isinstance(sig, dict) and sig.get("cert") for sig in signatures):
            return KIND_LEGACY_DSSE
        return KIND_KEY_SIGNED
    raise ProvenanceError(
        f"{label}: neither a Sigstore bundle (no mediaType) nor a DSSE envelope; "
        "expected the .intoto.jsonl file the SLSA generator wrote"
    )


def _classify_bundle(label: str, document: dict[str, Any], media_type: object) -> str:
    if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_MEDIA_PREFIX):
        raise ProvenanceError(
            f"{label}: media type {media_type!r} is not a Sigstore bundle; "
            f"expected {CURRENT_BUNDLE_MEDIA_TYPE!r}"
        )
    if media_type not in SUPPORTED_BUNDLE_MEDIA_TYPES:
        raise ProvenanceError(
            f"{label}: unsupported Sigstore bundle media type {media_type!r}; "
            "supported: bundle versions 0.1 to 0.3"
        )
    if "dsseEnvelope" not in document:
        raise ProvenanceError(
            f"{label}: the bundle signs a blob (messageSignature), not a DSSE provenance envelope"
        )
    material = document.get("verificationMaterial")
    if isinstance(material, dict) and "publicKey" in material:
        return KIND_KEY_SIGNED
    return KIND_SIGSTORE


def _load_sigstore_bundle(label: str, raw: bytes, document: dict[str, Any] | None = None) -> Any:
    from sigstore.models import Bundle  # heavy; only when a bundle is actually loaded

    try:
        return Bundle.from_json(raw)
    except Exception as error:  # sigstore raises InvalidBundle, ValueError, TypeError...
        if document is not None and _timestamped_without_log(document):
            return _load_timestamp_only(label, raw)
        raise ProvenanceError(
            f"{label}: not a valid Sigstore bundle: {_describe_bundle_error(error)}"
        ) from None


def _timestamped_without_log(document: dict[str, Any]) -> bool:
    """A v0.3 bundle with RFC 3161 timestamps and no transparency-log entry (GitHub's own
    Sigstore instance signs private repositories' attestations so)."""
    material = document.get("verificationMaterial")
    if document.get("mediaType") not in _V03 or not isinstance(material, dict):
        return False
    data = material.get("timestampVerificationData")
    stamps = data.get("rfc3161Timestamps") if isinstance(data, dict) else None
    return not material.get("tlogEntries") and isinstance(stamps, list) and bool(stamps)


_V03 = ("application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3")


def _load_timestamp_only(label: str, raw: bytes) -> Any:
    """sigstore-python's Bundle for a timestamp-only bundle, whose loader insists on one log
    entry: the same parse and leaf certificate, with ``log_entry`` None. Nothing is trusted
    here; ``crypto.verify_bundle`` verifies it on signed timestamps alone, and only against
    a trusted root that has no transparency log (as gh does)."""
    from cryptography.x509 import load_der_x509_certificate
    from sigstore.models import Bundle
    from sigstore_models.bundle.v1 import Bundle as BundleMessage

    try:
        inner = BundleMessage.from_json(raw)
        certificate = inner.verification_material.certificate
        if certificate is None:
            raise ValueError("expected certificate in bundle")
        bundle = Bundle.__new__(Bundle)
        bundle._inner = inner
        bundle._signing_certificate = load_der_x509_certificate(certificate.raw_bytes)
        bundle._log_entry = None
        if bundle.verification_material.timestamp_verification_data is None:
            raise ValueError("expected RFC 3161 timestamps in bundle")
    except Exception as error:  # noqa: BLE001 - any parse failure is one line
        raise ProvenanceError(
            f"{label}: not a valid Sigstore bundle: {_describe_bundle_error(error)}"
        ) from None
    return bundle


def _describe_bundle_error(error: BaseException) -> str:
    """sigstore-python's reason; for a schema error, the first field and what is wrong
    with it (pydantic's full text embeds the whole input)."""
    from pydantic import ValidationError

    for candidate in (error, error.__cause__, error.__context__):
        if isinstance(candidate, ValidationError):
            problems = candidate.errors()
            first = problems[0]
            where = ".".join(str(part) for part in first["loc"]) or "bundle"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return one_line(f"{where}: {first['msg']}{more}", limit=200)
    return one_line(str(error), limit=200)


_MODEL_MEDIA_TYPES = frozenset({  # the media types sigstore_models' Bundle accepts
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
})
_ENVELOPE_KEYS = frozenset({"payload", "payloadType", "signatures"})


def _plain_key_signed(document: dict[str, Any]) -> KeySignedEnvelope | None:
    """The two common shapes (the local builder's bundle, a bare DSSE envelope) read without
    sigstore_models, whose pydantic models take about 0.15 s to import: only documents of
    exactly these keys and types, in canonical base64, which the models accept and decode
    to the same values. Anything else (None) goes through the models, which also say
    precisely what is wrong."""
    hint = None
    envelope: object = document
    if "mediaType" in document:
        material = document.get("verificationMaterial")
        if (document.keys() != {"mediaType", "verificationMaterial", "dsseEnvelope"}
                or document["mediaType"] not in _MODEL_MEDIA_TYPES
                or not isinstance(material, dict) or material.keys() != {"publicKey", "tlogEntries"}
                or material["tlogEntries"] != [] or not isinstance(material["publicKey"], dict)
                or material["publicKey"].keys() != {"hint"} or not isinstance(material["publicKey"]["hint"], str)):
            return None
        envelope, hint = document["dsseEnvelope"], material["publicKey"]["hint"]
    if not isinstance(envelope, dict) or envelope.keys() != _ENVELOPE_KEYS:
        return None
    payload_type, payload, signatures = envelope["payloadType"], envelope["payload"], envelope["signatures"]
    if (not isinstance(payload_type, str) or not isinstance(payload, str) or not isinstance(signatures, list)
            or not signatures or not all(
                isinstance(sig, dict) and sig.keys() in ({"sig"}, {"sig", "keyid"})
                and isinstance(sig["sig"], str) and isinstance(sig.get("keyid", ""), str)
                for sig in signatures)):
        return None
    try:
        return KeySignedEnvelope(payload_type, base64.b64decode(payload, validate=True),
                                 tuple(base64.b64decode(sig["sig"], validate=True) for sig in signatures), hint)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        return None


def _load_key_signed(label: str, document: dict[str, Any]) -> KeySignedEnvelope:
    """Parse through sigstore's protobuf-spec models (schema, base64): a bundle with
    ``publicKey`` material, or a bare DSSE envelope (the common shapes without them)."""
    plain = _plain_key_signed(document)
    if plain is not None:
        return plain
    from sigstore_models.bundle.v1 import Bundle
    from sigstore_models.intoto import Envelope

    try:
        if "mediaType" in document:
            bundle = Bundle.from_dict(document)
            envelope = bundle.dsse_envelope
            key = bundle.verification_material.public_key
            hint = key.hint if key is not None else None
        else:
            envelope, hint = Envelope.from_dict(document), None
    except Exception as error:  # pydantic ValidationError, binascii.Error...
        raise ProvenanceError(
            f"{label}: not a valid key-signed Sigstore bundle: {_describe_bundle_error(error)}"
        ) from None
    if envelope is None or not envelope.signatures:
        raise ProvenanceError(f"{label}: DSSE envelope without signatures")
    return KeySignedEnvelope(envelope.payload_type, envelope.payload,
                             tuple(sig.sig for sig in envelope.signatures), hint)


def _fast_bundle(raw: bytes) -> Any:
    """The common case in a single parse: a DSSE bundle sigstore-python accepts.

    sigstore-python accepts exactly the bundle media types listed above, and
    key-signed bundles fail its certificate requirement, so a success here is
    the ``sigstore-bundle`` kind. Anything else (None) takes the slow path,
    which parses with ``json`` to say precisely what is wrong. A bundle naming a
    ``publicKey`` (the local builder's) goes there directly: sigstore-python
    would refuse it, and importing it costs about 0.3 s that a key-signed
    deploy never needs.
    """
    if b'"dsseEnvelope"' not in raw or b'"publicKey"' in raw:
        return None
    from sigstore.models import Bundle

    try:
        return Bundle.from_json(raw)
    except Exception:
        return None


def _oms_document(raw: bytes) -> dict[str, Any] | None:
    """The bundle as JSON when its DSSE payload claims an OMS predicate type (read unverified,
    only to pick the verifier: the OMS verifier then checks everything), else None."""
    from slsa_models.oms.format import is_oms_document, may_be_oms

    if b'"dsseEnvelope"' not in raw or not may_be_oms(raw):
        return None

    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) and is_oms_document(document) else None


def load_provenance(source: str | os.PathLike[str] | bytes) -> LoadedProvenance:
    """Read (bounded), parse and classify a provenance file or its bytes."""
    if isinstance(source, bytes | bytearray | memoryview):
        label, raw = "provenance", bytes(source)
        if len(raw) > MAX_PROVENANCE_BYTES:
            raise ProvenanceError(
                f"{label}: more than the {MAX_PROVENANCE_BYTES // 2**20} MiB limit for a provenance file"
            )
    else:
        label, raw = os.fspath(source), read_provenance(Path(source))
    digest = hashlib.sha256(raw).hexdigest()
    oms = _oms_document(raw)
    if oms is not None:
        from slsa_models.oms.format import parse_bundle

        return LoadedProvenance(label, raw, digest, KIND_OMS_SIGNATURE, parse_bundle(label, raw, oms), oms)
    bundle = _fast_bundle(raw)
    if bundle is not None:
        return LoadedProvenance(label, raw, digest, KIND_SIGSTORE, bundle)
    document = parse_document(label, raw)
    kind = classify(label, document)
    bundle: Any = None
    if kind == KIND_SIGSTORE:
        bundle = _load_sigstore_bundle(label, raw, document)
    elif kind == KIND_KEY_SIGNED:
        bundle = _load_key_signed(label, document)
    return LoadedProvenance(label, raw, digest, kind, bundle, document)
