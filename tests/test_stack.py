"""The local stack's parts without a Prefect server: processes, ports, SeaweedFS, the CLI's refusals.

SeaweedFS here is the real ``weed`` binary on loopback (it starts in about a second).
The end-to-end run with a Prefect server and a worker is in test_e2e.py.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from slsa_models import formats
from slsa_models.errors import InputError, StoreError
from slsa_models.publishing import publish_model
from slsa_models.stack import ServiceError, StackConfig, seaweedfs
from slsa_models.stack.config import find_checkout
from slsa_models.stack.process import Service, free_ports, require_free_port
from slsa_models.store import open_store

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "install-system-deps.sh"


def free_port() -> int:
    return free_ports("127.0.0.1", 1)[0]


def stack_cli(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``slsa-models stack ...`` with the state directory ``home``."""
    environment = {**os.environ, "SLSA_MODELS_HOME": str(home), **env}
    return subprocess.run([sys.executable, "-m", "slsa_models.cli", "stack", *args], cwd=REPO,
                          env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture
def listener() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# -- the command line refuses bad settings before anything starts ---------------------------


def test_taken_prefect_port_names_the_service_and_the_setting(tmp_path: Path, listener: int) -> None:
    result = stack_cli("up", home=tmp_path, SLSA_MODELS_PREFECT_PORT=str(listener),
                       SLSA_MODELS_S3_PORT=str(free_port()))
    assert result.returncode == 2
    assert result.stderr == (f"error: port {listener} on 127.0.0.1 is taken (Prefect API): "
                             "stop what uses it or set SLSA_MODELS_PREFECT_PORT\n")
    assert not (tmp_path / "stack").exists()


def test_taken_s3_port_names_the_service_and_the_setting(tmp_path: Path, listener: int) -> None:
    result = stack_cli("up", home=tmp_path, SLSA_MODELS_S3_PORT=str(listener),
                       SLSA_MODELS_PREFECT_PORT=str(free_port()))
    assert result.returncode == 2
    assert result.stderr == (f"error: port {listener} on 127.0.0.1 is taken (SeaweedFS (S3) endpoint): "
                             "stop what uses it or set SLSA_MODELS_S3_PORT\n")
    assert not (tmp_path / "stack").exists()


@pytest.mark.parametrize("value", ["http", "0", "70000", "-1"])
def test_port_setting_must_be_a_port_number(tmp_path: Path, value: str) -> None:
    result = stack_cli("status", home=tmp_path, SLSA_MODELS_PREFECT_PORT=value)
    assert result.returncode == 2
    assert result.stderr == f"error: SLSA_MODELS_PREFECT_PORT must be a port number from 1 to 65535, got {value!r}\n"


def test_unknown_model_format_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = stack_cli("up", "--model-format", "onnx_model.onnx", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "error: argument --model-format: unknown model format 'onnx_model.onnx': choose one of "
        + ", ".join(formats.FORMAT_NAMES) + " (see slsa-models stack up --help)\n"
    )
    assert not (tmp_path / "stack").exists()


def test_run_without_a_reachable_prefect_server(tmp_path: Path) -> None:
    port = free_port()
    result = stack_cli("run", home=tmp_path, SLSA_MODELS_PREFECT_PORT=str(port))
    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot reach the Prefect API at http://127.0.0.1:{port}/api: start the stack with "
        "`slsa-models stack up` (or check SLSA_MODELS_PREFECT_PORT)\n"
    )


def test_status_and_stop_when_nothing_runs(tmp_path: Path) -> None:
    status = stack_cli("status", home=tmp_path)
    assert status.returncode == 1
    stack = tmp_path / "stack"
    assert status.stdout.splitlines() == [
        f"SeaweedFS (S3)  not running             log {stack / 'seaweedfs.log'}",
        f"Prefect API     not running             log {stack / 'prefect-server.log'}",
        f"Prefect worker  not running             log {stack / 'prefect-worker.log'}",
    ]
    stop = stack_cli("stop", home=tmp_path)
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.count("was not running") == 3


