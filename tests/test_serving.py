"""Serving: load_verified_model verifies the deployed bytes and their provenance again,
then loads them with the safe loader. Real stores (file, S3 on moto), real provenance:
the slsa-github-generator vector, and the local builder's key-signed provenance for a
real PyTorch model saved here.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy, formats
from slsa_models.digest import sha256_file
from slsa_models.errors import InputError, NotFoundError, UntrustedRecordError, VerificationFailed
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.serving import load_verified_model, verify_deployed
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import Policy, TrustedKey
from slsa_models.verify.names import subject_name
from tests.policies import github_policy, local_policy

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"
GITHUB_POLICY = github_policy(source_uri=SOURCE, source_tag="v14")
BUILDER = "https://ci.example.com/builders/test-box"
MODEL = "served"
SKIPPED = deploy.SmokeResult("skipped", "set up by the test")


@pytest.fixture(scope="module")
def deployer(tmp_path_factory: pytest.TempPathFactory) -> deploy.Deployer:
    root = tmp_path_factory.mktemp("deployer")
    generate_key_pair(root / "deployer.pem", root / "deployer.pub.pem")
    key = load_private_key(root / "deployer.pem")
    return deploy.Deployer(KeySigner(key), (TrustedKey("deployer", key.public_key()),))


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving remembers the last sequence it loaded in the state directory: one per test."""
    monkeypatch.setenv("SLSA_MODELS_HOME", str(tmp_path / "home"))


def serving(policy: Policy, deployer: deploy.Deployer) -> Policy:
    """The same policy, trusting the test's deployer key for deployment records."""
    return Policy(*policy.kinds, require=policy.require, accept_unnamed=policy.accept_unnamed,
                  deployers=deployer.trusted)


def deploy_file(store: ArtifactStore, path: Path, provenance: Path | bytes, policy: Policy,
                work: Path, deployer: deploy.Deployer) -> deploy.DeploymentRecord:
    """Store, verify and promote with the Gate (what the deploy flow's tasks call)."""
    key = publish_model(store, MODEL, path).key
    publish_provenance(store, key, provenance)
    work.mkdir(exist_ok=True)
    verdict, _ = deploy.Gate(store, MODEL, policy).run(work, digest=layout.parse_model_key(key)[1])
    assert verdict.passed, verdict.reason
    decision = deploy.promote(store, verdict, SKIPPED, deployer=deployer, policy={})
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
        "policy": local_policy((verify.TrustedKey.from_file(public, name="test-box", builder_id=BUILDER),)),
    }
    for name in ("pytorch_model.pth", "pytorch_full_model.pth", "model.safetensors"):
        path = formats.save_model(model, name, root / name.split(".")[0])
        bundle = attest([(subject_name(MODEL, name), sha256_file(path))], signer=signer,
                        builder_id=BUILDER, external_parameters={"model_format": name, "model_name": MODEL})
        found[name] = (path, bundle.encode())
    return found


