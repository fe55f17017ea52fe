"""The policy checks and cross-checks, on the real verified statement and certificate.

A validly signed provenance that contradicts its certificate cannot be made
here (that needs GitHub's OIDC and Fulcio), so these tests take the real
vector's verified payload and certificate identity and change one side, then
run the same check functions the verifier runs. Likewise for GitHub artifact
attestations (SLSA v1), whose statement is built in the documented
``actions.github.io/buildtypes/workflow/v1`` shape.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slsa_models.kinds import KIND_GITHUB_ATTESTATION
from slsa_models.verify import Artifact, AttestationPolicy, GeneratorPolicy, verify_artifacts
from slsa_models.verify import checks as C
from slsa_models.verify.bundle import load_provenance
from slsa_models.verify.github import GitHubIdentity, identity_from_certificate
from slsa_models.verify.statement import Provenance, StatementError, parse_statement
from tests.policies import github_policy

VECTORS = Path(__file__).parent / "vectors"
SOURCE = "github.com/slsa-framework/example-package"
REPO = f"https://{SOURCE}"
SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
COMMIT = "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
ARTIFACT = Artifact.from_digest(SHA256)
IN_TOTO = "application/vnd.in-toto+json"


def real(name: str = "push-v14") -> tuple[GitHubIdentity, dict[str, Any]]:
    loaded = load_provenance(VECTORS / f"binary-linux-amd64-{name}.intoto.jsonl")
    identity = identity_from_certificate(loaded.bundle.signing_certificate)
    statement = json.loads(base64.b64decode(json.loads(loaded.raw)["dsseEnvelope"]["payload"]))
    return identity, statement


def kind_policy(provenance: Provenance, **rules: Any) -> GeneratorPolicy | AttestationPolicy:
    """The policy of the statement's own kind, as the verifier picks it."""
    if provenance.kind == KIND_GITHUB_ATTESTATION:
        return AttestationPolicy(**rules)
    return GeneratorPolicy(**rules)


def evaluated(identity: GitHubIdentity, statement: dict[str, Any], **policy: Any) -> list[C.Check]:
    """Every check the verifier runs on the statement, under the policy of its kind."""
    policy.setdefault("source_uri", SOURCE)
    provenance = parse_statement(IN_TOTO, json.dumps(statement).encode())
    checks = C.evaluate(identity, provenance, kind_policy(provenance, **policy), [ARTIFACT])
    assert {c.name for c in checks} <= set(C.CHECK_NAMES)
    return checks


def failures(identity: GitHubIdentity, statement: dict[str, Any], **policy: Any) -> list[str]:
    return [c.name for c in evaluated(identity, statement, **policy) if not c.passed]


def test_the_real_statement_and_certificate_agree() -> None:
    assert failures(*real()) == []
    assert failures(*real("workflow_dispatch")) == []


def env(statement: dict[str, Any]) -> dict[str, Any]:
    return statement["predicate"]["invocation"]["environment"]


def config(statement: dict[str, Any]) -> dict[str, Any]:
    return statement["predicate"]["invocation"]["configSource"]


def setter(where: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any
           ) -> Callable[[dict[str, Any]], None]:
    return lambda statement: where(statement).__setitem__(key, value)


