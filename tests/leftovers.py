"""No process a test session started outlives it.

Every process the session starts inherits ``SLSA_MODELS_HOME`` under pytest's base
temporary folder (conftest's ``isolated_state_dir``), and the stacks keep their state
there too, so a process whose command line or environment names that folder once
pytest has cleaned up is a leftover: a stack service, a Prefect worker's flow run or
a server a test forgot. ``reap`` stops them (SIGTERM, then SIGKILL) and says which.
Linux only (it reads /proc); elsewhere it finds nothing.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def processes_naming(marker: str) -> dict[int, str]:
    """pid -> command line of each other process whose command line or environment holds ``marker``."""
    needle, mine, found = marker.encode(), _ancestors(), {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in command or needle in environment:
            found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def reap(marker: str, grace: float = 10.0) -> dict[int, str]:
    """Stop every process naming ``marker``: SIGTERM, then SIGKILL after ``grace`` seconds.
    Returns those it found (pid -> command line)."""
    found = processes_naming(marker)
    for pid in found:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and processes_naming(marker):
        time.sleep(0.2)
    for pid in processes_naming(marker):
        _signal(pid, signal.SIGKILL)
    return found


def _signal(pid: int, number: signal.Signals) -> None:
    try:
        os.kill(pid, number)
    except OSError:  # already gone
        pass