def test_loads_the_verified_model(signed_models: dict[str, Any], store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    import numpy as np
    import torch

    store = open_store(store_uri)
    path, bundle = signed_models["pytorch_model.pth"]
    record = deploy_file(store, path, bundle, signed_models["policy"], tmp_path / "work", deployer)
    model = load_verified_model(store_uri, MODEL, serving(signed_models["policy"], deployer), cache_dir=tmp_path / "cache")
    assert isinstance(model, torch.nn.Module)
    scores = formats.predict(model, "pytorch_model.pth", np.zeros((1, 8, 8), dtype=np.float32))
    assert scores.shape == (1, 10)
    kept = tmp_path / "cache" / MODEL / f"sha256-{record.sha256}" / "pytorch_model.pth"
    assert kept.read_bytes() == path.read_bytes()


def test_safetensors_is_deployed_and_served(signed_models: dict[str, Any], file_store_uri: str,
                                            tmp_path: Path, deployer: deploy.Deployer) -> None:
    import numpy as np
    import torch

    path, bundle = signed_models["model.safetensors"]
    store = open_store(file_store_uri)
    record = deploy_file(store, path, bundle, signed_models["policy"], tmp_path / "work", deployer)
    assert record.smoke_load["status"] == "skipped"  # deploy_file skips it; the flow's smoke-load is tested elsewhere
    model = load_verified_model(file_store_uri, MODEL, serving(signed_models["policy"], deployer))
    assert isinstance(model, torch.nn.Module)
    assert formats.predict(model, "model.safetensors", np.zeros((2, 8, 8), dtype=np.float32)).shape == (2, 10)


def test_verify_deployed_reports_the_serving_checks(
    signed_models: dict[str, Any], file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer
) -> None:
    path, bundle = signed_models["pytorch_model.pth"]
    deploy_file(open_store(file_store_uri), path, bundle, signed_models["policy"], tmp_path / "work", deployer)
    (tmp_path / "serve").mkdir()
    verified = verify_deployed(file_store_uri, MODEL, serving(signed_models["policy"], deployer), tmp_path / "serve")
    names = [check.name for check in verified.report.checks]
    assert names[-4:] == ["model-name", deploy.MODEL_DIGEST, "deployed-digest", "provenance-digest"]
    assert verified.report.passed and verified.model.path.read_bytes() == path.read_bytes()
    model, evidence = sha256_file(path), hashlib.sha256(bundle).hexdigest()
    assert [check.message for check in verified.report.checks[-2:]] == [  # passed: no failure detail
        f"deployed-digest: expected sha256:{model}, got sha256:{model}",
        f"provenance-digest: expected sha256:{evidence}, got sha256:{evidence}"]


def test_serving_requiring_a_kind_the_deploy_did_not_judge_loads_nothing(
    signed_models: dict[str, Any], file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer
) -> None:
    """Deployed under a key-signed policy; the server requires slsa-github-generator evidence too: the
    key-signed piece passes, but the policy is not satisfied, so nothing is loaded or remembered."""
    from slsa_models.verify import GeneratorPolicy

    path, bundle = signed_models["pytorch_model.pth"]
    deploy_file(open_store(file_store_uri), path, bundle, signed_models["policy"], tmp_path / "work", deployer)
    both = Policy(*signed_models["policy"].kinds, GeneratorPolicy(source_uri=SOURCE),
                  require=("local-builder", "slsa-github-generator"), deployers=deployer.trusted)
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(file_store_uri, MODEL, both, cache_dir=tmp_path / "cache")
    assert str(caught.value) == (
        "SLSA verification failed: policy: expected the policy satisfied, got not satisfied (the policy"
        " requires local-builder and slsa-github-generator; no evidence of slsa-github-generator passed)")
    assert os.listdir(tmp_path / "cache" / MODEL) == []


@pytest.mark.parametrize("folder", [False, True], ids=["file", "folder"])
def test_move_into_place_replaces_what_was_there(tmp_path: Path, folder: bool) -> None:
    """A newly verified copy replaces the one kept before (a cache, pull's DEST): the new bytes
    are at the target, nothing of the old is left, and nothing is left beside it."""
    from slsa_models.serving import move_into_place

    old, new = tmp_path / "model", tmp_path / ".model.new"
    for where, text in ((old, "old"), (new, "new")):
        if folder:
            (where / "sub").mkdir(parents=True)
            (where / "sub" / f"{text}.txt").write_text(text)
        else:
            where.write_text(text)
    move_into_place(new, old)
    assert os.listdir(tmp_path) == ["model"]
    if folder:
        assert os.listdir(old / "sub") == ["new.txt"] and (old / "sub" / "new.txt").read_text() == "new"
    else:
        assert old.read_text() == "new"


def test_move_into_place_succeeds_when_the_old_folder_cannot_be_removed(tmp_path: Path) -> None:
    """The new folder is in place once renamed: an old one that cannot be removed (here a file in
    it made immutable, which stops root too) is left aside, and the move does not fail."""
    import shutil
    import subprocess

    from slsa_models.serving import move_into_place

    old, new = tmp_path / "model", tmp_path / ".model.new"
    for where in (old, new):
        where.mkdir()
        (where / "weights.bin").write_text(where.name)
    stuck = old / "weights.bin"
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode:
        pytest.skip("no chattr +i here (needs CAP_LINUX_IMMUTABLE and a file system that keeps the flag)")
    try:
        move_into_place(new, old)
        assert (old / "weights.bin").read_text() == ".model.new"
        assert sorted(os.listdir(tmp_path)) == [f".model.old-{os.getpid()}", "model"]
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path / f".model.old-{os.getpid()}" / "weights.bin")], check=False)
        subprocess.run(["chattr", "-i", str(stuck)], check=False, capture_output=True)


