"""Every rule of every kind policy is checked on real evidence, and every refused way of
building a policy is refused with its exact line.

1. A walk over the dataclass fields of ``GeneratorPolicy``, ``AttestationPolicy``,
   ``LocalBuilderPolicy`` and ``TrustedKey``: for each field, evidence that passes
   a baseline policy FAILS, naming the check, once that one field is violated. A
   new field without a violation case fails ``test_every_rule_has_a_violation_case``.
   The evidence: the real slsa-github-generator v2.1.0 vectors (tests/vectors,
   byte-identical to /work/shared/vectors/slsa-github-generator-generic-v2.1.0),
   key-signed bundles signed by slsa_models.provenance with fresh keys, and for
   GitHub artifact attestations the real push-v14 certificate identity with an
   attestation statement run through the verifier's own checks (no real
   attestation from the public-good GitHub issuer is available offline; see
   tests/test_verify_checks.py), plus the real cli/cli attestation bundle
   (/work/shared/vectors/github-attestations, a GitHub Enterprise custom issuer) for the
   trusted root and gh attestation verify's rules (owner, repo, signer, issuer, refs, digests).
2. Every refusal of ``policy_from_options`` and ``load_policy`` (and of ``Policy``
   itself) that is about which rules go with which kinds: the exact message.
3. The attack: GitHub-only rules given with ``--public-key`` are refused, never
   silently skipped on key-signed provenance.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from slsa_models.digest import sha256_file
from slsa_models.errors import PolicyError, one_line
from slsa_models.flags import POLICY_FLAGS
from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL, KINDS
from slsa_models.oms.sign import sign_model
from slsa_models.oms.trust import OMSKey, load_certificates
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.statement import build_statement
from slsa_models.verify import (
    Artifact,
    AttestationPolicy,
    GeneratorPolicy,
    LocalBuilderPolicy,
    Policy,
    TrustedKey,
    load_policy,
    policy_from_options,
    verify_artifacts,
)
from slsa_models.verify import checks as C
from slsa_models.verify.bundle import load_provenance
from slsa_models.verify.github import GitHubIdentity, identity_from_certificate
from slsa_models.verify.policy import KIND_POLICY_TYPES, OMSPolicy
from slsa_models.verify.policy_file import TOP_KEYS
from slsa_models.verify.statement import parse_statement

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"
REPO = f"https://{SOURCE}"
COMMIT = "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
GENERATOR = ("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
             "generator_generic_slsa3.yml")
ATTESTATIONS = Path("/work/shared/vectors/github-attestations/custom-issuer")
HAMMER_TIME = "https://token.actions.githubusercontent.com/hammer-time"
REAL_SAN = "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main"
REAL_COMMIT = "283bf967fa3c591925dd25e6a6e8e781542117bf"
LOCAL_BUILDER = "https://ci.example.com/builders/gpu-box"
LOCAL_SOURCE = "github.com/acme/models"
IN_TOTO = "application/vnd.in-toto+json"
PUBLIC_GOOD = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
STAGING = "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"


# --- the evidence ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Context:
    """Files the cases need: two key pairs, an artifact and its key-signed bundle, roots."""

    directory: Path
    artifact: Path
    bundle: bytes

    def pem(self, name: str) -> bytes:
        return (self.directory / f"{name}.pub.pem").read_bytes()

    def root(self, instance: str) -> Path:
        path = self.directory / f"{instance}.json"
        if not path.exists():
            store = resources.files("sigstore._store")
            path.write_bytes(store.joinpath(instance, "trusted_root.json").read_bytes())
        return path


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    directory = tmp_path_factory.mktemp("policy-rules")
    for name in ("builder", "other"):
        generate_key_pair(directory / f"{name}.pem", directory / f"{name}.pub.pem")
    artifact = directory / "model.keras"
    artifact.write_bytes(b"model bytes\n")
    now = datetime.now(timezone.utc)
    statement = build_statement(
        [(artifact.name, sha256_file(artifact))], builder_id=LOCAL_BUILDER,
        external_parameters={"epochs": 1}, internal_parameters={},
        resolved_dependencies=[{"uri": f"git+https://{LOCAL_SOURCE}", "digest": {"gitCommit": "0" * 40}}],
        started_on=now, finished_on=now)
    bundle = key_signed_bundle(load_private_key(directory / "builder.pem"), statement).encode()
    return Context(directory, artifact, bundle)


def failed(report_checks: list[C.Check]) -> list[str]:
    return [check.name for check in report_checks if not check.passed]


def generator_vector(name: str) -> Callable[[Context, dict[str, Any]], list[str]]:
    """Real generator provenance, judged by ``GeneratorPolicy(**rules)``."""
    def run(context: Context, rules: dict[str, Any]) -> list[str]:
        report = verify_artifacts(VECTORS / f"binary-linux-amd64-{name}.intoto.jsonl",
                                  [Artifact.from_path(BINARY)], Policy(GeneratorPolicy(**rules)))
        return failed(report.checks)
    return run


def real_identity() -> GitHubIdentity:
    loaded = load_provenance(VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl")
    return identity_from_certificate(loaded.bundle.signing_certificate)


def attestation(ref: str) -> tuple[GitHubIdentity, dict[str, Any]]:
    """An actions/attest-build-provenance statement for the real run's certificate identity,
    signed by the source repository's workflow at ``ref`` (a tag push or a dispatch on main)."""
    signer = f"{REPO}/.github/workflows/release.yml@{ref}"
    dispatch = ref.startswith("refs/heads/")
    identity = dataclasses.replace(
        real_identity(), san_uri=signer, build_signer_uri=signer, build_config_uri=signer,
        source_repository_ref=ref, build_trigger="workflow_dispatch" if dispatch else "push")
    workflow = {"ref": ref, "repository": REPO, "path": ".github/workflows/release.yml"}
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "model.keras", "digest": {"sha256": SHA256}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": workflow,
                                       **({"inputs": {"epochs": "3"}} if dispatch else {})},
                "internalParameters": {"github": {
                    "event_name": identity.build_trigger, "repository_id": "486325809",
                    "repository_owner_id": "80431187", "runner_environment": "github-hosted"}},
                "resolvedDependencies": [{"uri": f"git+{REPO}@{ref}", "digest": {"gitCommit": COMMIT}}],
            },
            "runDetails": {
                "builder": {"id": signer},
                "metadata": {"invocationId": f"{REPO}/actions/runs/13530999509/attempts/1"},
            },
        },
    }
    return identity, statement


