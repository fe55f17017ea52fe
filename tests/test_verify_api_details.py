"""What verify_loaded reports besides its verdict, through the library (found by mutation
testing of verify/api): the kind and digest of every report, the facts of a passing one,
the exact refusals of evidence of a kind the policy does not trust, and require_check."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path

import pytest

from slsa_models.errors import InputError, ProvenanceError
from slsa_models.verify import Artifact, AttestationPolicy, GeneratorPolicy, Policy, load_provenance, verify_loaded
from slsa_models.verify.api import require_check
from slsa_models.verify.policy import OMSPolicy
from slsa_models.oms.trust import OMSKey
from tests.test_verify_attestation import ARTIFACT as ATTESTED, BUNDLE, HAMMER
from tests.test_verify_checks import ARTIFACT, SOURCE, VECTORS, legacy_envelope

GENERATOR = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
OMS_ONLY = Policy(OMSPolicy(public_keys=(OMSKey.from_file(VECTORS / "oms" / "signer.pub.pem"),)))


def test_a_passing_generator_report_names_its_facts() -> None:
    loaded = load_provenance(GENERATOR)
    report = verify_loaded(loaded, [ARTIFACT], Policy(GeneratorPolicy(source_uri=SOURCE)))
    assert report.passed is True and report.provenance_sha256 == loaded.sha256
    assert report.source_uri == "https://github.com/slsa-framework/example-package"
    assert report.subjects == (("gha_generic-binary-linux-amd64-v14", ARTIFACT.sha256),)
    assert report.invocation == ("https://github.com/slsa-framework/example-package/actions/runs/13530999509/"
                                 "attempts/1")
    assert report.checks[len(report.checks) - 15].message == (  # the statement check, after the crypto ones
        "statement: expected an in-toto statement with SLSA provenance, got https://slsa.dev/provenance/v0.2 "
        "(https://github.com/slsa-framework/slsa-github-generator/generic@v1)")


def test_a_bundle_whose_signature_fails_is_reported_as_a_sigstore_bundle(tmp_path: Path) -> None:
    document = json.loads(GENERATOR.read_bytes())
    envelope = document["dsseEnvelope"]
    envelope["payload"] = base64.b64encode(base64.b64decode(envelope["payload"]) + b" ").decode()
    (tmp_path / "changed.intoto.jsonl").write_text(json.dumps(document))
    report = verify_loaded(load_provenance(tmp_path / "changed.intoto.jsonl"), [ARTIFACT],
                           Policy(GeneratorPolicy(source_uri=SOURCE)))
    assert (report.passed, report.kind) == (False, "sigstore-bundle")


def test_an_attestation_issuer_is_compared_ignoring_case() -> None:
    """gh compares the certificate's issuer with --cert-oidc-issuer ignoring case; so does this."""
    report = verify_loaded(load_provenance(BUNDLE), [Artifact.from_path(ATTESTED)],
                           Policy(AttestationPolicy(owner="too-legit", cert_oidc_issuer=HAMMER.upper())))
    assert report.passed, [check.message for check in report.failed_checks()]


@pytest.mark.parametrize(("source", "policy", "kind", "line"), [
    (GENERATOR, OMS_ONLY, "sigstore-bundle",
     "evidence-kind: expected oms, got Sigstore-signed provenance from GitHub (the policy does not trust "
     "slsa-github-generator or github-attestation evidence (add a [slsa-github-generator] or "
     "[github-attestation] table to trust it))"),
    ("legacy", OMS_ONLY, "slsa-github-generator",
     "evidence-kind: expected oms, got slsa-github-generator (the policy does not trust slsa-github-generator "
     "evidence (add a [slsa-github-generator] table to trust it))"),
    ("legacy", Policy(GeneratorPolicy(source_uri=SOURCE)), "legacy-dsse",
     "transparency-log: expected a Rekor inclusion proof and signed entry timestamp in the file, got none (a DSSE "
     "envelope with a certificate, from slsa-github-generator v1.x or v2.0.0) (this file carries no "
     "transparency-log proof; verify it online with `slsa-verifier verify-artifact` (it looks the entry up in "
     "Rekor), or rebuild with slsa-github-generator v2.1.0 or later, which writes a self-contained Sigstore "
     "bundle)"),
])
def test_evidence_the_policy_cannot_judge_is_one_failed_check(source: object, policy: Policy, kind: str,
                                                              line: str) -> None:
    loaded = load_provenance(legacy_envelope() if source == "legacy" else source)  # type: ignore[arg-type]
    report = verify_loaded(loaded, [ARTIFACT], policy)
    [check] = report.checks
    assert (report.passed, check.passed, report.kind, check.message) == (False, False, kind, line)
    assert [result.passed for result in report.artifacts] == [False]


def test_an_oms_report_carries_the_signature_digest() -> None:
    loaded = load_provenance(VECTORS / "oms" / "v1.0.1-key.sig")
    report = verify_loaded(loaded, [Artifact("weights.bin", "0" * 64)], OMS_ONLY)
    assert report.provenance_sha256 == loaded.sha256 and report.kind == "oms"


