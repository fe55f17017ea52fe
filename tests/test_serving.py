"""Serving: load_verified_model verifies the deployed bytes and their provenance again,
then loads them with the safe loader. Real stores (file, S3 on moto), real provenance:
the slsa-github-generator vector, and the local builder's key-signed provenance for a
real PyTorch model saved here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy, formats
from slsa_models.digest import sha256_file
from slsa_models.errors import InputError, NotFoundError, VerificationFailed
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.serving import load_verified_model, verify_deployed
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import Policy

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"
GITHUB_POLICY = Policy(source_uri=SOURCE, source_tag="v14")
BUILDER = "https://ci.example.com/builders/test-box"
MODEL = "served"
SKIPPED = deploy.SmokeResult("skipped", "set up by the test")


def deploy_file(store: ArtifactStore, path: Path, provenance: Path | bytes, policy: Policy,
                work: Path) -> deploy.DeploymentRecord:
    """Store, verify and promote with the deploy library (what the deploy flow's tasks call)."""
    key = publish_model(store, MODEL, path).key
    publish_provenance(store, key, provenance)
    work.mkdir(exist_ok=True)
    candidate = deploy.find_model(store, MODEL, layout.parse_model_key(key)[1])
    fetched = deploy.fetch_provenance(store, key)
    model = deploy.download_model(store, key, work)
    verdict = deploy.verify_candidate(MODEL, candidate, fetched, model, policy)
    assert verdict.passed, verdict.reason
    decision = deploy.promote(store, verdict, SKIPPED, candidate=candidate, policy={})
    assert decision.deployed
    return decision.record


def overwrite(store: ArtifactStore, key: str, data: bytes) -> None:
    """Replace the object's bytes behind the store's back (an attacker with write access)."""
    if store.uri.startswith("file://"):
        Path(store.object_uri(key).removeprefix("file://")).write_bytes(data)
        return
    import boto3

    bucket, _, prefix = store.uri.removeprefix("s3://").partition("/")
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).put_object(
        Bucket=bucket, Key=f"{prefix}/{key}", Body=data
    )


# -- a real model with the local builder's key-signed provenance ---------------------------------


@pytest.fixture(scope="module")
def signed_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """pytorch_model.pth and pytorch_full_model.pth of the registered architecture, each with
    SLSA v1 provenance signed by a key made here, and the policy that trusts that key."""
    from slsa_models import verify
    from slsa_models.provenance.attest import attest
    from slsa_models.provenance.keys import generate_key_pair, load_private_key
    from slsa_models.provenance.signers import KeySigner
    from slsa_models.training import DEFAULT_ARCHITECTURE, build_architecture
    root = tmp_path_factory.mktemp("signed")
    private, public = root / "builder.pem", root / "builder.pub.pem"
    generate_key_pair(private, public)
    signer = KeySigner(load_private_key(private))
    model = build_architecture("torch", DEFAULT_ARCHITECTURE)
    found: dict[str, Any] = {
        "policy": Policy(public_keys=(verify.TrustedKey.from_file(public, name="test-box", builder_id=BUILDER),)),
    }
    for name in ("pytorch_model.pth", "pytorch_full_model.pth"):
        path = formats.save_model(model, name, root / name.split(".")[0])
        bundle = attest([(name, sha256_file(path))], signer=signer, builder_id=BUILDER,
                        external_parameters={"model_format": name})
        found[name] = (path, bundle.encode())
    return found


def test_loads_the_verified_model(signed_models: dict[str, Any], store_uri: str, tmp_path: Path) -> None:
    import numpy as np
    import torch

    store = open_store(store_uri)
    path, bundle = signed_models["pytorch_model.pth"]
    record = deploy_file(store, path, bundle, signed_models["policy"], tmp_path / "work")
    model = load_verified_model(store_uri, MODEL, signed_models["policy"], cache_dir=tmp_path / "cache")
    assert isinstance(model, torch.nn.Module)
    scores = formats.predict(model, "pytorch_model.pth", np.zeros((1, 8, 8), dtype=np.float32))
    assert scores.shape == (1, 10)
    kept = tmp_path / "cache" / MODEL / f"sha256-{record.sha256}" / "pytorch_model.pth"
    assert kept.read_bytes() == path.read_bytes()


