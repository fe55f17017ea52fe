"""The verifier on real slsa-github-generator v2.1.0 provenance, with the verdicts
from tests/vectors/README.md (taken from slsa-verifier's own test data).

All offline: sigstore-python verifies against its bundled public-good root.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from slsa_models.errors import InputError, PolicyError, VerificationFailed
from slsa_models.verify import (
    Artifact,
    AttestationPolicy,
    GeneratorPolicy,
    Policy,
    Report,
    verify_artifacts,
)
from tests.policies import github_policy

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"
BUILDER = (
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
    "generator_generic_slsa3.yml"
)
COMMIT = "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
VECTOR_NAMES = ["push-v14", "push-v14.2", "push-v13.0.30", "workflow_dispatch"]


def provenance(name: str) -> Path:
    return VECTORS / f"binary-linux-amd64-{name}.intoto.jsonl"


def verify(name: str, artifacts: list[Artifact] | None = None, **policy: object) -> Report:
    policy.setdefault("source_uri", SOURCE)
    return verify_artifacts(provenance(name), artifacts or [Artifact.from_path(BINARY)],
                            github_policy(**policy))  # type: ignore[arg-type]


def failed_names(report: Report) -> list[str]:
    return [check.name for check in report.failed_checks()]


# --- the README's table -----------------------------------------------------------

PASSES = [
    ("push-v14", {"source_tag": "v14"}),
    ("push-v14", {"source_versioned_tag": "v14"}),
    ("push-v14", {"source_versioned_tag": "v14.0"}),
    ("push-v14.2", {"source_tag": "v14.2"}),
    ("push-v14.2", {"source_versioned_tag": "v14"}),
    ("push-v14.2", {"source_versioned_tag": "v14.2"}),
    ("push-v13.0.30", {"source_tag": "v13.0.30"}),
    ("push-v13.0.30", {"source_versioned_tag": "v13"}),
    ("push-v13.0.30", {"source_versioned_tag": "v13.0"}),
    ("push-v13.0.30", {"source_versioned_tag": "v13.0.30"}),
    ("workflow_dispatch", {"source_branch": "main"}),
]

FAILS = [
    ("push-v14", {"source_tag": "v14.2"}, "source-tag"),
    ("push-v14", {"source_versioned_tag": "v14.1"}, "source-versioned-tag"),
    ("push-v14", {"source_versioned_tag": "v13"}, "source-versioned-tag"),
    ("push-v14", {"source_uri": "github.com/slsa-framework/other"}, "source-uri"),
    ("push-v14.2", {"source_tag": "v14"}, "source-tag"),
    ("push-v14.2", {"source_versioned_tag": "v14.3"}, "source-versioned-tag"),
    ("push-v13.0.30", {"source_versioned_tag": "v13.0.31"}, "source-versioned-tag"),
    ("push-v13.0.30", {"source_versioned_tag": "v14"}, "source-versioned-tag"),
    ("workflow_dispatch", {"source_tag": "v14"}, "source-tag"),
    ("workflow_dispatch", {"source_branch": "dev"}, "source-branch"),
    ("workflow_dispatch", {"build_workflow_inputs": {"name": "value"}}, "workflow-inputs"),
]


@pytest.mark.parametrize(("name", "policy"), PASSES, ids=lambda v: str(v))
def test_readme_passes(name: str, policy: dict[str, object]) -> None:
    report = verify(name, **policy)
    assert report.passed, [c.message for c in report.failed_checks()]
    assert failed_names(report) == []


@pytest.mark.parametrize(("name", "policy", "check"), FAILS, ids=lambda v: str(v))
def test_readme_fails_naming_the_check(name: str, policy: dict[str, object], check: str) -> None:
    report = verify(name, **policy)
    assert not report.passed
    assert failed_names(report) == [check]
    assert report.artifacts[0].passed is False


@pytest.mark.parametrize("name", VECTOR_NAMES)
@pytest.mark.parametrize(
    "source", [SOURCE, f"https://{SOURCE}", f"git+https://{SOURCE}", f"{SOURCE}/"]
)
def test_every_vector_passes_with_only_the_source_in_any_spelling(name: str, source: str) -> None:
    assert verify(name, source_uri=source).passed


@pytest.mark.parametrize("name", VECTOR_NAMES)
@pytest.mark.parametrize("builder", [BUILDER, f"{BUILDER}@v2.1.0", f"{BUILDER}@refs/tags/v2.1.0"])
def test_every_vector_passes_with_the_builder_id(name: str, builder: str) -> None:
    assert verify(name, builder_id=builder).passed


@pytest.mark.parametrize(
    "builder",
    [
        f"{BUILDER}@v2.0.0",
        f"{BUILDER}@refs/tags/v2.0.0",
        f"{BUILDER}@refs/heads/main",
        f"{BUILDER}@v2.1",
        BUILDER.replace("generator_generic_slsa3.yml", "builder_go_slsa3.yml"),
        BUILDER.replace("generator_generic_slsa3.yml", "generator_container_slsa3.yml"),
        BUILDER.replace("slsa-framework/slsa-github-generator", "attacker/slsa-github-generator"),
        BUILDER.replace("https://", "http://"),
        "github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml",
        "https://github.com/slsa-framework/example-package/.github/workflows/"
        "verifier-e2e.all.workflow_dispatch.main.all.slsa3.yml",
    ],
)
def test_any_other_builder_id_fails(builder: str) -> None:
    report = verify("push-v14", builder_id=builder)
    assert failed_names(report) == ["builder-id"]


@pytest.mark.parametrize(
    "source",
    ["github.com/slsa-framework/example-packag", "github.com/slsa-framework/Example-Package",
     "github.com/slsa-framework/example-package-fork", "github.com/other/example-package"],
)
def test_any_other_source_fails(source: str) -> None:
    assert failed_names(verify("workflow_dispatch", source_uri=source)) == ["source-uri"]


@pytest.mark.parametrize(
    ("policy", "check"),
    [
        ({"source_branch": "main"}, None),  # a tag push records the branch it came from
        ({"source_branch": "v14"}, "source-branch"),
        ({"source_tag": "refs/tags/v14"}, "source-tag"),
        ({"source_tag": "v14.0"}, "source-tag"),  # a plain tag must match exactly
        ({"source_versioned_tag": "v14.0.1"}, "source-versioned-tag"),
        ({"source_versioned_tag": "v15"}, "source-versioned-tag"),
        ({"build_workflow_inputs": {"name": "value"}}, "workflow-inputs"),  # not a dispatch
    ],
)
def test_push_build_ref_policies(policy: dict[str, object], check: str | None) -> None:
    report = verify("push-v14", **policy)
    assert failed_names(report) == ([check] if check else [])


@pytest.mark.parametrize(
    ("policy", "check"),
    [
        ({"source_versioned_tag": "v0"}, "source-versioned-tag"),  # a branch build has no tag
        ({"source_branch": "refs/heads/main"}, "source-branch"),
        ({"source_branch": "Main"}, "source-branch"),
    ],
)
def test_branch_build_ref_policies(policy: dict[str, object], check: str) -> None:
    assert failed_names(verify("workflow_dispatch", **policy)) == [check]


def test_a_versioned_tag_compares_the_canonical_form() -> None:
    # v14.2 accepts v14.2.0? The canonical form of the tag v14.2 is v14.2.0, so yes.
    assert verify("push-v14.2", source_versioned_tag="v14.2.0").passed
    assert failed_names(verify("push-v14.2", source_versioned_tag="v14.2.1")) == [
        "source-versioned-tag"
    ]


# --- artifacts --------------------------------------------------------------------

@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_an_artifact_with_one_byte_changed_fails_its_digest(tmp_path: Path, position: str) -> None:
    data = bytearray(BINARY.read_bytes())
    index = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[position]
    data[index] ^= 0x01
    changed = tmp_path / "binary-linux-amd64"
    changed.write_bytes(bytes(data))
    report = verify("push-v14", [Artifact.from_path(changed)])
    assert failed_names(report) == ["subject-digest"]
    check = report.failed_checks()[0]
    assert check.artifact == str(changed)
    assert check.expected == f"sha256:{Artifact.from_path(changed).sha256}"


@pytest.mark.parametrize("change", ["truncated", "appended", "empty"])
def test_an_artifact_of_another_length_fails_its_digest(tmp_path: Path, change: str) -> None:
    data = BINARY.read_bytes()
    data = {"truncated": data[:-1], "appended": data + b"\0", "empty": b""}[change]
    changed = tmp_path / "artifact"
    changed.write_bytes(data)
    assert failed_names(verify("workflow_dispatch", [Artifact.from_path(changed)])) == [
        "subject-digest"
    ]


def test_an_artifact_by_digest_verifies_like_the_file() -> None:
    report = verify("push-v14", [Artifact.from_digest(f"sha256:{BINARY_SHA256.upper()}")])
    assert report.passed
    assert report.artifacts[0].name == f"sha256:{BINARY_SHA256}"
    assert report.artifacts[0].subject == "gha_generic-binary-linux-amd64-v14"


def test_several_artifacts_one_signature_check_each_verdict_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigstore.verify import Verifier

    calls = []
    real = Verifier.verify_dsse

    def counting(self: Verifier, *args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Verifier, "verify_dsse", counting)  # the real method, counted
    good = Artifact.from_path(BINARY)
    bad = Artifact.from_digest("sha256:" + "0" * 64)
    report = verify("push-v14", [good, bad, Artifact.from_digest(BINARY_SHA256, name="again")])
    assert len(calls) == 1
    assert [a.passed for a in report.artifacts] == [True, False, True]
    assert not report.passed
    assert report.first_failure().artifact == bad.name  # type: ignore[union-attr]
    assert report.first_failure(good.name) is None


# --- the report -------------------------------------------------------------------

EXPECTED_CHECKS = [
    "certificate-chain", "certificate-sct", "certificate-issuer", "transparency-log",
    "signature", "log-entry-binding", "statement", "builder-id", "builder-ref",
    "source-uri", "provenance-builder", "source-materials", "subject-digest",
    "source-tag", "cert-commit", "cert-ref", "cert-trigger", "cert-repository-id",
    "cert-owner-id", "cert-run", "cert-workflow", "runner-environment",
]


def test_a_passing_report_lists_every_check_with_values() -> None:
    from slsa_models.verify import CHECK_NAMES

    report = verify("push-v14", source_tag="v14")
    assert [c.name for c in report.checks] == EXPECTED_CHECKS
    assert [n for n in CHECK_NAMES if n in EXPECTED_CHECKS] == EXPECTED_CHECKS  # same order
    assert all(c.passed and c.expected and c.actual for c in report.checks)
    assert report.kind == "slsa-github-generator"
    assert report.builder_id == f"{BUILDER}@refs/tags/v2.1.0"
    assert report.commit == COMMIT
    assert report.source_uri == f"https://{SOURCE}"
    assert report.provenance_sha256 == Artifact.from_path(provenance("push-v14")).sha256
    checks = {c.name: c for c in report.checks}
    assert checks["certificate-issuer"].actual == "https://token.actions.githubusercontent.com"
    assert checks["transparency-log"].actual == "verified entry at log index 174298180"
    assert checks["cert-trigger"].actual == "push"
    assert checks["cert-run"].actual == (
        f"https://{SOURCE}/actions/runs/13530999509/attempts/1"
    )
    statement = json.loads(report.payload or b"")
    assert statement["subject"][0]["digest"]["sha256"] == BINARY_SHA256


def test_to_dict_is_json_with_every_check() -> None:
    report = verify("workflow_dispatch", source_branch="dev")
    document = json.loads(json.dumps(report.to_dict()))
    assert document["passed"] is False
    assert document["artifacts"] == [{
        "name": str(BINARY), "sha256": BINARY_SHA256, "passed": False,
        "subject": "gha_generic-binary-linux-amd64-workflow_dispatch",
    }]
    branch = next(c for c in document["checks"] if c["name"] == "source-branch")
    assert branch == {"name": "source-branch", "passed": False, "expected": "dev",
                      "actual": "main", "detail": "built from another branch"}
    assert "payload" not in document


def test_raise_for_failure_names_the_first_failed_check() -> None:
    report = verify("push-v14", source_tag="v1")
    with pytest.raises(VerificationFailed) as raised:
        report.raise_for_failure()
    assert str(raised.value) == (
        "SLSA verification failed: source-tag: expected v1, got v14 (built from another tag)"
    )
    assert raised.value.report is report
    assert raised.value.exit_code == 1
    verify("push-v14").raise_for_failure()  # a pass does nothing


def test_the_library_imports_no_ml_framework_nor_prefect() -> None:
    import subprocess
    import sys

    code = ("import sys, slsa_models.verify, slsa_models.commands.verify_artifact; "
            "print(sorted({'prefect', 'tensorflow', 'keras', 'torch'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_a_writable_cache_the_bundled_root_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated: sigstore-python cannot set up its TUF cache (e.g. a read-only home)."""
    from sigstore.verify import Verifier

    from slsa_models.verify import crypto

    def unavailable(cls: type, *, offline: bool = False) -> Verifier:
        raise OSError("read-only file system")

    monkeypatch.setattr(Verifier, "production", classmethod(unavailable))
    crypto._verifier_for.cache_clear()
    try:
        assert verify("push-v14").passed
    finally:
        crypto._verifier_for.cache_clear()