def test_what_verify_loaded_refuses_to_run() -> None:
    loaded = load_provenance(GENERATOR)
    with pytest.raises(InputError) as raised:
        verify_loaded(loaded, [ARTIFACT], GeneratorPolicy(source_uri=SOURCE))  # type: ignore[arg-type]
    assert str(raised.value) == ("expected a Policy, got GeneratorPolicy; build one with "
                                 "Policy(GeneratorPolicy(...)) or policy_from_options()")
    with pytest.raises(ProvenanceError) as raised:
        verify_loaded(dataclasses.replace(loaded, kind="future-kind"), [ARTIFACT], Policy(GeneratorPolicy(source_uri=SOURCE)))
    assert str(raised.value) == f"{GENERATOR}: future-kind provenance cannot be verified by this version"


def test_require_check_leaves_a_failed_report_alone_and_fails_one_kind_of_two() -> None:
    both = Policy(GeneratorPolicy(source_uri=SOURCE), OMS_ONLY.kinds[0], require=["slsa-github-generator", "oms"])
    loaded = load_provenance(GENERATOR)
    failed = verify_loaded(loaded, [Artifact.from_digest("0" * 64)], both)
    assert require_check(failed, both) is failed
    passed = verify_loaded(loaded, [ARTIFACT], both)
    judged = require_check(passed, both)
    assert judged.passed is False and judged.checks[-1].passed is False
    assert judged.checks[-1].message == ("policy: expected evidence of slsa-github-generator and oms, got "
                                         "slsa-github-generator (the policy requires slsa-github-generator and oms; "
                                         "no evidence of oms passed (one provenance file is one piece of evidence))")


@pytest.fixture(scope="module")
def generator_signed_by_instance_a(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The generator vector's statement, signed by test Sigstore instance A (GitHub cannot sign
    here) with the payload's base64 broken over two lines: sigstore reads it, the verifier's
    strict peek at the unverified payload does not. Returns (bundle, A's root, B's root)."""
    from tests.attestations import SigstoreInstance, Workflow, write_bundle

    folder = tmp_path_factory.mktemp("instances")
    statement = base64.b64decode(json.loads(GENERATOR.read_bytes())["dsseEnvelope"]["payload"])
    workflow = Workflow(  # the vector's own certificate's facts
        repository="slsa-framework/example-package", ref="refs/tags/v14", trigger="push",
        workflow=".github/workflows/verifier-e2e.all.workflow_dispatch.main.all.slsa3.yml",
        commit="4d329c75e7ec1725f7c9ce917a8799d408d06be3", repository_id="486325809", owner_id="80431187",
        run="13530999509/attempts/1", signer_repository="slsa-framework/slsa-github-generator",
        signer_workflow=".github/workflows/generator_generic_slsa3.yml", signer_ref="refs/tags/v2.1.0",
        signer_commit="f7dd8c54c2067bafc12ca7a55595d5ee9b75204a")
    instance_a, instance_b = SigstoreInstance("a"), SigstoreInstance("b")
    bundle = instance_a.attest({}, workflow, payload=statement)
    encoded = bundle["dsseEnvelope"]["payload"]
    bundle["dsseEnvelope"]["payload"] = f"{encoded[:40]}\n{encoded[40:]}"
    return (write_bundle(folder / "bundle.intoto.jsonl", bundle), instance_a.trusted_root(folder / "a.json"),
            instance_b.trusted_root(folder / "b.json"))


def test_a_kind_trusting_another_root_than_the_first_verifies_again(
        generator_signed_by_instance_a: tuple[Path, Path, Path]) -> None:
    """Two GitHub kinds verify signatures differently (here: the issuer's case); when the
    unverified payload cannot be peeked at, the first kind's settings verify it, and the
    statement's own kind's settings verify it again before its rules are applied."""
    bundle, root_a, _ = generator_signed_by_instance_a
    policy = Policy(AttestationPolicy(owner="slsa-framework", trusted_root=root_a),
                    GeneratorPolicy(source_uri=SOURCE, trusted_root=root_a))
    report = verify_loaded(load_provenance(bundle), [ARTIFACT], policy)
    assert report.kind == "slsa-github-generator"
    assert report.passed, [check.message for check in report.failed_checks()]
    assert [check.name for check in report.checks][:6] == [
        "certificate-chain", "certificate-sct", "certificate-issuer", "transparency-log", "signature",
        "log-entry-binding"]


def test_an_unpeekable_payload_is_verified_with_the_first_kinds_root(
        generator_signed_by_instance_a: tuple[Path, Path, Path]) -> None:
    """The peek reads the payload's base64 strictly: a payload it cannot read gives no hint,
    so the first GitHub kind's root (B) judges the signature, and refuses it; the generator
    kind alone, which trusts A, passes it."""
    bundle, root_a, root_b = generator_signed_by_instance_a
    policy = Policy(AttestationPolicy(owner="slsa-framework", trusted_root=root_b),
                    GeneratorPolicy(source_uri=SOURCE, trusted_root=root_a))
    report = verify_loaded(load_provenance(bundle), [ARTIFACT], policy)
    assert (report.passed, report.kind) == (False, "sigstore-bundle")
    assert [check.message for check in report.failed_checks()] == [
        "certificate-chain: expected a certificate chaining to the trusted Fulcio root at signing time, got "
        "invalid (failed to build timestamp certificate chain: validation failed: candidates exhausted: all "
        "candidates exhausted with no interior errors)"]
    alone = Policy(GeneratorPolicy(source_uri=SOURCE, trusted_root=root_a))
    assert verify_loaded(load_provenance(bundle), [ARTIFACT], alone).passed