def attestation_checks(ref: str) -> Callable[[Context, dict[str, Any]], list[str]]:
    """The verifier's checks on an attestation, judged by ``AttestationPolicy(**rules)``."""
    def run(context: Context, rules: dict[str, Any]) -> list[str]:
        identity, statement = attestation(ref)
        provenance = parse_statement(IN_TOTO, json.dumps(statement).encode())
        assert provenance.kind == KIND_GITHUB_ATTESTATION
        return failed(C.evaluate(identity, provenance, AttestationPolicy(**rules),
                                 [Artifact.from_digest(SHA256)]))
    return run


def real_attestation(context: Context, rules: dict[str, Any]) -> list[str]:
    """The real cli/cli attestation bundle (a GitHub Enterprise issuer), through the verifier."""
    if not ATTESTATIONS.is_dir():
        pytest.skip(f"{ATTESTATIONS} is not here")
    report = verify_artifacts(ATTESTATIONS / "custom-issuer.sigstore.json",
                              [Artifact.from_path_both(ATTESTATIONS / "custom-issuer-artifact")],
                              Policy(AttestationPolicy(**rules)))
    return failed(report.checks)


def self_hosted_attestation(context: Context, rules: dict[str, Any]) -> list[str]:
    """The attestation of ``attestation_checks`` built on a self-hosted runner (certificate and
    provenance say so)."""
    identity, statement = attestation("refs/tags/v14")
    identity = dataclasses.replace(identity, runner_environment="self-hosted")
    statement["predicate"]["buildDefinition"]["internalParameters"]["github"][
        "runner_environment"] = "self-hosted"
    provenance = parse_statement(IN_TOTO, json.dumps(statement).encode())
    return failed(C.evaluate(identity, provenance, AttestationPolicy(**rules),
                             [Artifact.from_digest(SHA256)]))


def key_signed(wrap: Callable[[dict[str, Any]], LocalBuilderPolicy]
               ) -> Callable[[Context, dict[str, Any]], list[str]]:
    """The key-signed bundle, judged by the LocalBuilderPolicy ``wrap`` makes of the rules."""
    def run(context: Context, rules: dict[str, Any]) -> list[str]:
        report = verify_artifacts(context.bundle, [Artifact.from_path(context.artifact)],
                                  Policy(wrap(rules)))
        return failed(report.checks)
    return run


def as_key(rules: dict[str, Any]) -> LocalBuilderPolicy:
    return LocalBuilderPolicy((TrustedKey(**rules),))


def as_policy(rules: dict[str, Any]) -> LocalBuilderPolicy:
    return LocalBuilderPolicy(**rules)


Value = Callable[[Context], Any]


def const(value: Any) -> Value:
    return lambda context: value


@dataclasses.dataclass(frozen=True)
class Violation:
    """``run(baseline)`` fails exactly ``baseline_failed`` (usually nothing); with the field set
    to ``value`` it fails exactly ``failed``."""

    run: Callable[[Context, dict[str, Any]], list[str]]
    baseline: Callable[[Context], dict[str, Any]]
    value: Value
    failed: list[str]
    baseline_failed: list[str] = dataclasses.field(default_factory=list)


def github_violations(policy: type, run: Callable[[str], Callable[[Context, dict[str, Any]], list[str]]],
                      tag_build: str, branch_build: str,
                      signer: str) -> dict[tuple[type, str], Violation]:
    """The same GitHub rules, for either GitHub kind (``run(build)`` gives the evidence)."""
    base = {"source_uri": SOURCE}
    return {
        (policy, "source_uri"): Violation(
            run(tag_build), const({**base, "builder_id": signer}),
            const("github.com/slsa-framework/other"), ["source-uri"]),
        (policy, "source_tag"): Violation(
            run(tag_build), const({**base, "source_tag": "v14"}), const("v14.2"), ["source-tag"]),
        (policy, "source_versioned_tag"): Violation(
            run(tag_build), const({**base, "source_versioned_tag": "v14"}), const("v13"),
            ["source-versioned-tag"]),
        (policy, "source_branch"): Violation(
            run(branch_build), const({**base, "source_branch": "main"}), const("dev"),
            ["source-branch"]),
        (policy, "builder_id"): Violation(
            run(tag_build), const({**base, "builder_id": signer}),
            const(signer.rsplit("/", 1)[0] + "/other.yml"), ["builder-id"]),
        (policy, "triggers"): Violation(
            run(tag_build), const({**base, "triggers": ("push",)}), const(("release",)), ["trigger"]),
    }