def test_checkout_without_prefect_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        find_checkout(str(tmp_path))
    assert str(raised.value) == (f"no prefect.yaml in {tmp_path}: run from a checkout of slsa-models "
                                 "or set SLSA_MODELS_CHECKOUT")
    assert find_checkout() == REPO


# -- prefect.yaml ----------------------------------------------------------------------------


def test_prefect_yaml_deploys_both_flows_from_the_checkout() -> None:
    project = yaml.safe_load((REPO / "prefect.yaml").read_text())
    assert project["pull"] == [{"prefect.deployments.steps.set_working_directory": {
        "directory": "{{ $SLSA_MODELS_CHECKOUT }}"}}]
    deployments = {d["name"]: d for d in project["deployments"]}
    assert deployments["train"]["entrypoint"] == "flows/train.py:train_flow"
    assert deployments["train"]["parameters"] == {"model_format": formats.DEFAULT_FORMAT}
    assert deployments["deploy"]["entrypoint"] == "flows/deploy.py:deploy_flow"
    for deployment in (deployments["train"], deployments["deploy"]):  # *-kubernetes: test_kubernetes.py
        pool = deployment["work_pool"]
        assert pool["name"] == "slsa-models"
        env = pool["job_variables"]["env"]
        assert env["DO_NOT_TRACK"] == "1" and env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
        assert not any("SECRET" in name or "ACCESS_KEY" in name for name in env)  # never in job variables
    [trigger] = deployments["deploy"]["triggers"]
    assert trigger["enabled"] is False
    # deploys exactly the digest the train run announced, never "the newest model"
    assert trigger["expect"] == ["slsa-models.model.stored"]
    assert trigger["match"] == {"prefect.resource.id": "slsa-models.model.*"}
    assert trigger["parameters"] == {"model_name": "{{ event.payload.model_name }}",
                                     "digest": "{{ event.payload.digest }}"}
    # the trust policy belongs to the deployment: no policy parameter, the policy file from its env
    assert deployments["deploy"]["parameters"] == {"model_name": "digits-cnn"}
    assert deployments["deploy"]["work_pool"]["job_variables"]["env"]["SLSA_MODELS_POLICY"] == \
        "{{ $SLSA_MODELS_POLICY }}"


# -- background processes ----------------------------------------------------------------------


SLEEPER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('up', flush=True); time.sleep(60)"


