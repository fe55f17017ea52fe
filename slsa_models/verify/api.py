"""verify_loaded(): one piece of evidence, several artifacts, a Policy -> a Report.

Each piece of evidence is judged by the policy of its own kind: Sigstore
bundles by the GitHub kinds (which one is decided by the verified statement:
slsa-github-generator or GitHub attestation), key-signed bundles by the local
builder's, legacy generator files are refused offline. Evidence of a kind the
policy does not list fails ``evidence-kind``. The signature is verified once,
then the rules run for all artifacts.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from slsa_models.errors import InputError, ProvenanceError, StatementError
from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL, KIND_OMS
from slsa_models.verify import checks as policy_checks
from slsa_models.verify.artifact import Artifact
from slsa_models.verify.bundle import (
    KIND_KEY_SIGNED,
    KIND_LEGACY_DSSE,
    KIND_OMS_SIGNATURE,
    KIND_SIGSTORE,
    LoadedProvenance,
    load_provenance,
)
from slsa_models.verify.crypto import TRANSPARENCY_LOG, SignatureResult, verify_bundle
from slsa_models.verify.github import GITHUB_URL, identity_from_certificate
from slsa_models.verify.local import verify_key_signed
from slsa_models.verify.names import named_models
from slsa_models.verify.policy import (
    AttestationPolicy,
    GitHubBuildRules,
    LocalBuilderPolicy,
    OMSPolicy,
    Policy,
)
from slsa_models.verify.report import Check, Report, artifact_results, unverified
from slsa_models.verify.statement import parse_statement

EVIDENCE_KIND = "evidence-kind"
POLICY = "policy"
KindVerifier = Callable[[LoadedProvenance, Sequence[Artifact], Policy], Report]


TABLES = {KIND_GENERATOR: "[slsa-github-generator]", KIND_GITHUB_ATTESTATION: "[github-attestation]",
          KIND_LOCAL: "[local-builder.NAME]", KIND_OMS: "[oms]"}


def wrong_kind(loaded: LoadedProvenance, artifacts: Sequence[Artifact], policy: Policy,
               kinds: Sequence[str], label: str) -> Report:
    """A FAILED report: the policy lists none of ``kinds``, the kinds that could judge this evidence."""
    tables = " or ".join(TABLES[kind] for kind in kinds)
    check = Check(EVIDENCE_KIND, False, " or ".join(policy.kind_names), label,
                  f"the policy does not trust {' or '.join(kinds)} evidence (add a {tables} table to trust it)")
    return unverified(loaded, [check], artifacts, kinds[0] if len(kinds) == 1 else loaded.kind)


def _peek_kind(loaded: LoadedProvenance) -> str | None:
    """The kind the statement inside a Sigstore bundle claims, read WITHOUT verifying it.

    Used only to pick which kind's trusted root to verify against when the GitHub
    kinds name different roots; the verified statement must then be of that kind.
    """
    import base64

    try:
        envelope = loaded.document["dsseEnvelope"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        return parse_statement(envelope.get("payloadType"), payload).kind
    except Exception:  # noqa: BLE001 - anything unreadable: no hint, verify with the default root
        return None


def _signing(rules: GitHubBuildRules) -> tuple[Path | None, str, bool]:
    """What a kind verifies the signature with: its trusted root, the OIDC issuer the
    certificate must name, and whether the issuer is compared ignoring case (gh's rule)."""
    return rules.trusted_root, rules.oidc_issuer, isinstance(rules, AttestationPolicy)


def _verify_signature(loaded: LoadedProvenance, signing: tuple[Path | None, str, bool]) -> SignatureResult:
    root, issuer, fold_case = signing
    return verify_bundle(loaded.bundle, root, issuer, fold_case=fold_case)


def _verify_sigstore(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                     policy: Policy) -> Report:
    github = [rules for rules in policy.kinds if isinstance(rules, GitHubBuildRules)]
    if not github:
        return wrong_kind(loaded, artifacts, policy, (KIND_GENERATOR, KIND_GITHUB_ATTESTATION),
                          "Sigstore-signed provenance from GitHub")
    signing = _signing(github[0])
    if any(_signing(rules) != signing for rules in github):  # root and issuer depend on the kind
        claimed = policy.for_kind(_peek_kind(loaded) or "")
        signing = _signing(claimed) if isinstance(claimed, GitHubBuildRules) else signing
    signature = _verify_signature(loaded, signing)
    checks = list(signature.checks)
    if not signature.passed:
        return unverified(loaded, checks, artifacts, KIND_SIGSTORE)
    try:
        provenance = parse_statement(signature.payload_type, signature.payload)
    except StatementError as error:
        checks.append(Check("statement", False, "an in-toto statement with SLSA provenance",
                            "unsupported", str(error)))
        return unverified(loaded, checks, artifacts, KIND_SIGSTORE, signature.payload)
    rules = policy.for_kind(provenance.kind)
    if not isinstance(rules, GitHubBuildRules):
        return wrong_kind(loaded, artifacts, policy, (provenance.kind,), provenance.kind)
    if _signing(rules) != signing:  # this kind trusts another instance or issuer: verify again
        signature = _verify_signature(loaded, _signing(rules))
        checks = list(signature.checks)
        if not signature.passed:
            return unverified(loaded, checks, artifacts, provenance.kind)
    checks.append(Check("statement", True, "an in-toto statement with SLSA provenance",
                        f"{provenance.predicate_type} ({provenance.build_type})"))
    identity = identity_from_certificate(loaded.bundle.signing_certificate)
    checks += policy_checks.evaluate(identity, provenance, rules, artifacts)
    results = artifact_results(checks, artifacts, provenance.subject_names())
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
        named_models=named_models(provenance, results),
        subjects=provenance.subject_digests(),
        invocation=provenance.invocation,
    )


