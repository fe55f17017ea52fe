"""Verify step: every piece of evidence on the downloaded bytes' digest, under the policy."""

from __future__ import annotations

from prefect import task

from slsa_models import deploy
from slsa_models.store import StoredObject
from tasks.policy import IN_MEMORY


@task(name="verify", **IN_MEMORY)
def verify_model(gate: deploy.Gate, candidate: StoredObject,
                 evidence: tuple[deploy.FetchedProvenance, ...],
                 model: deploy.FetchedModel | None) -> deploy.Verdict:
    verdict = gate.verify(candidate, evidence, model)
    print("PASSED: SLSA verification passed" if verdict.passed else f"FAILED: {verdict.reason}")
    dropped = verdict.model.dropped_line() if verdict.model is not None else None
    if dropped:
        print(dropped)
    return verdict
