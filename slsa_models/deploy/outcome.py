"""Turn a deploy decision into the error that ends a refused run (after it was recorded)."""

from __future__ import annotations

from slsa_models.deploy.gate import Verdict
from slsa_models.deploy.promotion import Decision
from slsa_models.deploy.records import CONFLICT, PROMOTED
from slsa_models.deploy.smoke import SmokeResult
from slsa_models.errors import ConflictError, VerificationFailed


def raise_for_outcome(verdict: Verdict, smoke: SmokeResult, decision: Decision) -> None:
    """Return when the model was deployed; otherwise raise the error that says why not.

    Unusable provenance raises its ProvenanceError (exit 2); a failed check
    raises the verifier's VerificationFailed naming the first failed check; a
    failed smoke test raises VerificationFailed naming ``smoke-load``; an object
    that changed after verification or a lost race raises ConflictError.
    """
    record = decision.record
    if record.outcome == PROMOTED:
        return
    if verdict.error is not None:
        raise verdict.error
    if verdict.report is not None and not verdict.report.passed:
        verdict.report.raise_for_failure()
    if smoke.blocks_deploy:
        raise VerificationFailed(f"smoke-load: {smoke.detail}; nothing deployed", report=verdict.report)
    if record.outcome == CONFLICT or record.reason:
        raise ConflictError(record.reason or "another deployment won; nothing changed")
    raise ConflictError(f"{record.model_name}: not deployed ({record.outcome})")