OTHER_SHA = "0" * 40
STATEMENT_CHANGES: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "github_sha1": (setter(env, "github_sha1", OTHER_SHA), ["cert-commit"]),
    "configSource digest": (lambda s: config(s).__setitem__("digest", {"sha1": OTHER_SHA}),
                            ["cert-commit"]),
    "materials digest": (lambda s: s["predicate"]["materials"][0].__setitem__(
        "digest", {"sha1": OTHER_SHA}), ["cert-commit"]),
    "github_ref": (setter(env, "github_ref", "refs/tags/v15"), ["cert-ref", "cert-workflow"]),
    "configSource ref": (setter(config, "uri", f"git+{REPO}@refs/tags/v15"),
                         ["source-materials", "cert-ref"]),
    "event name": (setter(env, "github_event_name", "workflow_dispatch"), ["cert-trigger"]),
    "repository id": (setter(env, "github_repository_id", "1"), ["cert-repository-id"]),
    "owner id": (setter(env, "github_repository_owner_id", "1"), ["cert-owner-id"]),
    "run id": (setter(env, "github_run_id", "1"), ["cert-run"]),
    "run attempt": (setter(env, "github_run_attempt", "2"), ["cert-run"]),
    "invocation id": (lambda s: s["predicate"]["metadata"].__setitem__("buildInvocationID", "1-1"),
                      ["cert-run"]),
    "entry point": (setter(config, "entryPoint", ".github/workflows/other.yml"), ["cert-workflow"]),
    "builder id": (lambda s: s["predicate"]["builder"].__setitem__(
        "id", s["predicate"]["builder"]["id"].replace("v2.1.0", "v2.0.0")), ["provenance-builder"]),
    "configSource repository": (
        setter(config, "uri", "git+https://github.com/slsa-framework/other@refs/tags/v14"),
        ["source-uri", "source-materials", "cert-run", "cert-workflow"]),
    "materials repository": (
        lambda s: s["predicate"]["materials"][0].__setitem__(
            "uri", "git+https://github.com/slsa-framework/other@refs/tags/v14"),
        ["source-uri", "source-materials"]),
    "materials without ref": (
        lambda s: s["predicate"]["materials"][0].__setitem__("uri", f"git+{REPO}"),
        ["source-materials", "cert-ref"]),
    "subject digest": (lambda s: s["subject"][0]["digest"].__setitem__("sha256", "1" * 64),
                       ["subject-digest"]),
}


@pytest.mark.parametrize("name", sorted(STATEMENT_CHANGES))
def test_a_statement_contradicting_the_certificate_fails(name: str) -> None:
    change, expected = STATEMENT_CHANGES[name]
    identity, statement = real()
    change(statement)
    assert failures(identity, statement) == expected


IDENTITY_CHANGES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "self-hosted runner": ({"runner_environment": "self-hosted"}, ["runner-environment"]),
    "no runner claim": ({"runner_environment": None}, ["runner-environment"]),
    "old certificate without ids": (
        {"source_repository_id": None, "source_repository_owner_id": None},
        ["cert-repository-id", "cert-owner-id"]),
    "builder at a branch": (
        {"san_uri": C.TRUSTED_BUILDER_REPOSITORY
         + "/.github/workflows/generator_generic_slsa3.yml@refs/heads/main"},
        ["builder-ref", "provenance-builder"]),
    "builder at a pre-release": (
        {"san_uri": C.TRUSTED_BUILDER_REPOSITORY
         + "/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0-rc.1"},
        ["builder-ref", "provenance-builder"]),
    "builder at a short tag": (
        {"san_uri": C.TRUSTED_BUILDER_REPOSITORY
         + "/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2"},
        ["builder-ref", "provenance-builder"]),
    "an untrusted signer": (
        {"san_uri": "https://github.com/slsa-framework/example-package/.github/workflows/x.yml@refs/tags/v1.0.0"},
        ["builder-id", "provenance-builder"]),
    "another source repository": (
        {"source_repository_uri": "https://github.com/slsa-framework/other"}, ["source-uri"]),
}


@pytest.mark.parametrize("name", sorted(IDENTITY_CHANGES))
def test_a_certificate_contradicting_the_policy_or_provenance_fails(name: str) -> None:
    change, expected = IDENTITY_CHANGES[name]
    identity, statement = real()
    assert failures(dataclasses.replace(identity, **change), statement) == expected


def test_the_certificate_claims_are_read_from_fulcio_extensions() -> None:
    identity, _ = real("workflow_dispatch")
    assert identity.oidc_issuer == "https://token.actions.githubusercontent.com"
    assert identity.repository == "slsa-framework/example-package"
    assert (identity.commit, identity.ref, identity.trigger) == (
        COMMIT, "refs/heads/main", "workflow_dispatch")
    assert (identity.source_repository_id, identity.source_repository_owner_id) == (
        "486325809", "80431187")
    assert identity.run_invocation_uri == f"{REPO}/actions/runs/13531731005/attempts/1"
    assert identity.runner_environment == "github-hosted"
    assert identity.signer == (C.TRUSTED_BUILDER_REPOSITORY
                               + "/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0")


