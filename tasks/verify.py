"""Verify step: the verifier on the downloaded bytes' digest, under the deploy's policy."""

from __future__ import annotations

from prefect import task

from slsa_models import deploy
from slsa_models.store import StoredObject
from slsa_models.verify import Policy
from tasks.policy import IN_MEMORY


@task(name="verify", **IN_MEMORY)
def verify_model(
    model_name: str,
    candidate: StoredObject,
    provenance: deploy.FetchedProvenance,
    model: deploy.FetchedModel | None,
    policy: Policy,
) -> deploy.Verdict:
    verdict = deploy.verify_candidate(model_name, candidate, provenance, model, policy)
    print("PASSED: SLSA verification passed" if verdict.passed else f"FAILED: {verdict.reason}")
    return verdict
