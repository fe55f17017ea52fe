"""Smoke-load step: load verified bytes with the safe loader and predict once."""

from __future__ import annotations

from prefect import task

from slsa_models import deploy
from tasks.policy import IN_MEMORY


@task(name="smoke-load", **IN_MEMORY)
def smoke_load(verdict: deploy.Verdict, allow_pickle: bool) -> deploy.SmokeResult:
    path = verdict.model.path if verdict.model is not None else None
    result = deploy.smoke_load(path, verified=verdict.passed, allow_pickle=allow_pickle)
    print(f"smoke-load {result.status}: {result.detail}")
    return result
