"""Background services: start with a pid file and a log, find them again, stop them.

Each service runs in its own session (process group), so stopping it also ends
the children it started (the Prefect worker's flow runs). A pid file records the
process's start time as well, so a pid reused by an unrelated process after a
reboot is never mistaken for the service, let alone signalled.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from slsa_models.errors import InputError, ServiceError

POLL_SECONDS = 0.25



@dataclass(frozen=True)
class Running:
    """A live service process as its pid file records it."""

    pid: int
    port: int | None


@dataclass(frozen=True)
class Service:
    """A named background process with ``<name>.pid`` and ``<name>.log`` in ``home``."""

    name: str
    label: str  # how messages name it, e.g. "Prefect API"
    home: Path

    @property
    def pid_file(self) -> Path:
        return self.home / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"{self.name}.log"

    def running(self) -> Running | None:
        """The live process of this service, or None (a stale pid file is removed)."""
        try:
            record = json.loads(self.pid_file.read_text(encoding="utf-8"))
            pid, started, port = int(record["pid"]), record.get("started"), record.get("port")
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            self.pid_file.unlink(missing_ok=True)
            return None
        if _alive(pid) and _start_time(pid) == started:
            return Running(pid, port)
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, port: int | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` detached, output appended to the log; write the pid file."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            try:
                process = subprocess.Popen(
                    list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            except OSError as error:
                raise ServiceError(f"cannot start {self.label} ({argv[0]}): {error.strerror}") from None
        record = {"pid": process.pid, "started": _start_time(process.pid), "port": port, "argv": list(argv)}
        self.pid_file.write_text(json.dumps(record) + "\n", encoding="utf-8")
        return process

    def stop(self, timeout: float = 20.0) -> bool:
        """End the service and its process group; False when it was not running."""
        running = self.running()
        if running is None:
            return False
        _signal_group(running.pid, signal.SIGTERM)
        if not _wait_gone(running.pid, timeout):
            _signal_group(running.pid, signal.SIGKILL)
            if not _wait_gone(running.pid, 5.0):
                raise ServiceError(f"{self.label} (pid {running.pid}) did not stop, even after SIGKILL")
        _signal_group(running.pid, signal.SIGKILL)  # children that outlived their leader
        self.pid_file.unlink(missing_ok=True)
        return True

    def last_log_line(self) -> str:
        """The log's last non-empty line, shortened: the likeliest reason a start failed."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
                lines = log.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        for line in reversed(lines):
            if line.strip() and not line.startswith("--- "):
                return " ".join(line.split())[:200]
        return ""

    def wait_ready(
        self, ready: Callable[[], bool], timeout: float, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        """Poll ``ready`` until it holds; fail in one line when the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if process is not None and process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                reason = self.last_log_line()
                raise ServiceError(
                    f"{self.label} exited during start-up with code {process.returncode}"
                    + (f": {reason}" if reason else "") + f" (log: {self.log_file})"
                )
            if time.monotonic() >= deadline:
                raise ServiceError(
                    f"{self.label} did not become ready within {timeout:.0f} s (log: {self.log_file})"
                )
            time.sleep(POLL_SECONDS)


def require_free_port(host: str, port: int, label: str, setting: str) -> None:
    """Fail in one line, naming the service and the setting, when ``port`` is not free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise InputError(
                    f"port {port} on {host} is taken ({label}): stop what uses it or set {setting}"
                ) from None
            raise InputError(
                f"cannot listen on port {port} on {host} ({label}): {error.strerror}; set {setting}"
            ) from None


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct ports the kernel says are free now (for internal listeners)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(probe)
            probe.bind((host, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


def _alive(pid: int) -> bool:
    """True for a running process; False for none, or a zombie (reaped here if it is ours)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state != "Z"


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)  # the service is its own session leader: pgid == pid
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS / 2)
    return True
