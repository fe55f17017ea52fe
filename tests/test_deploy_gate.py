"""The gate up to the decision: find the model, fetch its evidence, download, verify.

The provenance is real (slsa-github-generator v2.1.0, tests/vectors) and its
artifact is stored as the model; both store backends (file, and S3 on moto).
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.errors import InputError, NotFoundError, ProvenanceError
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import Policy, policy_from_options
from tests.policies import github_policy

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
POLICY = github_policy(source_uri=SOURCE, source_tag="v14")
MODEL = "example"


def stored_vector(store: ArtifactStore, provenance: Path | bytes | None = PROVENANCE) -> str:
    key = publish_model(store, MODEL, BINARY).key
    if provenance is not None:
        publish_provenance(store, key, provenance)
    return key


def gate(store: ArtifactStore, tmp_path: Path, policy: Policy = POLICY, url: str | None = None) -> deploy.Verdict:
    """Find, fetch and verify as the flow does; the model is downloaded into ``tmp_path/work``."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    gate = deploy.Gate(store, MODEL, policy)
    candidate = gate.find()
    evidence = deploy.fetch_evidence(store, candidate.key, url, delays=(0.0,))
    usable = any(piece.usable for piece in evidence)
    model = gate.fetch_model(candidate, work) if usable else None
    return gate.verify(candidate, evidence, model)


# -- find_model ------------------------------------------------------------------------------


def test_find_by_digest_and_latest(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    key = stored_vector(store)
    assert deploy.find_model(store, MODEL, f"sha256:{BINARY_SHA256}").key == key
    assert deploy.find_model(store, MODEL).key == key
    time.sleep(1.1)  # S3 last-modified times have one-second resolution
    newer = tmp_path / "pytorch_model.pth"
    newer.write_bytes(b"newer model")
    newer_key = publish_model(store, MODEL, newer).key
    assert deploy.find_model(store, MODEL).key == newer_key
    assert deploy.find_model(store, MODEL, BINARY_SHA256).key == key


def test_find_missing_model_or_digest(store_uri: str) -> None:
    store = open_store(store_uri)
    with pytest.raises(NotFoundError) as caught:
        deploy.find_model(store, MODEL)
    assert str(caught.value) == (
        f"no stored model 'example' in {store.uri} (nothing under models/example/);"
        " train and store one first"
    )
    stored_vector(store)
    other = "ab" * 32
    with pytest.raises(NotFoundError) as caught:
        deploy.find_model(store, MODEL, f"sha256:{other}")
    assert str(caught.value) == (
        f"no model 'example' with digest sha256:{other} in {store.uri}"
        f" (nothing under models/example/sha256-{other}/)"
    )


def test_find_rejects_bad_names_and_digests(file_store_uri: str) -> None:
    store = open_store(file_store_uri)
    with pytest.raises(InputError) as error:
        deploy.find_model(store, "../x")
    assert str(error.value) == (
        "invalid model name '../x': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )
    with pytest.raises(InputError) as error:
        deploy.find_model(store, MODEL, "sha256:123")
    assert str(error.value) == "not a SHA-256 digest: 'sha256:123' (expected sha256:<64 hex digits>)"


def test_the_gate_finds_and_judges_the_digest_it_is_given(file_store_uri: str, tmp_path: Path) -> None:
    """Two versions of the model stored: the gate finds each by its digest, not the latest."""
    store = open_store(file_store_uri)
    key = stored_vector(store)
    other = tmp_path / "other" / "pytorch_model.pth"
    other.parent.mkdir()
    other.write_bytes(b"another version")
    other_key = publish_model(store, MODEL, other).key
    gate = deploy.Gate(store, MODEL, POLICY)
    assert [gate.find(f"sha256:{layout.parse_model_key(k)[1]}").key for k in (key, other_key)] == [key, other_key]
    (tmp_path / "work").mkdir()
    verdict, _ = gate.run(tmp_path / "work", digest=BINARY_SHA256)
    assert verdict.passed and verdict.model_key == key, verdict.reason


# -- fetch_evidence ---------------------------------------------------------------------------


def test_provenance_from_the_store(store_uri: str) -> None:
    store = open_store(store_uri)
    key = stored_vector(store)
    [fetched] = deploy.fetch_evidence(store, key)
    assert fetched.usable and fetched.source == "store"
    assert fetched.sha256 == hashlib.sha256(PROVENANCE.read_bytes()).hexdigest()
    assert fetched.location == store.object_uri(layout.provenance_key(key))


def test_missing_provenance_is_carried_not_raised(file_store_uri: str) -> None:
    store = open_store(file_store_uri)
    key = stored_vector(store, provenance=None)
    [fetched] = deploy.fetch_evidence(store, key)
    assert not fetched.usable
    assert str(fetched.error) == (
        f"no provenance for {store.object_uri(key)}: {store.object_uri(key)}.intoto.jsonl does not"
        " exist; publish it with `slsa-models publish` or give its URL (--provenance-url)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file; expected a Sigstore bundle (.intoto.jsonl)"),
        (b"\x00garbage\xff", "not UTF-8 text; expected a JSON Sigstore bundle"),
        (b"[1, 2]", "a JSON list, not a Sigstore bundle object"),
    ],
)
def test_unusable_provenance_names_its_location(file_store_uri: str, content: bytes, message: str) -> None:
    store = open_store(file_store_uri)
    key = stored_vector(store, provenance=content)
    [fetched] = deploy.fetch_evidence(store, key)
    assert str(fetched.error) == f"{store.object_uri(key)}.intoto.jsonl: {message}"


