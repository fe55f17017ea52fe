"""verify_artifacts(): one provenance, several artifacts, one policy -> a Report.

The signature is verified once, then the policy checks run for all
artifacts. Each provenance kind has its own verifier function in
``KIND_VERIFIERS``: Sigstore bundles, legacy generator files (refused
offline) and key-signed bundles from the local builder (``local.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from slsa_models.errors import InputError, ProvenanceError
from slsa_models.verify import checks as policy_checks
from slsa_models.verify.artifact import Artifact
from slsa_models.verify.bundle import (
    KIND_KEY_SIGNED,
    KIND_LEGACY_DSSE,
    KIND_SIGSTORE,
    LoadedProvenance,
    load_provenance,
)
from slsa_models.verify.crypto import TRANSPARENCY_LOG, verify_bundle
from slsa_models.verify.github import GITHUB_URL, identity_from_certificate
from slsa_models.verify.local import verify_key_signed
from slsa_models.verify.policy import Policy
from slsa_models.verify.report import Check, Report
from slsa_models.verify.report import artifact_results as _artifact_results
from slsa_models.verify.report import unverified as _unverified
from slsa_models.verify.statement import StatementError, parse_statement

KindVerifier = Callable[[LoadedProvenance, Sequence[Artifact], Policy], Report]


def _require_source(policy: Policy) -> None:
    if policy.source_uri is None and policy.public_keys:
        raise InputError(
            "no source URI: the policy trusts only local builders' keys, and this provenance is "
            "signed through Sigstore; to trust GitHub builds say which repository they must come "
            "from (--source-uri github.com/OWNER/REPO, or a [github] table in the policy file)"
        )
    if policy.source_uri is None:
        raise InputError(
            "no source URI: say which repository the artifact must come from "
            "(--source-uri github.com/OWNER/REPO)"
        )


def _verify_sigstore(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                     policy: Policy) -> Report:
    _require_source(policy)
    signature = verify_bundle(loaded, policy.trusted_root)
    checks = list(signature.checks)
    if not signature.passed:
        return _unverified(loaded, checks, artifacts, KIND_SIGSTORE)
    try:
        provenance = parse_statement(signature.payload_type, signature.payload)
    except StatementError as error:
        checks.append(Check("statement", False, "an in-toto statement with SLSA provenance",
                            "unsupported", str(error)))
        return _unverified(loaded, checks, artifacts, KIND_SIGSTORE, signature.payload)
    checks.append(Check("statement", True, "an in-toto statement with SLSA provenance",
                        f"{provenance.predicate_type} ({provenance.build_type})"))
    identity = identity_from_certificate(loaded.bundle.signing_certificate)
    checks += policy_checks.evaluate(identity, provenance, policy, artifacts)
    results = _artifact_results(checks, artifacts, provenance.subject_names())
    repository = identity.repository
    return Report(
        passed=all(c.passed for c in checks) and all(r.passed for r in results),
        checks=checks,
        artifacts=results,
        builder_id=identity.signer,
        source_uri=GITHUB_URL + repository if repository else None,
        commit=identity.commit,
        provenance_sha256=loaded.sha256,
        kind=provenance.kind,
        payload=signature.payload,
    )


def _verify_legacy(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                   policy: Policy) -> Report:
    """slsa-github-generator v1.x/v2.0.0 files hold no log proof: nothing offline can vouch
    for when the short-lived certificate signed, so they FAIL with how to verify online."""
    _require_source(policy)
    check = Check(
        TRANSPARENCY_LOG,
        False,
        "a Rekor inclusion proof and signed entry timestamp in the file",
        "none (a DSSE envelope with a certificate, from slsa-github-generator v1.x or v2.0.0)",
        "this file carries no transparency-log proof; verify it online with "
        "`slsa-verifier verify-artifact` (it looks the entry up in Rekor), or rebuild with "
        "slsa-github-generator v2.1.0 or later, which writes a self-contained Sigstore bundle",
    )
    return _unverified(loaded, [check], artifacts, KIND_LEGACY_DSSE)


KIND_VERIFIERS: dict[str, KindVerifier] = {
    KIND_SIGSTORE: _verify_sigstore,
    KIND_LEGACY_DSSE: _verify_legacy,
    KIND_KEY_SIGNED: verify_key_signed,
}


def verify_loaded(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                  policy: Policy) -> Report:
    """Verify an already loaded provenance (see ``load_provenance``)."""
    if not artifacts:
        raise InputError("no artifact to verify: give at least one file or --digest sha256:HEX")
    verifier = KIND_VERIFIERS.get(loaded.kind)
    if verifier is None:
        raise ProvenanceError(f"{loaded.label}: {loaded.kind} provenance cannot be verified by this version")
    return verifier(loaded, artifacts, policy)


def verify_artifacts(provenance: str | os.PathLike[str] | Path | bytes,
                     artifacts: Sequence[Artifact], policy: Policy) -> Report:
    """Verify ``artifacts`` against one provenance file (path or bytes) under ``policy``.

    A failed check gives a Report with ``passed=False``; input that cannot be
    used at all raises ProvenanceError (the file) or InputError (the policy).
    """
    return verify_loaded(load_provenance(provenance), artifacts, policy)
