"""A Hugging Face-style folder made by the user's own training code, through the real stack:
`prefect deployment run train-model/train --param trainer=...` on the Prefect server and worker
of `slsa-models stack up`, stored in SeaweedFS, then the gated deploy; a shard changed in the
bucket is refused naming the file. Shares the session's stack with test_e2e.py."""

from __future__ import annotations

import pytest

from slsa_models.manifest import Manifest
from slsa_models.store import layout
from tests.shared_stack import BUCKET, WATCH, SharedStack, run_id, shared_stack

MODEL = "hf-tiny"


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SharedStack:
    return shared_stack(request.config, tmp_path_factory)


def test_user_trained_folder_deploys_from_seaweedfs_and_a_changed_shard_is_refused(stack: SharedStack) -> None:
    train = stack.prefect("deployment", "run", "train-model/train", "--param", f"model_name={MODEL}",
                          "--param", "trainer=tests.user_trainer:train_checkpoint", *WATCH)
    assert train.returncode == 0, train.stdout + train.stderr
    stored = sorted(key for key in stack.keys() if key.startswith(f"models/{MODEL}/"))
    [manifest_key] = [key for key in stored if key.endswith("/checkpoint.manifest")]
    _, digest, _ = layout.parse_model_key(manifest_key)
    s3 = stack.s3()
    manifest = Manifest.parse(s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    files = [layout.folder_file_key(manifest_key, entry.path) for entry in manifest.files]
    assert stored == sorted([manifest_key, manifest_key + ".intoto.jsonl", *files])

    deploy = stack.prefect("deployment", "run", "deploy-model/deploy", "--param", f"model_name={MODEL}",
                           "--param", f"digest=sha256:{digest}", *WATCH)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    current = layout.current_key(MODEL)
    record = stack.record(current)
    assert record["object"]["key"] == manifest_key and record["digest"] == f"sha256:{digest}"
    deployed = s3.get_object(Bucket=BUCKET, Key=current)["Body"].read()

    shard = layout.folder_file_key(manifest_key, "model-00002-of-00003.safetensors")
    s3.put_object(Bucket=BUCKET, Key=shard, Body=b"tampered weights")
    refused = stack.prefect("deployment", "run", "deploy-model/deploy", "--param", f"model_name={MODEL}",
                            "--param", f"digest=sha256:{digest}", *WATCH)
    assert refused.returncode != 0
    state = stack.api.flow_run(run_id(refused.stdout))["state"]
    assert state["type"] == "FAILED"
    assert ("SLSA verification failed: model-files: expected the 6 signed files, got 1 differing (changed) "
            "(model-00002-of-00003.safetensors: sha256:") in state["message"], state["message"]
    assert s3.get_object(Bucket=BUCKET, Key=current)["Body"].read() == deployed
