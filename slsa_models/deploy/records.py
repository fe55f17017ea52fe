"""Deployment records: ``current.json`` and the history entries share one JSON shape.

Outcomes: ``promoted`` (now in current.json), ``refused`` (a check failed, the
provenance was unusable, the smoke test failed, or the object changed after
verification), ``conflict`` (another deployment won the compare-and-swap).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from slsa_models.deploy.gate import Verdict
from slsa_models.deploy.smoke import SmokeResult
from slsa_models.errors import StoreError
from slsa_models.store import StoredObject, layout

RECORD_FORMAT = "slsa-models/deployment-record/v1"
PROMOTED = "promoted"
REFUSED = "refused"
CONFLICT = "conflict"


class CorruptRecordError(StoreError):
    """A stored deployment record is not one (hand-edited, truncated): retrying will not help."""

    retryable = False


@dataclass(frozen=True)
class DeploymentRecord:
    """One deploy decision.

    ``digest`` is of the bytes that were verified (or, when nothing could be
    downloaded, the digest named by the key); ``object`` pins the store object:
    key, uri, size, version_id (versioned S3 buckets) and etag. ``verification``
    is the verifier's ``Report.to_dict()`` plus the deploy's ``model-digest``
    check, or None when verification could not run.
    """

    outcome: str
    model_name: str
    digest: str
    file_name: str
    object: dict[str, Any]
    provenance: dict[str, Any]
    verification: dict[str, Any] | None
    smoke_load: dict[str, str]
    policy: dict[str, Any]
    decision_id: str
    decided_at: str
    recorded_at: str
    flow_run_id: str | None = None
    deployed_at: str | None = None
    reason: str | None = None
    failed_check: str | None = None
    previous: dict[str, Any] | None = None
    format: str = RECORD_FORMAT

    @property
    def sha256(self) -> str:
        return self.digest.removeprefix("sha256:")

    @property
    def decided(self) -> datetime:
        return datetime.fromisoformat(self.decided_at)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")

    def summary(self) -> dict[str, Any]:
        """What a later record keeps of this one as ``previous``."""
        return {"digest": self.digest, "decision_id": self.decision_id,
                "flow_run_id": self.flow_run_id, "deployed_at": self.deployed_at}

    @classmethod
    def from_json(cls, data: bytes, where: str) -> DeploymentRecord:
        """Parse a record; CorruptRecordError naming ``where`` if it is not one."""
        try:
            document = json.loads(data)
            if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
                raise ValueError(f"not a {RECORD_FORMAT} document")
            names = {field.name for field in dataclasses.fields(cls)}
            record = cls(**{name: value for name, value in document.items() if name in names})
            record.decided  # noqa: B018 - validates the timestamp
        except (ValueError, TypeError) as error:
            reason = " ".join(str(error).split())[:200]
            raise CorruptRecordError(f"{where} is not a deployment record ({reason}); fix or remove it") from None
        return record


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


def object_dict(stored: StoredObject) -> dict[str, Any]:
    return {"key": stored.key, "uri": stored.uri, "size": stored.size,
            "version_id": stored.version_id, "etag": stored.etag}


def build_record(
    verdict: Verdict,
    smoke: SmokeResult,
    *,
    outcome: str,
    policy: dict[str, Any],
    candidate: StoredObject,
    flow_run_id: str | None,
    reason: str | None = None,
    failed_check: str | None = None,
    pinned: StoredObject | None = None,
    now: datetime | None = None,
) -> DeploymentRecord:
    """The record of ``verdict``; ``pinned`` is the object promoted (default: the one downloaded).

    ``failed_check`` defaults, for a refusal, to the verdict's first failed check.
    """
    now = now or datetime.now(timezone.utc)
    downloaded = verdict.model.stored if verdict.model is not None else None
    pinned = pinned or downloaded or candidate
    _, key_digest, file_name = layout.parse_model_key(candidate.key)
    digest = downloaded.sha256 if downloaded is not None else key_digest
    if failed_check is None and outcome == REFUSED and not verdict.passed:
        failed_check = verdict.failed_check()
    provenance = verdict.provenance
    return DeploymentRecord(
        outcome=outcome,
        model_name=verdict.model_name,
        digest=f"sha256:{digest}",
        file_name=file_name,
        object=object_dict(pinned),
        provenance={"source": provenance.source, "location": provenance.location,
                    "key": provenance.key, "sha256": provenance.sha256},
        verification=verdict.report.to_dict() if verdict.report is not None else None,
        smoke_load=smoke.to_dict(),
        policy=policy,
        decision_id=verdict.decision_id,
        decided_at=iso(verdict.decided_at),
        recorded_at=iso(now),
        flow_run_id=flow_run_id,
        deployed_at=iso(now) if outcome == PROMOTED else None,
        reason=reason,
        failed_check=failed_check,
    )
