"""Report step: what the Prefect UI shows about a run, as artifacts under stable keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from slsa_models import deploy
from slsa_models.deploy import summary
from slsa_models.errors import SlsaModelsError
from tasks.policy import IN_MEMORY


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def markdown_table(rows: Mapping[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {name} | `{value}` |" for name, value in rows.items()]
    return "\n".join(lines)


def markdown_columns(rows: list[Mapping[str, Any]]) -> str:
    """A table with a header row from the first row's keys; cells are escaped to stay one line."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(column, "")) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


MODEL_STORED_EVENT = "slsa-models.model.stored"


@task(name="report", **IN_MEMORY)
def publish_train_report(metadata: Mapping[str, Any]) -> None:
    """The run's artifact, and the event ``deploy-after-train`` reacts to: it names the exact
    digest this run stored, so the triggered deploy judges these bytes and no others."""
    from prefect.events import emit_event

    emit_event(
        event=MODEL_STORED_EVENT,
        resource={"prefect.resource.id": f"slsa-models.model.{metadata['model_name']}",
                  "prefect.resource.name": metadata["model_name"]},
        payload={"model_name": metadata["model_name"], "digest": f"sha256:{metadata['sha256']}",
                 "key": metadata["key"], "flow_run_id": metadata["flow_run_id"]},
    )
    made_by = metadata["model_format"] or metadata.get("trainer") or "a model made elsewhere"
    rows = {
        "format": made_by,
        "digest": f"sha256:{metadata['sha256']}",
        "files": metadata.get("files", 1),
        "object": metadata["uri"],
        "provenance": metadata["provenance_uri"] or "none (the SLSA generator signs it in GitHub Actions)",
    }
    if metadata["accuracy"] is not None:
        rows["held-out accuracy"] = f"{metadata['accuracy']:.4f}"
        rows["epochs / seed"] = f"{metadata['epochs']} / {metadata['seed']}"
    create_markdown_artifact(
        key=artifact_key("train", metadata["model_name"]),
        markdown=f"# Trained {metadata['model_name']}\n\n{markdown_table(rows)}\n",
        description=f"{made_by} sha256:{metadata['sha256'][:12]}",
    )


def verification_markdown(record: deploy.DeploymentRecord) -> str:
    """A report people can read: a short heading (mark, outcome, model, short digest), why it was
    refused, the facts with links (train run, source commit, policy), then every check with a
    pass/fail mark, failed first, expected and actual one under the other (no wide table)."""
    passed = record.outcome == deploy.PROMOTED
    heading = (f"# {summary.MARKS[passed]} {summary.outcome_word(record)} {escape(record.model_name)}"
               f" · {summary.short_digest(record.digest)}")
    report = summary.passed_report(record)
    run_label, run_link = summary.train_run_link(report.get("invocation"))
    source_label, source_link = summary.source_link(report.get("source_uri"), report.get("commit"))
    facts = {
        "digest": escape(record.digest or ""),
        "built by": escape(summary.built_by(report)),
        "train run": link(run_label, run_link),
        "source": link(source_label, source_link),
        "policy": escape(summary.policy_line(record.policy)),
        "evidence": escape("; ".join(f"{piece.get('kind') or 'unusable'} "
                                     f"({'passed' if piece.get('passed') else 'failed'})"
                                     for piece in record.evidence) or "none"),
        "smoke-load": escape(f"{record.smoke_load.get('status', 'not-run')}: {record.smoke_load.get('detail', '')}"),
        "object": escape(_short_object(record)),
        "record": escape(f"#{record.sequence}, {record.decided_at}"),
    }
    reason = f"> **Why:** {escape(record.reason)}\n\n" if record.reason else ""
    rows = summary.checks_failed_first(record)
    failed = sum(row["verdict"] == summary.VERDICTS[False] for row in rows)
    checks = "\n".join(_check_item(row) for row in rows) if rows else \
        f"Verification did not run: {escape(record.reason or 'no provenance')}"
    title = f"## Checks: {failed} failed, {len(rows) - failed} passed" if rows else "## Checks"
    listed = "\n".join(f"- **{name}:** {value}" for name, value in facts.items())
    return f"{heading}\n\n{reason}{listed}\n\n{title}\n\n{checks}\n"


def _check_item(row: Mapping[str, str]) -> str:
    passed = row["verdict"] == summary.VERDICTS[True]
    item = f"- {summary.MARKS[passed]} {'PASS' if passed else '**FAIL**'} **{escape(row['check'])}**  \n" \
           f"  expected: {escape(row['expected'])}  \n" \
           f"  actual: {escape(row['actual'])}"
    return item + (f"  \n  {escape(row['detail'])}" if row["detail"] else "")


def _short_object(record: deploy.DeploymentRecord) -> str:
    """The object's URI with its digest shortened (the full digest has its own row)."""
    label = summary.object_label(record)
    hex_digest = (record.digest or "").removeprefix("sha256:")
    return label.replace(hex_digest, hex_digest[:12] + "…") if hex_digest else label


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def escape(text: str) -> str:
    """Plain text for markdown: values from provenance or records cannot add links, images, HTML
    or table cells; runs of whitespace become one space, control characters are shown escaped."""
    from slsa_models.verify.report import printable

    escaped = _MARKDOWN.sub(r"\\\1", printable(" ".join(str(text).split())))
    return escaped.replace("://", "\\://").replace("www.", "www\\.")  # no autolinks either


def link(label: str, url: str | None) -> str:
    """A markdown link for URLs this module built (relative UI paths, github.com), else plain text."""
    return f"[{escape(label)}]({url})" if url else escape(label)


@task(name="report", **IN_MEMORY)
def publish_deploy_report(gate: deploy.Gate, deployer: deploy.Deployer, decision: deploy.Decision) -> None:
    """``verification-<model>``: the checks; ``deployments-<model>``: the model's recent history.

    A history that cannot be read is said in the table's description instead of failing the run.
    """
    record = decision.record
    create_markdown_artifact(
        key=artifact_key("verification", record.model_name),
        markdown=verification_markdown(record),
        description=f"{summary.MARKS[record.outcome == deploy.PROMOTED]} {summary.headline(record)}",
    )
    try:
        history = deploy.read_history(gate.store, record.model_name, deployer.trusted)
        note = f"the {len(history)} newest deploy decisions, newest first"
    except SlsaModelsError as error:
        history, note = [record], f"history unavailable ({error}); this run's decision only"
    create_table_artifact(
        key=artifact_key("deployments", record.model_name),
        table=summary.history_rows(history),
        description=f"{record.model_name}: {note}",
    )
    try:
        deployed = summary.deployed_rows(gate.store, deployer.trusted)
        note = f"what is deployed for each of the {len(deployed)} models in {gate.store.uri}"
    except SlsaModelsError as error:
        deployed, note = [], f"the store could not be listed ({error})"
    create_table_artifact(key="deployments", table=deployed, description=note)
