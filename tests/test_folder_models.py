"""Folder models (a Hugging Face-style checkpoint: config, tokenizer, 3 safetensors shards) and
bring-your-own training, through train -> store -> deploy -> serving -> pull.

Real parts: the train flow and the deploy command against Prefect's test server, stores on
disk and S3 (moto's server over HTTP), the local builder's key-signed provenance, safetensors
loading. Every tampering case is refused naming the file, and nothing is deployed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy
from slsa_models.deploy.deployer import dev_deployer_key_paths
from slsa_models.errors import InputError, VerificationFailed
from slsa_models.manifest import Manifest, build_manifest, compare_files, list_files, model_subjects
from slsa_models.provenance.attest import attest
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.publishing import publish_folder, publish_path, publish_provenance
from slsa_models.serving import load_verified_model
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import TrustedKey
from tests.policies import local_policy
from tests.user_trainer import write_checkpoint

MODEL = "hf-tiny"
BUILDER = "https://ci.example.com/builders/folder-box"
SHARDS = [f"model-0000{n}-of-00003.safetensors" for n in (1, 2, 3)]
FILES = ["config.json", *SHARDS, "model.safetensors.index.json", "tokenizer.json"]


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("builder")
    generate_key_pair(root / "builder.pem", root / "builder.pub.pem")
    return {"private": root / "builder.pem", "public": root / "builder.pub.pem",
            "signer": KeySigner(load_private_key(root / "builder.pem")),
            "policy": local_policy((TrustedKey.from_file(root / "builder.pub.pem", name="box",
                                                         builder_id=BUILDER),),
                                   deployers=deploy.deployer_for(None).trusted)}


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    write_checkpoint(folder)
    return folder


def evidence(builder: dict[str, Any], folder: Path, model: str = MODEL) -> bytes:
    """Key-signed provenance naming every file of ``folder`` as <model>/<path>."""
    subjects = model_subjects([folder], model)
    return attest(subjects, signer=builder["signer"], builder_id=BUILDER,
                  external_parameters={"model_name": model}).encode()


def store_folder(store: ArtifactStore, folder: Path, bundle: bytes) -> str:
    key = publish_folder(store, MODEL, folder, build_manifest(folder)).key
    publish_provenance(store, key, bundle)
    return key


def deploy_cli(store_uri: str, key: str, builder: dict[str, Any]) -> int:
    from slsa_models.commands.deploy import main

    return main(["--model-name", MODEL, "--store", store_uri, "--digest", f"sha256:{layout.parse_model_key(key)[1]}",
                 "--public-key", str(builder["public"]), "--builder-id", BUILDER])


def nothing_deployed(store_uri: str) -> bool:
    return open_store(store_uri).read_with_tag(layout.current_key(MODEL)) is None


# -- the manifest ---------------------------------------------------------------------------------


def test_manifest_lists_every_regular_file_sorted_and_leaves_git_files_out(checkpoint: Path) -> None:
    (checkpoint / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    (checkpoint / ".git").mkdir()
    (checkpoint / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (checkpoint / "sub").mkdir()
    (checkpoint / "sub" / "extra.txt").write_text("x")
    manifest = build_manifest(checkpoint, ["sub/extra.txt"])
    assert [entry.path for entry in manifest.files] == FILES
    data = manifest.to_bytes()
    assert data.decode().splitlines()[0] == (
        f"{hashlib.sha256((checkpoint / 'config.json').read_bytes()).hexdigest()}  config.json")
    assert manifest.digest.hex == hashlib.sha256(data).hexdigest()
    assert Manifest.parse(data) == manifest
    assert list_files(checkpoint, ["sub"])[-1] == "tokenizer.json"
    assert "sub/extra.txt" in list_files(checkpoint)


@pytest.mark.parametrize("make, what", [
    (lambda path: path.symlink_to("/etc/hostname"), "a symlink"),
    (lambda path: os.mkfifo(path), "a FIFO"),
])
def test_a_link_or_fifo_in_a_folder_is_refused(checkpoint: Path, make: Any, what: str) -> None:
    make(checkpoint / "odd")
    with pytest.raises(InputError) as error:
        build_manifest(checkpoint)
    assert str(error.value) == (f"{checkpoint / 'odd'}: is {what}; a model folder holds regular files only "
                                "(leave it out with --ignore-paths)")
    assert [entry.path for entry in build_manifest(checkpoint, ["odd"]).files] == FILES


@pytest.mark.parametrize("data, message", [
    (b"", "not a model manifest: empty or no final newline"),
    (b"%s  b\n%s  a\n" % (b"0" * 64, b"1" * 64), "a manifest lists its files sorted by path, each once"),
    (b"%s  a\n%s  a\n" % (b"0" * 64, b"1" * 64), "a manifest lists its files sorted by path, each once"),
    (b"%s  ../etc/passwd\n" % (b"0" * 64), "invalid file path '../etc/passwd' in a model folder: use a relative "
     "path of '/'-separated names, no '.', '..', backslash or control character"),
    (b"%s  /abs\n" % (b"0" * 64), "invalid file path '/abs' in a model folder: use a relative path of "
     "'/'-separated names, no '.', '..', backslash or control character"),
    (b"%s *a\n" % (b"0" * 64), "not a model manifest: line 1 is not '<sha256 hex>  <path>'"),
    (b"\xff\n", "not a model manifest: not UTF-8"),
    (b"%s  a\n%s  a/b\n" % (b"0" * 64, b"1" * 64), "a manifest cannot list 'a' both as a file and as a folder"),
])
def test_hostile_manifests_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as error:
        Manifest.parse(data)
    assert str(error.value) == message


def test_ignore_paths_outside_or_covering_the_folder_are_refused(checkpoint: Path) -> None:
    with pytest.raises(InputError, match=r"^ignored path '/etc' is not inside '.*checkpoint'$"):
        build_manifest(checkpoint, ["/etc"])
    with pytest.raises(InputError, match=r"^ignored path '\.' would ignore the whole model$"):
        build_manifest(checkpoint, ["."])


@pytest.mark.parametrize("actual, kinds, line", [
    ({"a": "1", "b": "2", "c": "3"}, [], ""),
    ({"a": "1", "b": "9", "c": "3"}, ["changed"], "b: sha256:9... differs from the signed sha256:2..."),
    ({"a": "1", "b": "2"}, ["missing"], "c: signed but missing"),
    ({"a": "1", "b": "2", "c": "3", "d": "4"}, ["added"], "d: not signed (added)"),
    ({"a": "1", "b": "2", "z": "3"}, ["renamed"], "z: renamed from c"),
    ({"a": "2", "b": "1", "c": "3"}, ["swapped", "swapped"],
     "a: holds the signed bytes of b; b: holds the signed bytes of a"),
])
def test_compare_files_names_each_difference(actual: dict[str, str], kinds: list[str], line: str) -> None:
    from slsa_models.manifest import describe

    differences = compare_files({"a": "1", "b": "2", "c": "3"}, actual)
    assert [difference.kind for difference in differences] == kinds
    assert describe(differences) == line


# -- bring your own training ----------------------------------------------------------------------


def test_a_user_trainer_folder_goes_through_train_deploy_serving_and_pull_on_s3(
    prefect_server: str, s3_store_uri: str, s3_client: Any, tmp_path: Path, builder: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The train flow runs the user's trainer (tests/user_trainer.py), stores the folder file by
    file and attests every file; the deploy verifies and smoke-loads it; serving returns the
    verified folder; `slsa-models pull` puts the same folder into DEST."""
    from flows.train import train_flow
    from slsa_models.cli import main as cli

    trained = train_flow(trainer="tests.user_trainer:train_checkpoint", model_name=MODEL, store=s3_store_uri,
                         attest=True, signing_key=str(builder["private"]), builder_id=BUILDER)
    assert trained["files"] == 6 and trained["model_format"] is None and trained["accuracy"] is None
    assert trained["key"] == f"models/{MODEL}/sha256-{trained['sha256']}/checkpoint.manifest"
    assert [line.split("  ")[1] for line in trained["subject"].splitlines()] == [f"{MODEL}/{f}" for f in FILES]
    from tests.test_deploy_flow import artifacts_of

    uploaded = artifacts_of(trained["flow_run_id"])["progress-uploading checkpoint"]
    assert float(uploaded.data) == 100.0  # the store step's progress in the Prefect UI
    store = open_store(s3_store_uri)
    manifest = Manifest.parse(store.read_bytes(trained["key"]))
    assert [entry.path for entry in manifest.files] == FILES

    assert deploy_cli(s3_store_uri, trained["key"], builder) == 0
    out = capsys.readouterr().out
    assert "PASSED: SLSA verification passed" in out
    assert "smoke-load: passed: checkpoint: config.json parses; 3 tensors of 3 safetensors files load" in out

    served = load_verified_model(s3_store_uri, MODEL, builder["policy"], cache_dir=tmp_path / "cache")
    assert served == tmp_path / "cache" / MODEL / f"sha256-{trained['sha256']}" / "checkpoint"
    assert build_manifest(served) == manifest

    policy = tmp_path / "policy.toml"
    policy.write_text(f'version = 2\n[local-builder.box]\nbuilder-id = "{BUILDER}"\npublic-key = "{builder["public"]}"\n'
                      f'[deployer.dev]\npublic-key = "{dev_deployer_key_paths()[1]}"\n')
    dest = tmp_path / "dest"
    pull = ["pull", "--store", s3_store_uri, "--model-name", MODEL, "--policy", str(policy),
            "--state", str(tmp_path / "state"), "--cache", str(tmp_path / "pull-cache")]
    assert cli([*pull, str(dest)]) == 0
    assert build_manifest(dest / "checkpoint") == manifest
    assert sorted(os.listdir(dest)) == ["checkpoint"]  # no scratch left behind
    s3_client.delete_object(Bucket=s3_store_uri.removeprefix("s3://").split("/")[0],
                            Key=f"prefix/{layout.folder_file_key(trained['key'], SHARDS[0])}")
    assert cli([*pull, str(tmp_path / "second")]) == 0  # from the cache, every file hashed again
    assert build_manifest(tmp_path / "second" / "checkpoint") == manifest


