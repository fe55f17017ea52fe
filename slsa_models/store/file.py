"""The ``file://`` backend: the store layout under a local directory.

Write-once: bytes go to a temp file in the key's directory, then ``os.link``
puts it at the key, which fails atomically if the key exists. The SHA-256 of a
write-once object is kept in a hidden sidecar ``.<name>.sha256`` beside it; an
object whose sidecar is missing is hashed instead (the etag is that SHA-256
either way). Compare-and-swap holds ``fcntl.flock`` on a lock file beside the
key (the kernel releases it when its holder dies, so a killed writer never
blocks the next one), re-checks the current tag, then renames a temp file over
the key. The tag is the SHA-256 of the current bytes. Names starting with '.'
are never keys, so temp, lock and sidecar files cannot collide with objects
and are not listed. Nothing outside the root is read or written: a symbolic
link anywhere under the root is refused (UnsafePathError), never followed.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import socket
import stat as stat_module
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from slsa_models.digest import normalize_sha256, open_input, sha256_file, sha256_stream
from slsa_models.errors import (
    InputError,
    NotFoundError,
    StoreError,
    StoreLockedError,
    UnsafePathError,
)
from slsa_models.store.base import (
    ArtifactStore,
    MissingObjectError,
    Progress,
    Readable,
    StoredObject,
    check_sha256,
    copy_hashing,
    lost_race,
    temp_beside,
)
from slsa_models.store.layout import validate_key, validate_prefix

_HEX64 = re.compile(r"[0-9a-f]{64}")


class FileStore(ArtifactStore):
    """An ArtifactStore in a local directory (which must exist)."""

    def __init__(self, root: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        root = Path(root)
        if not root.is_absolute():
            raise InputError(f"file store directory must be an absolute path, got {str(root)!r}")
        self.root = root
        self.uri = root.as_uri()
        self.lock_timeout = lock_timeout

    def object_uri(self, key: str) -> str:
        return self._path(key).as_uri()

    # -- write-once ------------------------------------------------------------------

    def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        sha256: str | None = None,
        on_progress: Progress | None = None,
    ) -> StoredObject:
        target = self._path(key)
        expected = normalize_sha256(sha256) if sha256 is not None else None
        with open_input(path) as source:
            size = os.fstat(source.fileno()).st_size
            existing = self.head(key)
            if existing is not None:
                return self._same_or_conflict(existing, expected or sha256_file(path), size)
            with self._writing(target):
                target.parent.mkdir(parents=True, exist_ok=True)
                with temp_beside(target) as (tmp, sink):
                    digest, size = copy_hashing(source, sink, on_progress)
                    check_sha256(path, expected, digest)
                    return self._link(key, target, tmp, sink, digest, size)

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        target = self._path(key)
        digest = hashlib.sha256(data).hexdigest()
        existing = self.head(key)
        if existing is not None:
            return self._same_or_conflict(existing, digest, len(data))
        with self._writing(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            with temp_beside(target) as (tmp, sink):
                sink.write(data)
                return self._link(key, target, tmp, sink, digest, len(data))

    def _link(
        self, key: str, target: Path, tmp: Path, sink: BinaryIO, digest: str, size: int
    ) -> StoredObject:
        """Publish a complete temp file at ``target`` unless the key appeared meanwhile."""
        sink.flush()
        os.fsync(sink.fileno())
        try:
            os.link(tmp, target)
        except FileExistsError:
            existing = self.head(key)
            if existing is None:
                raise StoreError(f"{self.object_uri(key)} exists but cannot be read") from None
            return self._same_or_conflict(existing, digest, size)
        self._write_sidecar(target, digest)
        _fsync_dir(target.parent)
        return self._object(key, target, digest)

    # -- compare-and-swap ------------------------------------------------------------

    def read_with_tag(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self.read_bytes(key)
        except MissingObjectError:
            return None
        return data, hashlib.sha256(data).hexdigest()

    def compare_and_swap(self, key: str, data: bytes, expected_tag: str | None) -> str:
        target = self._path(key)
        uri = self.object_uri(key)
        self._require_root()
        with self._writing(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            with self._locked(target, uri):
                current = self.read_with_tag(key)
                current_tag = current[1] if current else None
                if current_tag != expected_tag:
                    raise lost_race(uri, expected_tag, current_tag)
                with temp_beside(target) as (tmp, sink):
                    sink.write(data)
                    sink.flush()
                    os.fsync(sink.fileno())
                    _sidecar(target).unlink(missing_ok=True)
                    os.replace(tmp, target)
                _fsync_dir(target.parent)
        return hashlib.sha256(data).hexdigest()

    @contextmanager
    def _locked(self, target: Path, uri: str) -> Iterator[None]:
        """Hold ``flock`` on ``.<name>.lock`` beside ``target``, waiting up to lock_timeout.

        The holder removes the lock file before releasing it; a waiter that got the
        lock on a removed file tries again on the new one.
        """
        lock = target.with_name(f".{target.name}.lock")
        deadline = time.monotonic() + self.lock_timeout
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                self._wait_for_lock(fd, lock, uri, deadline)
                if _same_inode(fd, lock):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
            yield
        finally:
            lock.unlink(missing_ok=True)
            os.close(fd)  # releases the lock

    def _wait_for_lock(self, fd: int, lock: Path, uri: str, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"{uri} is locked by another writer ({_lock_holder(fd)}) for more than"
                        f" {self.lock_timeout:g} s; retry when it is done"
                    ) from None
                time.sleep(0.01)

    # -- reading ---------------------------------------------------------------------

    def head(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            self._require_root()
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path.as_uri()}: {exc.strerror}") from exc
        if not stat_module.S_ISREG(info.st_mode):
            return None
        return self._object(key, path, _read_sidecar(path) or _sha256_of(path), info)

    @contextmanager
    def _open_reader(
        self, key: str, version_id: str | None = None
    ) -> Iterator[tuple[Readable, StoredObject]]:
        if version_id is not None:
            raise InputError(f"file stores keep no object versions; cannot read version {version_id!r}")
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            self._require_root()
            raise MissingObjectError(f"{self.object_uri(key)}: no such object") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path.as_uri()}: {exc.strerror}") from exc
        with open(fd, "rb") as reader:
            info = os.fstat(fd)
            if not stat_module.S_ISREG(info.st_mode):
                self._require_root()
                raise MissingObjectError(f"{self.object_uri(key)}: no such object")
            digest = _read_sidecar(path)
            if not digest:  # no sidecar (e.g. copied without dot-files): hash the bytes
                digest = sha256_stream(reader)[0]
                reader.seek(0)
            yield reader, self._object(key, path, digest, info)

    def list_objects(self, prefix: str) -> list[StoredObject]:
        validate_prefix(prefix)
        self._require_root()
        start = self._inside(prefix.rpartition("/")[0])
        found: list[StoredObject] = []
        for dirpath, dirnames, filenames in os.walk(start):  # never descends into links
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        info = os.lstat(path)
                    except FileNotFoundError:
                        continue
                    if stat_module.S_ISREG(info.st_mode):  # a link is not an object
                        found.append(self._object(key, path, "", info))
        return sorted(found, key=lambda obj: obj.key)

    # -- internals ---------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self._inside(validate_key(key))

    def _inside(self, relative: str) -> Path:
        """``root / relative``, refusing it when any part of it under the root is a link."""
        path = self.root
        for part in filter(None, relative.split("/")):
            path = path / part
            try:
                is_link = stat_module.S_ISLNK(os.lstat(path).st_mode)
            except (FileNotFoundError, NotADirectoryError):
                return self.root / relative  # the rest does not exist: nothing to follow
            except OSError as exc:
                raise StoreError(f"cannot read {path.as_uri()}: {exc.strerror}") from exc
            if is_link:
                raise UnsafePathError(
                    f"{path} is a symbolic link inside the file store {self.root}; the store never"
                    " follows links: replace it with the directory or file itself"
                )
        return path

    def _require_root(self) -> None:
        if not self.root.is_dir():
            raise NotFoundError(f"store directory {self.root} does not exist")

    @contextmanager
    def _writing(self, target: Path) -> Iterator[None]:
        """Check the root first; turn OS write failures into one-line StoreErrors."""
        self._require_root()
        try:
            yield
        except OSError as exc:
            raise StoreError(f"cannot write {target.as_uri()}: {exc.strerror or exc}") from exc

    def _object(
        self, key: str, path: Path, digest: str, stat: os.stat_result | None = None
    ) -> StoredObject:
        stat = stat or os.lstat(path)
        return StoredObject(
            key=key,
            uri=path.as_uri(),
            sha256=digest,
            size=stat.st_size,
            etag=digest or None,
            last_modified=datetime.fromtimestamp(stat.st_mtime, timezone.utc),
        )

    def _write_sidecar(self, target: Path, digest: str) -> None:
        sidecar = _sidecar(target)
        with temp_beside(sidecar) as (tmp, sink):
            sink.write(f"{digest}\n".encode())
            os.replace(tmp, sidecar)


def _sidecar(target: Path) -> Path:
    return target.with_name(f".{target.name}.sha256")


def _read_sidecar(target: Path) -> str:
    """The SHA-256 the sidecar records, or "" when it is missing, a link or malformed."""
    try:
        fd = os.open(_sidecar(target), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        if not stat_module.S_ISREG(os.fstat(fd).st_mode):
            return ""
        text = os.read(fd, 128).decode("ascii", errors="replace").strip()
    except OSError:
        return ""
    finally:
        os.close(fd)
    return text if _HEX64.fullmatch(text) else ""


def _sha256_of(path: Path) -> str:
    """SHA-256 of a stored file, streamed; "" if it vanished or became a link meanwhile."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    with open(fd, "rb") as reader:
        return sha256_stream(reader)[0]


def _same_inode(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not removed or replaced)."""
    try:
        here, there = os.fstat(fd), os.lstat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _lock_holder(fd: int) -> str:
    """What the holder wrote into the lock file ("pid 12 on host"), for messages."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", errors="replace")
    except OSError:
        text = ""
    return " ".join(text.split())[:120] or "unknown process"


def _fsync_dir(directory: Path) -> None:
    """Make a link or rename in ``directory`` durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