def violations() -> dict[tuple[type, str], Violation]:
    generator = github_violations(GeneratorPolicy, generator_vector, "push-v14", "workflow_dispatch",
                                  f"{GENERATOR}@v2.1.0")
    generator[(GeneratorPolicy, "builder_id")] = Violation(
        generator_vector("push-v14"), const({"source_uri": SOURCE, "builder_id": f"{GENERATOR}@v2.1.0"}),
        const(f"{GENERATOR}@v2.0.0"), ["builder-id"])
    generator[(GeneratorPolicy, "build_workflow_inputs")] = Violation(
        generator_vector("workflow_dispatch"), const({"source_uri": SOURCE}),
        const({"name": "value"}), ["workflow-inputs"])  # the real run had no inputs
    generator[(GeneratorPolicy, "trusted_root")] = Violation(
        generator_vector("push-v14"), lambda c: {"source_uri": SOURCE, "trusted_root": c.root(PUBLIC_GOOD)},
        lambda c: c.root(STAGING), ["certificate-chain"])

    attestation_ = github_violations(AttestationPolicy, attestation_checks, "refs/tags/v14",
                                     "refs/heads/main", f"{REPO}/.github/workflows/release.yml")
    attestation_[(AttestationPolicy, "build_workflow_inputs")] = Violation(
        attestation_checks("refs/heads/main"),
        const({"source_uri": SOURCE, "build_workflow_inputs": {"epochs": "3"}}),
        const({"epochs": "4"}), ["workflow-inputs"])
    # The real attestation (cli/cli's), signed under a GitHub Enterprise custom issuer: gh's rules.
    real = {"owner": "too-legit", "cert_oidc_issuer": HAMMER_TIME}
    attestation_[(AttestationPolicy, "trusted_root")] = Violation(
        real_attestation, lambda c: {"source_uri": "github.com/too-legit/attest",
                                     "cert_oidc_issuer": HAMMER_TIME, "trusted_root": c.root(PUBLIC_GOOD)},
        lambda c: c.root(STAGING), ["certificate-chain"])
    attestation_.update({
        (AttestationPolicy, "cert_oidc_issuer"): Violation(
            real_attestation, const(real), const("https://token.actions.githubusercontent.com"),
            ["certificate-issuer"]),
        (AttestationPolicy, "owner"): Violation(
            real_attestation, const({**real, "cert_identity": REAL_SAN}), const("someone-else"),
            ["source-owner"]),
        (AttestationPolicy, "repo"): Violation(
            real_attestation, const({"repo": "too-legit/attest", "cert_oidc_issuer": HAMMER_TIME,
                                     "cert_identity": REAL_SAN}),
            const("too-legit/other"), ["source-uri"]),
        (AttestationPolicy, "hostname"): Violation(
            real_attestation, const({"repo": "too-legit/attest", "cert_oidc_issuer": HAMMER_TIME,
                                     "cert_identity": REAL_SAN}),
            const("acme.ghe.com"), ["source-owner", "source-uri"]),
        (AttestationPolicy, "signer_repo"): Violation(
            real_attestation, const({**real, "signer_repo": "too-legit/attest"}),
            const("too-legit/attestations"), ["cert-identity"]),
        (AttestationPolicy, "signer_workflow"): Violation(
            real_attestation,
            const({**real, "signer_workflow": "too-legit/attest/.github/workflows/integration.yml"}),
            const("github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/dev"),
            ["cert-identity"]),
        (AttestationPolicy, "cert_identity"): Violation(
            real_attestation, const({**real, "cert_identity": REAL_SAN}),
            const(REAL_SAN.replace("main", "dev")), ["cert-identity"]),
        (AttestationPolicy, "cert_identity_regex"): Violation(
            real_attestation, const({**real, "cert_identity_regex": "^https://github.com/too-legit/attest/"}),
            const("^https://github.com/too-legit/other/"), ["cert-identity"]),
        (AttestationPolicy, "source_ref"): Violation(
            real_attestation, const({**real, "source_ref": "refs/heads/main"}),
            const("refs/heads/dev"), ["source-ref"]),
        (AttestationPolicy, "source_digest"): Violation(
            real_attestation, const({**real, "source_digest": REAL_COMMIT}), const("0" * 40),
            ["source-digest"]),
        (AttestationPolicy, "signer_digest"): Violation(
            real_attestation, const({**real, "signer_digest": REAL_COMMIT}), const("0" * 40),
            ["signer-digest"]),
        (AttestationPolicy, "predicate_type"): Violation(
            real_attestation, const(real), const("https://spdx.dev/Document"), ["predicate-type"]),
        (AttestationPolicy, "digest_alg"): Violation(  # the subject records a SHA-256 only
            real_attestation, const(real), const("sha512"), ["subject-digest"]),
        (AttestationPolicy, "deny_self_hosted_runners"): Violation(
            self_hosted_attestation, const({"source_uri": SOURCE, "deny_self_hosted_runners": False}),
            const(True), ["runner-environment"]),
    })

    def key(context: Context) -> dict[str, Any]:
        return {"name": "builder", "public_key": context.pem("builder"), "builder_id": LOCAL_BUILDER,
                "expires": datetime.now(timezone.utc) + timedelta(days=365),
                "source_uri": LOCAL_SOURCE}

    local = {
        (LocalBuilderPolicy, "keys"): Violation(
            key_signed(as_policy), lambda c: {"keys": (TrustedKey(**key(c)),)},
            lambda c: (TrustedKey(**{**key(c), "public_key": c.pem("other")}),), ["signature"]),
        (TrustedKey, "public_key"): Violation(
            key_signed(as_key), key, lambda c: c.pem("other"), ["signature"]),
        (TrustedKey, "builder_id"): Violation(
            key_signed(as_key), key, const("https://ci.example.com/builders/laptop"), ["builder-id"]),
        (TrustedKey, "expires"): Violation(
            key_signed(as_key), key, const(datetime.now(timezone.utc) - timedelta(seconds=1)),
            ["key-expiry"]),
        (TrustedKey, "source_uri"): Violation(
            key_signed(as_key), key, const("github.com/acme/other"), ["source-uri"]),
    }
    return {**generator, **attestation_, **local}


