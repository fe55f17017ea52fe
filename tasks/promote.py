"""Decide steps: promote a verified model, or append the refusal, to the signed history."""

from __future__ import annotations

from typing import Any

from prefect import task

from slsa_models import deploy
from tasks.policy import STORE_IO


@task(name="promote", **STORE_IO)
def promote(gate: deploy.Gate, verdict: deploy.Verdict, smoke: deploy.SmokeResult,
            deployer: deploy.Deployer, policy: dict[str, Any], flow_run_id: str | None) -> deploy.Decision:
    """Idempotent: a retry finds its own decision in history and current.json."""
    decision = deploy.promote(gate.store, verdict, smoke, deployer=deployer, policy=policy,
                              flow_run_id=flow_run_id)
    print(f"{decision.record.outcome}: {decision.record.reason or decision.record.object.get('uri')}")
    return decision


@task(name="record-refusal", **STORE_IO)
def record_refusal(gate: deploy.Gate, verdict: deploy.Verdict, smoke: deploy.SmokeResult,
                   deployer: deploy.Deployer, policy: dict[str, Any],
                   flow_run_id: str | None) -> deploy.Decision:
    decision = deploy.record_refusal(gate.store, verdict, smoke, deployer=deployer, policy=policy,
                                     flow_run_id=flow_run_id)
    print(f"refused: {decision.record.reason}")
    return decision
