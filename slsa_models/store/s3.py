"""The ``s3://`` backend, on boto3.

Write-once puts send ``If-None-Match: *`` (on PutObject and on
CompleteMultipartUpload). A HEAD first makes the common cases cheap and keeps
servers that ignore the header safe against sequential overwrites: an existing
key holding the same SHA-256 is a no-op, any other bytes are a ConflictError.
Every object carries its SHA-256 twice: in metadata (``sha256``, hex, of the
whole object) and as the S3 checksum (``x-amz-checksum-sha256``, per part for
multipart uploads), which S3 verifies on receipt.

Uploads: files up to ``multipart_threshold`` are read once into memory,
hashed and put; larger files go up in parts, ``max_concurrency`` parts at a
time in parallel, each streamed from the file with its own SHA-256 checksum,
while the whole file is hashed in order and checked against the digest
before the upload is completed (and the upload aborted on any failure).
Memory stays at a few 1 MiB chunks per worker, whatever the part size.
Parts in transfer at once, across every upload and download of one store (a
folder model moves several files at a time), are at most ``max_concurrency``.

Downloads: the first GET asks for the first ``download_part_size`` bytes; an
object that fits is done with that one request. A larger one is fetched with
concurrent ranged GETs, every one pinned to the object the first GET saw (its
VersionId where the bucket has versions, and ``If-Match`` on its ETag always;
each response's ETag and Content-Range are checked too), so an object replaced
mid-download is refused with ObjectChanged. ``max_concurrency`` workers write
each 1 MiB chunk into a temp file at its offset as it arrives; the calling
thread SHA-256 hashes the file in order, reading back (from the page cache)
each chunk of the contiguous prefix as soon as it is written, so the digest is
of the bytes in the file and no worker ever waits for the hashing. Memory is a
chunk per worker, never a part or the file. The temp file is renamed over the
destination only when complete: a failure or an interruption leaves the
destination untouched.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import math
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore import exceptions as boto_errors
from botocore.config import Config

from slsa_models.digest import CHUNK_SIZE, normalize_sha256, open_input, sha256_file
from slsa_models.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    ObjectChanged,
    SlsaModelsError,
    StoreError,
)
from slsa_models.store.base import (
    SMALL_OBJECT_LIMIT,
    ArtifactStore,
    MissingObjectError,
    Progress,
    Readable,
    StoredObject,
    check_sha256,
    copy_hashing,
    finish_download,
    lost_race,
    read_limited,
    temp_beside,
    writable,
)
from slsa_models.store.layout import validate_key, validate_prefix

MIB = 2**20
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
MAX_PARTS = 10_000
MAX_SINGLE_PUT = 5 * 2**30
DEFAULT_PART_SIZE = 16 * MIB
DEFAULT_MULTIPART_THRESHOLD = 16 * MIB
DEFAULT_DOWNLOAD_PART_SIZE = 8 * MIB
DEFAULT_MAX_CONCURRENCY = 8
READ_RETRIES = 2  # a part whose body breaks off mid-stream is resumed from where it stopped
PATH_STYLE_ENV = "SLSA_MODELS_S3_PATH_STYLE"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_BROKEN_BODY = (
    boto_errors.ReadTimeoutError,
    boto_errors.ResponseStreamingError,
    boto_errors.IncompleteReadError,
    boto_errors.ConnectionClosedError,
)
_DENIED_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
_log = logging.getLogger(__name__)


class _KeyExists(Exception):
    """A conditional write found the key already there."""


class S3Store(ArtifactStore):
    """An ArtifactStore in ``s3://bucket/prefix`` on AWS or any S3-compatible endpoint."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        path_style: bool | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        download_part_size: int = DEFAULT_DOWNLOAD_PART_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        if not _BUCKET.fullmatch(bucket):
            raise InputError(
                f"invalid S3 bucket name {bucket!r}: use 3-63 lowercase letters, digits, '.' or '-'"
            )
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
        if part_size < MIN_PART_SIZE:
            raise InputError(f"S3 part size must be at least {MIN_PART_SIZE} bytes, got {part_size}")
        if not 0 <= multipart_threshold <= MAX_SINGLE_PUT:
            raise InputError(
                f"S3 multipart threshold must be 0..{MAX_SINGLE_PUT} bytes, got {multipart_threshold}"
            )
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.uri = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        if download_part_size < 1:
            raise InputError(f"S3 download part size must be at least 1 byte, got {download_part_size}")
        if not 1 <= max_concurrency <= 64:
            raise InputError(f"S3 concurrency must be 1..64 requests, got {max_concurrency}")
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.download_part_size = download_part_size
        self.max_concurrency = max_concurrency
        # parts in transfer at once across every download and upload of this store (a folder
        # model moves several files at a time: they share these, not max_concurrency each)
        self._transfers = threading.BoundedSemaphore(max_concurrency)
        endpoint_url = resolve_endpoint_url(endpoint_url)
        self.client = make_client(endpoint_url, resolve_addressing_style(path_style, endpoint_url),
                                  max_pool_connections=max_concurrency + 16)
        self.endpoint = self.client.meta.endpoint_url

    def object_uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    # -- write-once --------------------------------------------------------------------

    def put_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        sha256: str | None = None,
        on_progress: Progress | None = None,
    ) -> StoredObject:
        full = self._full(key)
        expected = normalize_sha256(sha256) if sha256 is not None else None
        with open_input(path) as source:
            size = os.fstat(source.fileno()).st_size
            if size <= self.multipart_threshold:
                data = source.read()
                digest = hashlib.sha256(data).hexdigest()
                check_sha256(path, expected, digest)

                def upload() -> dict[str, Any]:
                    response = self._put_object(full, data, digest, IfNoneMatch="*")
                    if on_progress is not None:
                        on_progress(len(data))
                    return response

                return self._write_once(key, digest, len(data), upload)
            digest = expected or sha256_file(path)
            return self._write_once(
                key,
                digest,
                size,
                lambda: self._put_multipart(full, source, path, digest, size, on_progress),
            )

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        full = self._full(key)
        digest = hashlib.sha256(data).hexdigest()
        return self._write_once(
            key, digest, len(data), lambda: self._put_object(full, data, digest, IfNoneMatch="*")
        )

    def _write_once(
        self, key: str, digest: str, size: int, upload: Callable[[], dict[str, Any]]
    ) -> StoredObject:
        existing = self.head(key)
        if existing is not None:
            return self._same_or_conflict(existing, digest, size)
        try:
            with self._errors(key):
                response = upload()
        except _KeyExists:
            existing = self.head(key)
            if existing is None:
                raise ConflictError(
                    f"{self.object_uri(key)} is being written by another writer; retry"
                ) from None
            return self._same_or_conflict(existing, digest, size)
        return StoredObject(
            key=key,
            uri=self.object_uri(key),
            sha256=digest,
            size=size,
            version_id=response.get("VersionId"),
            etag=response.get("ETag"),
        )

    def _put_object(self, full: str, data: bytes, digest: str, **condition: str) -> dict[str, Any]:
        try:
            return self.client.put_object(
                Bucket=self.bucket,
                Key=full,
                Body=data,
                Metadata={"sha256": digest},
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(bytes.fromhex(digest)),
                **condition,
            )
        except boto_errors.ClientError as exc:
            if _code(exc) in _PRECONDITION_CODES:
                raise _KeyExists from exc
            raise

    def _put_multipart(
        self,
        full: str,
        source: BinaryIO,
        path: str | os.PathLike[str],
        digest: str,
        size: int,
        on_progress: Progress | None,
    ) -> dict[str, Any]:
        """Upload the parts in parallel; complete only if the file still hashes to ``digest``.

        Each of at most ``max_concurrency`` workers streams its part from the file (``pread``:
        nothing of it held in memory), after hashing it for the part's checksum, which S3
        verifies on receipt. Meanwhile this thread hashes the whole file in order, so the
        bytes are checked against ``digest`` while they go up. Memory stays at a few chunks
        per worker, whatever the part size. Progress is reported in part order.
        """
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS / MIB) * MIB)
        count = math.ceil(size / part_size)
        fd = source.fileno()
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full, Metadata={"sha256": digest}, ChecksumAlgorithm="SHA256"
        )["UploadId"]
        pool = ThreadPoolExecutor(min(self.max_concurrency, count), thread_name_prefix="s3-upload")
        pending: deque[tuple[int, Future[dict[str, Any]]]] = deque()
        parts: list[dict[str, Any]] = []

        def submit() -> None:
            number = len(parts) + len(pending) + 1
            start = (number - 1) * part_size
            length = min(part_size, size - start)
            pending.append((length, pool.submit(self._upload_part, full, upload_id, number,
                                                _FilePart(fd, start, length))))

        def finish_oldest() -> None:
            length, future = pending.popleft()
            parts.append(future.result())
            if on_progress is not None:
                on_progress(length)
            if len(parts) + len(pending) < count:
                submit()

        try:
            with pool:  # leaving it waits for every part in flight: none lands after the abort below
                for _ in range(min(self.max_concurrency, count)):
                    submit()
                whole, hashed = hashlib.sha256(), 0
                while chunk := os.pread(fd, CHUNK_SIZE, hashed):
                    whole.update(chunk)
                    hashed += len(chunk)
                    while pending and pending[0][1].done():
                        finish_oldest()
                while pending:
                    finish_oldest()
            check_sha256(path, digest, whole.hexdigest(), changed_hint=True)
            try:
                return self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
            except boto_errors.ClientError as exc:
                if _code(exc) in _PRECONDITION_CODES:
                    raise _KeyExists from exc
                raise
        except BaseException:
            self._abort(full, upload_id)
            raise

    def _upload_part(self, full: str, upload_id: str, number: int, body: _FilePart) -> dict[str, Any]:
        with self._transfers:
            checksum = _b64(body.sha256())
            response = self.client.upload_part(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
        return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    def _abort(self, full: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as exc:
            _log.warning("could not abort multipart upload %s of %s: %s", upload_id, full, exc)

    # -- compare-and-swap ----------------------------------------------------------------

    def read_with_tag(self, key: str) -> tuple[bytes, str] | None:
        try:
            with self._open_reader(key) as (reader, meta):
                return read_limited(reader, meta, SMALL_OBJECT_LIMIT), meta.etag or ""
        except MissingObjectError:
            return None

    def compare_and_swap(self, key: str, data: bytes, expected_tag: str | None) -> str:
        full = self._full(key)
        uri = self.object_uri(key)
        current = self.head(key)
        current_tag = current.etag if current is not None else None
        if current_tag != expected_tag:
            raise lost_race(uri, expected_tag, current_tag)
        condition = {"IfNoneMatch": "*"} if expected_tag is None else {"IfMatch": expected_tag}
        try:
            with self._errors(key):
                try:
                    response = self._put_object(full, data, hashlib.sha256(data).hexdigest(), **condition)
                except boto_errors.ClientError as exc:
                    # If-Match on a deleted key (any 404 but the bucket's own, which _errors names)
                    if expected_tag is not None and _status(exc) == 404 and _code(exc) != "NoSuchBucket":
                        raise _KeyExists from exc
                    raise
        except _KeyExists:
            raise lost_race(uri, expected_tag, found_known=False) from None
        return response["ETag"]

    # -- reading -----------------------------------------------------------------------------

    def head(self, key: str) -> StoredObject | None:
        full = self._full(key)
        with self._errors(key):
            try:
                response = self.client.head_object(Bucket=self.bucket, Key=full)
            except boto_errors.ClientError as exc:
                if _status(exc) != 404:
                    raise
                self._require_bucket()
                return None
        return self._object(key, response)

    @contextmanager
    def _open_reader(
        self, key: str, version_id: str | None = None
    ) -> Iterator[tuple[Readable, StoredObject]]:
        args = {"Bucket": self.bucket, "Key": self._full(key)}
        if version_id is not None:
            args["VersionId"] = version_id
        with self._errors(key, version_id):
            response = self.client.get_object(**args)
            body = response["Body"]
            try:
                yield body, self._object(key, response)
            finally:
                body.close()

    def _download(self, key: str, dest: Path, version_id: str | None, on_progress: Progress | None,
                  durable: bool) -> StoredObject:
        """Large objects come in concurrent ranged GETs (see the module docstring)."""
        def plain() -> StoredObject:
            return super(S3Store, self)._download(key, dest, version_id, on_progress, durable)

        first_end = self.download_part_size - 1
        args = {"Bucket": self.bucket, "Key": self._full(key), "Range": f"bytes=0-{first_end}"}
        if version_id is not None:
            args["VersionId"] = version_id
        with self._errors(key, version_id):
            try:
                response = self.client.get_object(**args)
            except boto_errors.ClientError as exc:
                if _code(exc) != "InvalidRange":
                    raise
                return plain()  # only an empty object has no byte 0: one plain GET
            body = response["Body"]
            try:
                meta = self._object(key, response)
                ranged = _CONTENT_RANGE.fullmatch(str(response.get("ContentRange", "")))
                total = int(ranged.group(3)) if ranged else meta.size
                pin = {"IfMatch": meta.etag}
                version = version_id or response.get("VersionId")
                if version_id is not None or version not in (None, "null"):  # "null": unversioned
                    pin["VersionId"] = version
                whole = total <= self.download_part_size or ranged is None
                if not whole and not meta.etag:  # nothing to pin the ranges to: one plain GET
                    body.close()
                    return plain()
                if ranged is not None and (int(ranged.group(1)), int(ranged.group(2))) != (
                        0, min(first_end, total - 1)):
                    raise StoreError(f"S3 request for {self.object_uri(key)} at {self.endpoint} failed:"
                                     f" asked for bytes 0-{first_end}, got {ranged.group(0)}")
                with writable(dest), temp_beside(dest, "part") as (tmp, sink):
                    if whole:
                        digest, size = copy_hashing(body, sink, on_progress)
                    else:
                        job = _RangedDownload(self, key, meta, total, pin, tmp, dest)
                        digest, size = job.run(body, on_progress)
                    finish_download(sink, tmp, dest, durable)
            finally:
                body.close()
        return dataclasses.replace(meta, sha256=digest, size=size)

    def _get_range(self, key: str, start: int, end: int, pin: dict[str, str],
                   meta: StoredObject, total: int, dest: Path) -> Any:
        """The body of bytes ``start..end-1`` of the object ``meta`` describes, or ObjectChanged."""
        args = {"Bucket": self.bucket, "Key": self._full(key), "Range": f"bytes={start}-{end - 1}", **pin}
        try:
            response = self.client.get_object(**args)
        except boto_errors.ClientError as exc:
            if _code(exc) in _PRECONDITION_CODES or _status(exc) == 412:
                raise self._changed(key, meta, total, dest, "its ETag no longer matches") from exc
            raise
        got = (response.get("ETag"), response.get("ContentRange"), int(response.get("ContentLength", -1)))
        if got != (meta.etag, f"bytes {start}-{end - 1}/{total}", end - start) or (
                response.get("VersionId") not in (None, "null", pin.get("VersionId"))):
            response["Body"].close()
            version = response.get("VersionId")
            raise self._changed(
                key, meta, total, dest,
                f"etag {got[0]}, range {got[1]} for bytes {start}-{end - 1}"
                + ("" if version in (None, "null") else f", version {version}"),  # "null": unversioned
            )
        return response["Body"]

    def _changed(self, key: str, meta: StoredObject, total: int, dest: Path, now: str) -> ObjectChanged:
        return ObjectChanged(
            f"{self.object_uri(key)} changed while it was being downloaded (etag {meta.etag}, {total} bytes"
            f" when the download started; now {now}): nothing was written to {dest}; download it again"
        )

    def list_objects(self, prefix: str) -> list[StoredObject]:
        validate_prefix(prefix)
        found: list[StoredObject] = []
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix):]
                    found.append(
                        StoredObject(
                            key=key,
                            uri=f"s3://{self.bucket}/{item['Key']}",
                            sha256="",
                            size=item["Size"],
                            etag=item.get("ETag"),
                            last_modified=_utc(item.get("LastModified")),
                        )
                    )
        return sorted(found, key=lambda obj: obj.key)

    # -- internals -----------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _object(self, key: str, response: dict[str, Any]) -> StoredObject:
        digest = str(response.get("Metadata", {}).get("sha256", "")).lower()
        return StoredObject(
            key=key,
            uri=self.object_uri(key),
            sha256=digest if _HEX64.fullmatch(digest) else "",
            size=int(response["ContentLength"]),
            version_id=response.get("VersionId"),
            etag=response.get("ETag"),
            last_modified=_utc(response.get("LastModified")),
        )

    def _require_bucket(self) -> None:
        with self._errors():
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except boto_errors.ClientError as exc:
                if _status(exc) == 404:
                    raise NotFoundError(f"S3 bucket {self.bucket!r} does not exist at {self.endpoint}") from exc
                raise

    @contextmanager
    def _errors(self, key: str | None = None, version_id: str | None = None) -> Iterator[None]:
        """Turn every boto3 failure inside into one SlsaModelsError with a one-line message."""
        try:
            yield
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as exc:
            uri = self.object_uri(key) if key is not None else self.uri
            if version_id is not None:
                uri = f"{uri} (version {version_id})"
            raise translate_error(exc, endpoint=self.endpoint, bucket=self.bucket, uri=uri) from exc


