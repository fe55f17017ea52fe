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
    """Every check with its expected and actual value and verdict, under the decision's summary."""
    checks = summary.check_rows(record)
    body = markdown_columns(checks) if checks else (
        f"Verification did not run: {_cell(record.reason or 'no provenance')}"
    )
    return (
        f"# {summary.headline(record)}\n\n{markdown_table(summary.summary_rows(record))}\n\n"
        f"## Checks\n\n{body}\n"
    )


@task(name="report", **IN_MEMORY)
def publish_deploy_report(gate: deploy.Gate, deployer: deploy.Deployer, decision: deploy.Decision) -> None:
    """``verification-<model>``: the checks; ``deployments-<model>``: the model's recent history.

    A history that cannot be read is said in the table's description instead of failing the run.
    """
    record = decision.record
    create_markdown_artifact(
        key=artifact_key("verification", record.model_name),
        markdown=verification_markdown(record),
        description=summary.headline(record),
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
