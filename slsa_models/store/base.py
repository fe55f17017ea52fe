"""The ArtifactStore interface and the logic both backends share.

A backend provides raw operations (open a reader, head, write-once put,
compare-and-swap, list); this module builds downloads, small reads and the
write-once comparison on top, so both backends behave the same way.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from slsa_models.digest import sha256_stream
from slsa_models.errors import ConflictError, InputError, MissingObjectError  # noqa: F401 (re-exported)
from slsa_models.store.layout import validate_key

SMALL_OBJECT_LIMIT = 16 * 2**20
Progress = Callable[[int], None]


@dataclass(frozen=True)
class StoredObject:
    """One object in a store. ``sha256`` is hex, or "" where the store keeps none."""

    key: str
    uri: str
    sha256: str
    size: int
    version_id: str | None = None
    etag: str | None = None
    last_modified: datetime | None = None


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ArtifactStore(ABC):
    """Content-addressed, write-once object storage with compare-and-swap pointers."""

    uri: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    # -- what a backend provides -------------------------------------------------

    @abstractmethod
    def object_uri(self, key: str) -> str:
        """The URI of ``key`` (``s3://bucket/prefix/key`` or ``file:///dir/key``)."""

    @abstractmethod
    def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        sha256: str | None = None,
        on_progress: Progress | None = None,
    ) -> StoredObject:
        """Store a file write-once.

        Identical bytes already at ``key`` are a no-op that returns the existing
        object; different bytes raise ConflictError. A failed upload leaves no
        object behind. ``sha256`` saves a hashing pass where a backend needs the
        digest before uploading; it is checked against the bytes read.
        """

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        """``put_file`` for a small object held in memory."""

    @abstractmethod
    def head(self, key: str) -> StoredObject | None:
        """The object's metadata, or None when missing. ``sha256`` is "" if the store has none."""

    @abstractmethod
    def list_objects(self, prefix: str) -> list[StoredObject]:
        """Objects whose key starts with ``prefix``, sorted by key.

        Listings carry no sha256 (it is ""); ``last_modified`` and ``size`` are set.
        """

    @abstractmethod
    def read_with_tag(self, key: str) -> tuple[bytes, str] | None:
        """(data, tag) of a small object for ``compare_and_swap``; None when missing."""

    @abstractmethod
    def compare_and_swap(self, key: str, data: bytes, expected_tag: str | None) -> str:
        """Replace ``key`` only if its tag still equals ``expected_tag``.

        ``expected_tag=None`` means the key must not exist yet. A lost race raises
        ConflictError. Returns the new tag.
        """

    @abstractmethod
    def _open_reader(
        self, key: str, version_id: str | None = None
    ) -> AbstractContextManager[tuple[Readable, StoredObject]]:
        """Open ``key`` for streaming: (reader, metadata with sha256 from the store).

        Raises MissingObjectError when the key (or version) does not exist.
        """

    # -- shared behaviour ----------------------------------------------------------

    def download(
        self,
        key: str,
        dest: str | os.PathLike[str],
        *,
        version_id: str | None = None,
        on_progress: Progress | None = None,
        durable: bool = True,
    ) -> StoredObject:
        """Stream ``key`` to ``dest``, hashing in the same pass.

        The bytes go to a temp file beside ``dest`` that is renamed over it only
        when complete. The returned sha256 and size are of the bytes written, not
        of any metadata; version_id and etag are of the object read.
        ``durable=False`` skips the fsync before the rename (about 2 s per GiB):
        for scratch files in a temp directory that a crash may lose.
        """
        return self._download(key, download_dest(key, dest), version_id, on_progress, durable)

    def _download(self, key: str, dest: Path, version_id: str | None, on_progress: Progress | None,
                  durable: bool) -> StoredObject:
        """``download`` once the destination is checked: one streamed read (a backend may do better)."""
        with self._open_reader(key, version_id) as (reader, meta):
            with writable(dest), temp_beside(dest, "part") as (tmp, sink):
                digest, size = copy_hashing(reader, sink, on_progress)
                finish_download(sink, tmp, dest, durable)
        return dataclasses.replace(meta, sha256=digest, size=size)

    def read_bytes(self, key: str, *, max_size: int = SMALL_OBJECT_LIMIT) -> bytes:
        """A small object's bytes; larger than ``max_size`` raises InputError."""
        validate_key(key)
        with self._open_reader(key) as (reader, meta):
            return read_limited(reader, meta, max_size)

    def append(self, key: str, data: bytes) -> StoredObject:
        """Add an append-only record: a write-once put at a key the caller made unique."""
        return self.put_bytes(key, data)

    def _hash_object(self, key: str) -> str:
        """SHA-256 of the stored bytes, streamed (for objects stored without one)."""
        with self._open_reader(key) as (reader, _meta):
            return sha256_stream(ReadInto(reader))[0]

    def _same_or_conflict(self, existing: StoredObject, sha256: str, size: int) -> StoredObject:
        """Write-once: the existing object if it holds these bytes, else ConflictError."""
        stored = existing.sha256 or self._hash_object(existing.key)
        if stored == sha256 and existing.size == size:
            return dataclasses.replace(existing, sha256=stored)
        raise ConflictError(
            f"{existing.uri} already holds different bytes (sha256:{stored}, {existing.size} bytes;"
            f" refusing to write sha256:{sha256}, {size} bytes): stored objects are never overwritten"
        )


