"""slsa_models/untrusted.py: the bounded reads and the JSON guard every verifier reads through.

Written against mutants of the module that survived scripts/mutation.py: each test names the
behaviour a surviving mutant broke.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from slsa_models.errors import InputError, ProvenanceError
from slsa_models.untrusted import file_kind, loads_json, open_regular_file, read_regular_file


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_file_of_several_chunks_is_read_whole_up_to_the_limit(tmp_path: Path) -> None:
    """Reads go in 64 KiB chunks: every chunk is kept, and a file of exactly the limit is whole."""
    data = bytes(range(256)) * 800  # 204,800 bytes: three full chunks and a part
    path = tmp_path / "f"
    path.write_bytes(data)
    assert read_regular_file(path, max_bytes=len(data), what="thing") == data
    assert read_regular_file(path, max_bytes=len(data) + 1, what="thing") == data
    with pytest.raises(InputError) as raised:
        read_regular_file(path, max_bytes=len(data) - 1, what="thing")
    assert str(raised.value) == f"{path}: 204800 bytes is larger than the 204799-byte limit for a thing"


@pytest.mark.parametrize(("size", "limit", "message"), [
    (2**20, 2**20 - 1, "1.0 MiB is larger than the 1048575-byte limit"),
    (2**20 - 1, 2**20 - 2, "1048575 bytes is larger than the 1048574-byte limit"),
    (3 * 2**20, 2 * 2**20, "3.0 MiB is larger than the 2 MiB limit"),
    (3 * 2**20, 2 * 2**20 + 1, "3.0 MiB is larger than the 2097153-byte limit"),
    (5 * 2**20 + 2**19, 2**20, "5.5 MiB is larger than the 1 MiB limit"),
])
def test_sizes_and_limits_are_named_in_mib_or_bytes(tmp_path: Path, size: int, limit: int,
                                                    message: str) -> None:
    """A size is "N.N MiB" from 1 MiB up, else "N bytes"; a limit is "N MiB" when whole MiB."""
    path = sparse(tmp_path / "big", size)
    with pytest.raises(ProvenanceError) as raised:
        read_regular_file(path, max_bytes=limit, what="provenance file", error=ProvenanceError,
                          hint="; a hint")
    assert str(raised.value) == f"{path}: {message} for a provenance file; a hint"


def test_a_file_that_holds_more_than_its_size_says_is_refused_after_the_limit() -> None:
    """/proc files say size 0 and hold more: the read stops one byte past the limit and refuses."""
    with pytest.raises(InputError) as raised:
        read_regular_file("/proc/self/status", max_bytes=10, what="thing", hint="; a hint")
    assert str(raised.value) == "/proc/self/status: more than the 10-byte limit for a thing; a hint"
    assert len(read_regular_file("/proc/self/status", max_bytes=1 << 20, what="thing")) > 10
    with pytest.raises(InputError) as raised:  # the one byte past the limit is read, even the first
        read_regular_file("/proc/self/status", max_bytes=0, what="thing")
    assert str(raised.value) == "/proc/self/status: more than the 0-byte limit for a thing"


@pytest.mark.skipif(not os.access("/proc/kallsyms", os.R_OK), reason="needs a readable /proc/kallsyms")
def test_a_file_that_outgrows_its_size_is_read_only_to_the_bound() -> None:
    """/proc/kallsyms says size 0 and holds megabytes: the read stops one byte past the limit
    (in 64 KiB chunks), it does not read on to the end."""
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as raised:
            read_regular_file("/proc/kallsyms", max_bytes=100_000, what="thing")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == "/proc/kallsyms: more than the 100000-byte limit for a thing"
    assert peak < 2**20, peak


def test_a_read_that_fails_is_one_line_in_the_callers_error_class() -> None:
    """/proc/self/mem opens as a regular file and fails to read at offset 0 (EIO)."""
    with pytest.raises(ProvenanceError) as raised:
        read_regular_file("/proc/self/mem", max_bytes=10, what="thing", error=ProvenanceError)
    assert str(raised.value) == "/proc/self/mem: cannot read the thing: Input/output error"


def test_every_read_closes_its_descriptor(tmp_path: Path) -> None:
    """Read, refused as too large, refused as not regular: no descriptor is left open."""
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    before = open_fds()
    for _ in range(3):
        read_regular_file(path, max_bytes=5, what="thing")
        with pytest.raises(InputError):
            read_regular_file(path, max_bytes=4, what="thing")
        with pytest.raises(InputError):
            read_regular_file(fifo, max_bytes=4, what="thing")
        with pytest.raises(InputError):
            read_regular_file(tmp_path, max_bytes=4, what="thing")
    assert open_fds() == before


def test_the_descriptor_handed_out_blocks(tmp_path: Path) -> None:
    """Opened without blocking (a FIFO cannot hang the open), then set back to blocking reads."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    fd = open_regular_file(path, what="thing")
    try:
        assert os.get_blocking(fd)
        assert os.read(fd, 10) == b"x"
    finally:
        os.close(fd)