def test_a_user_trainer_file_with_arguments_and_model_path_for_a_file_and_a_folder(
    prefect_server: str, file_store_uri: str, tmp_path: Path, builder: dict[str, Any],
) -> None:
    from flows.train import train_flow

    made = train_flow(trainer="tests.user_trainer:train_file", trainer_args={"scale": 2.0}, model_name=MODEL,
                      store=file_store_uri, attest=True, signing_key=str(builder["private"]), builder_id=BUILDER)
    assert made["key"].endswith("/weights.safetensors") and made["files"] == 1
    assert made["subject"] == f"{made['sha256']}  {MODEL}/weights.safetensors\n"

    elsewhere = tmp_path / "made-elsewhere"
    elsewhere.mkdir()
    write_checkpoint(elsewhere, shards=2, seed=5)
    from_path = train_flow(model_path=str(elsewhere), model_name=MODEL, store=file_store_uri, attest=True,
                           signing_key=str(builder["private"]), builder_id=BUILDER, ignore_paths=["tokenizer.json"])
    assert from_path["key"].endswith("/made-elsewhere.manifest") and from_path["files"] == 4
    assert "tokenizer.json" not in from_path["subject"]
    single = train_flow(model_path=str(elsewhere / "config.json"), model_name=MODEL, store=file_store_uri,
                        attest=True, signing_key=str(builder["private"]), builder_id=BUILDER)
    assert single["key"].endswith("/config.json")
    for result in (made, from_path, single):
        work = tmp_path / result["sha256"][:8]
        work.mkdir()
        verdict, _ = deploy.Gate(open_store(file_store_uri), MODEL, builder["policy"]).run(work, digest=result["sha256"])
        assert verdict.passed, verdict.reason