def test_bytes_in_verify_like_the_file() -> None:
    report = verify_artifacts(provenance("push-v14.2").read_bytes(), [Artifact.from_path(BINARY)],
                              github_policy(source_uri=SOURCE, source_tag="v14.2"))
    assert report.passed


# --- trust roots ------------------------------------------------------------------

def _embedded_root(instance: str) -> bytes:
    store = resources.files("sigstore._store")
    return store.joinpath(instance, "trusted_root.json").read_bytes()


def test_an_explicit_public_good_trusted_root_passes(tmp_path: Path) -> None:
    root = tmp_path / "trusted_root.json"
    root.write_bytes(_embedded_root("https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"))
    assert verify("push-v14", trusted_root=root).passed


def test_another_instances_trusted_root_fails_the_certificate_chain(tmp_path: Path) -> None:
    root = tmp_path / "staging.json"
    root.write_bytes(_embedded_root("https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"))
    report = verify("push-v14", trusted_root=root)
    assert failed_names(report) == ["certificate-chain"]
    assert [c.name for c in report.checks] == ["certificate-chain"]  # nothing after it ran
    assert report.builder_id is None and report.commit is None


def _staging_root(tmp_path: Path) -> Path:
    root = tmp_path / "staging.json"
    root.write_bytes(_embedded_root("https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"))
    return root


