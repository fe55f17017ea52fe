"""Deploy flow: find -> fetch evidence -> fetch model -> verify -> smoke-load -> promote -> report.

A stored model is promoted (``deployments/<model>/current.json``) only when its
evidence verifies under the deployment's policy; every decision is appended,
signed, to the model's history. The command line is
``slsa_models.commands.deploy`` (``python -m flows.deploy --help``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import deployment, flow_run

from slsa_models import deploy
from slsa_models.deploy.trust import resolve_trust
from slsa_models.settings import default_store_uri
from slsa_models.store import open_store
from tasks.fetch import fetch_evidence, fetch_model, find_model
from tasks.promote import promote, record_refusal
from tasks.report import publish_deploy_report
from tasks.smoke import smoke_load
from tasks.trust import refuse_run
from tasks.verify import verify_model


def _run_name() -> str:
    """``deploy-<model>-<12 hex of the digest>``, or ``-latest`` when no digest was given."""
    parameters = flow_run.parameters
    digest = str(parameters.get("digest") or "")
    shown = digest.lower().removeprefix("sha256:")[:12] or "latest"
    return f"deploy-{parameters.get('model_name')}-{shown}"


@flow(name="deploy-model", flow_run_name=_run_name, log_prints=True)
def deploy_flow(model_name: str, digest: str | None = None, store: str | None = None,
                trust: dict[str, Any] | None = None) -> dict[str, Any]:
    """Deploy ``model_name`` (``digest``, or its newest stored model) if its evidence verifies.

    The policy is the deployment's own (``SLSA_MODELS_POLICY``); ``trust`` (policy
    flags) is for runs outside a deployment. Returns the record of the decision;
    a refusal is recorded, reported, then raised.
    """
    store_uri = store or default_store_uri()
    run_id = str(flow_run.id) if flow_run.id else None
    try:
        settings = resolve_trust(trust, from_deployment=deployment.id is not None)
    except deploy.trust.TrustParametersRefused as error:
        refuse_run(store_uri, model_name, digest, error, run_id)
        raise
    gate = deploy.Gate(open_store(store_uri), model_name, settings.policy, provenance_url=settings.provenance_url,
                       allow_pickle=settings.allow_pickle, github=settings.github())
    deployer = deploy.deployer_for(settings.policy)
    recorded_policy = {**deploy.policy_to_dict(settings.policy), "source": settings.source}

    candidate = find_model(gate, digest)
    evidence = fetch_evidence(gate, candidate)
    with tempfile.TemporaryDirectory(prefix="slsa-models-deploy-") as workdir:
        usable = any(piece.usable for piece in evidence)
        model = fetch_model(gate, candidate, Path(workdir)) if usable else None
        verdict = verify_model(gate, candidate, evidence, model)
        smoke = smoke_load(gate, verdict)
        decide = promote if verdict.passed and not smoke.blocks_deploy else record_refusal
        decision = decide(gate, verdict, smoke, deployer, recorded_policy, run_id)
    publish_deploy_report(gate, deployer, decision)
    deploy.raise_for_outcome(verdict, smoke, decision)
    return decision.record.to_dict()


if __name__ == "__main__":
    from slsa_models.commands.deploy import main

    sys.exit(main())