OMS_VECTORS = Path("/work/shared/vectors/model-signing")
OMS_IDENTITY = {"identity": "stefanb@us.ibm.com", "identity_provider": "https://sigstore.verify.ibm.com/oauth2"}


def oms_vector(name: str) -> Callable[[Context, dict[str, Any]], list[str]]:
    """A real model_signing signature (the shared vectors), its folder's files as artifacts
    (``ignore-me`` included), judged by ``OMSPolicy(**rules)``."""
    def run(context: Context, rules: dict[str, Any]) -> list[str]:
        folder = OMS_VECTORS / name
        files = [Artifact(path.name, sha256_file(path)) for path in sorted(folder.iterdir())
                 if path.name != "model.sig"]
        return failed(verify_artifacts(folder / "model.sig", files, Policy(OMSPolicy(**rules))).checks)
    return run


def oms_key_signed(context: Context, rules: dict[str, Any]) -> list[str]:
    """An OMS signature of the artifact by the builder key (slsa_models.oms.sign)."""
    signature = sign_model(context.artifact, context.directory / "builder.pem")
    return failed(verify_artifacts(signature, [Artifact.from_path(context.artifact)],
                                   Policy(OMSPolicy(**rules))).checks)


def oms_violations() -> dict[tuple[type, str], Violation]:
    def keys(name: str) -> Value:
        return lambda context: (OMSKey(name, context.pem(name)),)

    def chain(name: str) -> Value:
        return const(load_certificates([OMS_VECTORS / "keys" / name]))

    def certificate(context: Context) -> dict[str, Any]:
        return {"certificate_chain": chain("ca-cert.pem")(context), "ignore_paths": ("ignore-me",)}

    return {
        (OMSPolicy, "public_keys"): Violation(
            oms_key_signed, lambda c: {"public_keys": keys("builder")(c)}, keys("other"), ["signature"]),
        (OMSPolicy, "certificate_chain"): Violation(
            oms_vector("v1.0.1-certificate"), certificate, chain("int-ca-cert.pem"), ["certificate-chain"]),
        (OMSPolicy, "identity"): Violation(
            oms_vector("v1.0.1-sigstore"), const({**OMS_IDENTITY, "ignore_paths": ("ignore-me",)}),
            const("mallory@us.ibm.com"), ["cert-identity"]),
        (OMSPolicy, "identity_provider"): Violation(
            oms_vector("v1.0.1-sigstore"), const({**OMS_IDENTITY, "ignore_paths": ("ignore-me",)}),
            const("https://accounts.google.com"), ["certificate-issuer"]),
        (OMSPolicy, "trusted_root"): Violation(
            oms_vector("v1.0.1-sigstore"),
            lambda c: {**OMS_IDENTITY, "ignore_paths": ("ignore-me",), "trusted_root": c.root(PUBLIC_GOOD)},
            lambda c: c.root(STAGING), ["certificate-chain"]),
        (OMSPolicy, "ignore_paths"): Violation(
            oms_vector("v1.0.1-certificate"), certificate, const(()), ["model-files", "model-file"]),
        (OMSPolicy, "ignore_unsigned_files"): Violation(
            oms_vector("v1.0.1-certificate"),
            lambda c: {"certificate_chain": chain("ca-cert.pem")(c), "ignore_unsigned_files": True},
            const(False), ["model-files", "model-file"]),
    }


VIOLATIONS = {**violations(), **oms_violations()}
RULE_TYPES = (GeneratorPolicy, AttestationPolicy, LocalBuilderPolicy, TrustedKey, OMSPolicy)
# Fields that are not rules on evidence (each with why); every other field needs a case.
NOT_RULES = {
    (TrustedKey, "name"): "the key's label in reports and messages",
    (TrustedKey, "hint"): "derived from public_key (init=False), only orders the candidates",
}


def test_every_rule_has_a_violation_case() -> None:
    assert set(KIND_POLICY_TYPES) <= set(RULE_TYPES), "a new kind policy type: add its rules here"
    fields = {(kind, field.name) for kind in RULE_TYPES for field in dataclasses.fields(kind)}
    assert not set(VIOLATIONS) & set(NOT_RULES)
    missing = {f"{kind.__name__}.{name}" for kind, name in fields - set(VIOLATIONS) - set(NOT_RULES)}
    assert not missing, f"rules without a violation case: {sorted(missing)}"
    assert set(VIOLATIONS) | set(NOT_RULES) == fields


@pytest.mark.parametrize("case", list(VIOLATIONS), ids=lambda case: f"{case[0].__name__}.{case[1]}")
def test_evidence_violating_the_rule_fails(case: tuple[type, str], context: Context) -> None:
    violation = VIOLATIONS[case]
    _, field = case
    baseline = violation.baseline(context)
    assert violation.run(context, baseline) == violation.baseline_failed
    assert violation.run(context, {**baseline, field: violation.value(context)}) == violation.failed


