"""Trust step: a run that tried to set the policy is refused, and the refusal recorded."""

from __future__ import annotations

from prefect import task

from slsa_models import deploy
from slsa_models.deploy.trust import configured_policy
from slsa_models.errors import SlsaModelsError
from slsa_models.store import open_store
from tasks.policy import STORE_IO


@task(name="refuse-run", **STORE_IO)
def refuse_run(store_uri: str, model_name: str, digest: str | None, error: Exception,
               flow_run_id: str | None) -> deploy.Decision:
    try:  # sign with the deployment's deployer, trusting the deployers of its own policy
        policy = configured_policy()
    except SlsaModelsError:
        policy = None
    decision = deploy.record_run_refusal(
        open_store(store_uri), model_name, digest, str(error), failed_check=deploy.TRUST_PARAMETERS,
        deployer=deploy.deployer_for(policy), flow_run_id=flow_run_id,
    )
    print(f"refused: {decision.record.reason}")
    return decision