@pytest.mark.parametrize("trainer, code, error", [
    ("tests.user_trainer:train_nothing", 2, "trainer tests.user_trainer:train_nothing returned nothing and wrote 0 "
     "entries into its output folder: return the path of the model file or folder"),
    ("tests.user_trainer:train_escaping", 2, "trainer tests.user_trainer:train_escaping returned '/etc/hostname': the "
     "model must be a file or folder inside the output folder it was given"),
    ("tests.user_trainer:train_crashing", 1, "trainer tests.user_trainer:train_crashing failed: RuntimeError: CUDA out "
     "of memory"),
    ("tests.user_trainer:no_such", 2, "trainer tests.user_trainer:no_such: tests.user_trainer has no function "
     "'no_such'"),
    ("tests.no_such_module:train", 2, "trainer tests.no_such_module:train: cannot import tests.no_such_module: No module "
     "named 'tests.no_such_module'"),
    ("os.system", 2, "invalid trainer 'os.system': expected package.module:function"),
])
def test_broken_trainers_fail_in_one_line_and_store_nothing(
    prefect_server: str, file_store_uri: str, trainer: str, code: int, error: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from slsa_models.commands.train import main

    assert main(["--trainer", trainer, "--model-name", MODEL, "--store", file_store_uri]) == code
    assert capsys.readouterr().err.splitlines()[-1] == f"error: {error}"
    assert open_store(file_store_uri).list_objects("models/") == []


# -- tampering: refused, the file named, nothing deployed -----------------------------------------


def _swap(folder: Path) -> None:
    first, second = folder / SHARDS[0], folder / SHARDS[1]
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)