def test_workflow_inputs_of_a_dispatch_run() -> None:
    identity, statement = real("workflow_dispatch")
    env(statement)["github_event_payload"]["inputs"] = {"epochs": "5", "note": "a=b", "flag": True}
    assert failures(identity, statement, build_workflow_inputs={"epochs": "5", "note": "a=b"}) == []
    assert failures(identity, statement, build_workflow_inputs={"epochs": "6"}) == ["workflow-inputs"]
    assert failures(identity, statement, build_workflow_inputs={"missing": "x"}) == ["workflow-inputs"]
    assert failures(identity, statement, build_workflow_inputs={"flag": "true"}) == ["workflow-inputs"]


def test_a_release_build_takes_its_branch_from_target_commitish() -> None:
    identity, statement = real()
    env(statement)["github_event_name"] = "release"
    env(statement)["github_event_payload"] = {"release": {"target_commitish": "stable"}}
    identity = dataclasses.replace(identity, build_trigger="release")
    assert failures(identity, statement, source_branch="stable") == []
    assert failures(identity, statement, source_branch="main") == ["source-branch"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.__setitem__("_type", "https://in-toto.io/Statement/v2"),
         "unsupported in-toto statement type 'https://in-toto.io/Statement/v2'"),
        (lambda s: s.__setitem__("predicateType", "https://slsa.dev/provenance/v0.1"),
         "unsupported predicate type 'https://slsa.dev/provenance/v0.1'; expected SLSA provenance"),
        (lambda s: s.__setitem__("subject", []), "the statement has no subjects"),
        (lambda s: s["subject"][0].pop("digest"), "a subject has no digest"),
        (lambda s: s["predicate"].__setitem__("buildType", "https://example.com/build@v1"),
         "unsupported SLSA v0.2 buildType 'https://example.com/build@v1'"),
        (lambda s: s["predicate"].pop("builder"), "the provenance has no builder.id"),
    ],
)
def test_statements_this_verifier_does_not_understand(change: Callable[[dict[str, Any]], Any],
                                                      reason: str) -> None:
    _, statement = real()
    change(statement)
    with pytest.raises(StatementError) as raised:
        parse_statement(IN_TOTO, json.dumps(statement).encode())
    assert str(raised.value) == reason


def test_payloads_that_are_not_statements() -> None:
    for payload_type, payload, message in [
        ("text/plain", b"{}", f"payload type is 'text/plain', not '{IN_TOTO}'"),
        (IN_TOTO, b"\xff", "the signed payload is not JSON"),
        (IN_TOTO, b"[]", "the signed payload is not a JSON object"),
    ]:
        with pytest.raises(StatementError) as raised:
            parse_statement(payload_type, payload)
        assert str(raised.value) == message


# --- GitHub artifact attestations (SLSA v1) ------------------------------------------

SIGNER = f"{REPO}/.github/workflows/release.yml@refs/tags/v14"


def attestation(build_type: str = "https://actions.github.io/buildtypes/workflow/v1") -> dict[str, Any]:
    """An attest-build-provenance statement for the v14 run, in the documented shape."""
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "model.keras", "digest": {"sha256": SHA256}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": build_type,
                "externalParameters": {"workflow": {
                    "ref": "refs/tags/v14", "repository": REPO, "path": ".github/workflows/release.yml"}},
                "internalParameters": {"github": {
                    "event_name": "push", "repository_id": "486325809",
                    "repository_owner_id": "80431187", "runner_environment": "github-hosted"}},
                "resolvedDependencies": [{"uri": f"git+{REPO}@refs/tags/v14",
                                          "digest": {"gitCommit": COMMIT}}],
            },
            "runDetails": {
                "builder": {"id": SIGNER},
                "metadata": {"invocationId": f"{REPO}/actions/runs/13530999509/attempts/1"},
            },
        },
    }


def attestation_identity() -> GitHubIdentity:
    identity, _ = real()
    return dataclasses.replace(identity, san_uri=SIGNER, build_signer_uri=SIGNER,
                               build_config_uri=SIGNER)


@pytest.mark.parametrize("build_type", [
    "https://actions.github.io/buildtypes/workflow/v1",
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
])
def test_an_attestation_passes_when_its_signer_workflow_is_named(build_type: str) -> None:
    statement = attestation(build_type)
    assert parse_statement(IN_TOTO, json.dumps(statement).encode()).kind == "github-attestation"
    builder = SIGNER.split("@")[0]
    assert failures(attestation_identity(), statement, builder_id=builder) == []
    assert failures(attestation_identity(), statement, builder_id=builder, source_tag="v14") == []
    assert failures(attestation_identity(), statement, builder_id=builder,
                    source_versioned_tag="v14.0") == []