def test_the_trusted_root_of_the_evidences_own_kind_is_checked(tmp_path: Path) -> None:
    """Generator provenance is verified against the generator policy's root, whatever the
    attestation policy trusts (and the reverse)."""
    staging = _staging_root(tmp_path)
    artifacts = [Artifact.from_path(BINARY)]
    other_kind_elsewhere = Policy(GeneratorPolicy(source_uri=SOURCE),
                                  AttestationPolicy(source_uri=SOURCE, trusted_root=staging))
    assert verify_artifacts(provenance("push-v14"), artifacts, other_kind_elsewhere).passed
    own_kind_elsewhere = Policy(GeneratorPolicy(source_uri=SOURCE, trusted_root=staging),
                                AttestationPolicy(source_uri=SOURCE))
    assert failed_names(verify_artifacts(provenance("push-v14"), artifacts, own_kind_elsewhere)) == [
        "certificate-chain"]
    own_kind_elsewhere = Policy(AttestationPolicy(source_uri=SOURCE),
                                GeneratorPolicy(source_uri=SOURCE, trusted_root=staging))
    assert failed_names(verify_artifacts(provenance("push-v14"), artifacts, own_kind_elsewhere)) == [
        "certificate-chain"]


def test_the_order_of_the_kinds_does_not_change_the_verdict(tmp_path: Path) -> None:
    staging = _staging_root(tmp_path)
    policy = Policy(AttestationPolicy(source_uri=SOURCE, trusted_root=staging),
                    GeneratorPolicy(source_uri=SOURCE))
    report = verify_artifacts(provenance("push-v14"), [Artifact.from_path(BINARY)], policy)
    assert report.passed, [c.message for c in report.failed_checks()]