# --- policy_from_options: every refusal ---------------------------------------------------------

LOCAL_CANNOT_CHECK = (
    "{flag} cannot be checked on key-signed provenance (--public-key): a local build records its "
    "git commit, not a ref, workflow inputs or a Sigstore root; to trust GitHub builds and local "
    "keys together, use a policy file")
GITHUB_ONLY = {  # every flag local-builder evidence cannot check, with a value to give it
    "source_tag": "v9.9.9", "source_versioned_tag": "v9", "source_branch": "main",
    "build_workflow_input": ["model_format=pytorch_model.pth"], "trusted_root": "root.json",
}


def test_the_github_only_flags_are_the_flag_tables() -> None:
    assert set(GITHUB_ONLY) == {flag.dest for flag in POLICY_FLAGS if KIND_LOCAL not in flag.kinds}


@pytest.mark.parametrize("dest", sorted(GITHUB_ONLY))
def test_the_attack_a_github_rule_with_a_local_key_is_refused(dest: str, context: Context) -> None:
    """``--public-key PUB --builder-id B --source-tag v9.9.9``: a key-signed bundle records no
    tag, so the rule would be skipped and any build of that builder would pass. Refused."""
    pub = str(context.directory / "builder.pub.pem")
    with pytest.raises(PolicyError) as raised:
        policy_from_options(public_key=[pub], builder_id=LOCAL_BUILDER, **{dest: GITHUB_ONLY[dest]})
    flag = "--" + dest.replace("_", "-")
    assert str(raised.value) == LOCAL_CANNOT_CHECK.format(flag=flag)
    assert one_line(raised.value) == "error: " + LOCAL_CANNOT_CHECK.format(flag=flag)
    assert raised.value.exit_code == 2


def test_the_attack_in_its_exact_words(context: Context) -> None:
    pub = str(context.directory / "builder.pub.pem")
    for options, flag in (({"source_tag": "v9.9.9"}, "--source-tag"),
                          ({"source_branch": "main"}, "--source-branch"),
                          ({"build_workflow_input": ["a=b"]}, "--build-workflow-input")):
        with pytest.raises(PolicyError) as raised:
            policy_from_options(public_key=[pub], builder_id=LOCAL_BUILDER, **options)
        assert one_line(raised.value) == (
            f"error: {flag} cannot be checked on key-signed provenance (--public-key): a local "
            "build records its git commit, not a ref, workflow inputs or a Sigstore root; to "
            "trust GitHub builds and local keys together, use a policy file")
    # ...while the same key and builder alone are a policy, and the bundle passes it
    policy = policy_from_options(public_key=[pub], builder_id=LOCAL_BUILDER)
    assert verify_artifacts(context.bundle, [Artifact.from_path(context.artifact)], policy).passed


OPTION_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "an old keyword (public_keys)": (
        {"source_uri": SOURCE, "public_keys": ["{pub}"]}, "unknown policy option 'public_keys'"),
    "an old keyword (build_workflow_inputs)": (
        {"source_uri": SOURCE, "build_workflow_inputs": {"a": "b"}},
        "unknown policy option 'build_workflow_inputs'"),
    "a policy file and flags": (
        {"policy_file": "{policy}", "source_uri": SOURCE, "public_key": ["{pub}"]},
        "--policy replaces the policy flags: drop --source-uri, --public-key (or drop --policy)"),
    "a policy file and a GitHub flag": (
        {"policy_file": "{policy}", "source_tag": "v1"},
        "--policy replaces the policy flags: drop --source-tag (or drop --policy)"),
    "a policy file widened by accept-unnamed": (
        {"policy_file": "{policy}", "accept_unnamed": True},
        "--accept-unnamed cannot widen a policy file: set accept-unnamed = true in the file"),
    "a key without a builder id": (
        {"public_key": ["{pub}"]},
        "--public-key needs --builder-id: key-signed provenance has no default trusted builder"),
    "a key and a GitHub rule but no builder id": (
        {"public_key": ["{pub}"], "source_tag": "v1"},
        LOCAL_CANNOT_CHECK.format(flag="--source-tag")),
    "a key and a local source not on GitHub": (
        {"public_key": ["{pub}"], "builder_id": LOCAL_BUILDER, "source_uri": "gitlab.com/a/b"},
        "source URI 'gitlab.com/a/b' is not a GitHub repository; expected github.com/OWNER/REPO "
        "(or https://github.com/OWNER/REPO)"),
    "GitHub rules without a source": (
        {"source_tag": "v1", "builder_id": f"{GENERATOR}@v2.1.0"},
        "--source-uri is required: the repository the artifact must come from, e.g. "
        "github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB with --builder-id ID)"),
    "nothing at all": (
        {}, "--source-uri is required: the repository the artifact must come from, e.g. "
            "github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB with --builder-id ID)"),
    "a tag and a versioned tag": (
        {"source_uri": SOURCE, "source_tag": "v1.0.0", "source_versioned_tag": "v1"},
        "give a source tag or a source versioned tag, not both"),
    "a workflow input without '='": (
        {"source_uri": SOURCE, "build_workflow_input": ["novalue"]},
        "--build-workflow-input 'novalue': expected KEY=VALUE"),
}


