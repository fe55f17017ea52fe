"""SIGTERM and SIGINT end a busy ``slsa-models`` command promptly and cleanly (issue 11, case 6):
one line, exit 128 + the signal, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slsa_models.cli import main

CLI = [sys.executable, "-m", "slsa_models.cli"]
BUILDER = "https://ci.example.com/builders/gpu-box"

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A sparse 1 TiB file: hashing it would take minutes, and it uses no disk."""
    path = tmp_path / "huge.bin"
    with open(path, "wb") as stream:
        stream.truncate(2**40)
    return path


def wait_until_open(process: subprocess.Popen[str], path: Path) -> None:
    """Until ``process`` has ``path`` open, i.e. it is busy hashing it."""
    deadline = time.monotonic() + 60
    fds = Path(f"/proc/{process.pid}/fd")
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return
        except OSError:
            pass  # a descriptor closed while we looked
        time.sleep(0.02)
    raise AssertionError(f"{path} was never opened")


def interrupt(process: subprocess.Popen[str], signum: int) -> tuple[int, str, str, float]:
    process.send_signal(signum)
    sent = time.monotonic()
    try:
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return process.returncode, out, err, time.monotonic() - sent


def test_sigterm_ends_attest_and_writes_nothing(tmp_path: Path, huge: Path) -> None:
    key, pub = tmp_path / "k.pem", tmp_path / "k.pub"
    assert main(["keygen", "--private-key", str(key), "--public-key", str(pub)]) == 0
    out_file = tmp_path / "huge.bin.intoto.jsonl"
    args = ["attest", "--key", str(key), "--builder-id", BUILDER, str(huge), "-o", str(out_file)]
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_open(process, huge)
    code, out, err, took = interrupt(process, signal.SIGTERM)
    assert (code, out, err) == (143, "", "error: terminated (SIGTERM)\n")
    assert took < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.bin", "k.pem", "k.pub"]


def _sigint_as_in_a_terminal() -> None:
    """A shell without job control starts background jobs with SIGINT ignored, and the
    CLI rightly leaves an ignored signal alone: give the command the default, as a
    terminal's foreground job has, whatever started this test run."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_ends_digest(huge: Path) -> None:
    process = subprocess.Popen([*CLI, "digest", str(huge)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_as_in_a_terminal)
    wait_until_open(process, huge)
    code, out, err, took = interrupt(process, signal.SIGINT)
    assert (code, out, err) == (130, "", "error: interrupted\n")
    assert took < 5


def test_main_restores_the_callers_handlers(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(["keygen", "--private-key", str(tmp_path / "a"), "--public-key", str(tmp_path / "b")]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