def test_an_unusable_trusted_root_is_an_input_error(tmp_path: Path) -> None:
    root = tmp_path / "root.json"
    root.write_text("{}")
    with pytest.raises(InputError, match=r"^.*root\.json: not a usable Sigstore trusted root: "):
        verify("push-v14", trusted_root=root)
    with pytest.raises(InputError) as raised:
        verify("push-v14", trusted_root=tmp_path / "missing.json")
    assert str(raised.value) == f"{tmp_path / 'missing.json'}: cannot read the trusted root: No such file or directory"


# --- policy input -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"source_uri": "gitlab.com/o/r"},
         "source URI 'gitlab.com/o/r' is not a GitHub repository; expected github.com/OWNER/REPO "
         "(or https://github.com/OWNER/REPO)"),
        ({"source_uri": "github.com/only-owner"},
         "source URI 'github.com/only-owner' is not a GitHub repository; expected "
         "github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"),
        ({"source_uri": "github.com/o/r@refs/heads/main"},
         "source URI 'github.com/o/r@refs/heads/main' is not a GitHub repository; expected "
         "github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"),
        ({"source_uri": SOURCE, "source_tag": "v1", "source_versioned_tag": "v1"},
         "give a source tag or a source versioned tag, not both"),
        ({"source_uri": SOURCE, "source_versioned_tag": "14"},
         "source versioned tag '14' is not a semantic version; expected vMAJOR, vMAJOR.MINOR or "
         "vMAJOR.MINOR.PATCH"),
        ({"source_uri": SOURCE, "source_versioned_tag": "v1.2-rc1"},
         "source versioned tag 'v1.2-rc1' is not a semantic version; expected vMAJOR, "
         "vMAJOR.MINOR or vMAJOR.MINOR.PATCH"),
        ({"source_uri": SOURCE, "builder_id": "a@b@c"},
         "builder id 'a@b@c' is malformed; expected NAME, NAME@vX.Y.Z or NAME@refs/tags/vX.Y.Z"),
        ({"source_uri": SOURCE, "builder_id": "name@"},
         "builder id 'name@' is malformed; expected NAME, NAME@vX.Y.Z or NAME@refs/tags/vX.Y.Z"),
        ({"source_uri": SOURCE, "source_branch": " "}, "source branch is empty"),
        ({"source_uri": SOURCE, "build_workflow_inputs": {"": "x"}},
         "workflow input '': expected a non-empty name and a string value"),
    ],
)
def test_a_bad_policy_is_an_input_error(policy: dict[str, object], message: str) -> None:
    for kind_policy in (GeneratorPolicy, AttestationPolicy):
        with pytest.raises(PolicyError) as raised:
            kind_policy(**policy)  # type: ignore[arg-type]
        assert str(raised.value) == message
        assert raised.value.exit_code == 2


