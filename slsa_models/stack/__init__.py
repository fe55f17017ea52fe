"""The local stack: SeaweedFS (S3), a Prefect server and a process worker, on 127.0.0.1.

``slsa-models stack up`` starts what is not running (pid files and logs under
``<state dir>/stack``), registers prefect.yaml's deployments, then runs the train
deployment and the gated deploy with ``prefect deployment run --watch``. Prefect
is driven through its CLI and HTTP API only; nothing here imports it.
"""

from slsa_models.stack.config import StackConfig
from slsa_models.stack.lifecycle import PipelineResult, ServiceStatus, run_pipeline, status, stop, up
from slsa_models.stack.process import ServiceError

__all__ = ["PipelineResult", "ServiceError", "ServiceStatus", "StackConfig", "run_pipeline", "status", "stop", "up"]
