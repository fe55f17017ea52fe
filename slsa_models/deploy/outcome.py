"""Turn a deploy decision into the error that ends a refused run (after it was recorded)."""

from __future__ import annotations

from slsa_models.deploy.gate import Verdict
from slsa_models.deploy.promotion import Decision
from slsa_models.deploy.records import CONFLICT, PROMOTED
from slsa_models.deploy.smoke import SmokeResult
from slsa_models.errors import ConflictError, ProvenanceError, VerificationFailed


def raise_for_outcome(verdict: Verdict, smoke: SmokeResult, decision: Decision) -> None:
    """Return when the model was deployed; otherwise raise the error that says why not.

    Unusable evidence raises its ProvenanceError (exit 2); a failed check
    raises VerificationFailed naming the first failed check; a
    failed smoke test raises VerificationFailed naming ``smoke-load``; an object
    that changed after verification or a lost race raises ConflictError.
    """
    record = decision.record
    if record.outcome == PROMOTED:
        return
    if not verdict.passed:
        report = verdict.report
        if report is None:  # no piece of evidence could be used
            errors = [piece.error for piece in verdict.evidence if piece.error is not None]
            raise errors[0] if errors else ProvenanceError(verdict.reason or "no evidence")
        raise VerificationFailed(verdict.reason or "SLSA verification failed", report=report)
    if smoke.blocks_deploy:
        raise VerificationFailed(f"smoke-load: {smoke.detail}; nothing deployed", report=verdict.report)
    if record.outcome == CONFLICT or record.reason:
        raise ConflictError(record.reason or "another deployment won; nothing changed")
    raise ConflictError(f"{record.model_name}: not deployed ({record.outcome})")
