"""Policy checks on verified provenance and the verified certificate.

Each function returns named Checks with expected and actual values. The
slsa-verifier checks come first, in its order; then what this project adds:
the provenance must agree with the certificate (commit, ref, trigger,
repository and owner ids, run, workflow) and the build ran on a GitHub-hosted
runner. Everything here reads values already authenticated by the signature.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from slsa_models.verify import semver
from slsa_models.verify.artifact import Artifact
from slsa_models.verify.github import GITHUB_URL, GitHubIdentity
from slsa_models.verify.policy import AttestationPolicy, BuilderID, GitHubBuildRules
from slsa_models.verify.report import SUBJECT_DIGEST, Check
from slsa_models.verify.statement import (
    FieldError,
    Provenance,
    split_git_uri,
)

TRUSTED_BUILDER_REPOSITORY = "https://github.com/slsa-framework/slsa-github-generator"
# slsa-verifier's default trusted builders for artifacts (verify-artifact).
DEFAULT_TRUSTED_BUILDERS = frozenset({
    f"{TRUSTED_BUILDER_REPOSITORY}/.github/workflows/generator_generic_slsa3.yml",
    f"{TRUSTED_BUILDER_REPOSITORY}/.github/workflows/builder_go_slsa3.yml",
    f"{TRUSTED_BUILDER_REPOSITORY}/.github/workflows/builder_docker-based_slsa3.yml",
})
GITHUB_HOSTED = "github-hosted"
MISSING = "(missing)"

# Every check name the verifier reports, in report order. Stable: users match on them.
CHECK_NAMES: tuple[str, ...] = (
    "evidence-kind", "signed-timestamp", "certificate-chain", "certificate-sct", "certificate-issuer",
    "transparency-log",
    "signer", "signature", "key-hint", "key-expiry", "certificate-usage", "log-entry-binding", "statement", "predicate-type",
    "builder-id", "cert-identity", "builder-ref", "source-owner", "source-uri", "provenance-builder",
    "source-materials", SUBJECT_DIGEST, "model-file", "source-ref", "source-digest", "signer-digest",
    "source-branch", "source-tag", "source-versioned-tag", "workflow-inputs",
    "trigger",
    "cert-commit", "cert-ref", "cert-trigger", "cert-repository-id", "cert-owner-id",
    "cert-run", "cert-workflow", "runner-environment",
    # the gate's own checks, after the verifier's
    "model-name", "model-digest", "model-files", "deployed-digest", "provenance-digest", "policy",
)


def _show(value: str | None) -> str:
    return MISSING if value is None else value


def _agree(name: str, expected: str | None, actuals: Sequence[tuple[str, str | None]],
           what: str) -> Check:
    """Pass when ``expected`` is known and every actual value equals it."""
    if expected is None:
        return Check(name, False, f"{what} from the certificate", MISSING,
                     "the certificate does not record it")
    for label, value in actuals:
        if value != expected:
            return Check(name, False, expected, f"{_show(value)} in {label}",
                         f"the provenance {what} does not match the certificate")
    return Check(name, True, expected, expected)


# --- slsa-verifier's checks --------------------------------------------------------

def _signer(identity: GitHubIdentity) -> BuilderID | None:
    signer = identity.signer
    if not signer or "@" not in signer or not signer.startswith(GITHUB_URL):
        return None
    return BuilderID.parse(signer)


def check_builder_id(identity: GitHubIdentity, policy: GitHubBuildRules) -> Check:
    signer = _signer(identity)
    actual = identity.signer or MISSING
    expected_builder = policy.expected_builder
    if expected_builder is None:
        expected = "a trusted builder (slsa-github-generator generic, Go or docker-based workflow)"
        ok = signer is not None and signer.name in DEFAULT_TRUSTED_BUILDERS
        detail = "" if ok else "the signing workflow is not a trusted builder; pass --builder-id to trust it"
        return Check("builder-id", ok, expected, actual, detail)
    ok = signer is not None and expected_builder.accepts(signer)
    detail = "" if ok else "the provenance was signed by another workflow"
    return Check("builder-id", ok, str(expected_builder), actual, detail)


def check_builder_ref(identity: GitHubIdentity) -> Check:
    """The generator's builder runs at a release tag ``vX.Y.Z`` (a moving ref could change
    under it). Attestations have no such rule: their signer is pinned by ``cert-identity``
    or ``builder-id`` and the source ref by ``source-ref``."""
    expected = "refs/tags/vX.Y.Z"
    signer = _signer(identity)
    if signer is None:
        return Check("builder-ref", False, expected, identity.signer or MISSING,
                     "the certificate's signer is not a GitHub workflow ref")
    tag = signer.version.removeprefix("refs/tags/") if signer.version.startswith("refs/tags/") else None
    ok = tag is not None and semver.is_release_tag(tag)
    return Check("builder-ref", ok, expected, signer.version,
                 "" if ok else "the builder must be referenced at a release tag vX.Y.Z")


def check_provenance_builder(identity: GitHubIdentity, provenance: Provenance) -> Check:
    """The provenance's builder.id is exactly the workflow that signed it."""
    expected = identity.signer or MISSING
    ok = identity.signer is not None and provenance.builder_id == identity.signer
    return Check("provenance-builder", ok, expected, provenance.builder_id,
                 "" if ok else "builder.id in the provenance is not the certificate's signer")


