"""Deployment records: signed SLSA verification summaries, chained in history.

Every deploy decision is one ``DeploymentRecord``, written as an in-toto
Statement v1 with the SLSA Verification Summary predicate
(``https://slsa.dev/verification_summary/v1``: verifier, time, policy,
resource = the model object, input attestations, result) and this project's
own fields under ``predicate.slsaModels``; the statement is DSSE-signed by the
deployer's key in a Sigstore bundle, the local builder's format. History keeps
each record at its sequence number, naming the previous record's digest (a
hash chain); ``current.json`` holds the same signed bytes as the newest
promotion. Nothing in a record is believed before its signature verifies
against a trusted deployer key (``open_record``).

Outcomes: ``promoted``, ``refused`` (a check failed, the evidence was unusable,
the smoke test failed, the object changed after verification, or the run tried
to set the trust policy), ``conflict`` (a newer promotion is already in place).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from slsa_models import __version__
from slsa_models.errors import CorruptRecordError, SlsaModelsError, UntrustedRecordError
from slsa_models.provenance.signers import KeySigner
from slsa_models.store import StoredObject
from slsa_models.untrusted import loads_json
from slsa_models.verify.keys import TrustedKey

RECORD_FORMAT = "slsa-models/deployment-record/v2"
VSA_PREDICATE = "https://slsa.dev/verification_summary/v1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
VERIFIER_ID = "https://github.com/slsa-models/slsa-models/deploy"
PROMOTED = "promoted"
REFUSED = "refused"
CONFLICT = "conflict"
OUTCOMES = (PROMOTED, REFUSED, CONFLICT)
MAX_RECORD_BYTES = 4 * 2**20


@dataclass(frozen=True)
class DeploymentRecord:
    """One deploy decision.

    ``digest`` (``sha256:HEX``) is of the bytes that were verified, or the one
    the run asked for when nothing was downloaded; ``object`` pins the store
    object (key, uri, size, version_id, etag); ``evidence`` lists each piece
    judged (location, sha256, kind, passed); ``verification`` holds each
    piece's report. ``sequence`` is the record's place in history and
    ``previous`` the digest of the record before it (None for the first).
    """

    outcome: str
    model_name: str
    digest: str | None
    file_name: str | None
    object: dict[str, Any]
    evidence: list[dict[str, Any]]
    verification: list[dict[str, Any]]
    smoke_load: dict[str, str]
    policy: dict[str, Any]
    decision_id: str
    decided_at: str
    sequence: int = -1
    previous: str | None = None
    flow_run_id: str | None = None
    deployed_at: str | None = None
    reason: str | None = None
    failed_check: str | None = None
    format: str = RECORD_FORMAT

    @property
    def sha256(self) -> str | None:
        return self.digest.removeprefix("sha256:") if self.digest else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def statement(self) -> dict[str, Any]:
        """The in-toto statement that is signed: a SLSA verification summary."""
        subject = [{"name": f"{self.model_name}/{self.file_name}", "digest": {"sha256": self.sha256}}] \
            if self.sha256 and self.file_name else []
        policy_digest = hashlib.sha256(json.dumps(self.policy, sort_keys=True).encode()).hexdigest()
        return {
            "_type": STATEMENT_V1,
            "subject": subject,
            "predicateType": VSA_PREDICATE,
            "predicate": {
                "verifier": {"id": VERIFIER_ID, "version": {"slsa-models": __version__}},
                "timeVerified": self.decided_at,
                "resourceUri": self.object.get("uri") or f"model:{self.model_name}",
                "policy": {"uri": "slsa-models:policy", "digest": {"sha256": policy_digest}},
                "inputAttestations": [{"uri": piece["location"], "digest": {"sha256": piece["sha256"]}}
                                      for piece in self.evidence if piece.get("sha256")],
                "verificationResult": "PASSED" if self.outcome == PROMOTED else "FAILED",
                "verifiedLevels": [],
                "slsaVersion": "1.0",
                "slsaModels": self.to_dict(),
            },
        }

    def sign(self, signer: KeySigner) -> bytes:
        """The signed record: one line of JSON, a Sigstore bundle around the DSSE envelope."""
        return signer.sign(self.statement()).encode("utf-8")


@dataclass(frozen=True)
class SignedRecord:
    """A record whose signature verified, with its bytes, their digest and who signed."""

    record: DeploymentRecord
    data: bytes
    signer: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


def record_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def open_record(data: bytes, deployers: Sequence[TrustedKey], where: str) -> SignedRecord:
    """Verify a signed record against ``deployers`` and parse it.

    UntrustedRecordError when no trusted deployer key signed it (edited by hand,
    signed by someone else); CorruptRecordError when it is not a record at all.
    """
    from slsa_models.verify.bundle import KIND_KEY_SIGNED, load_provenance
    from slsa_models.verify.local import find_signer

    if not deployers:
        raise UntrustedRecordError(f"{where}: the policy trusts no deployer key to sign deployment "
                                   "records; add a [deployer.NAME] table with the deployer's public key")
    try:
        loaded = load_provenance(bytes(data))
    except SlsaModelsError as error:
        raise CorruptRecordError(f"{where} is not a signed deployment record ({_reason(error)}); "
                                 "fix or remove it") from None
    if loaded.kind != KIND_KEY_SIGNED:
        raise CorruptRecordError(f"{where} is not a signed deployment record ({loaded.kind}); fix or remove it")
    signer = find_signer(loaded.bundle, deployers)
    if signer is None:
        raise UntrustedRecordError(
            f"{where} is not signed by a trusted deployer ({', '.join(k.name for k in deployers)}): "
            "edited by hand or written by another deployer; nothing loaded"
        )
    return SignedRecord(parse_statement(loaded.bundle.payload, where), bytes(data), signer.name)


def parse_statement(payload: bytes, where: str) -> DeploymentRecord:
    """The record inside a verified statement; CorruptRecordError naming ``where`` otherwise."""
    try:
        statement = loads_json(payload, where)
        predicate = statement.get("predicate") if isinstance(statement, dict) else None
        if not isinstance(predicate, dict) or statement.get("predicateType") != VSA_PREDICATE:
            raise ValueError(f"not a {VSA_PREDICATE} statement")
        return record_from_dict(predicate.get("slsaModels"))
    except (ValueError, TypeError, SlsaModelsError) as error:
        raise CorruptRecordError(f"{where} is not a deployment record ({_reason(error)}); "
                                 "fix or remove it") from None


_TYPES: dict[str, tuple[type, ...]] = {
    "outcome": (str,), "model_name": (str,), "digest": (str, type(None)),
    "file_name": (str, type(None)), "object": (dict,), "evidence": (list,), "verification": (list,),
    "smoke_load": (dict,), "policy": (dict,), "decision_id": (str,), "decided_at": (str,),
    "sequence": (int,), "previous": (str, type(None)), "flow_run_id": (str, type(None)),
    "deployed_at": (str, type(None)), "reason": (str, type(None)), "failed_check": (str, type(None)),
    "format": (str,),
}


def record_from_dict(document: object) -> DeploymentRecord:
    """A DeploymentRecord from its dict, every field type-checked; ValueError names the first bad one."""
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
        raise ValueError(f"not a {RECORD_FORMAT} document")
    values = {}
    for name, types in _TYPES.items():
        value = document.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            raise ValueError(f"{name}: expected {' or '.join(t.__name__ for t in types)}, "
                             f"got {type(value).__name__}")
        values[name] = value
    if values["outcome"] not in OUTCOMES:
        raise ValueError(f"outcome {values['outcome']!r} is not one of {', '.join(OUTCOMES)}")
    if values["digest"] is not None:
        from slsa_models.digest import Digest

        Digest.parse(values["digest"])
    if not isinstance(values["object"].get("key", ""), str):
        raise ValueError("object.key: expected a string")
    _check_nested(values)
    return DeploymentRecord(**values)


def _check_nested(values: dict[str, Any]) -> None:
    """The nested shapes that reports read: evidence pieces, reports and their checks, smoke-load."""
    for index, piece in enumerate(values["evidence"]):
        if not isinstance(piece, dict) or not isinstance(piece.get("location"), str):
            raise ValueError(f"evidence[{index}]: expected an object with a location string")
    for index, report in enumerate(values["verification"]):
        checks = report.get("checks") if isinstance(report, dict) else None
        if not isinstance(checks, list) or not all(
                isinstance(check, dict) and isinstance(check.get("name"), str) for check in checks):
            raise ValueError(f"verification[{index}]: expected a report with a list of named checks")
    smoke = values["smoke_load"]
    if smoke and not all(isinstance(smoke.get(name), str) for name in ("status", "detail")):
        raise ValueError("smoke_load: expected status and detail strings")


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


def object_dict(stored: StoredObject) -> dict[str, Any]:
    return {"key": stored.key, "uri": stored.uri, "size": stored.size,
            "version_id": stored.version_id, "etag": stored.etag}