def test_verify_deployed_reports_the_serving_checks(
    signed_models: dict[str, Any], file_store_uri: str, tmp_path: Path
) -> None:
    path, bundle = signed_models["pytorch_model.pth"]
    deploy_file(open_store(file_store_uri), path, bundle, signed_models["policy"], tmp_path / "work")
    (tmp_path / "serve").mkdir()
    verified = verify_deployed(file_store_uri, MODEL, signed_models["policy"], tmp_path / "serve")
    names = [check.name for check in verified.report.checks]
    assert names[-3:] == [deploy.MODEL_DIGEST, "deployed-digest", "provenance-digest"]
    assert verified.report.passed and verified.model.path.read_bytes() == path.read_bytes()


def test_pickle_loads_only_with_the_opt_in(signed_models: dict[str, Any], file_store_uri: str, tmp_path: Path) -> None:
    path, bundle = signed_models["pytorch_full_model.pth"]
    deploy_file(open_store(file_store_uri), path, bundle, signed_models["policy"], tmp_path / "work")
    with pytest.raises(InputError) as caught:
        load_verified_model(file_store_uri, MODEL, signed_models["policy"])
    assert str(caught.value).startswith("refusing to load pytorch_full_model.pth: it is a pickle")
    assert load_verified_model(file_store_uri, MODEL, signed_models["policy"], allow_pickle=True) is not None


def test_tampered_deployed_model_is_refused(
    signed_models: dict[str, Any], s3_store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(s3_store_uri)
    path, bundle = signed_models["pytorch_full_model.pth"]
    record = deploy_file(store, path, bundle, signed_models["policy"], tmp_path / "work")
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 2] ^= 1
    overwrite(store, record.object["key"], bytes(tampered))
    loaded: list[Path] = []
    monkeypatch.setattr(formats, "load_model", lambda *a, **k: loaded.append(a[0]))  # must not be reached
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, signed_models["policy"], allow_pickle=True)
    failed = [check.name for check in caught.value.report.failed_checks()]  # type: ignore[union-attr]
    assert str(caught.value).startswith(f"SLSA verification failed: {failed[0]}: ")
    assert {"model-digest", "deployed-digest"} <= set(failed)
    assert loaded == []


# -- the real slsa-github-generator vector (verifies, but is not a model file) ------------------


def test_versioned_bucket_serves_the_pinned_version(s3_versioned_store_uri: str, tmp_path: Path) -> None:
    store = open_store(s3_versioned_store_uri)
    record = deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                         GITHUB_POLICY, tmp_path / "work")
    overwrite(store, record.object["key"], b"replaced after deployment")
    (tmp_path / "serve").mkdir()
    verified = verify_deployed(store, MODEL, GITHUB_POLICY, tmp_path / "serve")
    assert verified.model.sha256 == BINARY_SHA256
    assert verified.model.stored.version_id == record.object["version_id"]


def test_tampered_vector_is_refused_by_subject_digest(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    record = deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                         GITHUB_POLICY, tmp_path / "work")
    overwrite(store, record.object["key"], BINARY.read_bytes()[:-1])
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, GITHUB_POLICY)
    assert str(caught.value).startswith("SLSA verification failed: subject-digest: expected ")
    failed = [check.name for check in caught.value.report.failed_checks()]  # type: ignore[union-attr]
    assert failed == ["subject-digest", "model-digest", "deployed-digest"]


def test_serving_applies_its_own_policy(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work")
    with pytest.raises(VerificationFailed, match=r"^SLSA verification failed: source-tag: expected v15, got v14"):
        load_verified_model(store, MODEL, Policy(source_uri=SOURCE, source_tag="v15"))


def test_provenance_replaced_after_deployment_is_refused(file_store_uri: str, tmp_path: Path) -> None:
    """Another real provenance for the same bytes (push-v14.2): valid, but not the one the deploy verified."""
    store = open_store(file_store_uri)
    record = deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                         Policy(source_uri=SOURCE), tmp_path / "work")
    overwrite(store, record.provenance["key"], (VECTORS / "binary-linux-amd64-push-v14.2.intoto.jsonl").read_bytes())
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, Policy(source_uri=SOURCE))
    assert str(caught.value).startswith("SLSA verification failed: provenance-digest: expected sha256:")


def test_a_file_that_is_no_model_format_verifies_but_does_not_load(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work")
    with pytest.raises(InputError, match=r"^unknown model format 'binary-linux-amd64': choose one of "):
        load_verified_model(store, MODEL, GITHUB_POLICY)


def test_nothing_deployed(file_store_uri: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        load_verified_model(file_store_uri, MODEL, GITHUB_POLICY)
    assert str(caught.value) == (
        f"nothing is deployed for model 'served' in {file_store_uri}"
        " (deployments/served/current.json does not exist); deploy it first"
    )
