"""Progress bars: on a terminal (a pseudo-terminal here) they show bytes, rate and ETA on stderr;
piped, redirected or with -q nothing extra is written."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from slsa_models import progress, verbosity
from slsa_models.provenance.keys import generate_key_pair

CLI = [sys.executable, "-m", "slsa_models.cli"]
SIZE = 8 << 20
BUILDER = "https://ci.example.com/builders/one"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def on_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``slsa-models ARGS`` with stderr on a pseudo-terminal (80 columns) and stdout on a pipe:
    (exit code, stdout, what the terminal showed)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, progress.DELAY_ENV: "0", "COLUMNS": "80"}
    process = subprocess.Popen([*CLI, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=follower, env=env)
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout = process.stdout.read().decode() if process.stdout else ""
    return process.wait(timeout=60), stdout, shown.decode(errors="replace")


def piped(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, progress.DELAY_ENV: "0"})


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def test_digest_shows_a_bar_on_a_terminal_and_nothing_when_piped(model: Path) -> None:
    code, stdout, shown = on_terminal("digest", model.name, cwd=model.parent)
    assert code == 0, shown
    expected = piped("digest", model.name, cwd=model.parent)
    assert stdout == expected.stdout and stdout.endswith(f"  {model.name}\n")
    assert "hashing" in shown and "/8.00M" in shown, shown  # bytes done / total
    assert expected.stderr == ""  # piped: no bar, no escape sequences, nothing


def test_quiet_shows_no_bar_on_a_terminal(model: Path) -> None:
    code, stdout, shown = on_terminal("-q", "digest", model.name, cwd=model.parent)
    assert code == 0
    assert stdout.endswith(f"  {model.name}\n")
    assert shown == ""


def test_publish_shows_hashing_then_uploading(model: Path) -> None:
    store = model.parent / "store"
    store.mkdir()
    args = ("publish", "--store", store.as_uri(), "--model-name", "m", model.name)
    code, stdout, shown = on_terminal(*args, cwd=model.parent)
    assert code == 0, shown
    assert '"sha256": ' in stdout
    assert "hashing model.bin" in shown and "uploading model.bin" in shown, shown
    again = piped(*args, cwd=model.parent)
    assert (again.returncode, again.stderr) == (0, "")


def test_attest_and_verify_artifact_show_a_bar(model: Path) -> None:
    key, pub = model.parent / "k.pem", model.parent / "k.pub.pem"
    generate_key_pair(key, pub)
    code, _, shown = on_terminal("attest", "--private-key", key.name, "--builder-id", BUILDER, model.name,
                                 "-o", "model.bin.intoto.jsonl", cwd=model.parent)
    assert code == 0, shown
    assert "hashing" in shown and "/8.00M" in shown, shown
    assert shown.rstrip().endswith("wrote model.bin.intoto.jsonl for 1 artifact(s)")
    code, _, shown = on_terminal("verify-artifact", model.name, "--provenance-path", "model.bin.intoto.jsonl",
                                 "--public-key", pub.name, "--builder-id", BUILDER, cwd=model.parent)
    assert code == 0, shown
    assert "hashing model.bin" in shown and "PASSED: SLSA verification passed" in shown


@pytest.mark.parametrize("shard_size", [None, "3000000"])
def test_sign_shows_a_bar_of_every_byte_it_hashes(model: Path, shard_size: str | None) -> None:
    """OMS signing of a folder (files listed first, then the total is known), whole files or shards."""
    folder = model.parent / "checkpoint"
    folder.mkdir()
    model.rename(folder / "model.bin")
    (folder / "config.json").write_bytes(b"{}" * 100)
    generate_key_pair(model.parent / "k.pem", model.parent / "k.pub.pem")
    args = ["sign", "key", "checkpoint", "--private_key", "k.pem", "--signature", "model.sig"]
    if shard_size:
        args += ["--shard_size", shard_size]
    code, stdout, shown = on_terminal(*args, cwd=model.parent)
    assert code == 0, shown
    assert stdout == "Signing succeeded\n"
    assert "hashing" in shown and "/8.00M" in shown, shown  # the total, known once the files are listed
    (model.parent / "model.sig").unlink()
    again = piped(*args, cwd=model.parent)
    assert (again.returncode, again.stdout, again.stderr) == (0, "Signing succeeded\n", "")


class Recorder:
    def __init__(self) -> None:
        self.total, self.done, self.lock = 0, 0, threading.Lock()

    def __call__(self, n: int) -> None:
        with self.lock:
            self.done += n

    def add_total(self, n: int) -> None:
        self.total += n


@pytest.mark.parametrize("shard_size", [None, 3_000_000])
@pytest.mark.parametrize("as_folder", [True, False])
def test_sign_model_reports_each_byte_once(model: Path, shard_size: int | None, as_folder: bool) -> None:
    from slsa_models.oms.sign import sign_model

    target = model
    if as_folder:
        target = model.parent / "checkpoint"
        target.mkdir()
        model.rename(target / "model.bin")
        (target / "config.json").write_bytes(b"{}" * 100)
        (target / "README.md").write_bytes(b"left out")
    generate_key_pair(model.parent / "k.pem", model.parent / "k.pub.pem")
    seen = Recorder()
    sign_model(target, model.parent / "k.pem", shard_size=shard_size, progress=seen,
               ignore_paths=["README.md"] if as_folder else ())
    expected = SIZE + (200 if as_folder else 0)
    assert (seen.total, seen.done) == (expected, expected)


def test_a_bar_shows_bytes_rate_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.DELAY_ENV, "0")
    terminal = FakeTerminal()
    with progress.progress_bar(4 << 20, "downloading model.bin", stream=terminal) as on_progress:
        assert on_progress.active
        on_progress(1 << 20)
        time.sleep(0.25)  # past tqdm's minimum refresh interval
        on_progress(1 << 20)
        frame = terminal.getvalue().split("\r")[-1]
    assert re.fullmatch(r"downloading model\.bin: +50%\|.*\| 2\.00M/4\.00M \[\d\d:\d\d<\d\d:\d\d, +[\d.]+[kMG]?B/s\]",
                     frame), frame


def test_the_callable_is_thread_safe_and_a_no_op_when_disabled() -> None:
    terminal = FakeTerminal()
    bar = progress.progress_bar(8 * 1000, "hashing", stream=terminal)
    threads = [threading.Thread(target=lambda: [bar(1) for _ in range(1000)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bar._bar.n == 8000
    bar.close()
    assert not bar.active
    bar(5)  # after close: nothing, no error

    silent = progress.progress_bar(100, "hashing", stream=io.StringIO())  # not a terminal
    assert not silent.active
    silent(100)
    silent.close()
    forced = progress.progress_bar(100, "hashing", enabled=False, stream=terminal)
    assert not forced.active


def test_quiet_disables_bars_even_on_a_terminal() -> None:
    terminal = FakeTerminal()
    assert progress.should_show(terminal)
    with verbosity.applied(verbosity.QUIET):
        assert not progress.should_show(terminal)
        assert not progress.progress_bar(10, "x", stream=terminal).active
    assert progress.should_show(terminal)


def test_total_size_of_files_and_folders(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a").write_bytes(b"12345")
    (folder / "sub" / "b").write_bytes(b"123")
    (folder / "link").symlink_to(folder / "a")  # not followed, not counted
    single = tmp_path / "single"
    single.write_bytes(b"1234567")
    assert progress.total_size([folder, single, tmp_path / "missing"]) == 15