def test_pickle_loads_only_with_the_opt_in(signed_models: dict[str, Any], file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    path, bundle = signed_models["pytorch_full_model.pth"]
    deploy_file(open_store(file_store_uri), path, bundle, signed_models["policy"], tmp_path / "work", deployer)
    with pytest.raises(InputError) as caught:
        load_verified_model(file_store_uri, MODEL, serving(signed_models["policy"], deployer))
    assert str(caught.value) == ("refusing to load pytorch_full_model.pth: it is a pickle that can run code;"
                                 " pass allow_pickle=True only after its provenance is verified")
    assert load_verified_model(file_store_uri, MODEL, serving(signed_models["policy"], deployer), allow_pickle=True) is not None


def test_the_gate_smoke_loads_a_verified_pickle_only_with_the_opt_in(
    signed_models: dict[str, Any], file_store_uri: str, tmp_path: Path,
) -> None:
    """The deploy's smoke test: Gate(allow_pickle=True) loads the verified pickle and predicts with it."""
    path, bundle = signed_models["pytorch_full_model.pth"]
    store = open_store(file_store_uri)
    publish_provenance(store, publish_model(store, MODEL, path).key, bundle)
    for allow_pickle in (False, True):
        work = tmp_path / f"work-{allow_pickle}"
        work.mkdir()
        verdict, smoke = deploy.Gate(store, MODEL, signed_models["policy"], allow_pickle=allow_pickle).run(work)
        assert verdict.passed, verdict.reason
        if not allow_pickle:
            assert (smoke.status, smoke.detail) == ("skipped", (
                "pytorch_full_model.pth is a pickle that can run code when loaded; deployed without loading it"
                " (opt in with allow_pickle / --allow-pickle to smoke-load it after verification)"))
    assert smoke.status == "passed" and re.fullmatch(
        re.escape("loaded with the safe loader of pytorch_full_model.pth; predicted classes ")
        + r"\[[0-9], [0-9]\]" + re.escape(" for 2 inputs of shape (8, 8)"), smoke.detail)


def test_tampered_deployed_model_is_refused(
    signed_models: dict[str, Any], s3_store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deployer: deploy.Deployer
) -> None:
    store = open_store(s3_store_uri)
    path, bundle = signed_models["pytorch_full_model.pth"]
    record = deploy_file(store, path, bundle, signed_models["policy"], tmp_path / "work", deployer)
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 2] ^= 1
    overwrite(store, record.object["key"], bytes(tampered))
    loaded: list[Path] = []
    monkeypatch.setattr(formats, "load_model", lambda *a, **k: loaded.append(a[0]))  # must not be reached
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, serving(signed_models["policy"], deployer), allow_pickle=True)
    failed = [check.name for check in caught.value.report.failed_checks()]  # type: ignore[union-attr]
    assert str(caught.value) == (
        f"SLSA verification failed: subject-digest: expected sha256:{hashlib.sha256(tampered).hexdigest()},"
        f" got no subject with this digest (the provenance covers {MODEL}/pytorch_full_model.pth;"
        " the artifact's bytes differ)")
    assert {"model-digest", "deployed-digest"} <= set(failed)
    assert loaded == []


# -- the real slsa-github-generator vector (verifies, but is not a model file) ------------------


def test_versioned_bucket_serves_the_pinned_version(s3_versioned_store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    store = open_store(s3_versioned_store_uri)
    record = deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                         GITHUB_POLICY, tmp_path / "work", deployer)
    overwrite(store, record.object["key"], b"replaced after deployment")
    (tmp_path / "serve").mkdir()
    verified = verify_deployed(store, MODEL, serving(GITHUB_POLICY, deployer), tmp_path / "serve")
    assert verified.model.sha256 == BINARY_SHA256
    assert verified.model.stored.version_id == record.object["version_id"]