def _verify_legacy(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                   policy: Policy) -> Report:
    """slsa-github-generator v1.x/v2.0.0 files hold no log proof: nothing offline can vouch
    for when the short-lived certificate signed, so they FAIL with how to verify online."""
    if policy.for_kind(KIND_GENERATOR) is None:
        return wrong_kind(loaded, artifacts, policy, (KIND_GENERATOR,), KIND_GENERATOR)
    check = Check(
        TRANSPARENCY_LOG,
        False,
        "a Rekor inclusion proof and signed entry timestamp in the file",
        "none (a DSSE envelope with a certificate, from slsa-github-generator v1.x or v2.0.0)",
        "this file carries no transparency-log proof; verify it online with "
        "`slsa-verifier verify-artifact` (it looks the entry up in Rekor), or rebuild with "
        "slsa-github-generator v2.1.0 or later, which writes a self-contained Sigstore bundle",
    )
    return unverified(loaded, [check], artifacts, KIND_LEGACY_DSSE)


def _verify_local(loaded: LoadedProvenance, artifacts: Sequence[Artifact], policy: Policy) -> Report:
    rules = policy.for_kind(KIND_LOCAL)
    if not isinstance(rules, LocalBuilderPolicy):
        return wrong_kind(loaded, artifacts, policy, (KIND_LOCAL,), "key-signed provenance (a local builder)")
    return verify_key_signed(loaded, artifacts, rules)


def _verify_oms(loaded: LoadedProvenance, artifacts: Sequence[Artifact], policy: Policy) -> Report:
    """An OMS signature (model_signing): judged by the [oms] policy; the artifacts are the
    model's files (relative path, or the file name of a one-file model)."""
    rules = policy.for_kind(KIND_OMS)
    if not isinstance(rules, OMSPolicy):
        return wrong_kind(loaded, artifacts, policy, (KIND_OMS,), "an OMS signature (model_signing)")
    from slsa_models.oms.verify import verify_oms

    return verify_oms(loaded.bundle, loaded.sha256, artifacts, rules)


KIND_VERIFIERS: dict[str, KindVerifier] = {
    KIND_SIGSTORE: _verify_sigstore,
    KIND_LEGACY_DSSE: _verify_legacy,
    KIND_KEY_SIGNED: _verify_local,
    KIND_OMS_SIGNATURE: _verify_oms,
}


def verify_loaded(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                  policy: Policy) -> Report:
    """Verify an already loaded provenance (see ``load_provenance``)."""
    if not artifacts:
        raise InputError("no artifact to verify: give at least one file or --digest sha256:HEX")
    if not isinstance(policy, Policy):
        raise InputError(f"expected a Policy, got {type(policy).__name__}; build one with "
                         "Policy(GeneratorPolicy(...)) or policy_from_options()")
    verifier = KIND_VERIFIERS.get(loaded.kind)
    if verifier is None:
        raise ProvenanceError(f"{loaded.label}: {loaded.kind} provenance cannot be verified by this version")
    return verifier(loaded, artifacts, policy)


def require_check(report: Report, policy: Policy) -> Report:
    """One piece of evidence judged alone (``verify-artifact``): it passes only if it alone
    satisfies the policy's ``require`` (a policy requiring two kinds needs two pieces)."""
    if not report.passed or not policy.require:
        return report
    problem = policy.combine({report.kind})
    if problem is None:
        return report
    check = Check(POLICY, False, "evidence of " + " and ".join(policy.require), report.kind,
                  problem + " (one provenance file is one piece of evidence)")
    return dataclasses.replace(report, checks=[*report.checks, check], passed=False)


def verify_artifacts(provenance: str | os.PathLike[str] | Path | bytes,
                     artifacts: Sequence[Artifact], policy: Policy) -> Report:
    """Verify ``artifacts`` against one provenance file (path or bytes) under ``policy``.

    A failed check gives a Report with ``passed=False``; input that cannot be
    used at all raises ProvenanceError (the file) or InputError (the policy).
    """
    return verify_loaded(load_provenance(provenance), artifacts, policy)