def signed_by(signer: str) -> tuple[GitHubIdentity, dict[str, Any]]:
    """The attestation, signed (certificate and builder.id) by another workflow."""
    statement = attestation()
    statement["predicate"]["runDetails"]["builder"]["id"] = signer
    return dataclasses.replace(attestation_identity(), san_uri=signer), statement


def builder_check(identity: GitHubIdentity, statement: dict[str, Any], **policy: Any) -> C.Check:
    provenance = parse_statement(IN_TOTO, json.dumps(statement).encode())
    return C.check_builder_id(identity, kind_policy(provenance, source_uri=SOURCE, **policy))


def test_an_attestation_signer_defaults_to_a_workflow_of_the_source_repository() -> None:
    """gh's default: the SAN matches (?i)^https://github.com/OWNER/REPO/ (from repo or source_uri)."""
    statement = attestation()
    assert failures(attestation_identity(), statement) == []  # release.yml of the source repo
    assert failures(attestation_identity(), statement,
                    builder_id=f"{REPO}/.github/workflows/other.yml") == ["builder-id"]
    for signer in ("https://github.com/acme/builders/.github/workflows/build.yml@refs/tags/v1.0.0",
                   f"{REPO}-fork/.github/workflows/release.yml@refs/tags/v1.0.0"):
        identity, other = signed_by(signer)
        assert failures(identity, other) == ["cert-identity"]
        provenance = parse_statement(IN_TOTO, json.dumps(other).encode())
        check = C.check_cert_identity(identity, AttestationPolicy(source_uri=SOURCE))
        assert check.message == (
            r"cert-identity: expected a SAN matching (?i)^https://github\.com/slsa-framework/"
            f"example-package/, got {signer} (the attestation was signed by another workflow; "
            "name the signer with signer-repo, signer-workflow or cert-identity to trust it)")
        assert provenance.kind == KIND_GITHUB_ATTESTATION


def test_the_generator_default_does_not_trust_the_source_repositorys_workflows() -> None:
    """The same signer is trusted by default for an attestation, not for generator provenance."""
    identity, statement = real()
    identity = dataclasses.replace(identity, san_uri=SIGNER)
    statement["predicate"]["builder"]["id"] = SIGNER
    assert builder_check(identity, statement).message == (
        "builder-id: expected a trusted builder (slsa-github-generator generic, Go or docker-based "
        f"workflow), got {SIGNER} (the signing workflow is not a trusted builder; pass --builder-id "
        "to trust it)")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["predicate"]["buildDefinition"]["internalParameters"]["github"].__setitem__(
            "runner_environment", "self-hosted"), ["runner-environment"]),
        (lambda s: s["predicate"]["buildDefinition"]["resolvedDependencies"][0].__setitem__(
            "digest", {"gitCommit": "0" * 40}), ["cert-commit"]),
        (lambda s: s["predicate"]["runDetails"]["metadata"].__setitem__(
            "invocationId", f"{REPO}/actions/runs/1/attempts/1"), ["cert-run"]),
        (lambda s: s["predicate"]["buildDefinition"]["externalParameters"]["workflow"].__setitem__(
            "path", ".github/workflows/other.yml"), ["cert-workflow"]),
        # builder.id is the workflow's own claim (the signing workflow, or
        # https://github.com/actions/runner/github-hosted): gh does not read it, neither do we.
        (lambda s: s["predicate"]["runDetails"]["builder"].__setitem__(
            "id", "https://github.com/actions/runner/github-hosted"), []),
        (lambda s: s["predicate"]["buildDefinition"]["externalParameters"]["workflow"].__setitem__(
            "repository", f"{REPO}-fork"), ["source-uri", "source-materials", "cert-workflow"]),
    ],
)
def test_an_attestation_contradicting_its_certificate_fails(
        change: Callable[[dict[str, Any]], Any], expected: list[str]) -> None:
    statement = attestation()
    change(statement)
    assert failures(attestation_identity(), statement, builder_id=SIGNER.split("@")[0]) == expected