def check_source_uri(identity: GitHubIdentity, provenance: Provenance, policy: GitHubBuildRules) -> Check:
    """The certificate's repository and the provenance's configSource and materials
    all name the expected repository."""
    expected = policy.normalized_source_uri or ""
    found = [
        ("certificate", "git+" + GITHUB_URL + identity.repository if identity.repository else None),
        ("provenance trigger (configSource)", split_git_uri(provenance.trigger_uri)[0]),
        ("provenance source (materials)", split_git_uri(provenance.source_uri)[0]),
    ]
    for label, value in found:
        if value != expected:
            return Check("source-uri", False, expected, f"{_show(value)} in the {label}",
                         "built from another repository")
    return Check("source-uri", True, expected, expected)


def check_source_materials(provenance: Provenance) -> Check:
    """configSource (what triggered) and the first material (what was built) agree, ref included."""
    trigger, source = provenance.trigger_uri, provenance.source_uri
    if not trigger or not split_git_uri(trigger)[1]:
        return Check("source-materials", False, "a configSource URI with a ref", _show(trigger),
                     "malformed provenance")
    if not source or not split_git_uri(source)[1]:
        return Check("source-materials", False, trigger, _show(source),
                     "the source material has no ref")
    ok = trigger == source
    return Check("source-materials", ok, trigger, source,
                 "" if ok else "source and trigger URIs do not match")


def check_subject(provenance: Provenance, artifact: Artifact, algorithm: str = "sha256") -> Check:
    digest = artifact.digest(algorithm)
    if digest is None:
        return Check(SUBJECT_DIGEST, False, f"a {algorithm} subject digest", "no such digest of the artifact",
                     f"the artifact was not hashed with {algorithm}", artifact=artifact.name)
    expected = f"{algorithm}:{digest}"
    for subject in provenance.subjects:
        if subject.digest.get(algorithm, "").lower() == digest:
            return Check(SUBJECT_DIGEST, True, expected, f"subject {subject.name}",
                         artifact=artifact.name)
    names = ", ".join(s.name for s in provenance.subjects)
    return Check(SUBJECT_DIGEST, False, expected, "no subject with this digest",
                 f"the provenance covers {names}; the artifact's bytes differ",
                 artifact=artifact.name)


