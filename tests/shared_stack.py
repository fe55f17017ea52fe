"""The session's one stack for the end-to-end tests (test_e2e, test_e2e_folders, test_ui).

A module of its own, imported as ``tests.shared_stack`` everywhere: pytest imports
test files as top-level modules (``test_e2e``), so a stack kept in a test module and
imported as ``tests.test_e2e`` by another lived in two module objects, and the
session started two stacks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slsa_models.stack import StackConfig, lifecycle, seaweedfs
from slsa_models.stack.prefect_api import PrefectAPI
from slsa_models.stack.prefect_services import base_environment, flow_environment
from slsa_models.stack.process import free_ports
from slsa_models.store import layout

REPO = Path(__file__).resolve().parents[1]
MODEL = "digits-cnn"
BUCKET = "slsa-models"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
WATCH = ("--watch", "--watch-interval", "1", "--watch-timeout", "300")


@dataclass
class SharedStack:
    config: StackConfig
    cli_env: dict[str, str]  # for `slsa-models stack ...`: this stack's state directory and ports
    prefect_env: dict[str, str]  # for `prefect ...`: this stack's API, S3 endpoint and credentials
    up_output: str
    deploy_run_id: str  # the deploy run of `stack up`, which passed

    @property
    def api(self) -> PrefectAPI:
        return PrefectAPI(self.config.api_url)

    def s3(self) -> Any:
        return seaweedfs.s3_client(self.config)

    def stack(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "slsa_models.cli", "stack", *args], cwd=REPO,
                              env=self.cli_env, capture_output=True, text=True, timeout=600)

    def prefect(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "prefect", *args], cwd=REPO, env=self.prefect_env,
                              capture_output=True, text=True, timeout=600)

    def keys(self) -> set[str]:
        listing = self.s3().list_objects_v2(Bucket=BUCKET)
        return {item["Key"] for item in listing.get("Contents", [])}

    def current(self) -> bytes:
        return self.s3().get_object(Bucket=BUCKET, Key=layout.current_key(MODEL))["Body"].read()

    def record(self, key: str | None = None) -> dict[str, Any]:
        """The signed deployment record at ``key`` (default current.json), verified with the
        deployer key the stack's policy trusts."""
        from slsa_models.deploy import open_record
        from slsa_models.verify import load_policy

        data = self.s3().get_object(Bucket=BUCKET, Key=key or layout.current_key(MODEL))["Body"].read()
        deployers = load_policy(self.config.home / "policy.toml").deployers
        return open_record(data, deployers, key or "current.json").record.to_dict()


_SHARED: SharedStack | None = None


def shared_stack(pytest_config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> SharedStack:
    """Start the session's stack with the README's command (once); stop it when pytest ends."""
    global _SHARED
    if _SHARED is None:
        home = tmp_path_factory.mktemp("stack-home")
        prefect_port, s3_port = free_ports("127.0.0.1", 2)
        config = StackConfig(home=home / "stack", checkout=REPO, prefect_port=prefect_port, s3_port=s3_port)
        cli_env = {**os.environ, "SLSA_MODELS_HOME": str(home), "SLSA_MODELS_PREFECT_PORT": str(prefect_port),
                   "SLSA_MODELS_S3_PORT": str(s3_port)}
        pytest_config.add_cleanup(lambda: lifecycle.stop(config))
        up = subprocess.run(
            [sys.executable, "-m", "slsa_models.cli", "stack", "up",
             "--model-format", "pytorch_jitted_model.pt", "--epochs", "1", "--seed", "21"],
            cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=600,
        )
        assert up.returncode == 0, f"stack up failed:\n{up.stdout}\n{up.stderr}"
        verdict = re.search(rf"^verdict: +PASSED: .*/runs/flow-run/({UUID})\)$", up.stdout, re.MULTILINE)
        assert verdict, up.stdout
        _SHARED = SharedStack(config, cli_env, flow_environment(config, base_environment(config)),
                              up.stdout, verdict.group(1))
    return _SHARED



def run_id(output: str) -> str:
    found = re.search(rf"UUID: ({UUID})", output)
    assert found, output
    return found.group(1)