def test_tampered_vector_is_refused_by_subject_digest(store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    store = open_store(store_uri)
    record = deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                         GITHUB_POLICY, tmp_path / "work", deployer)
    overwrite(store, record.object["key"], BINARY.read_bytes()[:-1])
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, serving(GITHUB_POLICY, deployer))
    tampered = hashlib.sha256(BINARY.read_bytes()[:-1]).hexdigest()
    assert str(caught.value) == (
        f"SLSA verification failed: subject-digest: expected sha256:{tampered}, got no subject with this digest"
        " (the provenance covers gha_generic-binary-linux-amd64-v14; the artifact's bytes differ)")
    failed = [check.name for check in caught.value.report.failed_checks()]  # type: ignore[union-attr]
    assert failed == ["subject-digest", "model-digest", "deployed-digest"]
    deployed = caught.value.report.failed_checks()[-1]  # type: ignore[union-attr]
    assert (deployed.detail, deployed.artifact) == ("these are not the bytes the deploy verified", BINARY.name)
    assert deployed.message == (f"deployed-digest: expected sha256:{BINARY_SHA256}, got sha256:{tampered}"
                                " (these are not the bytes the deploy verified)")


def test_serving_applies_its_own_policy(file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work", deployer)
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, serving(github_policy(source_uri=SOURCE, source_tag="v15"), deployer))
    assert str(caught.value) == "SLSA verification failed: source-tag: expected v15, got v14 (built from another tag)"


def test_provenance_replaced_after_deployment_is_refused(file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    """Another real provenance for the same bytes (push-v14.2): valid, but not the one the deploy verified."""
    store = open_store(file_store_uri)
    record = deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                         github_policy(source_uri=SOURCE), tmp_path / "work", deployer)
    overwrite(store, record.evidence[0]["key"], (VECTORS / "binary-linux-amd64-push-v14.2.intoto.jsonl").read_bytes())
    with pytest.raises(VerificationFailed) as caught:
        load_verified_model(store, MODEL, serving(github_policy(source_uri=SOURCE), deployer))
    judged = hashlib.sha256((VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl").read_bytes()).hexdigest()
    replaced = hashlib.sha256((VECTORS / "binary-linux-amd64-push-v14.2.intoto.jsonl").read_bytes()).hexdigest()
    assert str(caught.value) == (
        f"SLSA verification failed: provenance-digest: expected sha256:{judged}, got sha256:{replaced}"
        " (this evidence is not what the deploy judged)")


def test_a_file_that_is_no_model_format_verifies_but_does_not_load(file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work", deployer)
    with pytest.raises(InputError) as caught:
        load_verified_model(store, MODEL, serving(GITHUB_POLICY, deployer))
    assert str(caught.value) == (
        f"unknown model format 'binary-linux-amd64': choose one of {', '.join(formats.FORMAT_NAMES)}"
    )


def test_nothing_deployed(file_store_uri: str, deployer: deploy.Deployer) -> None:
    with pytest.raises(NotFoundError) as caught:
        load_verified_model(file_store_uri, MODEL, serving(GITHUB_POLICY, deployer))
    assert str(caught.value) == (
        f"nothing is deployed for model 'served' in {file_store_uri}"
        " (deployments/served/current.json does not exist); deploy it first"
    )


# -- deployment records serving can check (issue: the gate fails closed) -------------------------


def _two_deploys(store: ArtifactStore, tmp_path: Path, deployer: deploy.Deployer) -> tuple[bytes, bytes]:
    """Deploy push-v14 (#0), then push-v14.2 for the same bytes (#1); the signed records' bytes."""
    policy = github_policy(source_uri=SOURCE)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", policy,
                tmp_path / "a", deployer)
    first = store.read_bytes(layout.current_key(MODEL))
    key = layout.model_key(MODEL, BINARY_SHA256, BINARY.name)
    publish_provenance(store, key, VECTORS / "binary-linux-amd64-push-v14.2.intoto.jsonl")
    (tmp_path / "b").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, policy).run(tmp_path / "b")
    assert deploy.promote(store, verdict, SKIPPED, deployer=deployer, policy={}).deployed
    return first, store.read_bytes(layout.current_key(MODEL))


def _replace_current(store: ArtifactStore, data: bytes) -> None:
    _, tag = store.read_with_tag(layout.current_key(MODEL))  # type: ignore[misc]
    store.compare_and_swap(layout.current_key(MODEL), data, tag)


def test_a_hand_edited_record_is_refused(file_store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    """current.json edited to point at another object: its signature no longer verifies."""
    store = open_store(file_store_uri)
    _two_deploys(store, tmp_path, deployer)
    data = store.read_bytes(layout.current_key(MODEL))
    import base64
    import json

    bundle = json.loads(data)
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["slsaModels"]["sequence"] = 99
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    _replace_current(store, json.dumps(bundle).encode())
    loaded: list[Any] = []
    with pytest.raises(UntrustedRecordError) as caught:
        load_verified_model(store, MODEL, serving(GITHUB_POLICY, deployer))
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key(MODEL))} is not signed by a trusted deployer (deployer): "
        "edited by hand or written by another deployer; nothing loaded")
    assert loaded == []