@pytest.mark.parametrize("tamper, detail", [
    (lambda f: (f / SHARDS[1]).write_bytes((f / SHARDS[1]).read_bytes()[:-1] + b"!"),
     "1 differing (changed) ({shard}: sha256:{new}... differs from the signed sha256:{old}...)"),
    (lambda f: (f / "tokenizer.json").unlink(), "1 differing (missing) (tokenizer.json: signed but missing)"),
    (lambda f: (f / "extra.py").write_text("import os\n"), "1 differing (added) (extra.py: not signed (added))"),
    (lambda f: (f / "tokenizer.json").rename(f / "tokenizer2.json"),
     "1 differing (renamed) (tokenizer2.json: renamed from tokenizer.json)"),
    (_swap, "2 differing (swapped) ({first}: holds the signed bytes of {second}; {second}: holds the signed "
     "bytes of {first})"),
])
def test_a_tampered_folder_is_refused_naming_the_file(
    prefect_server: str, file_store_uri: str, checkpoint: Path, builder: dict[str, Any], tamper: Any,
    detail: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """The attacker publishes a changed folder (consistent manifest, write access to the store) with
    the original folder's real evidence: the set of files must equal the signed set exactly."""
    bundle = evidence(builder, checkpoint)
    old = hashlib.sha256((checkpoint / SHARDS[1]).read_bytes()).hexdigest()[:12]
    tamper(checkpoint)
    new = hashlib.sha256((checkpoint / SHARDS[1]).read_bytes()).hexdigest()[:12]
    key = store_folder(open_store(file_store_uri), checkpoint, bundle)
    assert deploy_cli(file_store_uri, key, builder) == 1
    files = detail.format(shard=SHARDS[1], new=new, old=old, first=SHARDS[0], second=SHARDS[1])
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: SLSA verification failed: model-files: expected the 6 signed files, got {files}")
    assert nothing_deployed(file_store_uri)


def test_a_file_replaced_or_deleted_in_the_store_is_refused(
    prefect_server: str, s3_store_uri: str, s3_client: Any, checkpoint: Path, builder: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Write access to the bucket: one shard overwritten, then one deleted, behind the store's back."""
    key = store_folder(open_store(s3_store_uri), checkpoint, evidence(builder, checkpoint))
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    shard_key = f"prefix/{layout.folder_file_key(key, SHARDS[2])}"
    s3_client.put_object(Bucket=bucket, Key=shard_key, Body=b"not the weights")
    assert deploy_cli(s3_store_uri, key, builder) == 1
    changed = hashlib.sha256(b"not the weights").hexdigest()[:12]
    signed = hashlib.sha256((checkpoint / SHARDS[2]).read_bytes()).hexdigest()[:12]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: SLSA verification failed: model-files: expected the 6 signed files, got 1 differing (changed) "
        f"({SHARDS[2]}: sha256:{changed}... differs from the signed sha256:{signed}...)")
    s3_client.delete_object(Bucket=bucket, Key=shard_key)
    assert deploy_cli(s3_store_uri, key, builder) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: SLSA verification failed: model-files: expected the 6 signed files, got 1 differing (missing) "
        f"({SHARDS[2]}: signed but missing; not in the store: {SHARDS[2]})")
    assert nothing_deployed(s3_store_uri)


def test_a_replaced_manifest_is_not_followed(
    prefect_server: str, file_store_uri: str, checkpoint: Path, builder: dict[str, Any],
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    store = open_store(file_store_uri)
    key = store_folder(store, checkpoint, evidence(builder, checkpoint))
    forged = b"%s  ../../../../etc/passwd\n" % (b"0" * 64)
    Path(store.object_uri(key).removeprefix("file://")).write_bytes(forged)
    assert deploy_cli(file_store_uri, key, builder) == 1
    digest = layout.parse_model_key(key)[1]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: SLSA verification failed: model-digest: expected sha256:{digest}, got "
        f"sha256:{hashlib.sha256(forged).hexdigest()} (the stored bytes are not the ones their key names: "
        "they were replaced)")
    assert nothing_deployed(file_store_uri)
    gate = deploy.Gate(store, MODEL, builder["policy"])
    (tmp_path / "work").mkdir()
    model = gate.fetch_model(gate.find(f"sha256:{digest}"), tmp_path / "work")
    assert (model.files, model.problem) == ({}, "the manifest is not the one its key names")
    assert os.listdir(model.path) == []  # the forged path was not followed