def test_a_policy_trusts_some_kind_and_sigstore_kinds_need_a_source() -> None:
    """Generator provenance needs source_uri; an attestation one of owner, repo or source_uri."""
    with pytest.raises(PolicyError) as raised:
        Policy()
    assert str(raised.value) == ("the policy trusts no kind of evidence: give at least one of "
                                 "slsa-github-generator, github-attestation, local-builder, oms")
    messages = {
        GeneratorPolicy: "source URI is required: the repository the generator must have built "
                         "from, e.g. github.com/OWNER/REPO",
        AttestationPolicy: "give one of owner, repo or source URI (the repository, or the owner of "
                           "the repositories, the attestation must come from)",
    }
    for kind_policy, message in messages.items():
        for no_source in ({}, {"source_uri": None}):
            with pytest.raises(PolicyError) as raised:
                kind_policy(**no_source)
            assert str(raised.value) == message
        with pytest.raises(PolicyError) as raised:
            kind_policy(source_uri=7)  # type: ignore[arg-type]
        assert str(raised.value) == "source URI 7: expected a string like github.com/OWNER/REPO"


def test_generator_provenance_under_an_attestation_only_policy_fails() -> None:
    """Evidence is judged only by the policy of its own kind; no other kind stands in."""
    report = verify_artifacts(provenance("push-v14"), [Artifact.from_path(BINARY)],
                              Policy(AttestationPolicy(source_uri=SOURCE)))
    assert [c.message for c in report.failed_checks()] == [
        "evidence-kind: expected github-attestation, got slsa-github-generator (the policy does "
        "not trust slsa-github-generator evidence (add a [slsa-github-generator] table to trust it))"]
    assert (report.passed, report.builder_id, report.commit) == (False, None, None)
    assert verify_artifacts(provenance("push-v14"), [Artifact.from_path(BINARY)],
                            Policy(GeneratorPolicy(source_uri=SOURCE))).passed


def test_no_artifact_is_an_input_error() -> None:
    with pytest.raises(InputError) as raised:
        verify_artifacts(provenance("push-v14"), [], github_policy(source_uri=SOURCE))
    assert str(raised.value) == "no artifact to verify: give at least one file or --digest sha256:HEX"


def test_a_policy_is_immutable() -> None:
    import dataclasses

    inputs = {"a": "1"}
    policy = github_policy(source_uri=SOURCE, build_workflow_inputs=inputs)
    inputs["a"] = "2"
    assert len(policy.kinds) == 2
    for kind_policy in policy.kinds:
        assert isinstance(kind_policy, GeneratorPolicy | AttestationPolicy)
        assert kind_policy.build_workflow_inputs["a"] == "1"
        with pytest.raises(TypeError):
            kind_policy.build_workflow_inputs["a"] = "3"  # type: ignore[index]
        with pytest.raises(dataclasses.FrozenInstanceError):
            kind_policy.source_tag = "v1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.accept_unnamed = False  # type: ignore[misc]
