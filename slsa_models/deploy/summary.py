"""What reports show about a deploy decision, as plain rows (rendering is the caller's)."""

from __future__ import annotations

from typing import Any

from slsa_models.deploy.records import PROMOTED, DeploymentRecord

VERDICTS = {True: "PASSED", False: "FAILED"}


def headline(record: DeploymentRecord) -> str:
    """``DEPLOYED`` or ``REFUSED``/``NOT DEPLOYED`` with the model and digest, one line."""
    if record.outcome == PROMOTED:
        return f"DEPLOYED {record.model_name} {record.digest}"
    word = "REFUSED" if record.outcome == "refused" else "NOT DEPLOYED"
    return f"{word} {record.model_name} {record.digest}"


def object_label(record: DeploymentRecord) -> str:
    obj = record.object
    pin = f"version {obj['version_id']}" if obj.get("version_id") else f"etag {obj.get('etag')}"
    return f"{obj['uri']} ({pin})"


def summary_rows(record: DeploymentRecord) -> dict[str, Any]:
    """Key facts of one decision, in display order."""
    verification = record.verification or {}
    provenance = record.provenance
    rows: dict[str, Any] = {
        "outcome": record.outcome,
        "digest": record.digest,
        "object": object_label(record),
        "provenance": f"{provenance['location']} ({provenance['source']}"
                      + (f", sha256:{provenance['sha256']})" if provenance.get("sha256") else ")"),
        "built by": verification.get("builder_id") or "unverified",
        "source": " @ ".join(v for v in (verification.get("source_uri"), verification.get("commit")) if v)
                  or "unverified",
        "smoke-load": f"{record.smoke_load['status']}: {record.smoke_load['detail']}",
        "decided at": record.decided_at,
        "flow run": record.flow_run_id or "none",
    }
    if record.reason:
        rows["reason"] = record.reason
    if record.previous:
        rows["previously deployed"] = record.previous.get("digest")
    return rows


def check_rows(record: DeploymentRecord) -> list[dict[str, str]]:
    """Every check of the verification: name, verdict, expected, actual, detail."""
    if record.verification is None:
        return []
    return [
        {
            "check": check["name"],
            "verdict": VERDICTS[bool(check["passed"])],
            "expected": str(check["expected"]),
            "actual": str(check["actual"]),
            "detail": str(check.get("detail") or ""),
        }
        for check in record.verification.get("checks", [])
    ]


def history_rows(records: list[DeploymentRecord]) -> list[dict[str, str]]:
    """One row per history record (newest first, as given)."""
    return [
        {
            "recorded at": record.recorded_at,
            "outcome": record.outcome,
            "digest": record.digest[:19],  # sha256: and 12 hex digits
            "file": record.file_name,
            "failed check": record.failed_check or "",
            "reason": record.reason or "",
            "flow run": record.flow_run_id or "",
        }
        for record in records
    ]