def test_service_start_find_and_stop_with_its_children(tmp_path: Path) -> None:
    service = Service("sleeper", "Sleeper", tmp_path)
    process = service.start([sys.executable, "-c", SLEEPER], os.environ, cwd=tmp_path, port=1234)
    service.wait_ready(lambda: "up" in service.log_file.read_text(), 10, process)
    running = service.running()
    assert running is not None and running.pid == process.pid and running.port == 1234
    children = _children(process.pid)
    assert len(children) == 1

    assert service.stop() is True
    assert process.wait(5) is not None
    assert service.running() is None and not service.pid_file.exists()
    deadline = time.monotonic() + 5
    while any(_exists(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_exists(child) for child in children)  # the whole process group ended
    assert service.stop() is False


def test_stale_pid_file_is_ignored_and_removed(tmp_path: Path) -> None:
    service = Service("ghost", "Ghost", tmp_path)
    service.pid_file.write_text(json.dumps({"pid": os.getpid(), "started": 1, "port": None}))
    assert service.running() is None  # our pid, another start time: not the service
    assert not service.pid_file.exists()
    service.pid_file.write_text("not json")
    assert service.running() is None and not service.pid_file.exists()


def test_a_service_that_dies_during_start_up_says_why_in_one_line(tmp_path: Path) -> None:
    service = Service("broken", "Broken service", tmp_path)
    process = service.start([sys.executable, "-c", "import sys; print('boom: no data dir'); sys.exit(3)"],
                            os.environ, cwd=tmp_path)
    with pytest.raises(ServiceError) as raised:
        service.wait_ready(lambda: False, 10, process)
    assert str(raised.value) == (f"Broken service exited during start-up with code 3: boom: no data dir "
                                 f"(log: {service.log_file})")
    assert not service.pid_file.exists()


def test_a_service_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    service = Service("slow", "Slow service", tmp_path)
    process = service.start([sys.executable, "-c", "import time; time.sleep(30)"], os.environ, cwd=tmp_path)
    try:
        with pytest.raises(ServiceError) as raised:
            service.wait_ready(lambda: False, 0.5, process)
        assert str(raised.value) == f"Slow service did not become ready within 0 s (log: {service.log_file})"
    finally:
        service.stop()


def test_free_port_check(listener: int) -> None:
    with pytest.raises(InputError) as raised:
        require_free_port("127.0.0.1", listener, "Thing", "THING_PORT")
    assert str(raised.value) == f"port {listener} on 127.0.0.1 is taken (Thing): stop what uses it or set THING_PORT"
    require_free_port("127.0.0.1", free_port(), "Thing", "THING_PORT")


def _children(pid: int) -> list[int]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == pid]
        if found:
            return found
        time.sleep(0.05)
    return []


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _exists(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- SeaweedFS, for real -------------------------------------------------------------------------


@pytest.fixture
def s3_stack(tmp_path: Path) -> Iterator[StackConfig]:
    config = StackConfig(home=tmp_path / "stack", checkout=REPO, s3_port=free_port(), bucket="models")
    try:
        yield config
    finally:
        seaweedfs.service(config).stop()


def test_seaweedfs_starts_once_keeps_data_and_stops(s3_stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    config = s3_stack
    assert seaweedfs.start(config, dict(os.environ)) is True
    first = seaweedfs.service(config).running()
    assert seaweedfs.start(config, dict(os.environ)) is False  # reused, not restarted
    assert seaweedfs.service(config).running() == first
    assert seaweedfs.ensure_bucket(config) is True
    assert seaweedfs.ensure_bucket(config) is False

    identities = config.seaweedfs_home / "s3.json"
    assert stat.S_IMODE(identities.stat().st_mode) == 0o600
    for name, value in seaweedfs.aws_environment(config).items():
        monkeypatch.setenv(name, value)
    model = config.home / "model.bin"
    model.write_bytes(b"weights")
    stored = publish_model(open_store(config.store_uri), "m", model)  # the library's S3 store works on it
    client = seaweedfs.s3_client(config)

    assert seaweedfs.service(config).stop() is True
    require_free_port(config.host, config.s3_port, "S3", "SLSA_MODELS_S3_PORT")  # the port is free again
    assert seaweedfs.start(config, dict(os.environ)) is True  # same data directory, new internal ports
    assert client.get_object(Bucket="models", Key=stored.key)["Body"].read() == b"weights"


def test_seaweedfs_refuses_missing_buckets_and_other_credentials(s3_stack: StackConfig) -> None:
    config = s3_stack
    seaweedfs.start(config, dict(os.environ))
    client = seaweedfs.s3_client(config)
    with pytest.raises(client.exceptions.NoSuchBucket):  # no bucket is created implicitly
        client.put_object(Bucket="never-created", Key="k", Body=b"x")
    assert client.list_buckets()["Buckets"] == []

    identities = config.seaweedfs_home / "s3.json"
    document = json.loads(identities.read_text())
    document["identities"][0]["credentials"][0]["secretKey"] = "not-the-secret-seaweedfs-knows"
    identities.write_text(json.dumps(document))
    with pytest.raises(StoreError) as raised:
        seaweedfs.ensure_bucket(config)
    assert str(raised.value) == (
        f"SeaweedFS (S3) at {config.s3_endpoint} refused the stack's credentials (HTTP 403): "
        f"is another S3 server on that port? Otherwise stop the stack and delete {identities}"
    )
    with pytest.raises(StoreError) as raised:
        seaweedfs.s3_ready(config)
    assert str(raised.value) == (
        f"SeaweedFS (S3) at {config.s3_endpoint} refused the stack's credentials (SignatureDoesNotMatch): "
        f"is another S3 server on that port? Otherwise stop the stack and delete {identities}"
    )


def test_seaweedfs_on_another_port_must_be_stopped_first(s3_stack: StackConfig) -> None:
    seaweedfs.start(s3_stack, dict(os.environ))
    moved = StackConfig(home=s3_stack.home, checkout=REPO, s3_port=free_port())
    with pytest.raises(InputError) as raised:
        seaweedfs.start(moved, dict(os.environ))
    assert str(raised.value) == (f"SeaweedFS (S3) already runs on port {s3_stack.s3_port}, not {moved.s3_port}: "
                                 "run `slsa-models stack stop` first to change ports")


def test_seaweedfs_that_fails_to_start(s3_stack: StackConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'mini: cannot lock data directory' >&2\nexit 4\n")
    fake.chmod(0o755)
    monkeypatch.setattr(seaweedfs, "weed_binary", lambda: str(fake))
    with pytest.raises(ServiceError) as raised:
        seaweedfs.start(s3_stack, dict(os.environ))
    log = s3_stack.home / "seaweedfs.log"
    assert str(raised.value) == (f"SeaweedFS (S3) exited during start-up with code 4: "
                                 f"mini: cannot lock data directory (log: {log})")
    assert seaweedfs.service(s3_stack).running() is None


# -- scripts/install-system-deps.sh, with fake package tools ------------------------------------


def _fake_tools(tmp_path: Path, installed: bool, uid: int) -> tuple[dict[str, str], Path]:
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    status = "install ok installed" if installed else "unknown ok not-installed"
    tools = {
        "dpkg-query": f"#!/bin/sh\nprintf '{status}'\n",
        "apt-get": f"#!/bin/sh\necho \"apt-get $*\" >> {calls}\n",
        "id": f"#!/bin/sh\necho {uid}\n",
        "sudo": f"#!/bin/sh\necho sudo >> {calls}\nexec \"$@\"\n",
        "chromium": "#!/bin/sh\nexit 0\n",
    }
    for name, body in tools.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}, calls


def test_install_script_does_nothing_when_everything_is_there(tmp_path: Path) -> None:
    env, calls = _fake_tools(tmp_path, installed=True, uid=1000)
    result = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("system dependencies already installed: chromium")
    assert not calls.exists()


@pytest.mark.parametrize(("uid", "sudo"), [(0, False), (1000, True)])
def test_install_script_updates_then_installs_the_missing_packages(tmp_path: Path, uid: int, sudo: bool) -> None:
    env, calls = _fake_tools(tmp_path, installed=False, uid=uid)
    result = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    apt = [line for line in lines if line.startswith("apt-get")]
    assert apt[0] == "apt-get update -qq"
    assert apt[1].startswith("apt-get install -y -qq --no-install-recommends") and "chromium" in apt[1]
    assert ("sudo" in lines) is sudo


def test_install_script_leaves_chromium_alone_when_another_browser_is_named(tmp_path: Path) -> None:
    env, calls = _fake_tools(tmp_path, installed=False, uid=0)
    browser = tmp_path / "bin" / "chromium"
    result = subprocess.run(["sh", str(SCRIPT)], env={**env, "SLSA_MODELS_CHROMIUM": str(browser)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    install = [line for line in calls.read_text().splitlines() if line.startswith("apt-get install")]
    assert install == ["apt-get install -y -qq --no-install-recommends fonts-dejavu-core ca-certificates"]