def _ref_name(ref: str, kind: str) -> str:
    """``refs/<kind>/<name>`` -> name; FieldError for another kind of ref."""
    parts = ref.split("/", 2)
    ref_kind, name = (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "refs" else ("", ref)
    if ref_kind != kind or not name:
        raise FieldError(f"{ref} is not a {'tag' if kind == 'tags' else 'branch'} ref")
    return name


def _provenance_branch(provenance: Provenance) -> str:
    ref = provenance.branch_ref()
    if not ref:
        raise FieldError(f"the build of {provenance.ref} records no branch")
    return _ref_name(ref, "heads")


def _provenance_tag(provenance: Provenance) -> str:
    ref = provenance.tag_ref()
    if not ref:
        raise FieldError(f"the build of {provenance.ref} has no tag")
    return _ref_name(ref, "tags")


def check_source_branch(provenance: Provenance, expected: str) -> Check:
    try:
        branch = _provenance_branch(provenance)
    except FieldError as error:
        return Check("source-branch", False, expected, "no branch", str(error))
    ok = branch == expected
    return Check("source-branch", ok, expected, branch, "" if ok else "built from another branch")


def check_source_tag(provenance: Provenance, expected: str) -> Check:
    try:
        tag = _provenance_tag(provenance)
    except FieldError as error:
        return Check("source-tag", False, expected, "no tag", str(error))
    ok = tag == expected
    return Check("source-tag", ok, expected, tag, "" if ok else "built from another tag")


def check_source_versioned_tag(provenance: Provenance, expected: str) -> Check:
    try:
        tag = _provenance_tag(provenance)
    except FieldError as error:
        return Check("source-versioned-tag", False, expected, "no tag", str(error))
    reason = semver.versioned_tag_mismatch(tag, expected)
    return Check("source-versioned-tag", reason is None, expected, tag, reason or "")


def check_workflow_inputs(provenance: Provenance, expected: dict[str, str]) -> Check:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(expected.items()))
    try:
        inputs = provenance.workflow_inputs()
    except FieldError as error:
        return Check("workflow-inputs", False, shown, "no inputs", str(error))
    for key, value in sorted(expected.items()):
        actual = inputs.get(key)
        if not isinstance(actual, str):
            return Check("workflow-inputs", False, shown, f"no string input {key!r}",
                         f"cannot retrieve the value of {key!r}")
        if actual != value:
            return Check("workflow-inputs", False, shown, f"{key}={actual}",
                         f"input {key!r} had another value")
    return Check("workflow-inputs", True, shown, shown)


def check_trigger(identity: GitHubIdentity, triggers: Sequence[str]) -> Check:
    """The event that started the build (from the certificate) is one the policy allows."""
    expected = " or ".join(triggers)
    actual = identity.trigger
    ok = actual in triggers
    return Check("trigger", ok, expected, _show(actual),
                 "" if ok else "the build was started by another event")


# --- beyond slsa-verifier: the provenance must agree with the certificate ------------

def check_certificate_consistency(identity: GitHubIdentity, provenance: Provenance) -> list[Check]:
    return [
        _agree("cert-commit", identity.commit, provenance.commits, "commit"),
        _agree("cert-ref", identity.ref, provenance.refs, "ref"),
        _agree("cert-trigger", identity.trigger,
               [("the trigger (event name)", provenance.event_name)], "trigger"),
        _agree("cert-repository-id", identity.source_repository_id,
               [("the repository id", provenance.repository_id)], "repository id"),
        _agree("cert-owner-id", identity.source_repository_owner_id,
               [("the repository owner id", provenance.owner_id)], "owner id"),
        _agree("cert-run", identity.run_invocation_uri, provenance.invocation_uris, "run id and attempt"),
        _agree("cert-workflow", identity.build_config_uri,
               [("the build workflow", provenance.workflow_uri)], "build workflow"),
    ]


def check_runner(identity: GitHubIdentity, provenance: Provenance) -> Check:
    found = [("the certificate", identity.runner_environment)]
    if provenance.runner_environment is not None:
        found.append(("the provenance", provenance.runner_environment))
    for label, value in found:
        if value != GITHUB_HOSTED:
            return Check("runner-environment", False, GITHUB_HOSTED, f"{_show(value)} in {label}",
                         "a self-hosted runner is outside the builder's isolation guarantees")
    return Check("runner-environment", True, GITHUB_HOSTED, GITHUB_HOSTED)


# --- GitHub artifact attestations: gh attestation verify's rules ---------------------

def check_predicate_type(provenance: Provenance, expected: str) -> Check:
    ok = provenance.predicate_type == expected
    return Check("predicate-type", ok, expected, provenance.predicate_type,
                 "" if ok else "the attestation has another predicate type")


def check_cert_identity(identity: GitHubIdentity, policy: AttestationPolicy) -> Check:
    """The certificate's SubjectAlternativeName, exactly or by regex (unanchored, as gh's
    sigstore-go matcher), as gh builds the rule from the policy."""
    how, value = policy.identity
    actual = identity.san_uri
    if how == "exact":
        ok = actual == value
        return Check("cert-identity", ok, value, _show(actual),
                     "" if ok else "the attestation was signed by another workflow")
    ok = actual is not None and re.search(value, actual) is not None
    detail = "" if ok else ("the attestation was signed by another workflow; name the signer with "
                            "signer-repo, signer-workflow or cert-identity to trust it")
    return Check("cert-identity", ok, f"a SAN matching {value}", _show(actual), detail)


