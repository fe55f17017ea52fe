"""Attest step: the local builder signs SLSA v1 provenance for the stored model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.runtime import flow_run

from slsa_models.provenance.attest import attest
from slsa_models.provenance.signers import select_signer
from tasks.policy import IN_MEMORY


@task(name="attest", **IN_MEMORY)
def attest_model(
    subjects: list[tuple[str, str]],
    *,
    signing_key: str | None,
    builder_id: str,
    parameters: dict[str, Any],
    started_on: datetime,
) -> bytes:
    signer = select_signer(Path(signing_key) if signing_key else None)
    shown = subjects[0][0] if len(subjects) == 1 else f"{len(subjects)} files"
    print(f"signing provenance for {shown} with the {signer.description}")
    bundle = attest(
        subjects,
        signer=signer,
        builder_id=builder_id,
        external_parameters=parameters,
        invocation_id=str(flow_run.id) if flow_run.id else None,
        started_on=started_on,
    )
    return bundle.encode("utf-8")
