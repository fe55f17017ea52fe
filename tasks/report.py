"""Report step: what the Prefect UI shows about a run, as artifacts under stable keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact

from tasks.policy import IN_MEMORY


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def markdown_table(rows: Mapping[str, Any]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {name} | `{value}` |" for name, value in rows.items()]
    return "\n".join(lines)


@task(name="report", **IN_MEMORY)
def publish_train_report(metadata: Mapping[str, Any]) -> None:
    rows = {
        "format": metadata["model_format"],
        "digest": f"sha256:{metadata['sha256']}",
        "held-out accuracy": f"{metadata['accuracy']:.4f}",
        "object": metadata["uri"],
        "provenance": metadata["provenance_uri"] or "none (the SLSA generator signs it in GitHub Actions)",
        "epochs / seed": f"{metadata['epochs']} / {metadata['seed']}",
    }
    create_markdown_artifact(
        key=artifact_key("train", metadata["model_name"]),
        markdown=f"# Trained {metadata['model_name']}\n\n{markdown_table(rows)}\n",
        description=f"{metadata['model_format']} sha256:{metadata['sha256'][:12]}",
    )
