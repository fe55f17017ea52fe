"""Register prefect.yaml's deployments and run them with ``prefect deployment run --watch``."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slsa_models.errors import InputError, RunFailed
from slsa_models.stack.config import StackConfig
from slsa_models.stack.prefect_api import PrefectAPI
from slsa_models.stack.prefect_services import last_meaningful_line, prefect_argv, run_cli
from slsa_models.stack.process import ServiceError

TRAIN = "train-model/train"
DEPLOY = "deploy-model/deploy"
DEPLOY_FLOW_FILE = "flows/deploy.py"
RUN_TIMEOUT = 900.0
_RUN_ID = re.compile(r"UUID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_CREATE_ERROR = re.compile(r"Error creating flow run:\s*(.*)", re.DOTALL)
# "Flow run encountered an exception: NotFoundError: <our message>" -> "<our message>"
_EXCEPTION_PREFIX = re.compile(r"^(?:Flow run encountered an exception: )?(?:[A-Za-z_][\w.]*(?:Error|Failed): )?")
_MODEL_URI = re.compile(r"`((?:s3|file)://[^`\s]+/models/[^`\s]+)`")

Echo = Callable[[str], None]



@dataclass(frozen=True)
class FlowRun:
    deployment: str
    id: str
    name: str
    state_type: str  # COMPLETED, FAILED, CRASHED, ...
    state_name: str
    message: str
    url: str

    @property
    def completed(self) -> bool:
        return self.state_type == "COMPLETED"

    @property
    def reason(self) -> str:
        """The state message without Prefect's and the exception class's prefixes."""
        return _EXCEPTION_PREFIX.sub("", " ".join(self.message.split()), count=1) or self.state_name

    def raise_unless_completed(self) -> None:
        if not self.completed:
            raise RunFailed(f"{self.deployment} run {self.name!r} ended {self.state_name}: {self.reason} ({self.url})")


def deploy_flow_present(config: StackConfig) -> bool:
    return (config.checkout / DEPLOY_FLOW_FILE).is_file()


def register(config: StackConfig, env: Mapping[str, str]) -> list[str]:
    """``prefect deploy`` from the checkout; the names of the deployments registered."""
    # by name: prefect.yaml's *-kubernetes deployments belong to a Kubernetes work pool, not here
    names = [TRAIN, DEPLOY] if deploy_flow_present(config) else [TRAIN]  # a missing entrypoint stops it
    args = ["--no-prompt", "deploy"]
    for name in names:
        args += ["--name", name.split("/")[1]]
    run_cli(args, env, config.checkout, what="registering the deployments (prefect deploy)")
    return names


def run(
    config: StackConfig,
    env: Mapping[str, str],
    deployment: str,
    parameters: Mapping[str, Any],
    *,
    job_variables: Mapping[str, Any] | None = None,
    echo: Echo | None = None,
    timeout: float = RUN_TIMEOUT,
) -> FlowRun:
    """Run ``deployment`` and watch it to the end; its final state (raises only when no run was made)."""
    args = ["deployment", "run", deployment, "--watch", "--watch-interval", "1",
            "--watch-timeout", str(int(timeout))]
    if parameters:
        args += ["--params", json.dumps(dict(parameters))]
    for name, value in (job_variables or {}).items():
        args += ["--job-variable", f"{name}={json.dumps(value)}"]
    output = _stream(prefect_argv(*args), env, config, echo)
    found = _RUN_ID.search(output)
    if found is None:
        refused = _CREATE_ERROR.search(output)
        reason = " ".join(refused.group(1).split()) if refused else last_meaningful_line(output)
        raise InputError(f"Prefect refused to run {deployment}: {reason}")
    record = PrefectAPI(config.api_url).flow_run(found.group(1))
    state = record.get("state") or {}
    flow_run = FlowRun(
        deployment=deployment, id=record["id"], name=record.get("name", ""),
        state_type=state.get("type", "UNKNOWN"), state_name=state.get("name", "unknown"),
        message=state.get("message") or "", url=f"{config.ui_url}/runs/flow-run/{record['id']}",
    )
    if state.get("type") in {"SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING", None}:
        raise ServiceError(
            f"{deployment} run {flow_run.name!r} did not finish within {timeout:.0f} s: it is "
            f"{flow_run.state_name} ({flow_run.url}); is the worker running? see `slsa-models stack status`"
        )
    return flow_run


def model_uri(config: StackConfig, train_run: FlowRun) -> str | None:
    """The stored model's URI, as the train run's artifact reports it."""
    for artifact in PrefectAPI(config.api_url).artifacts(train_run.id):
        data = artifact.get("data")
        for uri in _MODEL_URI.findall(data if isinstance(data, str) else ""):
            if not uri.endswith(".intoto.jsonl"):
                return uri
    return None


def _stream(argv: list[str], env: Mapping[str, str], config: StackConfig, echo: Echo | None) -> str:
    lines = []
    with subprocess.Popen(argv, env=dict(env), cwd=config.checkout, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo is not None:
                echo("    " + line.rstrip("\n"))
    return "".join(lines)