@pytest.mark.parametrize("name", sorted(OPTION_REFUSALS))
def test_every_refusal_of_policy_from_options(name: str, context: Context, tmp_path: Path) -> None:
    options, message = OPTION_REFUSALS[name]
    policy = tmp_path / "policy.toml"
    policy.write_text(f'version = 2\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n')
    values = {"pub": str(context.directory / "builder.pub.pem"), "policy": str(policy)}

    def filled(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**values)
        return [filled(item) for item in value] if isinstance(value, list) else value

    with pytest.raises(PolicyError) as raised:
        policy_from_options(**{key: filled(value) for key, value in options.items()})
    assert str(raised.value) == message
    assert raised.value.exit_code == 2


def test_what_the_flags_build(context: Context, tmp_path: Path) -> None:
    github = policy_from_options(source_uri=SOURCE, source_versioned_tag="v14",
                                 build_workflow_input=["a=b=c"], accept_unnamed=True)
    assert github.kind_names == (KIND_GENERATOR, KIND_GITHUB_ATTESTATION)
    assert all(kind.build_workflow_inputs == {"a": "b=c"} for kind in github.kinds)  # type: ignore[union-attr]
    assert github.accept_unnamed and not github.require
    pub = context.directory / "builder.pub.pem"
    local = policy_from_options(public_key=str(pub), builder_id=LOCAL_BUILDER, source_uri=LOCAL_SOURCE)
    [kind] = local.kinds
    assert isinstance(kind, LocalBuilderPolicy)
    assert [(k.builder_id, k.source_uri) for k in kind.keys] == [(LOCAL_BUILDER, LOCAL_SOURCE)]
    # an empty policy file counts as none (prefect.yaml fills it from a variable that may be unset)
    assert policy_from_options(policy_file="", source_uri=SOURCE).kind_names == github.kind_names


def test_an_empty_rule_is_refused_not_dropped() -> None:
    with pytest.raises(PolicyError) as raised:
        policy_from_options(source_uri=SOURCE, source_branch="")
    assert str(raised.value) == "source branch is empty"


# --- load_policy and Policy: rules in a kind that cannot check them ----------------------------

GITHUB_KEYS = ("source-uri, source-tag, source-versioned-tag, source-branch, builder-id, "
               "build-workflow-inputs, trusted-root, triggers")
ATTESTATION_KEYS = (GITHUB_KEYS + ", owner, repo, hostname, signer-repo, signer-workflow, "
                    "cert-identity, cert-identity-regex, cert-oidc-issuer, source-ref, source-digest, "
                    "signer-digest, deny-self-hosted-runners, predicate-type")
TABLE_KEYS = {KIND_GENERATOR: GITHUB_KEYS, KIND_GITHUB_ATTESTATION: ATTESTATION_KEYS}
LOCAL_KEYS = "source-uri, builder-id, public-key, public-key-pem, expires"
TOP = ", ".join(TOP_KEYS)
GENERATOR_TABLE = f'[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
LOCAL_TABLE = f'[local-builder.gpu]\nbuilder-id = "{LOCAL_BUILDER}"\npublic-key = "builder.pub.pem"\n'
DEPLOYER_TABLE = '[deployer.stack]\npublic-key = "other.pub.pem"\n'
GITHUB_ONLY_KEYS = {"source-tag": '"v1"', "source-versioned-tag": '"v1"', "source-branch": '"main"',
                    "triggers": '["push"]', "trusted-root": '"root.json"',
                    "build-workflow-inputs": '{ a = "b" }'}
ATTESTATION_ONLY_KEYS = {"owner": '"acme"', "repo": '"acme/models"', "hostname": '"acme.ghe.com"',
                         "signer-repo": '"acme/builders"', "signer-workflow": '"acme/b/w.yml"',
                         "cert-identity": '"https://x"', "cert-identity-regex": '"^x"',
                         "cert-oidc-issuer": '"https://x"', "source-ref": '"refs/heads/main"',
                         "source-digest": '"abc"', "signer-digest": '"abc"',
                         "deny-self-hosted-runners": "true", "predicate-type": '"https://x"',
                         "digest-alg": '"sha512"'}