def test_a_record_signed_by_another_key_is_refused(file_store_uri: str, tmp_path: Path,
                                                   deployer: deploy.Deployer) -> None:
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work", deployer)
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    other = TrustedKey.from_file(tmp_path / "other.pub.pem", name="other")
    policy = Policy(*GITHUB_POLICY.kinds, accept_unnamed=True, deployers=(other,))
    with pytest.raises(UntrustedRecordError) as caught:
        load_verified_model(store, MODEL, policy)
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key(MODEL))} is not signed by a trusted deployer (other):"
        " edited by hand or written by another deployer; nothing loaded"
    )


def test_a_policy_without_deployers_loads_nothing(file_store_uri: str, tmp_path: Path,
                                                  deployer: deploy.Deployer) -> None:
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work", deployer)
    with pytest.raises(UntrustedRecordError) as caught:
        load_verified_model(store, MODEL, GITHUB_POLICY)
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key(MODEL))}: the policy trusts no deployer key to sign "
        "deployment records; add a [deployer.NAME] table with the deployer's public key")


def test_a_record_for_another_name_is_refused(file_store_uri: str, tmp_path: Path,
                                              deployer: deploy.Deployer) -> None:
    """A validly signed record of model 'served', copied to another model's current.json."""
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work", deployer)
    store.compare_and_swap(layout.current_key("fraud"), store.read_bytes(layout.current_key(MODEL)), None)
    with pytest.raises(UntrustedRecordError) as caught:
        load_verified_model(store, "fraud", serving(GITHUB_POLICY, deployer))
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key('fraud'))} is a record for model 'served', not 'fraud': "
        "nothing loaded")


def test_a_rollback_is_refused_unless_allowed(file_store_uri: str, tmp_path: Path,
                                              deployer: deploy.Deployer) -> None:
    store = open_store(file_store_uri)
    first, second = _two_deploys(store, tmp_path, deployer)
    policy = serving(github_policy(source_uri=SOURCE), deployer)
    cache = tmp_path / "cache"
    (tmp_path / "serve").mkdir()
    assert verify_deployed(store, MODEL, policy, tmp_path / "serve", state=cache).record.sequence == 1
    _replace_current(store, first)  # the older, validly signed record, put back
    with pytest.raises(UntrustedRecordError) as caught:
        verify_deployed(store, MODEL, policy, tmp_path / "serve", state=cache)
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key(MODEL))} is deployment #0, older than #1 which this "
        "server loaded before: a rollback; nothing loaded (pass allow_rollback=True to accept it)")
    rolled = verify_deployed(store, MODEL, policy, tmp_path / "serve", state=cache, allow_rollback=True)
    assert rolled.record.sequence == 0


def test_a_refusal_record_in_current_json_loads_nothing(file_store_uri: str, tmp_path: Path,
                                                        deployer: deploy.Deployer) -> None:
    """A signed refusal (from history) put in current.json is no promotion."""
    store = open_store(file_store_uri)
    deploy_file(store, BINARY, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl", GITHUB_POLICY,
                tmp_path / "work", deployer)
    verdict, smoke = deploy.Gate(store, MODEL, github_policy(source_uri=SOURCE, source_tag="v15")).run(tmp_path)
    refused = deploy.record_refusal(store, verdict, smoke, deployer=deployer, policy={})
    _replace_current(store, store.read_bytes(refused.history_key))
    with pytest.raises(UntrustedRecordError) as caught:
        load_verified_model(store, MODEL, serving(GITHUB_POLICY, deployer))
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key(MODEL))} does not promote a model (outcome refused): nothing loaded"
    )
