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
    return f"{obj.get('uri') or obj.get('key')} ({pin})"


def summary_rows(record: DeploymentRecord) -> dict[str, Any]:
    """Key facts of one decision, in display order."""
    verification = next((report for report in record.verification if report.get("passed")),
                        record.verification[0] if record.verification else {})
    rows: dict[str, Any] = {
        "outcome": record.outcome,
        "sequence": record.sequence,
        "digest": record.digest,
        "object": object_label(record),
        "evidence": "; ".join(
            f"{piece['location']} ({piece.get('kind') or 'unusable'}: "
            f"{'passed' if piece.get('passed') else 'failed'})" for piece in record.evidence) or "none",
        "built by": verification.get("builder_id") or "unverified",
        "source": " @ ".join(v for v in (verification.get("source_uri"), verification.get("commit")) if v)
                  or "unverified",
        "smoke-load": f"{record.smoke_load.get('status', 'not-run')}: {record.smoke_load.get('detail', '')}",
        "decided at": record.decided_at,
        "flow run": record.flow_run_id or "none",
    }
    if record.reason:
        rows["reason"] = record.reason
    if record.previous:
        rows["previous record"] = record.previous
    return rows


def check_rows(record: DeploymentRecord) -> list[dict[str, str]]:
    """Every check of the verification: name, verdict, expected, actual, detail."""
    rows = []
    for report in record.verification:
        rows += [
        {
            "check": check["name"],
            "verdict": VERDICTS[bool(check.get("passed"))],
            "expected": str(check.get("expected", "")),
            "actual": str(check.get("actual", "")),
            "detail": str(check.get("detail") or ""),
        }
        for check in report.get("checks", [])
    ]
    return rows


def history_rows(records: list[DeploymentRecord]) -> list[dict[str, str]]:
    """One row per history record (newest first, as given)."""
    return [
        {
            "#": str(record.sequence),
            "decided at": record.decided_at,
            "outcome": record.outcome,
            "digest": (record.digest or "")[:19],  # sha256: and 12 hex digits
            "file": record.file_name,
            "failed check": record.failed_check or "",
            "reason": record.reason or "",
            "flow run": record.flow_run_id or "",
        }
        for record in records
    ]