def test_attestation_refs_branches_and_inputs() -> None:
    builder = SIGNER.split("@")[0]
    statement = attestation()
    assert failures(attestation_identity(), statement, builder_id=builder,
                    source_branch="main") == ["source-branch"]  # a tag build records no branch
    assert failures(attestation_identity(), statement, builder_id=builder,
                    build_workflow_inputs={"a": "b"}) == ["workflow-inputs"]  # a push has none
    dispatch = copy.deepcopy(statement)
    definition = dispatch["predicate"]["buildDefinition"]
    definition["externalParameters"]["workflow"]["ref"] = "refs/heads/main"
    definition["externalParameters"]["inputs"] = {"epochs": "3"}
    definition["internalParameters"]["github"]["event_name"] = "workflow_dispatch"
    definition["resolvedDependencies"][0]["uri"] = f"git+{REPO}@refs/heads/main"
    signer = f"{REPO}/.github/workflows/release.yml@refs/heads/main"
    dispatch["predicate"]["runDetails"]["builder"]["id"] = signer
    identity = dataclasses.replace(attestation_identity(), san_uri=signer, build_config_uri=signer,
                                   source_repository_ref="refs/heads/main",
                                   build_trigger="workflow_dispatch")
    assert failures(identity, dispatch, builder_id=builder, source_branch="main",
                    build_workflow_inputs={"epochs": "3"}) == []
    assert failures(identity, dispatch, builder_id=builder, source_tag="v14") == ["source-tag"]


@pytest.mark.parametrize("ref", ["refs/heads/main", "3c2a3e5ad7d5e2a0a5d0f8c6a8b1f1d9b8e8f5a1",
                                 "refs/tags/v1.0.0"])
def test_an_attestation_signed_by_a_named_reusable_workflow_passes_at_any_ref(ref: str) -> None:
    """A reusable workflow of another repository (github/artifact-attestations-workflows pinned by
    commit, say) signs: trusted once named (builder-id, signer-repo, signer-workflow, cert-identity),
    at whatever ref the caller pinned; gh has no release-tag rule for attestations."""
    statement = attestation()
    workflow = "https://github.com/acme/builders/.github/workflows/build.yml"
    signer = f"{workflow}@{ref}"
    statement["predicate"]["runDetails"]["builder"]["id"] = signer
    identity = dataclasses.replace(attestation_identity(), san_uri=signer, build_signer_uri=signer)
    for rule in ({"builder_id": workflow}, {"signer_repo": "acme/builders"},
                 {"signer_workflow": "acme/builders/.github/workflows/build.yml"},
                 {"signer_workflow": f"github.com/acme/builders/.github/workflows/build.yml@{ref}"},
                 {"cert_identity": signer}):
        assert failures(identity, statement, **rule) == [], rule
    assert failures(identity, statement, signer_repo="acme/builder") == ["cert-identity"]
    assert failures(identity, statement,
                    signer_workflow="acme/builders/.github/workflows/build.yml@refs/heads/dev"
                    ) == ["cert-identity"]


# --- legacy generator files (v1.x, v2.0.0) --------------------------------------------