# -- helpers shared by the backends ---------------------------------------------------


def lost_race(
    uri: str, expected_tag: str | None, found_tag: str | None = None, *, found_known: bool = True
) -> ConflictError:
    """The ConflictError of a compare-and-swap whose expected tag no longer holds."""
    expected = f"tag {expected_tag}" if expected_tag else "none"
    found = f", found {'tag ' + found_tag if found_tag else 'none'}" if found_known else ""
    return ConflictError(
        f"{uri} changed since it was read (expected {expected}{found}):"
        " another writer got there first; read it again and retry"
    )


def check_sha256(
    path: str | os.PathLike[str], expected: str | None, actual: str, *, changed_hint: bool = False
) -> None:
    """Refuse an upload whose bytes do not hash to the sha256 the caller gave."""
    if expected is not None and expected != actual:
        hint = " (or the file changed while uploading)" if changed_hint else ""
        raise InputError(
            f"{path}: its sha256 is {actual}, not the {expected} expected{hint}; nothing was stored"
        )


class ReadInto:
    """Give a ``read(n)`` stream the ``readinto`` that sha256_stream uses, copying to a sink."""

    def __init__(self, source: Readable, sink: BinaryIO | None = None) -> None:
        self._source = source
        self._sink = sink

    def readinto(self, buffer: bytearray) -> int:
        data = self._source.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        if self._sink is not None and count:
            self._sink.write(data)
        return count


def copy_hashing(
    source: Readable, sink: BinaryIO, on_progress: Progress | None = None
) -> tuple[str, int]:
    """Copy ``source`` to ``sink`` in CHUNK_SIZE chunks; return (sha256 hex, size) of the bytes."""
    return sha256_stream(ReadInto(source, sink), on_progress)


def read_limited(reader: Readable, meta: StoredObject, max_size: int) -> bytes:
    """Read a whole small object, refusing one larger than ``max_size``."""
    too_big = InputError(
        f"{meta.uri} is {meta.size} bytes, more than the {max_size}-byte limit for small reads;"
        " download it instead"
    )
    if meta.size > max_size:
        raise too_big
    data = reader.read(max_size + 1)
    if len(data) > max_size:
        raise too_big
    return data


@contextmanager
def temp_beside(path: Path, suffix: str = "tmp") -> Iterator[tuple[Path, BinaryIO]]:
    """A new hidden temp file in ``path``'s directory; removed on exit unless renamed away."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.{suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as sink:
            yield tmp, sink
    finally:
        tmp.unlink(missing_ok=True)


def download_dest(key: str, dest: str | os.PathLike[str]) -> Path:
    """Check a download's key and destination before anything is fetched."""
    validate_key(key)
    dest = Path(dest)
    if dest.is_dir():
        raise InputError(f"cannot download to {dest}: it is a directory")
    if not dest.parent.is_dir():
        raise InputError(f"cannot download to {dest}: directory {dest.parent} does not exist")
    return dest


def finish_download(sink: BinaryIO, tmp: Path, dest: Path, durable: bool) -> None:
    """Flush (and with ``durable`` fsync) the complete temp file, then rename it over ``dest``."""
    sink.flush()
    if durable:
        os.fsync(sink.fileno())
    os.replace(tmp, dest)


@contextmanager
def writable(dest: Path) -> Iterator[None]:
    """Turn a local write failure into a one-line InputError naming ``dest``."""
    try:
        yield
    except (PermissionError, IsADirectoryError, NotADirectoryError, FileNotFoundError) as exc:
        raise InputError(f"cannot write {dest}: {exc.strerror}") from exc


