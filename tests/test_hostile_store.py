"""The file store under hostile or unlucky conditions (issue 11, cases 7, 9 and 10):
a writer killed while holding the lock, a missing checksum sidecar, symbolic links."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slsa_models.errors import ConflictError, StoreLockedError, UnsafePathError
from slsa_models.store import FileStore
from slsa_models.store.layout import model_key

CURRENT = "deployments/digits/current.json"
DATA = b"model bytes" * 100
SHA = hashlib.sha256(DATA).hexdigest()
KEY = model_key("digits", SHA, "pytorch_model.pth")

# Runs a real compare-and-swap and stops it just before the rename, holding the lock.
STALLED_SWAP = """
import os, sys, time
from slsa_models.store import FileStore

def stall(*args):
    print("holding the lock", flush=True)
    time.sleep(600)

os.replace = stall
FileStore(sys.argv[1]).compare_and_swap(sys.argv[2], b"from the stalled writer", sys.argv[3])
"""


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    root = tmp_path / "store"
    root.mkdir()
    return FileStore(root, lock_timeout=0.3)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the store that nothing may touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "current.json").write_bytes(b'{"outside": true}')
    return path


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def stalled_writer(store: FileStore) -> Iterator[subprocess.Popen[str]]:
    """A subprocess in the middle of a compare-and-swap of CURRENT, holding its lock."""
    tag = store.compare_and_swap(CURRENT, b"base", None)
    process = subprocess.Popen([sys.executable, "-c", STALLED_SWAP, str(store.root), CURRENT, tag],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "holding the lock\n"
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


# -- case 7: locks ------------------------------------------------------------------------------


def test_a_writer_killed_holding_the_lock_blocks_nobody(store: FileStore,
                                                        stalled_writer: subprocess.Popen[str]) -> None:
    lock = store.root / "deployments/digits/.current.json.lock"
    os.kill(stalled_writer.pid, signal.SIGKILL)
    assert stalled_writer.wait(timeout=30) == -signal.SIGKILL
    assert lock.exists()  # left behind by kill -9 ...
    _, tag = store.read_with_tag(CURRENT) or (b"", "")
    started = time.monotonic()
    store.compare_and_swap(CURRENT, b"next", tag)  # ... and harmless: the kernel released the lock
    assert time.monotonic() - started < 0.25
    assert store.read_bytes(CURRENT) == b"next"
    assert not lock.exists()


def test_a_lock_held_by_a_live_writer_is_reported_as_a_lock(
    store: FileStore, stalled_writer: subprocess.Popen[str],
) -> None:
    _, tag = store.read_with_tag(CURRENT) or (b"", "")
    with pytest.raises(StoreLockedError) as raised:
        store.compare_and_swap(CURRENT, b"next", tag)
    assert str(raised.value) == (
        f"{store.object_uri(CURRENT)} is locked by another writer (pid {stalled_writer.pid} on "
        f"{socket.gethostname()}) for more than 0.3 s; retry when it is done"
    )
    # not a lost race: a deploy's compare-and-swap loop must not retry it as "kept changing"
    assert not isinstance(raised.value, ConflictError)
    assert raised.value.exit_code == 2
    assert store.read_bytes(CURRENT) == b"base"


def test_a_lock_file_that_is_not_utf8_is_still_reported_as_a_lock(store: FileStore) -> None:
    """Whatever the holder wrote in the lock file (here bytes that are not UTF-8), the error is the
    one-line StoreLockedError naming it as best it can, not a decoding crash."""
    import fcntl

    tag = store.compare_and_swap(CURRENT, b"base", None)
    lock = store.root / "deployments/digits/.current.json.lock"
    lock.write_bytes(b"pid 7 on \xffhost\n")
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: held against the store's
        with pytest.raises(StoreLockedError) as raised:
            store.compare_and_swap(CURRENT, b"next", tag)
    finally:
        os.close(fd)
    assert str(raised.value) == (f"{store.object_uri(CURRENT)} is locked by another writer (pid 7 on \ufffdhost)"
                                 " for more than 0.3 s; retry when it is done")
    assert store.read_bytes(CURRENT) == b"base"


# -- case 9: a missing sidecar ------------------------------------------------------------------------


def test_a_missing_sidecar_changes_no_etag(store: FileStore, tmp_path: Path) -> None:
    stored = store.put_bytes(KEY, DATA)
    sidecar = store.root / KEY.rsplit("/", 1)[0] / ".pytorch_model.pth.sha256"
    sidecar.unlink()  # e.g. copied with a tool that skips dot-files
    head = store.head(KEY)
    assert head is not None and (head.sha256, head.etag) == (SHA, stored.etag)
    downloaded = store.download(KEY, tmp_path / "model.pth")
    assert (downloaded.sha256, downloaded.etag, downloaded.size) == (SHA, stored.etag, len(DATA))
    assert (tmp_path / "model.pth").read_bytes() == DATA
    assert not sidecar.exists()  # reading writes nothing


def test_without_a_sidecar_the_etag_follows_the_bytes(store: FileStore) -> None:
    stored = store.put_bytes(KEY, DATA)
    path = store.root / KEY
    (path.parent / ".pytorch_model.pth.sha256").unlink()
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    head = store.head(KEY)
    assert head is not None and head.etag != stored.etag
    assert head.sha256 == hashlib.sha256(b"tampered").hexdigest()


# -- case 10: symbolic links ------------------------------------------------------------------------


def link_message(store: FileStore, link: Path) -> str:
    return (f"{link} is a symbolic link inside the file store {store.root}; the store never follows"
            " links: replace it with the directory or file itself")


def test_a_linked_deployment_directory_is_never_written(store: FileStore, outside: Path) -> None:
    link = store.root / "deployments/digits"
    link.parent.mkdir()
    link.symlink_to(outside)
    for write in (
        lambda: store.compare_and_swap(CURRENT, b"deployed", None),
        lambda: store.put_bytes("deployments/digits/history/20260101-promoted.json", b"{}"),
    ):
        with pytest.raises(UnsafePathError) as raised:
            write()
        assert str(raised.value) == link_message(store, link)
        assert raised.value.exit_code == 2 and not raised.value.retryable
    assert listing(outside) == ["current.json"]
    assert (outside / "current.json").read_bytes() == b'{"outside": true}'


def test_a_linked_deployment_directory_is_never_read(store: FileStore, outside: Path) -> None:
    link = store.root / "deployments/digits"
    link.parent.mkdir()
    link.symlink_to(outside)
    (outside / "history").mkdir()
    (outside / "history" / "20260101-promoted.json").write_bytes(b"{}")
    for read in (
        lambda: store.read_with_tag(CURRENT),
        lambda: store.head(CURRENT),
        lambda: store.list_objects("deployments/digits/history/"),
    ):
        with pytest.raises(UnsafePathError) as raised:
            read()
        assert str(raised.value) == link_message(store, link)
    assert store.list_objects("deployments/") == []  # a listing does not descend into the link


def test_a_linked_object_is_never_read(store: FileStore, outside: Path, tmp_path: Path) -> None:
    target = store.root / KEY
    target.parent.mkdir(parents=True)
    target.symlink_to(outside / "current.json")
    with pytest.raises(UnsafePathError) as raised:
        store.download(KEY, tmp_path / "model.pth")
    assert str(raised.value) == link_message(store, target)
    assert not (tmp_path / "model.pth").exists()
    with pytest.raises(UnsafePathError):
        store.put_bytes(KEY, DATA)
    assert (outside / "current.json").read_bytes() == b'{"outside": true}'
    assert store.list_objects("models/") == []


def test_a_linked_sidecar_is_ignored(store: FileStore, outside: Path) -> None:
    store.put_bytes(KEY, DATA)
    sidecar = store.root / KEY.rsplit("/", 1)[0] / ".pytorch_model.pth.sha256"
    sidecar.unlink()
    (outside / "fake.sha256").write_text("0" * 64 + "\n")
    sidecar.symlink_to(outside / "fake.sha256")
    head = store.head(KEY)
    assert head is not None and head.sha256 == SHA


def test_the_root_itself_may_be_a_link(tmp_path: Path, outside: Path) -> None:
    (tmp_path / "store-link").symlink_to(outside)
    store = FileStore(tmp_path / "store-link")
    store.put_bytes("notes/a.json", b"{}")
    assert store.read_bytes("notes/a.json") == b"{}"