# -- Gate.verify ---------------------------------------------------------------------------


def test_the_real_provenance_passes(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    stored_vector(store)
    before = datetime.now(timezone.utc)
    verdict = gate(store, tmp_path)
    assert verdict.passed and verdict.reason is None and verdict.failed_check() is None
    assert before <= verdict.decided_at <= datetime.now(timezone.utc)  # aware, in UTC (naive would not compare)
    assert verdict.model is not None and verdict.model.sha256 == BINARY_SHA256
    assert verdict.model.path == tmp_path / "work" / "binary-linux-amd64"
    assert verdict.report is not None
    assert [check.name for check in verdict.report.checks[-2:]] == ["model-name", deploy.MODEL_DIGEST]
    assert all(check.passed for check in verdict.report.checks)
    assert verdict.report.checks[-1].message == (  # a check that passed says so, and nothing more
        f"model-digest: expected sha256:{BINARY_SHA256}, got sha256:{BINARY_SHA256}")


def test_replaced_model_bytes_are_refused(store_uri: str, tmp_path: Path) -> None:
    """The stored object is overwritten after its provenance was made (raw write, no metadata)."""
    store = open_store(store_uri)
    key = stored_vector(store)
    tampered = bytearray(BINARY.read_bytes())
    tampered[1000] ^= 1
    _overwrite(store, key, bytes(tampered))
    verdict = gate(store, tmp_path)
    assert not verdict.passed
    assert verdict.failed_check() == "subject-digest"
    failed = [check.name for check in verdict.report.failed_checks()]  # type: ignore[union-attr]
    assert failed == ["subject-digest", deploy.MODEL_DIGEST]
    # both checks, and the one artifact's result, name the file (in the report and the record)
    assert [check.artifact for check in verdict.report.failed_checks()] == ["binary-linux-amd64"] * 2  # type: ignore[union-attr]
    assert [(result.name, result.passed) for result in verdict.report.artifacts] == [  # type: ignore[union-attr]
        ("binary-linux-amd64", False)]
    assert verdict.reason == (
        f"SLSA verification failed: subject-digest: expected sha256:{hashlib.sha256(tampered).hexdigest()},"
        " got no subject with this digest (the provenance covers gha_generic-binary-linux-amd64-v14;"
        " the artifact's bytes differ)"
    )


@pytest.mark.parametrize(
    ("policy", "check"),
    [
        (github_policy(source_uri="github.com/slsa-framework/other-repo", source_tag="v14"), "source-uri"),
        (github_policy(source_uri=SOURCE, source_tag="v15"), "source-tag"),
        (github_policy(source_uri=SOURCE, source_versioned_tag="v13"), "source-versioned-tag"),
    ],
    ids=["other-repository", "other-tag", "other-version"],
)
def test_provenance_for_another_source_is_refused(
    file_store_uri: str, tmp_path: Path, policy: Policy, check: str
) -> None:
    store = open_store(file_store_uri)
    stored_vector(store)
    verdict = gate(store, tmp_path, policy)
    assert not verdict.passed and verdict.failed_check() == check


def test_provenance_of_another_model_is_refused(file_store_uri: str, tmp_path: Path) -> None:
    """A real provenance, stored next to a model it does not describe."""
    store = open_store(file_store_uri)
    other = tmp_path / "other" / "pytorch_model.pth"
    other.parent.mkdir()
    other.write_bytes(b"another model")
    key = publish_model(store, MODEL, other).key
    publish_provenance(store, key, PROVENANCE)
    verdict = gate(store, tmp_path)
    assert not verdict.passed and verdict.failed_check() == "subject-digest"


def test_missing_provenance_gives_a_verdict_without_report(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    stored_vector(store, provenance=None)
    verdict = gate(store, tmp_path)
    assert not verdict.passed and verdict.report is None and verdict.model is None
    assert isinstance(verdict.evidence[0].error, ProvenanceError)
    assert verdict.failed_check() == "provenance"
    assert not list((tmp_path / "work").iterdir())  # the model was not downloaded


def test_a_copy_on_disk_is_judged_in_place_of_a_download(file_store_uri: str, tmp_path: Path) -> None:
    """``run(local=...)`` (pull's cache, a server's copy): the copy is hashed and judged as downloaded
    bytes are, and nothing is downloaded; a copy with one byte changed is refused the same way."""
    store = open_store(file_store_uri)
    key = stored_vector(store)
    copy = tmp_path / "cache" / "binary-linux-amd64"
    copy.parent.mkdir()
    copy.write_bytes(BINARY.read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    gate = deploy.Gate(store, MODEL, POLICY)
    verdict, smoke = gate.run(work, local=copy)
    assert verdict.passed and verdict.model is not None and smoke.status == "skipped"
    assert verdict.model.path == copy and verdict.model.file_name == "binary-linux-amd64"
    assert (verdict.model.stored.key, verdict.model.sha256, verdict.model.stored.size) == (
        key, BINARY_SHA256, BINARY.stat().st_size)
    tampered = bytearray(BINARY.read_bytes())
    tampered[1000] ^= 1
    copy.write_bytes(bytes(tampered))
    verdict, smoke = gate.run(work, local=copy)
    actual = hashlib.sha256(tampered).hexdigest()
    assert verdict.reason == (
        f"SLSA verification failed: subject-digest: expected sha256:{actual}, got no subject with this digest"
        " (the provenance covers gha_generic-binary-linux-amd64-v14; the artifact's bytes differ)")
    assert smoke.status == "not-run" and list(work.iterdir()) == []


def test_run_without_usable_evidence_downloads_and_loads_nothing(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    key = stored_vector(store, provenance=None)
    (tmp_path / "work").mkdir()
    verdict, smoke = deploy.Gate(store, MODEL, POLICY).run(tmp_path / "work")
    assert verdict.model is None and verdict.failed_check() == "provenance"
    assert verdict.problem == "the model was not downloaded: no usable evidence"
    assert verdict.reason == (
        f"no provenance for {store.object_uri(key)}: {store.object_uri(key)}.intoto.jsonl does not"
        " exist; publish it with `slsa-models publish` or give its URL (--provenance-url)")
    assert (smoke.status, smoke.detail) == ("not-run", "verification did not pass: nothing is loaded before it does")
    assert list((tmp_path / "work").iterdir()) == []


def _overwrite(store: ArtifactStore, key: str, data: bytes) -> None:
    """Replace an object's bytes behind the store's back, as an attacker with write access would."""
    if store.uri.startswith("file://"):
        path = Path(store.object_uri(key).removeprefix("file://"))
        os.chmod(path, 0o644)
        path.write_bytes(data)
        return
    import boto3

    bucket, _, prefix = store.uri.removeprefix("s3://").partition("/")
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).put_object(
        Bucket=bucket, Key=f"{prefix}/{key}" if prefix else key, Body=data
    )


# -- several pieces of evidence, names ------------------------------------------------------


def test_a_placeholder_at_the_provenance_key_does_not_block_real_provenance(
        store_uri: str, tmp_path: Path) -> None:
    """Someone got garbage to the predictable key first: the real provenance is added beside it."""
    store = open_store(store_uri)
    key = stored_vector(store, provenance=b"placeholder")
    stored = publish_provenance(store, key, PROVENANCE)
    assert stored.key == layout.evidence_key(key, hashlib.sha256(PROVENANCE.read_bytes()).hexdigest())
    assert store.read_bytes(layout.provenance_key(key)) == b"placeholder"  # nothing was replaced
    verdict = gate(store, tmp_path)
    assert verdict.passed
    assert [piece.usable for piece in verdict.evidence] == [False, True]


def test_every_piece_failing_is_a_refusal_naming_the_first_failure(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    key = stored_vector(store, provenance=b"placeholder")
    publish_provenance(store, key, PROVENANCE)
    verdict = gate(store, tmp_path, github_policy(source_uri=SOURCE, source_tag="v15"))
    assert not verdict.passed and verdict.failed_check() == "source-tag"
    assert verdict.reason == ("SLSA verification failed: source-tag: expected v15, got v14 (built from "
                              "another tag) (2 pieces of evidence judged)")


def test_unnamed_evidence_passes_only_where_the_policy_accepts_it(file_store_uri: str, tmp_path: Path) -> None:
    """The generator vectors name no model (subjects without '<model>/', no model_name input)."""
    store = open_store(file_store_uri)
    stored_vector(store)
    verdict = gate(store, tmp_path, github_policy(source_uri=SOURCE, source_tag="v14", accept_unnamed=False))
    assert not verdict.passed and verdict.failed_check() == "model-name"
    assert verdict.reason == (
        "SLSA verification failed: model-name: expected example, got evidence naming no model (the "
        "evidence names no model; only a policy with accept-unnamed = true takes it)")


def test_require_needs_every_listed_kind(file_store_uri: str, tmp_path: Path) -> None:
    from slsa_models.provenance.keys import generate_key_pair
    from slsa_models.verify import GeneratorPolicy, LocalBuilderPolicy, TrustedKey

    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    key = TrustedKey.from_file(tmp_path / "k.pub.pem", name="box", builder_id="https://ci.example.com/b")
    store = open_store(file_store_uri)
    stored_vector(store)
    both = Policy(GeneratorPolicy(source_uri=SOURCE, source_tag="v14"), LocalBuilderPolicy((key,)),
                  require=["slsa-github-generator", "local-builder"], accept_unnamed=True)
    verdict = gate(store, tmp_path, both)
    assert not verdict.passed and verdict.report is not None and verdict.report.passed
    assert verdict.problem == ("the policy requires slsa-github-generator and local-builder; no "
                               "evidence of local-builder passed")
    assert verdict.failed_check() == "policy"
    either = Policy(GeneratorPolicy(source_uri=SOURCE, source_tag="v14"), LocalBuilderPolicy((key,)),
                    accept_unnamed=True)
    assert gate(store, tmp_path, either).passed


# -- policy -----------------------------------------------------------------------------------


def test_policy_from_flags_and_its_record() -> None:
    policy = policy_from_options(source_uri=SOURCE, source_branch="main",
                                 build_workflow_input=["epochs=5"])
    assert policy == github_policy(source_uri=SOURCE, source_branch="main",
                                   build_workflow_inputs={"epochs": "5"}, accept_unnamed=False)
    record = deploy.policy_to_dict(policy)
    rules = record["kinds"]["slsa-github-generator"]
    assert rules["source_uri"] == SOURCE and rules["build_workflow_inputs"] == {"epochs": "5"}
    assert rules["source_tag"] is None and record["require"] == [] and record["accept_unnamed"] is False
    assert set(record["kinds"]) == {"slsa-github-generator", "github-attestation"}


def test_policy_needs_a_source_or_a_file() -> None:
    with pytest.raises(InputError) as caught:
        policy_from_options()
    assert str(caught.value) == (
        "--source-uri is required: the repository the artifact must come from, e.g. "
        "github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB with --builder-id ID)"
    )


def test_policy_file_and_flags_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        policy_from_options(policy_file=tmp_path / "p.toml", source_uri=SOURCE, source_tag="v1")
    assert str(caught.value) == (
        "--policy replaces the policy flags: drop --source-uri, --source-tag (or drop --policy)"
    )


def test_policy_file_is_read_by_the_verifier(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f'version = 2\naccept-unnamed = true\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
                      f'source-tag = "v14"\n[github-attestation]\nsource-uri = "{SOURCE}"\nsource-tag = "v14"\n')
    assert policy_from_options(policy_file=policy) == POLICY
    assert policy_from_options(policy_file="", source_uri=SOURCE, source_tag="v14",
                               accept_unnamed=True) == POLICY


def test_public_keys_need_a_builder_id(tmp_path: Path) -> None:
    from slsa_models.provenance.keys import generate_key_pair

    public = tmp_path / "b.pub.pem"
    generate_key_pair(tmp_path / "b.pem", public)
    with pytest.raises(InputError) as caught:
        policy_from_options(public_key=[public])
    assert str(caught.value) == (
        "--public-key needs --builder-id: key-signed provenance has no default trusted builder"
    )
    policy = policy_from_options(public_key=[public], builder_id="https://ci.example.com/b")
    [local] = policy.kinds
    [key] = local.keys  # type: ignore[union-attr]
    assert key.builder_id == "https://ci.example.com/b"
    assert deploy.policy_to_dict(policy)["kinds"]["local-builder"]["keys"] == [key.to_dict()]


def test_bad_policy_values_fail_before_anything_runs() -> None:
    with pytest.raises(InputError) as error:
        policy_from_options(source_uri="gitlab.com/a")
    assert str(error.value) == ("source URI 'gitlab.com/a' is not a GitHub repository;"
                                " expected github.com/OWNER/REPO (or https://github.com/OWNER/REPO)")


def test_attest_with_a_model_name_binds_the_evidence(file_store_uri: str, tmp_path: Path) -> None:
    """`slsa-models attest --model-name example` names subjects example/<file>: the gate takes
    it under a policy that refuses unnamed evidence, and refuses it for another model."""
    import base64
    import json

    from slsa_models.cli import main
    from slsa_models.provenance.keys import generate_key_pair
    from slsa_models.verify import LocalBuilderPolicy, TrustedKey

    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    out = tmp_path / "model.bin.intoto.jsonl"
    assert main(["attest", "--key", str(tmp_path / "k.pem"), "--builder-id", "https://ci.example.com/b",
                 "--model-name", MODEL, str(model), "-o", str(out)]) == 0
    statement = json.loads(base64.b64decode(json.loads(out.read_bytes())["dsseEnvelope"]["payload"]))
    assert [subject["name"] for subject in statement["subject"]] == [f"{MODEL}/model.bin"]
    key = TrustedKey.from_file(tmp_path / "k.pub.pem", name="b", builder_id="https://ci.example.com/b")
    policy = Policy(LocalBuilderPolicy((key,)))
    for name in (MODEL, "other"):
        store = open_store(file_store_uri)
        publish_provenance(store, publish_model(store, name, model).key, out)
        gate = deploy.Gate(store, name, policy)
        (tmp_path / name).mkdir()
        verdict, _ = gate.run(tmp_path / name)
        assert verdict.passed == (name == MODEL), verdict.reason
    assert verdict.reason == ("SLSA verification failed: model-name: expected other, got example (the "
                              "evidence was made for model 'example')")


def test_at_most_sixteen_pieces_of_evidence_are_read(file_store_uri: str) -> None:
    """Reading evidence is bounded: the generator's own key first, then 15 more by key order."""
    from slsa_models.deploy.provenance import MAX_EVIDENCE_PIECES

    store = open_store(file_store_uri)
    key = stored_vector(store)
    for index in range(MAX_EVIDENCE_PIECES + 4):
        store.put_bytes(layout.evidence_key(key, hashlib.sha256(b"%d" % index).hexdigest()), b"junk")
    evidence = deploy.fetch_evidence(store, key)
    assert len(evidence) == MAX_EVIDENCE_PIECES == 16
    assert evidence[0].key == layout.provenance_key(key) and evidence[0].usable
    assert [piece.key for piece in evidence[1:]] == sorted(piece.key for piece in evidence[1:])


def test_evidence_of_a_kind_this_version_cannot_verify_is_carried_unusable(store_uri: str, tmp_path: Path) -> None:
    """A loaded piece whose kind has no verifier here (evidence loaded by a newer version): the
    gate does not raise; the piece is carried as unusable with its one-line error, and refused."""
    import dataclasses

    store = open_store(store_uri)
    stored_vector(store)
    gate = deploy.Gate(store, MODEL, POLICY)
    candidate = gate.find()
    [piece] = deploy.fetch_evidence(store, candidate.key, None, delays=(0.0,))
    assert piece.loaded is not None
    future = dataclasses.replace(piece, loaded=dataclasses.replace(piece.loaded, kind="future-kind"))
    (tmp_path / "work").mkdir()
    verdict = gate.verify(candidate, [future], gate.fetch_model(candidate, tmp_path / "work"))
    assert not verdict.passed and verdict.reports == (None,)
    [carried] = verdict.evidence
    assert (carried.location, carried.loaded, carried.usable) == (piece.location, None, False)
    assert str(carried.error) == f"{piece.loaded.label}: future-kind provenance cannot be verified by this version"
