"""The deploy library up to the decision: find the model, fetch provenance, download, verify.

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

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
POLICY = Policy(source_uri=SOURCE, source_tag="v14")
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
    candidate = deploy.find_model(store, MODEL)
    provenance = deploy.fetch_provenance(store, candidate.key, url, delays=(0.0,))
    model = deploy.download_model(store, candidate.key, work) if provenance.usable else None
    return deploy.verify_candidate(MODEL, candidate, provenance, model, policy)


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
    with pytest.raises(InputError, match="^invalid model name '../x'"):
        deploy.find_model(store, "../x")
    with pytest.raises(InputError, match=r"^not a SHA-256 digest: 'sha256:123'"):
        deploy.find_model(store, MODEL, "sha256:123")


# -- fetch_provenance ---------------------------------------------------------------------------


def test_provenance_from_the_store(store_uri: str) -> None:
    store = open_store(store_uri)
    key = stored_vector(store)
    fetched = deploy.fetch_provenance(store, key)
    assert fetched.usable and fetched.source == "store"
    assert fetched.sha256 == hashlib.sha256(PROVENANCE.read_bytes()).hexdigest()
    assert fetched.location == store.object_uri(layout.provenance_key(key))


def test_missing_provenance_is_carried_not_raised(file_store_uri: str) -> None:
    store = open_store(file_store_uri)
    key = stored_vector(store, provenance=None)
    fetched = deploy.fetch_provenance(store, key)
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
    fetched = deploy.fetch_provenance(store, key)
    assert str(fetched.error) == f"{store.object_uri(key)}.intoto.jsonl: {message}"


# -- verify_candidate ---------------------------------------------------------------------------


def test_the_real_provenance_passes(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    stored_vector(store)
    verdict = gate(store, tmp_path)
    assert verdict.passed and verdict.reason is None and verdict.failed_check() is None
    assert verdict.model is not None and verdict.model.sha256 == BINARY_SHA256
    assert verdict.model.path == tmp_path / "work" / "binary-linux-amd64"
    assert verdict.report is not None
    assert verdict.report.checks[-1].name == deploy.MODEL_DIGEST and verdict.report.checks[-1].passed


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
    assert verdict.reason is not None and verdict.reason.startswith(
        "SLSA verification failed: subject-digest: expected "
    )


@pytest.mark.parametrize(
    ("policy", "check"),
    [
        (Policy(source_uri="github.com/slsa-framework/other-repo", source_tag="v14"), "source-uri"),
        (Policy(source_uri=SOURCE, source_tag="v15"), "source-tag"),
        (Policy(source_uri=SOURCE, source_versioned_tag="v13"), "source-versioned-tag"),
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
    assert isinstance(verdict.error, ProvenanceError)
    assert verdict.failed_check() == "provenance"
    assert not list((tmp_path / "work").iterdir())  # the model was not downloaded


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


# -- policy -----------------------------------------------------------------------------------


def test_policy_from_flags_and_its_record() -> None:
    policy = policy_from_options(source_uri=SOURCE, source_branch="main",
                                 build_workflow_inputs={"epochs": "5"})
    assert policy == Policy(source_uri=SOURCE, source_branch="main", build_workflow_inputs={"epochs": "5"})
    record = deploy.policy_to_dict(policy)
    assert record["source_uri"] == SOURCE and record["build_workflow_inputs"] == {"epochs": "5"}
    assert record["source_tag"] is None


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
    policy.write_text(f'[github]\nsource-uri = "{SOURCE}"\nsource-tag = "v14"\n')
    assert policy_from_options(policy_file=policy) == POLICY
    assert policy_from_options(policy_file="", source_uri=SOURCE, source_tag="v14") == POLICY


def test_public_keys_need_a_builder_id(tmp_path: Path) -> None:
    from slsa_models.provenance.keys import generate_key_pair

    public = tmp_path / "b.pub.pem"
    generate_key_pair(tmp_path / "b.pem", public)
    with pytest.raises(InputError) as caught:
        policy_from_options(public_keys=[public])
    assert str(caught.value) == (
        "--public-key needs --builder-id: key-signed provenance has no default trusted builder"
    )
    policy = policy_from_options(public_keys=[public], builder_id="https://ci.example.com/b")
    [key] = policy.public_keys
    assert key.builder_id == "https://ci.example.com/b"
    assert deploy.policy_to_dict(policy)["public_keys"] == [key.to_dict()]


def test_bad_policy_values_fail_before_anything_runs() -> None:
    with pytest.raises(InputError, match="is not a GitHub repository"):
        policy_from_options(source_uri="gitlab.com/a")


def test_record_round_trip(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    stored_vector(store)
    verdict = gate(store, tmp_path)
    smoke = deploy.smoke_load(verdict.model.path if verdict.model else None, verified=True)
    from slsa_models.deploy.records import build_record

    record = build_record(verdict, smoke, outcome=deploy.PROMOTED, policy={}, flow_run_id="run-1",
                          candidate=deploy.find_model(store, MODEL),
                          now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    again = deploy.DeploymentRecord.from_json(record.to_json(), "here")
    assert again == record
    assert record.deployed_at == "2030-01-01T00:00:00.000000+00:00"
    assert record.digest == f"sha256:{BINARY_SHA256}" and record.file_name == "binary-linux-amd64"
    assert record.smoke_load["status"] == "skipped"


@pytest.mark.parametrize("data", [b"{}", b"not json", b'{"format": "slsa-models/deployment-record/v1"}'])
def test_a_damaged_record_is_named(data: bytes) -> None:
    with pytest.raises(deploy.CorruptRecordError, match=r"^here is not a deployment record \(.*\); fix or remove it$"):
        deploy.DeploymentRecord.from_json(data, "here")