def test_evidence_for_another_models_folder_is_refused(
    prefect_server: str, file_store_uri: str, checkpoint: Path, builder: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = store_folder(open_store(file_store_uri), checkpoint, evidence(builder, checkpoint, model="fraud"))
    assert deploy_cli(file_store_uri, key, builder) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: SLSA verification failed: model-name: expected {MODEL}, got fraud (the evidence was made "
        "for model 'fraud')")
    assert nothing_deployed(file_store_uri)


def test_serving_refuses_a_folder_changed_after_the_deploy(
    file_store_uri: str, checkpoint: Path, builder: dict[str, Any], tmp_path: Path,
) -> None:
    store = open_store(file_store_uri)
    key = store_folder(store, checkpoint, evidence(builder, checkpoint))
    (tmp_path / "work").mkdir()
    verdict, smoke = deploy.Gate(store, MODEL, builder["policy"]).run(tmp_path / "work")
    assert verdict.passed and smoke.status == "passed"
    assert deploy.promote(store, verdict, smoke, deployer=deploy.deployer_for(None), policy={}).deployed
    shard = Path(store.object_uri(layout.folder_file_key(key, "config.json")).removeprefix("file://"))
    signed = hashlib.sha256(shard.read_bytes()).hexdigest()
    shard.write_text('{"model_type": "evil"}')
    changed = hashlib.sha256(b'{"model_type": "evil"}').hexdigest()
    with pytest.raises(VerificationFailed) as refused:
        load_verified_model(store, MODEL, builder["policy"], cache_dir=tmp_path / "cache")
    assert str(refused.value) == (
        "SLSA verification failed: model-files: expected the 6 signed files, got 1 differing (changed)"
        f" (config.json: sha256:{changed[:12]}... differs from the signed sha256:{signed[:12]}...)")
    assert not (tmp_path / "cache" / MODEL / f"sha256-{layout.parse_model_key(key)[1]}").exists()


def test_publish_refuses_a_file_that_cannot_be_a_store_key(checkpoint: Path, file_store_uri: str) -> None:
    (checkpoint / "sub").mkdir()
    (checkpoint / "sub" / ".hidden").write_text("x")
    store = open_store(file_store_uri)
    with pytest.raises(InputError) as error:
        publish_path(store, MODEL, checkpoint)
    assert str(error.value) == ("the file 'sub/.hidden' cannot be stored: each part of its path must be letters, "
                                "digits and '._+=@,~-', not starting with '.' (leave it out with --ignore-paths)")
    assert store.list_objects("models/") == []
    assert publish_path(store, MODEL, checkpoint, ignore_paths=["sub"]).key.endswith("/checkpoint.manifest")


def test_a_folder_copy_verifies_the_same_as_the_original(checkpoint: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(checkpoint, copy)
    assert build_manifest(copy, workers=1) == build_manifest(checkpoint, workers=4)


def test_the_command_line_digests_attests_and_publishes_a_folder(
    checkpoint: Path, file_store_uri: str, builder: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Outside Prefect: `digest`, `attest` and `publish` take the folder; the gate then passes."""
    import json

    from slsa_models.cli import main as cli

    assert cli(["digest", "--model-name", MODEL, str(checkpoint)]) == 0
    manifest = build_manifest(checkpoint)
    assert capsys.readouterr().out == "".join(f"{entry.sha256}  {MODEL}/{entry.path}\n" for entry in manifest.files)
    bundle = tmp_path / "checkpoint.intoto.jsonl"
    assert cli(["attest", "--private-key", str(builder["private"]), "--builder-id", BUILDER,
                "--model-name", MODEL, str(checkpoint), "-o", str(bundle)]) == 0
    assert cli(["publish", "--store", file_store_uri, "--model-name", MODEL, str(checkpoint), str(bundle)]) == 0
    published = json.loads(capsys.readouterr().out)
    key = f"models/{MODEL}/sha256-{manifest.digest.hex}/checkpoint.manifest"
    assert published == {"model": open_store(file_store_uri).object_uri(key), "sha256": manifest.digest.hex,
                         "provenance": open_store(file_store_uri).object_uri(key + ".intoto.jsonl")}
    (tmp_path / "work").mkdir()
    verdict, smoke = deploy.Gate(open_store(file_store_uri), MODEL, builder["policy"]).run(tmp_path / "work")
    assert verdict.passed and smoke.status == "passed", verdict.reason
    assert cli(["digest", str(checkpoint)]) == 2
    assert capsys.readouterr().err == (f"error: {checkpoint}: a model folder's files are named <model>/<path>: "
                                       "give --model-name\n")


# -- OMS signatures from the train flow, required beside provenance ----------------------------------


def test_train_oms_sign_then_a_policy_requiring_provenance_and_oms(
    prefect_server: str, file_store_uri: str, tmp_path: Path, builder: dict[str, Any],
) -> None:
    """`oms_sign` stores an OpenSSF model signing signature beside the provenance; the real
    model_signing 1.1.1 verifies it on the folder; the gate passes a policy that requires both
    kinds, refuses it when the OMS signer is not trusted, and serving applies the same policy."""
    from model_signing import verifying

    from flows.train import train_flow
    from slsa_models.oms.trust import OMSKey
    from slsa_models.verify import LocalBuilderPolicy, Policy
    from slsa_models.verify.policy import OMSPolicy

    trained = train_flow(trainer="tests.user_trainer:train_checkpoint", model_name=MODEL, store=file_store_uri,
                         attest=True, oms_sign=True, signing_key=str(builder["private"]), builder_id=BUILDER)
    store = open_store(file_store_uri)
    signature = store.read_bytes(trained["oms_signature_uri"].removeprefix(store.uri + "/"))
    served = tmp_path / "checkpoint"
    shutil.copytree(Path(store.object_uri(layout.folder_file_key(trained["key"], "config.json")).removeprefix("file://")).parent, served,
                    ignore=shutil.ignore_patterns(".*"))
    (tmp_path / "model.sig").write_bytes(signature)
    verifying.Config().use_elliptic_key_verifier(public_key=builder["public"]).verify(served, tmp_path / "model.sig")

    local = builder["policy"].for_kind("local-builder")
    assert isinstance(local, LocalBuilderPolicy)
    deployers = deploy.deployer_for(None).trusted

    def judged(oms_key: Path, work: str) -> deploy.Verdict:
        oms = OMSPolicy(public_keys=(OMSKey.from_file(oms_key, name="release"),))
        policy = Policy(local, oms, require=("local-builder", "oms"), deployers=deployers)
        (tmp_path / work).mkdir()
        verdict, _ = deploy.Gate(store, MODEL, policy).run(tmp_path / work, digest=trained["sha256"])
        return verdict

    verdict = judged(builder["public"], "both")
    assert verdict.passed, verdict.reason
    assert sorted(report.kind for report in verdict.reports if report and report.passed) == ["local-builder", "oms"]

    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    refused = judged(tmp_path / "other.pub.pem", "other")
    assert not refused.passed
    assert refused.problem == "the policy requires local-builder and oms; no evidence of oms passed"

    # The deploy command and serving, under one policy file that requires both kinds.
    from slsa_models.commands.deploy import main as deploy_main
    from slsa_models.verify import load_policy

    policy_file = tmp_path / "both.toml"
    policy_file.write_text(
        f'version = 2\nrequire = ["local-builder", "oms"]\n[local-builder.box]\nbuilder-id = "{BUILDER}"\n'
        f'public-key = "{builder["public"]}"\n[oms]\npublic-key = ["{builder["public"]}"]\n'
        f'[deployer.dev]\npublic-key = "{dev_deployer_key_paths()[1]}"\n')
    assert deploy_main(["--model-name", MODEL, "--store", file_store_uri, "--digest", trained["sha256"],
                        "--policy", str(policy_file)]) == 0
    served = load_verified_model(file_store_uri, MODEL, load_policy(policy_file), cache_dir=tmp_path / "cache")
    assert build_manifest(served).digest.hex == trained["sha256"]
    assert refused.reason == "SLSA verification failed: the policy requires local-builder and oms; no evidence of oms passed"


def test_verify_artifact_checks_a_folder_against_its_provenance(
    checkpoint: Path, builder: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from slsa_models.cli import main as cli

    bundle = tmp_path / "checkpoint.intoto.jsonl"
    bundle.write_bytes(evidence(builder, checkpoint))
    verify = ["verify-artifact", "--provenance-path", str(bundle), "--public-key", str(builder["public"]),
              "--builder-id", BUILDER, "--model-name", MODEL, str(checkpoint)]
    assert cli(verify) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "PASSED: SLSA verification passed"
    _swap(checkpoint)
    assert cli(verify) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"FAILED: SLSA verification failed: model-files: expected the 6 signed files, got 2 differing (swapped) "
        f"({SHARDS[0]}: holds the signed bytes of {SHARDS[1]}; {SHARDS[1]}: holds the signed bytes of {SHARDS[0]})")
    assert cli(verify[:-3] + [str(checkpoint)]) == 2
    assert capsys.readouterr().err == ("error: a model folder is verified alone, with --model-name N: its files are "
                                       "the subjects N/<path>\n")


def test_a_retried_folder_fetch_starts_from_an_empty_folder(
    file_store_uri: str, checkpoint: Path, builder: dict[str, Any], tmp_path: Path,
) -> None:
    """The deploy's fetch-model task is retried on store errors: a file left by the first try (from
    another manifest) must not be served beside the verified files of the second."""
    store = open_store(file_store_uri)
    key = store_folder(store, checkpoint, evidence(builder, checkpoint))
    gate = deploy.Gate(store, MODEL, builder["policy"])
    work = tmp_path / "work"
    (work / "checkpoint").mkdir(parents=True)
    (work / "checkpoint" / "left-over.py").write_text("import os\n")
    fetched = gate.fetch_model(gate.find(), work)
    assert sorted(os.listdir(work / "checkpoint")) == FILES and sorted(fetched.files or {}) == FILES
    assert fetched.stored.key == key


def test_a_folder_is_downloaded_at_most_eight_files_at_a_time(
    file_store_uri: str, builder: dict[str, Any], tmp_path: Path,
) -> None:
    """The gate downloads a folder's files several at once, but never more than 8 (threads and store
    connections are bounded, however many files a manifest lists). The store below holds each file's
    download until 8 run at once (or 5 s passed), then 0.2 s more: a larger pool shows more than 8 at
    its peak, an unbounded one on a small machine (cpu count + 4 threads) never reaches 8."""
    import threading
    import time

    from slsa_models.store.file import FileStore

    class Overlapping(FileStore):
        def __init__(self, root: Path) -> None:
            super().__init__(root)
            self.running = self.peak = 0
            self.lock, self.eight = threading.Lock(), threading.Event()

        def download(self, key: str, dest: Any, **kwargs: Any) -> Any:
            if key.endswith(".manifest"):
                return super().download(key, dest, **kwargs)
            with self.lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
                if self.running >= 8:
                    self.eight.set()
            try:
                self.eight.wait(5)
                time.sleep(0.2)
                return super().download(key, dest, **kwargs)
            finally:
                with self.lock:
                    self.running -= 1

    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(20):
        (folder / f"part-{n:02}.bin").write_bytes(b"%d" % n * 100)
    manifest = build_manifest(folder)
    store = Overlapping(Path(file_store_uri.removeprefix("file://")))
    publish_folder(store, MODEL, folder, manifest)
    (tmp_path / "work").mkdir()
    gate = deploy.Gate(store, MODEL, builder["policy"])
    fetched = gate.fetch_model(gate.find(), tmp_path / "work")
    assert store.peak == 8
    assert fetched.problem is None and fetched.files == {entry.path: entry.sha256 for entry in manifest.files}
    assert all((tmp_path / "work" / "many" / path).read_bytes() == (folder / path).read_bytes()
               for path in fetched.files)


def test_a_folder_with_nested_subfolders_is_fetched_whole(
    file_store_uri: str, checkpoint: Path, builder: dict[str, Any], tmp_path: Path,
) -> None:
    """Files two and three folders deep (a tokenizer/ or onnx/ subfolder of a checkpoint) are fetched
    into the same places, and the folder passes the gate."""
    for relative in ("onnx/fp16/model.bin", "onnx/fp16/deeper/notes.txt", "tokenizer/vocab/merges.txt"):
        (checkpoint / relative).parent.mkdir(parents=True, exist_ok=True)
        (checkpoint / relative).write_text(f"contents of {relative}\n")
    store = open_store(file_store_uri)
    store_folder(store, checkpoint, evidence(builder, checkpoint))
    (tmp_path / "work").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, builder["policy"]).run(tmp_path / "work")
    assert verdict.passed, verdict.reason
    assert verdict.model is not None and verdict.model.problem is None
    assert sorted(verdict.model.files or {}) == sorted([*FILES, "onnx/fp16/deeper/notes.txt", "onnx/fp16/model.bin",
                                                         "tokenizer/vocab/merges.txt"])
    assert (tmp_path / "work" / "checkpoint" / "onnx/fp16/deeper/notes.txt").read_text() == (
        "contents of onnx/fp16/deeper/notes.txt\n")


def test_the_gate_reports_every_byte_it_downloads_once(
    file_store_uri: str, checkpoint: Path, builder: dict[str, Any], tmp_path: Path,
) -> None:
    """The progress a download reports to (a terminal bar, the Prefect UI) expects exactly the bytes of
    the model file, or of the folder's files, and hears each of them once (a folder: the manifest is
    not counted, the files downloaded at once are)."""
    import threading

    class Heard:
        def __init__(self) -> None:
            self.expected = self.done = 0
            self.lock = threading.Lock()

        def __call__(self, n: int) -> None:
            with self.lock:
                self.done += n

        def add_total(self, n: int) -> None:
            self.expected += n

    store = open_store(file_store_uri)
    (tmp_path / "file").mkdir()
    single = tmp_path / "file" / "model.safetensors"
    single.write_bytes(b"weights" * 1000)
    folder_size = sum(path.stat().st_size for path in checkpoint.iterdir())
    for source, size in ((single, 7000), (checkpoint, folder_size)):
        key = publish_path(store, MODEL, source).key
        gate = deploy.Gate(store, MODEL, builder["policy"])
        heard = Heard()
        (tmp_path / f"work-{source.name}").mkdir()
        gate.fetch_model(gate.find(layout.parse_model_key(key)[1]), tmp_path / f"work-{source.name}", progress=heard)
        assert (heard.expected, heard.done) == (size, size)


def test_an_oversized_manifest_is_not_read(
    file_store_uri: str, checkpoint: Path, builder: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A manifest stored under its own digest but larger than the limit is not read into memory
    (the limit is lowered here instead of storing 32 MiB)."""
    import slsa_models.deploy.gate as gate_module

    store = open_store(file_store_uri)
    key = store_folder(store, checkpoint, evidence(builder, checkpoint))
    size = Path(store.object_uri(key).removeprefix("file://")).stat().st_size
    monkeypatch.setattr(gate_module, "MAX_MANIFEST_BYTES", 100)
    (tmp_path / "work").mkdir()
    verdict, smoke = deploy.Gate(store, MODEL, builder["policy"]).run(tmp_path / "work")
    assert not verdict.passed and smoke.status == "not-run"
    assert verdict.reason == (
        "SLSA verification failed: model-files: expected the 6 signed files, got 6 differing (missing)"
        " (config.json: signed but missing; model-00001-of-00003.safetensors: signed but missing;"
        " model-00002-of-00003.safetensors: signed but missing; and 3 more; unusable manifest:"
        f" {tmp_path / 'work' / 'checkpoint.manifest'}: {size} bytes is larger than the 100-byte limit for a manifest)")


def test_guards_on_files_and_folders_are_one_line(checkpoint: Path, file_store_uri: str, tmp_path: Path) -> None:
    """A file named like a folder's manifest, --ignore-paths on a file: refused before anything is written."""
    from slsa_models.manifest import digest_path
    from slsa_models.publishing import publish_model

    store = open_store(file_store_uri)
    fake = tmp_path / "weights.manifest"
    fake.write_bytes(b"not a manifest")
    with pytest.raises(InputError) as error:
        publish_model(store, MODEL, fake)
    assert str(error.value) == (f"{fake}: a model file cannot end with '.manifest': the store keeps folder "
                                "models' manifests under that name")
    with pytest.raises(InputError) as error:
        digest_path(checkpoint / "config.json", ["x"])
    assert str(error.value) == "--ignore-paths applies to a model folder, not a file"
    with pytest.raises(InputError) as error:
        model_subjects([checkpoint / "config.json"], MODEL, ["x"])
    assert str(error.value) == "--ignore-paths applies to a model folder, not a file"
    assert store.list_objects("models/") == []
