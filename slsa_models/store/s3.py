"""The ``s3://`` backend, on boto3.

Write-once puts send ``If-None-Match: *`` (on PutObject and on
CompleteMultipartUpload). A HEAD first makes the common cases cheap and keeps
servers that ignore the header safe against sequential overwrites: an existing
key holding the same SHA-256 is a no-op, any other bytes are a ConflictError.
Every object carries its SHA-256 twice: in metadata (``sha256``, hex, of the
whole object) and as the S3 checksum (``x-amz-checksum-sha256``, per part for
multipart uploads), which S3 verifies on receipt.

Memory stays bounded by one part: files up to ``multipart_threshold`` are read
once into memory, hashed and put; larger files go up part by part, with the
whole-object digest checked before the upload is completed (and the upload
aborted on any failure).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, BinaryIO

import boto3
from botocore import exceptions as boto_errors
from botocore.config import Config

from slsa_models.digest import normalize_sha256, open_input, sha256_file
from slsa_models.errors import ConflictError, InputError, NotFoundError, SlsaModelsError, StoreError
from slsa_models.store.base import (
    SMALL_OBJECT_LIMIT,
    ArtifactStore,
    MissingObjectError,
    Progress,
    Readable,
    StoredObject,
    check_sha256,
    lost_race,
    read_limited,
)
from slsa_models.store.layout import validate_key, validate_prefix

MIB = 2**20
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
MAX_PARTS = 10_000
MAX_SINGLE_PUT = 5 * 2**30
DEFAULT_PART_SIZE = 16 * MIB
DEFAULT_MULTIPART_THRESHOLD = 16 * MIB
PATH_STYLE_ENV = "SLSA_MODELS_S3_PATH_STYLE"

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
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
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        endpoint_url = resolve_endpoint_url(endpoint_url)
        self.client = make_client(endpoint_url, resolve_addressing_style(path_style, endpoint_url))
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
        """Upload part by part; complete only if the bytes sent hash to ``digest``."""
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS / MIB) * MIB)
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full, Metadata={"sha256": digest}, ChecksumAlgorithm="SHA256"
        )["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            whole = hashlib.sha256()
            source.seek(0)
            while chunk := source.read(part_size):
                # one part in memory at a time: ``del chunk`` below frees it before the next read
                whole.update(chunk)
                checksum = _b64(hashlib.sha256(chunk).digest())
                number = len(parts) + 1
                response = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum})
                if on_progress is not None:
                    on_progress(len(chunk))
                del chunk
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
                    if expected_tag is not None and _code(exc) in {"NoSuchKey", "404"}:
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


def make_client(endpoint_url: str | None, addressing_style: str | None) -> Any:
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
