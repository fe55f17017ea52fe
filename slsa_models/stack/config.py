"""Where the local stack lives and listens, each setting overridable from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from slsa_models.errors import InputError
from slsa_models.settings import state_dir

HOST = "127.0.0.1"  # every service binds to loopback only
WORK_POOL = "slsa-models"
PREFECT_PORT_ENV = "SLSA_MODELS_PREFECT_PORT"
S3_PORT_ENV = "SLSA_MODELS_S3_PORT"
BUCKET_ENV = "SLSA_MODELS_STACK_BUCKET"
CHECKOUT_ENV = "SLSA_MODELS_CHECKOUT"
DEFAULT_PREFECT_PORT = 4200
DEFAULT_S3_PORT = 8333
DEFAULT_BUCKET = "slsa-models"
PREFECT_FILE = "prefect.yaml"


@dataclass(frozen=True)
class StackConfig:
    """One local stack: its state directory, the checkout it deploys from, its ports."""

    home: Path
    checkout: Path
    prefect_port: int = DEFAULT_PREFECT_PORT
    s3_port: int = DEFAULT_S3_PORT
    bucket: str = DEFAULT_BUCKET
    host: str = HOST

    @classmethod
    def from_env(cls) -> StackConfig:
        """The stack of this state directory (``SLSA_MODELS_HOME``), configured by the environment."""
        env = os.environ
        return cls(
            home=state_dir() / "stack",
            checkout=find_checkout(env.get(CHECKOUT_ENV)),
            prefect_port=_port(env, PREFECT_PORT_ENV, DEFAULT_PREFECT_PORT),
            s3_port=_port(env, S3_PORT_ENV, DEFAULT_S3_PORT),
            bucket=env.get(BUCKET_ENV) or DEFAULT_BUCKET,
        )

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.prefect_port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.host}:{self.s3_port}"

    @property
    def store_uri(self) -> str:
        return f"s3://{self.bucket}"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def seaweedfs_home(self) -> Path:
        return self.home / "seaweedfs"


def find_checkout(configured: str | None = None) -> Path:
    """The directory holding prefect.yaml: $SLSA_MODELS_CHECKOUT, this package's checkout, or cwd."""
    if configured:
        candidates = [Path(configured).expanduser().resolve()]
    else:
        candidates = [Path(__file__).resolve().parents[2], Path.cwd().resolve()]
    for candidate in candidates:
        if (candidate / PREFECT_FILE).is_file():
            return candidate
    where = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise InputError(
        f"no {PREFECT_FILE} in {where}: run from a checkout of slsa-models or set {CHECKOUT_ENV}"
    )


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InputError(f"{name} must be a port number from 1 to 65535, got {text!r}")
    return int(text)