FILE_REFUSALS: dict[str, tuple[str, str]] = {
    **{f"{key} in a local-builder table": (
        f"{LOCAL_TABLE}{key} = {value}\n",
        f"unknown key '{key}' in [local-builder.gpu]; expected one of: {LOCAL_KEYS}")
       for key, value in GITHUB_ONLY_KEYS.items()},
    **{f"{key} in a {table} table": (
        f'[{table}]\nsource-uri = "{SOURCE}"\n{key} = {value}\n',
        f"unknown key '{key}' in [{table}]; expected one of: {TABLE_KEYS[table]}")
       for table in (KIND_GENERATOR, KIND_GITHUB_ATTESTATION)
       for key, value in (("public-key", '"builder.pub.pem"'), ("public-key-pem", '"x"'),
                          ("expires", "2030-01-01"))},
    # gh attestation verify's rules: only an attestation can check them (and digest-alg only on
    # the command line: the gate hashes what it deploys with SHA-256)
    **{f"attestation rule {key} in a generator table": (
        f'{GENERATOR_TABLE}{key} = {value}\n',
        f"unknown key '{key}' in [{KIND_GENERATOR}]; expected one of: {GITHUB_KEYS}")
       for key, value in ATTESTATION_ONLY_KEYS.items()},
    **{f"attestation rule {key} in a local-builder table": (
        f"{LOCAL_TABLE}{key} = {value}\n",
        f"unknown key '{key}' in [local-builder.gpu]; expected one of: {LOCAL_KEYS}")
       for key, value in ATTESTATION_ONLY_KEYS.items()},
    "digest-alg in an attestation table": (
        f'[{KIND_GITHUB_ATTESTATION}]\nowner = "acme"\ndigest-alg = "sha512"\n',
        f"unknown key 'digest-alg' in [{KIND_GITHUB_ATTESTATION}]; expected one of: {ATTESTATION_KEYS}"),
    **{f"{key} in a deployer table": (
        f"{LOCAL_TABLE}{DEPLOYER_TABLE}{key} = {value}\n",
        f"unknown key '{key}' in [deployer.stack]; expected one of: public-key, public-key-pem, "
        "expires")
       for key, value in (("builder-id", f'"{LOCAL_BUILDER}"'), ("source-uri", f'"{LOCAL_SOURCE}"'))},
    "a tag and a versioned tag": (
        f'{GENERATOR_TABLE}source-tag = "v1.0.0"\nsource-versioned-tag = "v1"\n',
        "[slsa-github-generator] sets both source-tag and source-versioned-tag: conflicting ref "
        "rules; keep one (an exact tag, or a semantic-version match)"),
    "require naming a kind without a table": (
        f'require = ["{KIND_GENERATOR}", "{KIND_LOCAL}"]\n{GENERATOR_TABLE}',
        f"require names '{KIND_LOCAL}', which the policy does not trust; it trusts: {KIND_GENERATOR}"),
    "require naming no kind": (
        f'require = ["github"]\n{GENERATOR_TABLE}{LOCAL_TABLE}',
        f"require names 'github', which the policy does not trust; it trusts: {KIND_LOCAL}, "
        f"{KIND_GENERATOR}"),
    "require that is a string": (
        f'require = "{KIND_GENERATOR}"\n{GENERATOR_TABLE}',
        'require: expected an array of evidence kinds, e.g. require = ["slsa-github-generator", '
        '"local-builder"]'),
    "accept-unnamed that is a string": (
        f'accept-unnamed = "yes"\n{GENERATOR_TABLE}',
        "accept-unnamed: expected true or false, got a string"),
    "only deployers": (
        DEPLOYER_TABLE,
        "trusts nothing: add a [slsa-github-generator], [github-attestation] or [local-builder.NAME] "
        "table"),
    "a version 1 [github] table": (
        f'[github]\nsource-uri = "{SOURCE}"\n',
        f"unknown key 'github' at the top level; expected one of: {TOP}"),
    "a version 1 [local.NAME] table": (
        LOCAL_TABLE.replace("[local-builder.", "[local."),
        f"unknown key 'local' at the top level; expected one of: {TOP}"),
}


@pytest.mark.parametrize("name", sorted(FILE_REFUSALS))
def test_every_refused_combination_in_a_policy_file(name: str, context: Context) -> None:
    text, message = FILE_REFUSALS[name]
    path = context.directory / "policy.toml"
    path.write_text("version = 2\n" + text)
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(raised.value) == f"{path}: {message}"
    assert raised.value.exit_code == 2


def test_a_version_1_file_is_refused_with_how_to_migrate(context: Context) -> None:
    path = context.directory / "policy.toml"
    path.write_text(f'version = 1\ntrusted-root = "root.json"\n[github]\nsource-uri = "{SOURCE}"\n')
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(raised.value) == (
        f"{path}: version 1 policy files are not read any more: rename [github] to "
        "[slsa-github-generator] (copy it to [github-attestation] to trust GitHub attestations too) "
        "and [local.NAME] to [local-builder.NAME], move trusted-root into those tables, then set "
        "version = 2")


def _key(context: Context, name: str, **rules: Any) -> TrustedKey:
    return TrustedKey(name, context.pem(name), **rules)