def test_paths_the_system_cannot_open_are_one_line_with_the_path_quoted(tmp_path: Path) -> None:
    """A NUL byte in the path (ValueError) and a socket (ENXIO) are named, quoted, in one line."""
    with pytest.raises(ProvenanceError) as raised:
        read_regular_file("a\0b", max_bytes=4, what="thing", error=ProvenanceError)
    assert str(raised.value) == "'a\\x00b': cannot read the thing: embedded null byte"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(InputError) as raised:
            read_regular_file(tmp_path / "sock", max_bytes=4, what="thing")
    finally:
        server.close()
    assert str(raised.value) == f"'{tmp_path / 'sock'}': cannot read the thing: No such device or address"


def _as_nobody(call: Callable[[], str]) -> str:
    """What ``call`` returns in a forked child that has given up root (root reads any file)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing but the call, then out
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, call().encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        said = stream.read().decode()
    assert os.waitpid(pid, 0)[1] == 0
    return said


def test_a_file_without_read_permission_is_one_line() -> None:
    """As root the tests read in a child that runs as nobody, in a folder it may enter: a file it
    may read is read, one it may not is refused in one line."""
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        (folder / "public").write_bytes(b"x")
        (folder / "public").chmod(0o644)
        secret = folder / "secret"
        secret.write_bytes(b"x")
        secret.chmod(0)

        def read(path: Path) -> Callable[[], str]:
            def attempt() -> str:
                try:
                    return read_regular_file(path, max_bytes=4, what="thing", error=ProvenanceError).decode()
                except ProvenanceError as exc:
                    return str(exc)
            return attempt

        run = _as_nobody if os.geteuid() == 0 else (lambda call: call())
        assert run(read(folder / "public")) == "x"
        assert run(read(secret)) == f"{secret}: permission denied reading the thing"
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize(("mode", "kind"), [
    (stat.S_IFIFO, "a FIFO"),
    (stat.S_IFCHR, "a character device"),
    (stat.S_IFBLK, "a block device"),
    (stat.S_IFSOCK, "a socket"),
    (stat.S_IFDIR, "a directory"),
    (stat.S_IFLNK, "not a regular file"),
])
def test_each_kind_of_file_is_named(mode: int, kind: str) -> None:
    assert file_kind(mode | 0o644) == kind


def test_a_refusal_uses_the_callers_error_class(tmp_path: Path) -> None:
    """``error`` is raised for each refusal (a missing file, a directory, too large)."""
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    for target, limit in ((tmp_path / "nope", 4), (tmp_path, 4), (path, 4)):
        with pytest.raises(ProvenanceError):
            read_regular_file(target, max_bytes=limit, what="thing", error=ProvenanceError)


# --- loads_json ------------------------------------------------------------------------------


@pytest.mark.parametrize(("document", "max_depth", "deep"), [
    ('{"a": {"b": 1}}', 2, False),
    ('{"a": {"b": {}}}', 2, True),
    ('[[1, "x", null]]', 2, False),
    ("[[[]]]", 2, True),
    ('[1, [2, [3]], {"k": [4]}]', 3, False),
    ('[1, [2, [3]], {"k": [[4]]}]', 3, True),
    ("[[[[]]], 1]", 2, True),  # a scalar looked at first ends nothing
    ('{"a": [[[]]], "b": "s"}', 2, True),
    ("[]", 1, False),
    ("[[]]", 1, True),
    ('"a string at the top"', 0, False),
])
def test_depth_counts_lists_and_objects_not_scalars(document: str, max_depth: int, deep: bool) -> None:
    """The guard's boundary: exactly ``max_depth`` levels parse, one more is refused."""
    if deep:
        with pytest.raises(InputError) as raised:
            loads_json(document, "doc", max_depth=max_depth)
        assert str(raised.value) == f"doc: JSON nested more than {max_depth} levels deep; refusing to read it"
    else:
        assert loads_json(document, "doc", max_depth=max_depth) == json.loads(document)


def test_deeper_than_python_can_parse_is_the_callers_error() -> None:
    """json.loads' RecursionError is the depth refusal, in the caller's error class."""
    with pytest.raises(ProvenanceError) as raised:
        loads_json("[" * 200_000 + "]" * 200_000, "deep", error=ProvenanceError)
    assert str(raised.value) == "deep: JSON nested more than 64 levels deep; refusing to read it"


def test_a_number_of_more_than_4300_digits_is_refused() -> None:
    with pytest.raises(ProvenanceError) as raised:
        loads_json(b'{"n": ' + b"7" * 5000 + b"}", "doc", error=ProvenanceError)
    assert str(raised.value) == "doc: a JSON number with more than 4300 digits; refusing to read it"
    assert loads_json(b"7" * 4300, "doc") == int("7" * 4300)


def test_other_decoding_errors_are_left_to_the_caller() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_json("{", "doc")
    with pytest.raises(UnicodeDecodeError):
        loads_json(b"\xff\xfe\xfd", "doc")
