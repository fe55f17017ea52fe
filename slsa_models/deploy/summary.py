"""What reports show about a deploy decision, as plain rows (rendering is the caller's)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from slsa_models.deploy.records import PROMOTED, DeploymentRecord

if TYPE_CHECKING:
    from slsa_models.store import ArtifactStore
    from slsa_models.verify import TrustedKey

VERDICTS = {True: "PASSED", False: "FAILED"}


def outcome_word(record: DeploymentRecord) -> str:
    """``DEPLOYED``, ``REFUSED`` or ``NOT DEPLOYED``."""
    if record.outcome == PROMOTED:
        return "DEPLOYED"
    return "REFUSED" if record.outcome == "refused" else "NOT DEPLOYED"


def headline(record: DeploymentRecord) -> str:
    """The outcome word with the model and digest, one line."""
    return f"{outcome_word(record)} {record.model_name} {record.digest}"


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
        "built by": built_by(verification),
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


MARKS = {True: "✓", False: "✗"}  # in DejaVu and every common font (emoji are not)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GITHUB_RUN = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/actions/runs/\d+(/attempts/\d+)?")
_GITHUB_REPO = re.compile(r"https://github\.com/([\w.-]+/[\w.-]+?)(\.git)?")


def built_by(report: dict[str, Any]) -> str:
    """The builder the verified evidence names, or the key that signed it (an OMS signature)."""
    if report.get("builder_id"):
        return str(report["builder_id"])
    return f"signed by {report['signer_key']}" if report.get("signer_key") else "unverified"


def short_digest(digest: str | None) -> str:
    """``sha256:`` and the first 12 hex digits."""
    return (digest or "")[:19]


def passed_report(record: DeploymentRecord) -> dict[str, Any]:
    """The report shown: the first that passed, else the first."""
    return next((report for report in record.verification if report.get("passed")),
                record.verification[0] if record.verification else {})


def train_run_link(invocation: str | None) -> tuple[str, str | None]:
    """(label, link) of the build run the provenance names: a Prefect flow run id links to its UI
    page (relative, so it works wherever the UI is served), a GitHub Actions run to GitHub; any
    other value is shown, not linked (it comes from the provenance)."""
    if not invocation:
        return "not recorded", None
    if _UUID.fullmatch(invocation):
        return f"flow run {invocation[:8]}", f"/runs/flow-run/{invocation}"
    if _GITHUB_RUN.fullmatch(invocation):
        return invocation.removeprefix("https://github.com/"), invocation
    return invocation, None


def source_link(source_uri: str | None, commit: str | None) -> tuple[str, str | None]:
    """(label, link) of the source commit: GitHub repositories link to the commit."""
    if not source_uri:
        return "unverified", None
    match = _GITHUB_REPO.fullmatch(source_uri.split("@")[0].removeprefix("git+"))
    label = f"{match.group(1) if match else source_uri} @ {(commit or '?')[:12]}"
    if match and commit and re.fullmatch(r"[0-9a-f]{40}", commit):
        return label, f"https://github.com/{match.group(1)}/commit/{commit}"
    return label, None


def policy_line(policy: dict[str, Any]) -> str:
    """Where the policy came from and which kinds it trusts, one line."""
    kinds = ", ".join(policy.get("kinds", {})) or "none"
    required = " and ".join(policy.get("require", [])) or "any one kind"
    source = policy.get("source") or "not recorded"
    return f"{source}: trusts {kinds}; requires {required}"


def checks_failed_first(record: DeploymentRecord) -> list[dict[str, str]]:
    """``check_rows`` with the failed checks first (each group in check order)."""
    rows = check_rows(record)
    return [row for row in rows if row["verdict"] == VERDICTS[False]] + \
        [row for row in rows if row["verdict"] == VERDICTS[True]]


def deployed_rows(store: ArtifactStore, deployers: tuple[TrustedKey, ...]) -> list[dict[str, str]]:
    """What is deployed for every model in the store: one row per ``deployments/<model>/``."""
    from slsa_models.deploy.history import read_current

    models = sorted({obj.key.split("/")[1] for obj in store.list_objects("deployments/")
                     if obj.key.count("/") >= 2 and obj.key.endswith("/current.json")})
    rows = []
    for model in models:
        current = read_current(store, model, deployers)
        record = current.signed.record if current.signed is not None else None
        rows.append({
            "model": model,
            "deployed": short_digest(record.digest) if record else "",
            "file": record.file_name or "" if record else "",
            "record": f"#{record.sequence} {record.outcome}" if record else (current.problem or "none"),
            "decided at": record.decided_at if record else "",
            "flow run": record.flow_run_id or "" if record else "",
        })
    return rows
