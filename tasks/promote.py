"""Decision steps: promote a passed verdict, or record the refusal. Both append to the history."""

from __future__ import annotations

from typing import Any

from prefect import task

from slsa_models import deploy
from slsa_models.store import StoredObject, open_store
from tasks.policy import STORE_IO


@task(name="promote", **STORE_IO)
def promote(
    store_uri: str,
    verdict: deploy.Verdict,
    smoke: deploy.SmokeResult,
    candidate: StoredObject,
    policy: dict[str, Any],
    flow_run_id: str | None,
) -> deploy.Decision:
    """Idempotent: a retry finds its own decision in current.json and only completes the history."""
    decision = deploy.promote(open_store(store_uri), verdict, smoke, candidate=candidate,
                              policy=policy, flow_run_id=flow_run_id)
    print(f"{decision.record.outcome}: {decision.record.reason or decision.record.object['uri']}")
    return decision


@task(name="record-refusal", **STORE_IO)
def record_refusal(
    store_uri: str,
    verdict: deploy.Verdict,
    smoke: deploy.SmokeResult,
    candidate: StoredObject,
    policy: dict[str, Any],
    flow_run_id: str | None,
) -> deploy.Decision:
    decision = deploy.record_refusal(open_store(store_uri), verdict, smoke, candidate=candidate,
                                     policy=policy, flow_run_id=flow_run_id)
    print(f"refused: {decision.record.reason}")
    return decision