def _cert_equal(name: str, expected: str, actual: str | None, what: str) -> Check:
    """gh's comparison of a certificate extension: equal ignoring case."""
    ok = actual is not None and actual.casefold() == expected.casefold()
    return Check(name, ok, expected, _show(actual), "" if ok else f"the certificate records another {what}")


def check_source_owner(identity: GitHubIdentity, policy: AttestationPolicy) -> Check:
    return _cert_equal("source-owner", policy.url(policy.owner_name),
                       identity.source_repository_owner_uri, "source repository owner")


def check_attestation_source(identity: GitHubIdentity, provenance: Provenance,
                             policy: AttestationPolicy, repository: str) -> Check:
    """The certificate's source repository (gh's rule), and the provenance's workflow
    repository and first dependency, all name ``repository`` (ignoring case)."""
    expected = policy.url(repository)
    check = _cert_equal("source-uri", expected, identity.source_repository_uri, "source repository")
    if not check.passed:
        return check
    found = [("the provenance workflow", split_git_uri(provenance.trigger_uri)[0]),
             ("the provenance source (resolvedDependencies)", split_git_uri(provenance.source_uri)[0])]
    for label, value in found:
        if value is None or value.removeprefix("git+").casefold() != expected.casefold():
            return Check("source-uri", False, expected, f"{_show(value)} in {label}",
                         "the provenance names another repository than its certificate")
    return check


def evaluate_attestation(identity: GitHubIdentity, provenance: Provenance, policy: AttestationPolicy,
                         artifacts: Sequence[Artifact]) -> list[Check]:
    """gh attestation verify's checks (predicate type, signer, owner, repository, refs and
    digests, runner), the rules shared with slsa-verifier's flags, and the cross-checks."""
    checks = [check_predicate_type(provenance, policy.predicate_type)]
    checks.append(check_builder_id(identity, policy) if policy.builder_id is not None
                  else check_cert_identity(identity, policy))
    checks.append(check_source_owner(identity, policy))
    if policy.repository is not None:
        checks.append(check_attestation_source(identity, provenance, policy, policy.repository))
    checks.append(check_source_materials(provenance))
    checks += [check_subject(provenance, artifact, policy.digest_alg) for artifact in artifacts]
    for name, expected, actual, what in (
            ("source-ref", policy.source_ref, identity.source_repository_ref, "source ref"),
            ("source-digest", policy.source_digest, identity.source_repository_digest, "source commit"),
            ("signer-digest", policy.signer_digest, identity.build_signer_digest, "signer commit")):
        if expected is not None:
            checks.append(_cert_equal(name, expected, actual, what))
    checks += _ref_and_input_checks(identity, provenance, policy)
    checks += check_certificate_consistency(identity, provenance)
    if policy.deny_self_hosted_runners:
        checks.append(check_runner(identity, provenance))
    return checks


def _ref_and_input_checks(identity: GitHubIdentity, provenance: Provenance,
                          policy: GitHubBuildRules) -> list[Check]:
    checks = []
    if policy.source_branch is not None:
        checks.append(check_source_branch(provenance, policy.source_branch))
    if policy.source_tag is not None:
        checks.append(check_source_tag(provenance, policy.source_tag))
    if policy.source_versioned_tag is not None:
        checks.append(check_source_versioned_tag(provenance, policy.source_versioned_tag))
    if policy.build_workflow_inputs:
        checks.append(check_workflow_inputs(provenance, dict(policy.build_workflow_inputs)))
    if policy.triggers:
        checks.append(check_trigger(identity, policy.triggers))
    return checks


def evaluate(identity: GitHubIdentity, provenance: Provenance, policy: GitHubBuildRules,
             artifacts: Sequence[Artifact]) -> list[Check]:
    """Every policy check of the policy's kind: for generator provenance slsa-verifier's, in
    its order, then the cross-checks; for attestations ``evaluate_attestation``."""
    if isinstance(policy, AttestationPolicy):
        return evaluate_attestation(identity, provenance, policy, artifacts)
    checks = [
        check_builder_id(identity, policy),
        check_builder_ref(identity),
        check_source_uri(identity, provenance, policy),
        check_provenance_builder(identity, provenance),
        check_source_materials(provenance),
    ]
    checks += [check_subject(provenance, artifact) for artifact in artifacts]
    checks += _ref_and_input_checks(identity, provenance, policy)
    checks += check_certificate_consistency(identity, provenance)
    checks.append(check_runner(identity, provenance))
    return checks