def legacy_envelope() -> bytes:
    """The v1.x/v2.0.0 layout (a DSSE envelope with the PEM certificate next to the
    signature), made from the real v2.1.0 bundle's parts."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    bundle = json.loads((VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl").read_bytes())
    der = base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    pem = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()
    envelope = bundle["dsseEnvelope"]
    return json.dumps({
        "payloadType": envelope["payloadType"],
        "payload": envelope["payload"],
        "signatures": [{"keyid": "", "sig": envelope["signatures"][0]["sig"], "cert": pem}],
    }).encode() + b"\n"


def test_a_legacy_file_fails_saying_how_to_verify_online() -> None:
    report = verify_artifacts(legacy_envelope(), [ARTIFACT], github_policy(source_uri=SOURCE))
    assert not report.passed
    assert report.kind == "legacy-dsse"
    [check] = report.checks
    assert check.name == "transparency-log"
    assert check.detail == (
        "this file carries no transparency-log proof; verify it online with `slsa-verifier verify-artifact`"
        " (it looks the entry up in Rekor), or rebuild with slsa-github-generator v2.1.0 or later, which"
        " writes a self-contained Sigstore bundle")
    assert report.artifacts[0].passed is False


# --- the line a check prints: what was expected, what was found, and why ------------

Case = tuple[GitHubIdentity, dict[str, Any], dict[str, Any]]


def release_of_no_branch() -> Case:
    identity, statement = real()
    env(statement)["github_event_name"] = "release"
    env(statement)["github_event_payload"] = {"release": {"target_commitish": ""}}
    return dataclasses.replace(identity, build_trigger="release"), statement, {"source_branch": "main"}


def older_builder_in_the_provenance() -> Case:
    identity, statement = real()
    STATEMENT_CHANGES["builder id"][0](statement)
    return identity, statement, {}


def certificate_of(**change: Any) -> Callable[[], Case]:
    return lambda: (dataclasses.replace(real()[0], **change), real()[1], {})


def materials_of_another_repository() -> Case:
    identity, statement = real()
    STATEMENT_CHANGES["materials repository"][0](statement)
    return identity, statement, {}


def a_boolean_workflow_input() -> Case:
    identity, statement = real("workflow_dispatch")
    env(statement)["github_event_payload"]["inputs"] = {"flag": True}
    return identity, statement, {"build_workflow_inputs": {"flag": "true", "epochs": "5"}}


def attestation_with(change: Callable[[dict[str, Any]], Any], **policy: Any) -> Callable[[], Case]:
    def case() -> Case:
        statement = attestation()
        change(statement)
        return attestation_identity(), statement, policy
    return case


def github_parameters(statement: dict[str, Any]) -> dict[str, Any]:
    return statement["predicate"]["buildDefinition"]["internalParameters"]["github"]


def unchanged(statement: dict[str, Any]) -> None:
    return None


OTHER_REPOSITORY = "https://github.com/slsa-framework/other"
FORK = f"git+{REPO}-fork"
FAILED_CHECK_LINES: dict[str, tuple[Callable[[], Case], list[str]]] = {
    "a release of no branch": (release_of_no_branch, [
        "source-branch: expected main, got no branch (refs/heads/ is not a branch ref)"]),
    "an older builder in the provenance": (older_builder_in_the_provenance, [
        (f"provenance-builder: expected {C.TRUSTED_BUILDER_REPOSITORY}/.github/workflows/"
         f"generator_generic_slsa3.yml@refs/tags/v2.1.0, got {C.TRUSTED_BUILDER_REPOSITORY}/.github/"
         "workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0 (builder.id in the provenance is "
         "not the certificate's signer)")]),
    "a self-hosted runner in the certificate": (certificate_of(runner_environment="self-hosted"), [
        ("runner-environment: expected github-hosted, got self-hosted in the certificate (a self-hosted "
         "runner is outside the builder's isolation guarantees)")]),
    "a certificate of another repository": (certificate_of(source_repository_uri=OTHER_REPOSITORY), [
        (f"source-uri: expected git+{REPO}, got git+{OTHER_REPOSITORY} in the certificate (built from "
         "another repository)")]),
    "materials of another repository": (materials_of_another_repository, [
        (f"source-uri: expected git+{REPO}, got git+{OTHER_REPOSITORY} in the provenance source "
         "(materials) (built from another repository)"),
        (f"source-materials: expected git+{REPO}@refs/tags/v14, got git+{OTHER_REPOSITORY}@refs/tags/v14 "
         "(source and trigger URIs do not match)")]),
    "a workflow input that is no string": (a_boolean_workflow_input, [
        ("workflow-inputs: expected epochs=5, flag=true, got no string input 'epochs' (cannot retrieve "
         "the value of 'epochs')")]),
    "an attestation built on a self-hosted runner": (
        attestation_with(lambda s: github_parameters(s).__setitem__("runner_environment", "self-hosted")), [
            ("runner-environment: expected github-hosted, got self-hosted in the provenance (a self-hosted "
             "runner is outside the builder's isolation guarantees)")]),
    "an attestation of another source commit": (attestation_with(unchanged, source_digest=OTHER_SHA), [
        (f"source-digest: expected {OTHER_SHA}, got {COMMIT} (the certificate records another source "
         "commit)")]),
    "an attestation matched by a digest the artifact lacks": (attestation_with(unchanged, digest_alg="sha512"), [
        ("subject-digest: expected a sha512 subject digest, got no such digest of the artifact (the "
         "artifact was not hashed with sha512)")]),
    "an attestation whose workflow is of another repository": (
        attestation_with(lambda s: s["predicate"]["buildDefinition"]["externalParameters"]["workflow"]
                         .__setitem__("repository", f"{REPO}-fork")), [
            (f"source-uri: expected {REPO}, got {FORK} in the provenance workflow (the provenance names "
             "another repository than its certificate)"),
            (f"source-materials: expected {FORK}@refs/tags/v14, got git+{REPO}@refs/tags/v14 (source and "
             "trigger URIs do not match)"),
            (f"cert-workflow: expected {SIGNER}, got {REPO}-fork/.github/workflows/release.yml@refs/tags/v14 "
             "in the build workflow (the provenance build workflow does not match the certificate)")]),
    "an attestation whose source is of another repository": (
        attestation_with(lambda s: s["predicate"]["buildDefinition"]["resolvedDependencies"][0]
                         .__setitem__("uri", f"{FORK}@refs/tags/v14")), [
            (f"source-uri: expected {REPO}, got {FORK} in the provenance source (resolvedDependencies) (the "
             "provenance names another repository than its certificate)"),
            (f"source-materials: expected git+{REPO}@refs/tags/v14, got {FORK}@refs/tags/v14 (source and "
             "trigger URIs do not match)")]),
}


@pytest.mark.parametrize("name", sorted(FAILED_CHECK_LINES))
def test_a_failed_check_says_what_it_expected_and_found(name: str) -> None:
    """The one line a user reads: the value each side held, where, and the reason."""
    case, lines = FAILED_CHECK_LINES[name]
    identity, statement, policy = case()
    failed = [c for c in evaluated(identity, statement, **policy) if not c.passed]
    assert [c.message for c in failed] == lines
    assert [c.to_dict()["passed"] for c in failed] == [False] * len(lines)  # false in JSON, not null


def test_a_passing_attestation_prints_each_check_without_a_reason() -> None:
    """A passed check has no reason; its expected and found values are the policy's and the evidence's."""
    san = f"{REPO}/.github/workflows/release.yml@refs/tags/v14"
    for policy, identity_line in (
            ({}, (r"cert-identity: expected a SAN matching (?i)^https://github\.com/slsa-framework/"
                  f"example-package/, got {san}")),
            ({"cert_identity": SIGNER}, f"cert-identity: expected {SIGNER}, got {san}")):
        checks = evaluated(attestation_identity(), attestation(), **policy)
        assert [c.message for c in checks[:2]] == [
            "predicate-type: expected https://slsa.dev/provenance/v1, got https://slsa.dev/provenance/v1",
            identity_line]
        assert all(c.passed and c.detail == "" for c in checks)


def test_generator_provenance_signed_by_its_own_repository_needs_a_release_tag() -> None:
    """Only an attestation may be signed at the source ref: a workflow of the source repository
    named as the generator's builder must still run at a release tag."""
    identity, statement = real()
    builder = f"{REPO}/.github/workflows/build.yml"
    for ref, lines in (("refs/heads/main", [("builder-ref: expected refs/tags/vX.Y.Z, got refs/heads/main "
                                             "(the builder must be referenced at a release tag vX.Y.Z)")]),
                       ("refs/tags/v1.2.3", [])):
        statement["predicate"]["builder"]["id"] = f"{builder}@{ref}"
        signed = dataclasses.replace(identity, san_uri=f"{builder}@{ref}")
        assert [c.message for c in evaluated(signed, statement, builder_id=builder) if not c.passed] == lines


def test_the_generator_builder_rules_give_a_source_repository_signer_no_exemption() -> None:
    """builder-id and builder-ref are the generator's rules (attestations pin their signer with
    cert-identity or builder-id): called on an attestation's signer, a workflow of the source
    repository, they refuse it rather than pass it."""
    assert C.check_builder_ref(attestation_identity()).message == (
        "builder-ref: expected refs/tags/vX.Y.Z, got refs/tags/v14 (the builder must be referenced at a "
        "release tag vX.Y.Z)")
    assert builder_check(attestation_identity(), attestation()).message == (
        "builder-id: expected a trusted builder (slsa-github-generator generic, Go or docker-based workflow), "
        f"got {SIGNER} (the signing workflow is not a trusted builder; pass --builder-id to trust it)")
