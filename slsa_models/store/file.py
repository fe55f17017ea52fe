"""The ``file://`` backend: the store layout under a local directory.

Write-once: bytes go to a temp file in the key's directory, then ``os.link``
puts it at the key, which fails atomically if the key exists. The SHA-256 of a
write-once object is kept in a hidden sidecar ``.<name>.sha256`` beside it.
Compare-and-swap holds a lock file (``O_CREAT | O_EXCL``), re-checks the
current tag, then renames a temp file over the key. The tag is the SHA-256 of
the current bytes. Names starting with '.' are never keys, so temp, lock and
sidecar files cannot collide with objects and are not listed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from slsa_models.digest import normalize_sha256, open_input, sha256_file
from slsa_models.errors import ConflictError, InputError, NotFoundError, StoreError
from slsa_models.store.base import (
    SMALL_OBJECT_LIMIT,
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
                with temp_beside(target, "tmp") as (tmp, sink):
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
            with temp_beside(target, "tmp") as (tmp, sink):
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
                with temp_beside(target, "tmp") as (tmp, sink):
                    sink.write(data)
                    sink.flush()
                    os.fsync(sink.fileno())
                    _sidecar(target).unlink(missing_ok=True)
                    os.replace(tmp, target)
                _fsync_dir(target.parent)
        return hashlib.sha256(data).hexdigest()

    @contextmanager
    def _locked(self, target: Path, uri: str) -> Iterator[None]:
        """Hold ``.<name>.lock`` beside ``target``, waiting up to lock_timeout for it."""
        lock = target.with_name(f".{target.name}.lock")
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                break
            except FileExistsError:
                if time.monotonic() >= deadline:
                    raise ConflictError(
                        f"{uri} is being changed by another writer (lock file {lock} exists);"
                        " retry, or delete the lock file if no writer is running"
                    ) from None
                time.sleep(0.01)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            yield
        finally:
            lock.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------

    def head(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            self._require_root()
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path.as_uri()}: {exc.strerror}") from exc
        if not path.is_file():
            return None
        size = stat.st_size
        digest = _read_sidecar(path)
        if not digest and size <= SMALL_OBJECT_LIMIT:
            digest = sha256_file(path)
        return self._object(key, path, digest, stat)

    @contextmanager
    def _open_reader(
        self, key: str, version_id: str | None = None
    ) -> Iterator[tuple[Readable, StoredObject]]:
        if version_id is not None:
            raise InputError(f"file stores keep no object versions; cannot read version {version_id!r}")
        path = self._path(key)
        try:
            reader = open(path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._require_root()
            raise MissingObjectError(f"{self.object_uri(key)}: no such object") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path.as_uri()}: {exc.strerror}") from exc
        with reader:
            meta = self._object(key, path, _read_sidecar(path), os.fstat(reader.fileno()))
            yield reader, meta

    def list_objects(self, prefix: str) -> list[StoredObject]:
        validate_prefix(prefix)
        self._require_root()
        start = self.root / prefix.rpartition("/")[0]
        found: list[StoredObject] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        found.append(self._object(key, path, ""))
                    except FileNotFoundError:
                        continue
        return sorted(found, key=lambda obj: obj.key)

    # -- internals ---------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

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
        stat = stat or path.stat()
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
        with temp_beside(sidecar, "tmp") as (tmp, sink):
            sink.write(f"{digest}\n".encode())
            os.replace(tmp, sidecar)


def _sidecar(target: Path) -> Path:
    return target.with_name(f".{target.name}.sha256")


def _read_sidecar(target: Path) -> str:
    try:
        text = _sidecar(target).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if _HEX64.fullmatch(text) else ""


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
