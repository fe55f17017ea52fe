"""tests/leftovers.py: what a session leaves running is found by the folder it names, and stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from tests.leftovers import processes_naming, reap


def start(env: dict[str, str], *args: str, ignore_term: bool = False) -> subprocess.Popen[bytes]:
    code = "import signal, time\n" + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "") \
        + "print('ready', flush=True)\ntime.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                               start_new_session=True)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def test_processes_naming_the_folder_are_stopped_others_left(tmp_path: Path) -> None:
    marker = str(tmp_path / f"session-{uuid.uuid4().hex}")
    by_environment = start({**os.environ, "SLSA_MODELS_HOME": f"{marker}/home"})
    by_argument = start(dict(os.environ), f"--dir={marker}/stack", ignore_term=True)  # needs SIGKILL
    bystander = start(dict(os.environ))
    try:
        found = processes_naming(marker)
        assert set(found) == {by_environment.pid, by_argument.pid}
        assert f"--dir={marker}/stack" in found[by_argument.pid]
        assert set(reap(marker, grace=0.5)) == {by_environment.pid, by_argument.pid}
        assert by_environment.wait(5) == -signal.SIGTERM and by_argument.wait(5) == -signal.SIGKILL
        assert processes_naming(marker) == {} and bystander.poll() is None
    finally:
        for process in (by_environment, by_argument, bystander):
            process.kill()
            process.wait()


def test_this_process_and_its_ancestors_are_never_found() -> None:
    assert os.getpid() not in processes_naming(os.environ["SLSA_MODELS_HOME"])
