"""End to end on loopback: `slsa-models stack up` starts SeaweedFS (S3), a Prefect server and a
process worker, registers prefect.yaml's deployments and runs train then the gated deploy; the
tests then drive the deployments with `prefect deployment run --watch` as a user would.

One stack serves the whole session (test_ui.py looks at the same server); it is stopped when
pytest ends. Models are PyTorch with one epoch to keep the runs short.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest

from slsa_models import formats
from slsa_models.errors import InputError
from slsa_models.stack import deployments as stack_deployments
from slsa_models.stack import lifecycle
from slsa_models.stack.deployments import RunFailed
from slsa_models.store import layout
from tests.shared_stack import BUCKET, MODEL, REPO, UUID, WATCH, SharedStack, run_id, shared_stack


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SharedStack:
    return shared_stack(request.config, tmp_path_factory)


def api_post(stack: SharedStack, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(f"{stack.config.api_url}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def deploy_runs(stack: SharedStack, deployment_id: str) -> dict[str, dict[str, Any]]:
    runs = api_post(stack, "/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}})
    return {run["id"]: run for run in runs}


def deploy_runs_of(stack: SharedStack) -> list[dict[str, Any]]:
    deployment = stack.api.deployment("deploy-model", "deploy")
    assert deployment is not None
    return list(deploy_runs(stack, deployment["id"]).values())


def test_stack_up_ends_with_a_deployed_verified_model(stack: SharedStack) -> None:
    config = stack.config
    lines = stack.up_output.splitlines()
    progress = [line for line in lines if not line.startswith("    ")]  # the runs' own output is indented
    assert progress[:9] == [
        f"state       {config.home}",
        f"started     SeaweedFS (S3) at {config.s3_endpoint}",
        f"created     bucket s3://{BUCKET}",
        f"started     Prefect API at {config.api_url}",
        "created     work pool slsa-models",
        "started     Prefect worker on pool slsa-models",
        f"wrote       {config.home / 'policy.toml'} (the deploy trusts the development key)",
        "registered  train-model/train, deploy-model/deploy",
        "running     prefect deployment run 'train-model/train' --watch",
    ]
    assert progress[9] == "running     prefect deployment run 'deploy-model/deploy' --watch"
    assert progress[10] == f"Prefect UI: {config.ui_url}"
    model = re.fullmatch(rf"model:      s3://{BUCKET}/(models/{MODEL}/sha256-([0-9a-f]{{64}})/pytorch_jitted_model.pt)",
                         progress[11])
    assert model, progress[11]
    assert progress[12] == (f"verdict:    PASSED: verified and deployed "
                            f"({config.ui_url}/runs/flow-run/{stack.deploy_run_id})")

    # Other tests deploy on this stack too, in any order: the record of this deploy run is in the
    # history, and current.json holds it unless a later run of another test replaced it.
    history = [key for key in stack.keys() if key.startswith(layout.history_prefix(MODEL))]
    [mine] = [record for record in map(stack.record, history) if record["flow_run_id"] == stack.deploy_run_id]
    assert mine["outcome"] == "promoted" and mine["model_name"] == MODEL
    assert mine["object"]["key"] == model.group(1)
    assert mine["digest"] == f"sha256:{model.group(2)}"
    current = stack.record()
    assert current["outcome"] == "promoted" and current["model_name"] == MODEL
    if current["flow_run_id"] == stack.deploy_run_id:
        assert current == mine
    else:  # replaced by a later deploy run of this session
        assert current["flow_run_id"] in {run["id"] for run in deploy_runs_of(stack)}
    assert {model.group(1), model.group(1) + ".intoto.jsonl"} <= stack.keys()


def test_deployments_are_registered_as_prefect_yaml_says(stack: SharedStack) -> None:
    train = stack.api.deployment("train-model", "train")
    assert train is not None
    model_format = train["parameter_openapi_schema"]["properties"]["model_format"]
    assert model_format["enum"] == list(formats.FORMAT_NAMES)  # the UI's drop-down
    assert train["parameters"] == {"model_format": formats.DEFAULT_FORMAT}
    assert train["pull_steps"] == [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
    env = train["job_variables"]["env"]
    assert env["SLSA_MODELS_STORE"] == f"s3://{BUCKET}" and env["AWS_ENDPOINT_URL"] == stack.config.s3_endpoint
    assert not any("SECRET" in name or "ACCESS_KEY" in name for name in env)

    deploy = stack.api.deployment("deploy-model", "deploy")
    assert deploy is not None
    assert deploy["parameters"] == {"model_name": MODEL}  # the policy is the deployment's, not a parameter
    assert deploy["job_variables"]["env"]["SLSA_MODELS_POLICY"] == str(stack.config.home / "policy.toml")
    assert stack.api.work_pool("slsa-models")["type"] == "process"
    assert stack.api.online_workers("slsa-models") == ["slsa-models-local"]

    [automation] = api_post(stack, "/automations/filter", {})
    assert automation["name"] == "deploy-after-train" and automation["enabled"] is False
    assert automation["actions"][0]["deployment_id"] == deploy["id"]


def test_prefect_cli_train_then_deploy_then_a_changed_byte_is_refused(stack: SharedStack) -> None:
    before = stack.keys()
    train = stack.prefect("deployment", "run", "train-model/train", "--param", "model_format=pytorch_model.pth",
                          "--param", "epochs=1", "--param", "seed=31", *WATCH)
    assert train.returncode == 0, train.stdout + train.stderr
    new = stack.keys() - before
    [key] = [k for k in new if k.endswith("/pytorch_model.pth")]
    assert new == {key, key + ".intoto.jsonl"}  # the model and its provenance, nothing else
    _, sha256, _ = layout.parse_model_key(key)

    deploy = stack.prefect("deployment", "run", "deploy-model/deploy", "--param", f"digest=sha256:{sha256}", *WATCH)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    deployed = stack.current()
    record = stack.record()
    assert record["model_name"] == MODEL and record["object"]["key"] == key
    assert record["digest"] == f"sha256:{sha256}" and record["outcome"] == "promoted"

    # Change one byte of the stored model, bypassing write-once (a plain PUT over the object).
    s3 = stack.s3()
    body = bytearray(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(body))
    history_before = {k for k in stack.keys() if k.startswith(layout.history_prefix(MODEL))}

    refused = stack.prefect("deployment", "run", "deploy-model/deploy", "--param", f"digest=sha256:{sha256}", *WATCH)
    assert refused.returncode != 0
    assert "Flow run finished in state 'Failed'" in refused.stdout
    assert stack.current() == deployed  # current.json unchanged, byte for byte
    state = stack.api.flow_run(run_id(refused.stdout))["state"]
    assert state["type"] == "FAILED"
    assert "SLSA verification failed: subject-digest" in state["message"], state["message"]
    added = {k for k in stack.keys() if k.startswith(layout.history_prefix(MODEL))} - history_before
    [added_key] = added
    assert stack.record(added_key)["outcome"] == "refused"  # the refusal is on record, signed


def test_second_up_reuses_the_running_stack(stack: SharedStack) -> None:
    pids = {row.label: row.pid for row in lifecycle.status(stack.config)}
    assert all(pids.values())
    again = stack.stack("up", "--no-run")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1:6] == [
        f"running     SeaweedFS (S3) at {stack.config.s3_endpoint}",
        f"found       bucket s3://{BUCKET}",
        f"running     Prefect API at {stack.config.api_url}",
        "found       work pool slsa-models",
        "running     Prefect worker on pool slsa-models",
    ]
    assert {row.label: row.pid for row in lifecycle.status(stack.config)} == pids
    status = stack.stack("status")
    assert status.returncode == 0
    assert f"running (pid {pids['Prefect API']})" in status.stdout and stack.config.ui_url in status.stdout


# -- bad input: one clear line, nothing stored or deployed ----------------------------------------


def test_unknown_format_in_deployment_parameters(stack: SharedStack) -> None:
    before, current = stack.keys(), stack.current()
    with pytest.raises(InputError) as raised:
        stack_deployments.run(stack.config, stack.prefect_env, "train-model/train", {"model_format": "onnx_model.onnx"})
    assert str(raised.value) == (
        "Prefect refused to run train-model/train: Validation failed for field 'model_format'. "
        f"Failure reason: 'onnx_model.onnx' is not one of {list(formats.FORMAT_NAMES)}"
    )
    raw = stack.prefect("deployment", "run", "train-model/train", "--param", "model_format=onnx_model.onnx", *WATCH)
    assert raw.returncode == 1 and "Created flow run" not in raw.stdout
    assert stack.keys() == before and stack.current() == current


def test_a_missing_bucket_or_wrong_credentials_end_the_train_run_in_one_line(stack: SharedStack) -> None:
    """Both runs at once (the worker runs them side by side: each is mostly its start-up)."""
    from concurrent.futures import ThreadPoolExecutor

    before, current = stack.keys(), stack.current()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(stack_deployments.run, stack.config, stack.prefect_env, "train-model/train",
                              {"model_format": "pytorch_model.pth", "epochs": 1},
                              job_variables={"env": {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}})
        missing = stack.stack("run", "--store", "s3://no-such-bucket/models", "--model-format", "pytorch_model.pth",
                              "--epochs", "1")
        wrong_secret = running.result()
    assert missing.returncode == 1
    assert re.fullmatch(
        rf"error: train-model/train run 'train-{MODEL}-pytorch_model.pth' ended Failed: S3 bucket 'no-such-bucket'"
        rf" does not exist at {re.escape(stack.config.s3_endpoint)} \({re.escape(stack.config.ui_url)}"
        rf"/runs/flow-run/{UUID}\)\n", missing.stderr), missing.stderr
    assert "no-such-bucket" not in [b["Name"] for b in stack.s3().list_buckets()["Buckets"]]
    with pytest.raises(RunFailed) as raised:
        wrong_secret.raise_unless_completed()
    assert str(raised.value) == (
        f"train-model/train run 'train-{MODEL}-pytorch_model.pth' ended Failed: access denied to s3://{BUCKET}"
        f" at {stack.config.s3_endpoint} (SignatureDoesNotMatch): check the AWS credentials (AWS_ACCESS_KEY_ID,"
        " AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket policy"
        f" ({stack.config.ui_url}/runs/flow-run/{wrong_secret.id})")
    assert stack.keys() == before and stack.current() == current


def test_deploy_after_train_trigger_when_enabled(stack: SharedStack) -> None:
    """The trigger is off by default; turned on as prefect.yaml says, a completed train run starts the deploy."""
    deployment = stack.api.deployment("deploy-model", "deploy")
    resumed = stack.prefect("automation", "resume", "deploy-after-train")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    try:
        runs_before, keys_before = deploy_runs(stack, deployment["id"]), stack.keys()
        train = stack.prefect("deployment", "run", "train-model/train", "--param", "model_format=pytorch_model.pth",
                              "--param", "epochs=1", "--param", "seed=41", *WATCH)
        assert train.returncode == 0, train.stdout + train.stderr
        [key] = [k for k in stack.keys() - keys_before if k.endswith("/pytorch_model.pth")]

        deadline, triggered = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            new = [run for run_id_, run in deploy_runs(stack, deployment["id"]).items() if run_id_ not in runs_before]
            if new and new[0]["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
                [triggered] = new
                break
            time.sleep(1)
        assert triggered is not None, "no deploy run finished within 180 s of the train run"
        assert triggered["state"]["type"] == "COMPLETED", triggered["state"]
        assert triggered["parameters"] == {"model_name": MODEL, "digest": f"sha256:{layout.parse_model_key(key)[1]}"}
        record = stack.record()  # exactly the digest the train run announced is deployed
        assert record["object"]["key"] == key and record["flow_run_id"] == triggered["id"]
    finally:
        paused = stack.prefect("automation", "pause", "deploy-after-train")
        assert paused.returncode == 0, paused.stdout + paused.stderr