POLICY_REFUSALS: dict[str, tuple[Callable[[Context], object], str]] = {
    "no kind": (lambda c: Policy(),
                "the policy trusts no kind of evidence: give at least one of " + ", ".join(KINDS)),
    "two policies of one kind": (
        lambda c: Policy(GeneratorPolicy(SOURCE), GeneratorPolicy(SOURCE, source_tag="v1")),
        "two slsa-github-generator policies: give one per kind"),
    "not a kind policy": (
        lambda c: Policy(_key(c, "builder", builder_id=LOCAL_BUILDER)),  # type: ignore[arg-type]
        "not a kind policy: TrustedKey; expected GeneratorPolicy, AttestationPolicy or "
        "LocalBuilderPolicy"),
    "require naming a kind not listed": (
        lambda c: Policy(AttestationPolicy(SOURCE), require=[KIND_GENERATOR]),
        f"require names '{KIND_GENERATOR}', which the policy does not trust; it trusts: "
        f"{KIND_GITHUB_ATTESTATION}"),
    "require as a string": (
        lambda c: Policy(GeneratorPolicy(SOURCE), require=KIND_GENERATOR),
        "require: expected a list of evidence kinds"),
    "accept_unnamed not a bool": (
        lambda c: Policy(GeneratorPolicy(SOURCE), accept_unnamed="yes"),  # type: ignore[arg-type]
        "accept-unnamed: expected true or false"),
    "a deployer with a builder id": (
        lambda c: Policy(GeneratorPolicy(SOURCE),
                         deployers=[_key(c, "other", builder_id=LOCAL_BUILDER)]),
        "deployer key 'other': a deployer signs deployment records; builder-id and source-uri are "
        "rules for builders, not deployers"),
    "a deployer with a source": (
        lambda c: Policy(GeneratorPolicy(SOURCE), deployers=[_key(c, "other", source_uri=LOCAL_SOURCE)]),
        "deployer key 'other': a deployer signs deployment records; builder-id and source-uri are "
        "rules for builders, not deployers"),
    "a local key without a builder id": (
        lambda c: LocalBuilderPolicy((_key(c, "builder"),)),
        "trusted key 'builder' names no builder id: key-signed provenance has no default trusted "
        "builder"),
    "a local-builder policy without keys": (
        lambda c: LocalBuilderPolicy(()), "a local-builder policy needs at least one trusted key"),
    "local-builder keys as a mapping of names": (
        lambda c: LocalBuilderPolicy({"builder": _key(c, "builder", builder_id=LOCAL_BUILDER)}),  # type: ignore[arg-type]
        "local builder keys: expected a list of TrustedKey"),
    "an attestation repo without its owner": (
        lambda c: AttestationPolicy(repo="example-package"), "repo 'example-package': expected OWNER/REPO"),
    "an attestation signer repo with a path": (
        lambda c: AttestationPolicy(SOURCE, signer_repo="acme/builders/build.yml"),
        "signer repo 'acme/builders/build.yml': expected OWNER/REPO"),
    "oms public keys as one string": (
        lambda c: OMSPolicy(public_keys="keys/release.pub.pem"),  # type: ignore[arg-type]
        "oms public keys: expected a list"),
    "oms public keys as PEM bytes": (
        lambda c: OMSPolicy(public_keys=[c.pem("builder")]), "oms public keys: expected OMSKey entries"),
    "oms certificate chain of PEM bytes": (
        lambda c: OMSPolicy(certificate_chain=[c.pem("builder")]),
        "oms certificate chain: expected x509.Certificate entries"),
    "oms identity without its provider": (
        lambda c: OMSPolicy(identity="release@acme.com"),
        "oms: identity and identity-provider go together: the Sigstore signer's identity and the OIDC "
        "issuer that vouched for it"),
    "oms trusted root without a Sigstore identity": (
        lambda c: OMSPolicy(trusted_root=c.root(PUBLIC_GOOD)),
        "oms: trusted-root applies to Sigstore signatures: give identity and identity-provider with it"),
    "oms without a signer": (
        lambda c: OMSPolicy(ignore_paths=["README.md"]),
        "oms: trusts no signer: give public keys, a certificate chain, or a Sigstore identity and "
        "identity-provider"),
}


@pytest.mark.parametrize("name", sorted(POLICY_REFUSALS))
def test_every_refusal_of_a_policy_built_in_code(name: str, context: Context) -> None:
    make, message = POLICY_REFUSALS[name]
    with pytest.raises(PolicyError) as raised:
        make(context)
    assert str(raised.value) == message


# --- evidence of a kind the policy does not trust -----------------------------------------------

def _hint_tables(detail: str) -> list[str]:
    return re.findall(r"\[([^\]]+)\]", detail)


@pytest.mark.parametrize("evidence", ["sigstore", "key-signed", "oms"])
def test_the_evidence_kind_hint_names_a_table_a_policy_file_accepts(evidence: str,
                                                                    context: Context) -> None:
    if evidence == "sigstore":
        bundle: bytes | Path = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
        artifact = Artifact.from_path(BINARY)
        policy = Policy(LocalBuilderPolicy((_key(context, "builder", builder_id=LOCAL_BUILDER),)))
    elif evidence == "oms":
        bundle = sign_model(context.artifact, context.directory / "builder.pem")
        artifact = Artifact.from_path(context.artifact)
        policy = Policy(GeneratorPolicy(SOURCE))
    else:
        bundle, artifact = context.bundle, Artifact.from_path(context.artifact)
        policy = Policy(GeneratorPolicy(SOURCE))
    report = verify_artifacts(bundle, [artifact], policy)
    [check] = report.checks
    assert (check.name, check.passed) == ("evidence-kind", False)
    assert report.kind in KINDS or report.kind == "sigstore-bundle"
    tables = _hint_tables(check.detail)
    assert tables
    for table in tables:
        assert table.split(".")[0] in TOP_KEYS, table
        assert (table.split(".")[0] == KIND_LOCAL) == (table == f"{KIND_LOCAL}.NAME"), table


def test_a_policy_file_trusts_each_kind_by_its_own_table(context: Context) -> None:
    """Generator provenance passes the [slsa-github-generator] table; the key-signed bundle
    passes [local-builder.NAME]; each fails evidence-kind under a file without its table."""
    generator = f'version = 2\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
    local = f"version = 2\n{LOCAL_TABLE}"
    path = context.directory / "kinds.toml"
    evidence = {"generator": (VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                              Artifact.from_path(BINARY)),
                "local": (context.bundle, Artifact.from_path(context.artifact))}
    verdicts = {}
    for name, text in (("generator", generator), ("local", local), ("both", generator + LOCAL_TABLE)):
        path.write_text(text)
        policy = load_policy(path)
        verdicts[name] = {kind: failed(verify_artifacts(bundle, [artifact], policy).checks)
                          for kind, (bundle, artifact) in evidence.items()}
    assert verdicts == {
        "generator": {"generator": [], "local": ["evidence-kind"]},
        "local": {"generator": ["evidence-kind"], "local": []},
        "both": {"generator": [], "local": []},
    }


def test_accept_unnamed_is_kept_for_a_policy_of_flags(tmp_path: Path) -> None:
    from slsa_models.verify.options import policy_from_options

    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    for accept in (True, False):
        policy = policy_from_options(public_key=[str(tmp_path / "k.pub.pem")],
                                     builder_id="https://ci.example.com/b", accept_unnamed=accept)
        assert policy.accept_unnamed is accept
