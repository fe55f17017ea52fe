"""The Prefect half of the stack: ``prefect server start``, the work pool, a process worker.

Everything Prefect-side goes through its CLI (``python -m prefect``) and its HTTP
API, with PREFECT_HOME under the stack's state directory: the server's SQLite
database, profiles and results stay there, away from the user's own Prefect.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from slsa_models.errors import InputError
from slsa_models.stack import seaweedfs
from slsa_models.stack.config import PREFECT_PORT_ENV, WORK_POOL, StackConfig
from slsa_models.stack.policy import POLICY_ENV, policy_path
from slsa_models.stack.prefect_api import PrefectAPI
from slsa_models.stack.process import Service, ServiceError, require_free_port

SERVER_LABEL = "Prefect API"
WORKER_LABEL = "Prefect worker"
SERVER_READY_TIMEOUT = 120.0  # ~15 s usually; first start migrates the SQLite database
WORKER_READY_TIMEOUT = 60.0
CLI_TIMEOUT = 120.0
WORKER_NAME = "slsa-models-local"
WORKER_POLL_SECONDS = 2  # Prefect's default, 10 s, is most of a short run's wait
# Prefect settings of the user's shell (a Cloud API key, another profile) must not leak in.
_DROPPED_PREFIXES = ("PREFECT_",)


def base_environment(config: StackConfig, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every stack process starts from: this stack's Prefect, telemetry off."""
    source = os.environ if environ is None else environ
    env = {name: value for name, value in source.items() if not name.startswith(_DROPPED_PREFIXES)}
    env.update({
        "PREFECT_HOME": str(config.prefect_home),
        "PREFECT_API_URL": config.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "SLSA_MODELS_HOME": str(config.home.parent),
        "COLUMNS": "250",  # Prefect's CLI wraps at the terminal width: keep messages on one line
    })
    return env


def flow_environment(config: StackConfig, env: Mapping[str, str]) -> dict[str, str]:
    """What the flows see: the stack's store and S3 endpoint with its credentials."""
    return {**env, **stack_variables(config)}


def stack_variables(config: StackConfig, *, create: bool = True) -> dict[str, str]:
    """The stack's S3 endpoint with its credentials (made when missing, if ``create``), store,
    checkout and deploy policy."""
    return {**seaweedfs.aws_environment(config, create=create), "SLSA_MODELS_STORE": config.store_uri,
            "SLSA_MODELS_CHECKOUT": str(config.checkout), POLICY_ENV: str(policy_path(config))}


def require_prefect() -> None:
    if importlib.util.find_spec("prefect") is None:
        raise InputError("Prefect is not installed: pip install 'slsa-models[pipeline]'")


def prefect_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def server_service(config: StackConfig) -> Service:
    return Service("prefect-server", SERVER_LABEL, config.home)


def worker_service(config: StackConfig) -> Service:
    return Service("prefect-worker", WORKER_LABEL, config.home)


def check_server_port(config: StackConfig) -> None:
    """Up front, before anything starts: the API port must be ours or free."""
    running = server_service(config).running()
    if running is None:
        require_free_port(config.host, config.prefect_port, SERVER_LABEL, PREFECT_PORT_ENV)
    elif running.port != config.prefect_port:
        raise InputError(
            f"{SERVER_LABEL} already runs on port {running.port}, not {config.prefect_port}: "
            "run `slsa-models stack stop` first to change ports"
        )


def start_server(config: StackConfig, env: Mapping[str, str]) -> bool:
    """Start ``prefect server start`` unless it runs; True when started here. Returns once healthy."""
    server = server_service(config)
    api = PrefectAPI(config.api_url)
    if server.running() is not None:
        server.wait_ready(api.healthy, SERVER_READY_TIMEOUT)
        return False
    check_server_port(config)
    config.prefect_home.mkdir(parents=True, exist_ok=True)
    argv = prefect_argv("server", "start", "--host", config.host, "--port", str(config.prefect_port),
                        "--analytics-off")
    process = server.start(argv, env, cwd=config.prefect_home, port=config.prefect_port)
    server.wait_ready(api.healthy, SERVER_READY_TIMEOUT, process)
    return True


def ensure_work_pool(config: StackConfig, env: Mapping[str, str]) -> bool:
    """Create the process work pool unless it exists; True when created here."""
    if PrefectAPI(config.api_url).work_pool(WORK_POOL) is not None:
        return False
    run_cli(["work-pool", "create", WORK_POOL, "--type", "process"], env, config.checkout,
            what=f"creating work pool {WORK_POOL!r}")
    return True


def start_worker(config: StackConfig, env: Mapping[str, str]) -> bool:
    """Start a process worker on the pool unless one runs; True when started here."""
    worker = worker_service(config)
    api = PrefectAPI(config.api_url)

    def online() -> bool:
        return WORKER_NAME in api.online_workers(WORK_POOL)

    if worker.running() is not None:
        worker.wait_ready(online, WORKER_READY_TIMEOUT)
        return False
    argv = prefect_argv("worker", "start", "--pool", WORK_POOL, "--type", "process",
                        "--install-policy", "never", "--name", WORKER_NAME)
    worker_env = {**flow_environment(config, env), "PREFECT_WORKER_QUERY_SECONDS": str(WORKER_POLL_SECONDS)}
    process = worker.start(argv, worker_env, cwd=config.checkout)
    worker.wait_ready(online, WORKER_READY_TIMEOUT, process)
    return True


def run_cli(args: Sequence[str], env: Mapping[str, str], cwd: Path, *, what: str,
            timeout: float = CLI_TIMEOUT) -> str:
    """Run a Prefect CLI command to completion; its output, or one line saying why it failed."""
    try:
        result = subprocess.run(prefect_argv(*args), env=dict(env), cwd=cwd, capture_output=True,
                                text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{what}: `prefect {' '.join(args)}` did not finish within {timeout:.0f} s") from None
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise ServiceError(f"{what} failed: {last_meaningful_line(output)}")
    return output


def last_meaningful_line(output: str) -> str:
    """The line that explains a Prefect CLI failure (the exception, not 'An exception occurred.')."""
    lines = [" ".join(line.split()) for line in output.splitlines() if line.strip()]
    lines = [line for line in lines if line != "An exception occurred."]
    return lines[-1][:300] if lines else "no output"