class _FilePart:
    """Bytes ``start..start+length-1`` of an open file as the seekable body botocore streams
    (and rewinds to retry), read with ``pread`` so that parts share one descriptor."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        self.fd, self.start, self.length, self.position = fd, start, length, 0

    def __len__(self) -> int:
        return self.length

    def read(self, size: int | None = -1) -> bytes:
        remaining = self.length - self.position
        size = remaining if size is None or size < 0 else min(size, remaining)
        data = os.pread(self.fd, size, self.start + self.position) if size else b""
        self.position += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.length}[whence]
        self.position = min(max(base + offset, 0), self.length)
        return self.position

    def tell(self) -> int:
        return self.position

    def sha256(self) -> bytes:
        """The part's SHA-256, streamed (the position is left where it was)."""
        digest, offset, end = hashlib.sha256(), self.start, self.start + self.length
        while offset < end and (chunk := os.pread(self.fd, min(CHUNK_SIZE, end - offset), offset)):
            digest.update(chunk)
            offset += len(chunk)
        return digest.digest()


class _Part:
    """Bytes ``start..end-1`` of the object; ``filled`` of them are in the file."""

    __slots__ = ("done", "end", "error", "filled", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.filled = 0
        self.done = False
        self.error: BaseException | None = None


class _SharedFd:
    """A file descriptor closed by its last user: a worker still reading a part after the
    download failed writes to the (already unlinked) temp file, never to a reused descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd, self._users, self._lock = fd, 1, threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            os.close(self.fd)


class _RangedDownload:
    """One concurrent ranged download into ``tmp`` (see the module docstring).

    Workers fetch the parts, in order of start, ``max_concurrency`` at a time, and write
    each chunk into the file as it arrives; none waits for the hashing. This thread
    hashes the file in order, reading back (from the page cache) each chunk of the
    contiguous prefix as soon as it is written: the digest is of the bytes in the file.
    Memory: one chunk per worker and one for the hashing, whatever the size.
    """

    def __init__(self, store: S3Store, key: str, meta: StoredObject, total: int,
                 pin: dict[str, str], tmp: Path, dest: Path) -> None:
        self.store, self.key, self.meta, self.total, self.pin = store, key, meta, total, pin
        self.tmp, self.dest = tmp, dest
        size = store.download_part_size
        self.parts = [_Part(start, min(start + size, total)) for start in range(0, total, size)]
        self.ready = threading.Condition()
        self.cancelled = threading.Event()

    def run(self, first_body: Any, on_progress: Progress | None) -> tuple[str, int]:
        """Fetch every part (the first from ``first_body``); (sha256 hex, size) of the bytes."""
        fd = _SharedFd(os.open(self.tmp, os.O_RDWR | os.O_CLOEXEC))
        pool = ThreadPoolExecutor(max_workers=min(self.store.max_concurrency, len(self.parts)),
                                  thread_name_prefix="s3-download")
        digest = hashlib.sha256()
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        hashed = 0
        try:
            for index, part in enumerate(self.parts):
                fd.acquire()
                future = pool.submit(self._fetch, part, first_body if index == 0 else None, fd.fd)
                future.add_done_callback(lambda _: fd.release())  # also when cancelled unstarted
            for part in self.parts:
                while hashed < part.end:
                    with self.ready:
                        while part.start + part.filled == hashed and part.error is None:
                            self.ready.wait()
                        if part.error is not None:
                            raise part.error
                        written = part.start + part.filled
                    while hashed < written:
                        count = os.preadv(fd.fd, [view[:min(CHUNK_SIZE, written - hashed)]], hashed)
                        if not count:
                            raise StoreError(f"{self.tmp}: shorter than the {written} bytes written to it")
                        digest.update(view[:count])
                        hashed += count
                        if on_progress is not None:
                            on_progress(count)
            if hashed != self.total or os.fstat(fd.fd).st_size != self.total:
                raise StoreError(f"S3 download of {self.store.object_uri(self.key)} is incomplete:"
                                 f" {hashed} of {self.total} bytes")
        except BaseException:
            self.cancelled.set()
            raise
        finally:
            view.release()
            pool.shutdown(wait=False, cancel_futures=True)
            fd.release()
        return digest.hexdigest(), hashed

    def _fetch(self, part: _Part, body: Any, fd: int) -> None:
        """Worker: read ``part`` (from ``body`` or a pinned ranged GET) into the file."""
        size, broken, filled = part.end - part.start, 0, 0
        try:
            with self.store._transfers, self.store._errors(self.key, self.pin.get("VersionId")):
                while filled < size:
                    if self.cancelled.is_set():
                        return
                    if body is None:
                        body = self.store._get_range(self.key, part.start + filled, part.end, self.pin,
                                                     self.meta, self.total, self.dest)
                    try:
                        while filled < size:
                            if self.cancelled.is_set():
                                return
                            chunk = body.read(min(CHUNK_SIZE, size - filled))
                            if not chunk:
                                raise boto_errors.IncompleteReadError(actual_bytes=filled, expected_bytes=size)
                            self._write(fd, chunk, part.start + filled)
                            filled += len(chunk)
                            with self.ready:
                                part.filled = filled
                                self.ready.notify_all()
                            del chunk
                    except _BROKEN_BODY:
                        broken += 1
                        if broken > READ_RETRIES:
                            raise
                        _log.debug("resuming bytes %d-%d of %s", part.start + filled, part.end - 1, self.key)
                    finally:
                        body.close()
                        body = None
            with self.ready:
                part.done = True
                self.ready.notify_all()
        except BaseException as exc:  # noqa: BLE001 (handed to the hashing thread, which raises it)
            with self.ready:
                part.error = exc
                self.ready.notify_all()

    def _write(self, fd: int, chunk: bytes, offset: int) -> None:
        view = memoryview(chunk)
        try:
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        except OSError as exc:
            raise InputError(f"cannot write {self.dest}: {exc.strerror}") from exc
        finally:
            view.release()


def translate_error(exc: Exception, *, endpoint: str, bucket: str, uri: str) -> SlsaModelsError:
    """The SlsaModelsError for a boto3 failure on ``uri``: one line a user can act on."""
    if isinstance(exc, (boto_errors.ConnectionError, boto_errors.ConnectionClosedError)):
        return StoreError(_one_line(f"cannot reach S3 endpoint {endpoint}: {exc}"))
    if isinstance(
        exc,
        (
            boto_errors.NoCredentialsError,
            boto_errors.PartialCredentialsError,
            boto_errors.CredentialRetrievalError,
        ),
    ):
        return StoreError(
            _one_line(
                f"no usable AWS credentials for {uri} ({exc}): set AWS_ACCESS_KEY_ID and"
                " AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if temporary), or AWS_PROFILE"
            )
        )
    if isinstance(exc, boto_errors.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = _status(exc)
        if code == "NoSuchBucket":
            return NotFoundError(f"S3 bucket {bucket!r} does not exist at {endpoint}")
        if code in {"NoSuchKey", "NoSuchVersion"} or status == 404:
            return MissingObjectError(f"{uri}: no such object")
        if code in _DENIED_CODES or status == 403:
            reason = code if code and not code.isdigit() else f"HTTP {status}"
            return StoreError(
                f"access denied to {uri} at {endpoint} ({reason}): check the AWS credentials"
                " (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket policy"
            )
        message = error.get("Message") or f"HTTP {status}"
        return StoreError(_one_line(f"S3 request for {uri} at {endpoint} failed: {code}: {message}"))
    return StoreError(_one_line(f"S3 request for {uri} at {endpoint} failed: {exc}"))


def resolve_endpoint_url(explicit: str | None) -> str | None:
    """The endpoint: the parameter, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's."""
    endpoint = explicit
    if not endpoint and os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return None
    if not endpoint.startswith(("http://", "https://")):
        raise InputError(f"invalid S3 endpoint URL {endpoint!r}: it must start with http:// or https://")
    return endpoint.rstrip("/")


def resolve_addressing_style(path_style: bool | None, endpoint_url: str | None) -> str | None:
    """'path' or 'virtual' when chosen (parameter, then $SLSA_MODELS_S3_PATH_STYLE), else
    'path' for a custom endpoint, else None (boto3's default)."""
    if path_style is None:
        env = os.environ.get(PATH_STYLE_ENV, "").strip().lower()
        if env in {"1", "true", "yes", "on"}:
            path_style = True
        elif env in {"0", "false", "no", "off"}:
            path_style = False
        elif env:
            raise InputError(f"{PATH_STYLE_ENV} must be 1 or 0, got {env!r}")
    if path_style is None:
        return "path" if endpoint_url else None
    return "path" if path_style else "virtual"


def make_client(endpoint_url: str | None, addressing_style: str | None, *,
                max_pool_connections: int = 10) -> Any:
    """A boto3 S3 client that fails fast on an unreachable endpoint.

    Checksums are sent and validated only where this module asks for them, so a
    download is hashed once (by us) and no aws-chunked trailers are sent.
    """
    session = boto3.session.Session()
    region = session.region_name or ("us-east-1" if endpoint_url else None)
    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        s3={"addressing_style": addressing_style} if addressing_style else None,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_extra="slsa-models",
    )
    try:
        return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
    except ValueError as exc:
        raise InputError(_one_line(f"invalid S3 endpoint URL {endpoint_url!r}: {exc}")) from exc
    except boto_errors.BotoCoreError as exc:
        raise StoreError(_one_line(f"cannot set up the S3 client: {exc}")) from exc


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _code(exc: boto_errors.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: boto_errors.ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _utc(when: datetime | None) -> datetime | None:
    return when.astimezone(timezone.utc) if when is not None else None


def _one_line(text: str) -> str:
    return " ".join(text.split())
