"""Bring the local stack up, run the pipeline on it, report on it, take it down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slsa_models.settings import DEFAULT_MODEL_NAME
from slsa_models.stack import deployments, prefect_services, seaweedfs
from slsa_models.stack.config import S3_PORT_ENV, WORK_POOL, StackConfig
from slsa_models.stack.deployments import DEPLOY, TRAIN, FlowRun
from slsa_models.stack.policy import write_policy
from slsa_models.stack.prefect_api import PrefectAPI
from slsa_models.stack.process import Service, require_free_port
from slsa_models.store import layout

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class PipelineResult:
    train: FlowRun
    model_uri: str | None
    deploy: FlowRun | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.deploy is not None and self.deploy.completed

    @property
    def verdict(self) -> str:
        if self.deploy is None:
            return "NOT VERIFIED: " + "; ".join(self.notes)
        if self.deploy.completed:
            return f"PASSED: verified and deployed ({self.deploy.url})"
        return f"FAILED: {self.deploy.reason} ({self.deploy.url})"


def services(config: StackConfig) -> list[Service]:
    """In start order."""
    return [seaweedfs.service(config), prefect_services.server_service(config),
            prefect_services.worker_service(config)]


def up(config: StackConfig, echo: Echo = _quiet) -> list[str]:
    """Start whatever is not running, create the bucket and work pool, register the deployments.

    Ports are checked before anything starts, so a taken port leaves nothing behind.
    Returns the names of the deployments registered.
    """
    prefect_services.require_prefect()
    seaweedfs.weed_binary()
    if seaweedfs.service(config).running() is None:
        require_free_port(config.host, config.s3_port, f"{seaweedfs.LABEL} endpoint", S3_PORT_ENV)
    prefect_services.check_server_port(config)
    config.home.mkdir(parents=True, exist_ok=True)
    echo(_line("state", str(config.home)))

    env = prefect_services.base_environment(config)
    started = seaweedfs.start(config, env)
    echo(_line(_verb(started), f"{seaweedfs.LABEL} at {config.s3_endpoint}"))
    created = seaweedfs.ensure_bucket(config)
    echo(_line("created" if created else "found", f"bucket {config.store_uri}"))
    started = prefect_services.start_server(config, env)
    echo(_line(_verb(started), f"{prefect_services.SERVER_LABEL} at {config.api_url}"))
    created = prefect_services.ensure_work_pool(config, env)
    echo(_line("created" if created else "found", f"work pool {WORK_POOL}"))
    started = prefect_services.start_worker(config, env)
    echo(_line(_verb(started), f"{prefect_services.WORKER_LABEL} on pool {WORK_POOL}"))
    flow_env = prefect_services.flow_environment(config, env)
    policy = write_policy(config, flow_env)
    echo(_line("wrote", f"{policy} (the deploy trusts the development key)"))
    names = deployments.register(config, flow_env)
    echo(_line("registered", ", ".join(names)))
    if DEPLOY not in names:
        echo(_line("note", f"{deployments.DEPLOY_FLOW_FILE} is missing, so {DEPLOY} is not registered"))
    return names


def run_pipeline(
    config: StackConfig,
    train_parameters: dict[str, Any] | None = None,
    deploy_parameters: dict[str, Any] | None = None,
    echo: Echo = _quiet,
) -> PipelineResult:
    """Train, then the gated deploy of exactly that model, on a running stack."""
    api = PrefectAPI(config.api_url)
    api.require_reachable()
    env = prefect_services.flow_environment(config, prefect_services.base_environment(config))
    train_parameters = dict(train_parameters or {})

    echo(_line("running", f"prefect deployment run '{TRAIN}' --watch"))
    train = deployments.run(config, env, TRAIN, train_parameters, echo=echo)
    train.raise_unless_completed()
    uri = deployments.model_uri(config, train)
    result = PipelineResult(train=train, model_uri=uri)

    if api.deployment(*DEPLOY.split("/")) is None:
        result.notes.append(f"{DEPLOY} is not registered ({deployments.DEPLOY_FLOW_FILE} is missing)")
        return result
    parameters = {"model_name": train_parameters.get("model_name") or DEFAULT_MODEL_NAME,
                  **_digest_of(uri), **(deploy_parameters or {})}
    if "store" in train_parameters:
        parameters.setdefault("store", train_parameters["store"])
    echo(_line("running", f"prefect deployment run '{DEPLOY}' --watch"))
    result.deploy = deployments.run(config, env, DEPLOY, parameters, echo=echo)
    return result


def stop(config: StackConfig, echo: Echo = _quiet) -> int:
    """Stop the services, worker first; how many were running."""
    stopped = 0
    for service in reversed(services(config)):
        running = service.running()
        if service.stop():
            stopped += 1
            echo(_line("stopped", f"{service.label} (pid {running.pid if running else '?'})"))
        else:
            echo(_line("", f"{service.label} was not running"))
    return stopped


def shell_environment(config: StackConfig) -> dict[str, str]:
    """What another shell needs to use this stack: its S3 endpoint and credentials, store,
    Prefect API, state directory (the development keys) and deploy policy. Reads, never
    creates: a stack that was never brought up is an InputError."""
    return {**prefect_services.stack_variables(config, create=False), "SLSA_MODELS_HOME": str(config.home.parent),
            "PREFECT_API_URL": config.api_url, "DO_NOT_TRACK": "1"}


@dataclass(frozen=True)
class ServiceStatus:
    label: str
    pid: int | None
    detail: str


def status(config: StackConfig) -> list[ServiceStatus]:
    """Each service: its pid (None when not running) and where it answers."""
    api = PrefectAPI(config.api_url)
    where = {
        "seaweedfs": f"S3 endpoint {config.s3_endpoint}, bucket {config.store_uri}",
        "prefect-server": f"UI {config.ui_url}" + ("" if api.healthy() else " (not answering)"),
        "prefect-worker": f"pool {WORK_POOL}",
    }
    rows = []
    for service in services(config):
        running = service.running()
        rows.append(ServiceStatus(service.label, running.pid if running else None,
                                  where[service.name] if running else f"log {service.log_file}"))
    return rows


def _verb(started: bool) -> str:
    return "started" if started else "running"


def _line(verb: str, text: str) -> str:
    """Progress lines in two columns: what happened, then to what."""
    return f"{verb:<12}{text}"


def _digest_of(uri: str | None) -> dict[str, str]:
    if not uri:
        return {}
    _, sha256, _ = layout.parse_model_key("models/" + uri.split("/models/", 1)[1])
    return {"digest": f"sha256:{sha256}"}
