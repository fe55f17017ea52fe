"""Smoke-load step: load verified bytes with the safe loader and predict once."""

from __future__ import annotations

from prefect import task

from slsa_models import deploy
from tasks.policy import IN_MEMORY


@task(name="smoke-load", **IN_MEMORY)
def smoke_load(gate: deploy.Gate, verdict: deploy.Verdict) -> deploy.SmokeResult:
    result = gate.smoke_load(verdict)
    print(f"smoke-load {result.status}: {result.detail}")
    return result
