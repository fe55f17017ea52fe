"""The S3 backend's own behaviour, against moto's real HTTP server on 127.0.0.1.

Shared behaviour (round trip, write-once, CAS, listing...) is in test_store_file.py
and runs on both backends.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from slsa_models.errors import ConflictError, InputError, NotFoundError, SlsaModelsError, StoreError
from slsa_models.store import MissingObjectError, open_store
from slsa_models.store.layout import model_key
from slsa_models.store.s3 import MIN_PART_SIZE, S3Store

PART = MIN_PART_SIZE  # S3's smallest part; moto enforces it too
BIG = os.urandom(1024) * (2 * PART // 1024) + b"tail" * 1000  # 3 parts
BIG_SHA = hashlib.sha256(BIG).hexdigest()
BIG_KEY = model_key("digits", BIG_SHA, "tensorflow_model.keras")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    return bucket, prefix + "/"


def _multipart_store(uri: str) -> S3Store:
    store = open_store(uri, multipart_threshold=PART, part_size=PART)
    assert isinstance(store, S3Store)
    return store


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "tensorflow_model.keras"
    path.write_bytes(BIG)
    return path


def _no_uploads(s3_client: Any, bucket: str) -> bool:
    return not s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")


# -- checksums and metadata ---------------------------------------------------------------------


def test_single_put_sends_sha256_metadata_and_checksum(s3_store_uri: str, s3_client: Any) -> None:
    store = open_store(s3_store_uri)
    data = b"small model"
    digest = hashlib.sha256(data).digest()
    store.put_bytes("models/m/f.bin", data)
    bucket, prefix = _split(s3_store_uri)
    head = s3_client.head_object(Bucket=bucket, Key=prefix + "models/m/f.bin", ChecksumMode="ENABLED")
    assert head["Metadata"] == {"sha256": digest.hex()}
    assert head["ChecksumSHA256"] == _b64(digest)


def test_multipart_upload(s3_store_uri: str, s3_client: Any, big_file: Path, tmp_path: Path) -> None:
    store = _multipart_store(s3_store_uri)
    progress: list[int] = []
    stored = store.put_file(BIG_KEY, big_file, on_progress=progress.append)
    assert (stored.sha256, stored.size) == (BIG_SHA, len(BIG))
    assert progress == [PART, PART, len(BIG) - 2 * PART]
    assert stored.etag is not None and stored.etag.strip('"').endswith("-3")

    bucket, prefix = _split(s3_store_uri)
    head = s3_client.head_object(Bucket=bucket, Key=prefix + BIG_KEY, ChecksumMode="ENABLED")
    assert head["Metadata"] == {"sha256": BIG_SHA}
    part_digests = b"".join(
        hashlib.sha256(BIG[i:i + PART]).digest() for i in range(0, len(BIG), PART)
    )
    # the composite checksum S3 builds from the per-part SHA-256 checksums we sent
    assert head["ChecksumSHA256"].split("-")[0] == _b64(hashlib.sha256(part_digests).digest())
    assert _no_uploads(s3_client, bucket)

    got = store.download(BIG_KEY, tmp_path / "got.keras")
    assert (got.sha256, got.size) == (BIG_SHA, len(BIG))
    assert store.put_file(BIG_KEY, big_file, sha256=BIG_SHA).etag == stored.etag  # no-op


def test_multipart_wrong_sha256_aborts(s3_store_uri: str, s3_client: Any, big_file: Path) -> None:
    store = _multipart_store(s3_store_uri)
    wrong = "0" * 64
    with pytest.raises(InputError) as error:
        store.put_file(BIG_KEY, big_file, sha256=wrong)
    assert str(error.value) == (
        f"{big_file}: its sha256 is {BIG_SHA}, not the {wrong} expected"
        " (or the file changed while uploading); nothing was stored"
    )
    bucket, _ = _split(s3_store_uri)
    assert store.head(BIG_KEY) is None
    assert _no_uploads(s3_client, bucket)


def test_multipart_failure_aborts_upload(s3_store_uri: str, s3_client: Any, big_file: Path) -> None:
    store = _multipart_store(s3_store_uri)

    def interrupt(_count: int) -> None:
        raise KeyboardInterrupt  # e.g. Ctrl-C after the first part

    with pytest.raises(KeyboardInterrupt):
        store.put_file(BIG_KEY, big_file, on_progress=interrupt)
    bucket, _ = _split(s3_store_uri)
    assert store.head(BIG_KEY) is None
    assert _no_uploads(s3_client, bucket)


def test_multipart_loses_race_to_another_writer(s3_store_uri: str, s3_client: Any, big_file: Path) -> None:
    """Another writer puts the key while our parts upload: If-None-Match on complete refuses ours."""
    store = _multipart_store(s3_store_uri)
    bucket, prefix = _split(s3_store_uri)

    def other_writer(_count: int) -> None:
        if not s3_client.list_objects_v2(Bucket=bucket).get("Contents"):
            s3_client.put_object(Bucket=bucket, Key=prefix + BIG_KEY, Body=b"theirs")

    with pytest.raises(ConflictError) as error:
        store.put_file(BIG_KEY, big_file, on_progress=other_writer)
    assert str(error.value) == (
        f"{store.object_uri(BIG_KEY)} already holds different bytes (sha256:{hashlib.sha256(b'theirs').hexdigest()},"
        f" 6 bytes; refusing to write sha256:{BIG_SHA}, {len(BIG)} bytes): stored objects are never overwritten"
    )
    assert store.read_bytes(BIG_KEY) == b"theirs"
    assert _no_uploads(s3_client, bucket)


def test_single_put_loses_race_to_another_writer(s3_store_uri: str) -> None:
    """The HEAD saw nothing, then the key appeared: If-None-Match: * decides."""

    class StaleHead(S3Store):
        stale = True

        def head(self, key: str) -> Any:
            if self.stale:
                self.stale = False
                return None
            return super().head(key)

    plain = open_store(s3_store_uri)
    plain.put_bytes("k.bin", b"first")
    store = StaleHead(*_split(s3_store_uri))
    with pytest.raises(ConflictError) as error:
        store.put_bytes("k.bin", b"second")
    assert str(error.value) == (
        f"{store.object_uri('k.bin')} already holds different bytes (sha256:{hashlib.sha256(b'first').hexdigest()},"
        f" 5 bytes; refusing to write sha256:{hashlib.sha256(b'second').hexdigest()}, 6 bytes):"
        " stored objects are never overwritten"
    )
    store.stale = True
    assert store.put_bytes("k.bin", b"first").sha256 == hashlib.sha256(b"first").hexdigest()
    assert plain.read_bytes("k.bin") == b"first"


def test_a_file_of_more_parts_than_s3_allows_goes_up_in_larger_parts(
    s3_store_uri: str, big_file: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """S3 takes at most 10,000 parts: a larger file grows its parts (whole MiB) to fit. The limit is
    lowered to 2 here instead of uploading 160 GiB: 3 parts at the configured size become 2 of 6 MiB."""
    import slsa_models.store.s3 as s3

    monkeypatch.setattr(s3, "MAX_PARTS", 2)
    store = _multipart_store(s3_store_uri)
    progress: list[int] = []
    stored = store.put_file(BIG_KEY, big_file, on_progress=progress.append)
    assert progress == [6 * 2**20, len(BIG) - 6 * 2**20]
    assert stored.etag is not None and stored.etag.strip('"').endswith("-2")
    assert store.read_bytes(BIG_KEY, max_size=len(BIG)) == BIG


@pytest.mark.parametrize("change", ["created", "replaced", "deleted"])
def test_compare_and_swap_loses_a_race_after_its_read(s3_store_uri: str, s3_client: Any, change: str) -> None:
    """Our read saw the tag we expect, then another writer changed the key before our write: the
    conditional put (If-None-Match / If-Match) refuses ours in one line, and theirs stays."""
    plain = open_store(s3_store_uri)
    key = "deployments/d/current.json"
    expected = plain.compare_and_swap(key, b"v1", None) if change != "created" else None
    seen = plain.head(key)
    if change == "deleted":
        bucket, prefix = _split(s3_store_uri)
        s3_client.delete_object(Bucket=bucket, Key=prefix + key)
    else:
        plain.compare_and_swap(key, b"theirs", expected)

    class StaleRead(S3Store):
        def head(self, key: str) -> Any:
            return seen

    store = StaleRead(*_split(s3_store_uri))
    with pytest.raises(ConflictError) as error:
        store.compare_and_swap(key, b"ours", expected)
    assert str(error.value) == (
        f"{store.object_uri(key)} changed since it was read (expected {f'tag {expected}' if expected else 'none'}):"
        " another writer got there first; read it again and retry")
    assert plain.read_with_tag(key) == (None if change == "deleted" else
                                        (b"theirs", plain.head(key).etag))  # type: ignore[union-attr]


def test_a_winner_not_yet_visible_is_one_line(s3_store_uri: str, s3_client: Any) -> None:
    """Our conditional put is refused, yet the key is not there when we look again (S3's 409 for a
    write still in flight, or a winner already deleted; here the other writer puts the key just
    before our put and deletes it just after): refuse in one line, asking for a retry."""
    store = open_store(s3_store_uri)
    bucket, prefix = _split(s3_store_uri)

    def theirs_put(**_: Any) -> None:  # a before-call handler's return value would replace the call
        s3_client.put_object(Bucket=bucket, Key=prefix + "k.bin", Body=b"theirs")

    def theirs_deleted(**_: Any) -> None:
        s3_client.delete_object(Bucket=bucket, Key=prefix + "k.bin")

    store.client.meta.events.register("before-call.s3.PutObject", theirs_put)  # type: ignore[attr-defined]
    store.client.meta.events.register("after-call.s3.PutObject", theirs_deleted)  # type: ignore[attr-defined]
    with pytest.raises(ConflictError) as error:
        store.put_bytes("k.bin", b"ours")
    assert str(error.value) == f"{store.object_uri('k.bin')} is being written by another writer; retry"
    assert store.head("k.bin") is None


def test_compare_and_swap_whose_bucket_went_after_its_read(s3_store_uri: str, s3_client: Any,
                                                           s3_server: str) -> None:
    """The bucket is deleted between the CAS's read and its conditional write: that 404 is the
    missing bucket, not a record another writer deleted."""
    store = open_store(s3_store_uri)
    bucket, prefix = _split(s3_store_uri)
    key = "deployments/d/current.json"
    tag = store.compare_and_swap(key, b"v1", None)

    def bucket_deleted(**_: Any) -> None:  # a before-call handler's return value would replace the call
        s3_client.delete_object(Bucket=bucket, Key=prefix + key)
        s3_client.delete_bucket(Bucket=bucket)

    store.client.meta.events.register("before-call.s3.PutObject", bucket_deleted)  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError) as error:
        store.compare_and_swap(key, b"v2", tag)
    assert str(error.value) == f"S3 bucket {bucket!r} does not exist at {s3_server}"


def test_compare_and_swap_refused_after_its_read_names_the_key(s3_store_uri: str, s3_server: str) -> None:
    """The credentials stop working between the CAS's read and its write (moto starts checking them
    there): the refusal names the key, and the record keeps its bytes."""
    import moto.settings

    store = open_store(s3_store_uri)
    key = "deployments/d/current.json"
    tag = store.compare_and_swap(key, b"v1", None)
    with pytest.MonkeyPatch.context() as moto_auth:
        store.client.meta.events.register(  # type: ignore[attr-defined]
            "before-call.s3.PutObject",
            lambda **_: moto_auth.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0))
        with pytest.raises(StoreError) as error:
            store.compare_and_swap(key, b"v2", tag)
    assert str(error.value) == (
        f"access denied to {store.object_uri(key)} at {s3_server} (InvalidAccessKeyId): check the AWS credentials"
        " (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket policy")
    assert open_store(s3_store_uri).read_with_tag(key) == (b"v1", tag)


def test_part_size_floor(s3_store_uri: str) -> None:
    with pytest.raises(InputError) as error:
        open_store(s3_store_uri, part_size=PART - 1)
    assert str(error.value) == f"S3 part size must be at least {PART} bytes, got {PART - 1}"


def test_objects_written_by_others(s3_store_uri: str, s3_client: Any, tmp_path: Path) -> None:
    """No sha256 metadata: write-once compares by hashing; download never trusts metadata."""
    store = open_store(s3_store_uri)
    bucket, prefix = _split(s3_store_uri)
    s3_client.put_object(Bucket=bucket, Key=prefix + "bare.bin", Body=b"bare")
    s3_client.put_object(Bucket=bucket, Key=prefix + "lying.bin", Body=b"real", Metadata={"sha256": "1" * 64})
    assert store.head("bare.bin").sha256 == ""  # type: ignore[union-attr]
    assert store.put_bytes("bare.bin", b"bare").sha256 == hashlib.sha256(b"bare").hexdigest()
    with pytest.raises(ConflictError):
        store.put_bytes("bare.bin", b"other")
    got = store.download("lying.bin", tmp_path / "lying.bin")
    assert got.sha256 == hashlib.sha256(b"real").hexdigest()


def test_versions(s3_versioned_store_uri: str, s3_client: Any, tmp_path: Path) -> None:
    store = open_store(s3_versioned_store_uri)
    key = "deployments/digits/current.json"
    store.compare_and_swap(key, b"v1", None)
    first = store.head(key)
    assert first is not None and first.version_id
    store.compare_and_swap(key, b"v2", first.etag)
    got = store.download(key, tmp_path / "old.json", version_id=first.version_id)
    assert (tmp_path / "old.json").read_bytes() == b"v1"
    assert got.version_id == first.version_id and got.etag == first.etag
    put = store.put_bytes("models/a.bin", b"a")
    assert put.version_id and put.version_id == store.head("models/a.bin").version_id  # type: ignore[union-attr]


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_endpoint_from_environment(
    variable: str, s3_store_uri: str, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv(variable, s3_server)
    store = open_store(s3_store_uri)
    assert store.endpoint == s3_server  # type: ignore[attr-defined]
    store.put_bytes("x.bin", b"x")
    assert store.read_bytes("x.bin") == b"x"


def test_endpoint_parameter_wins(s3_store_uri: str, s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    store = open_store(s3_store_uri, endpoint_url=s3_server)
    assert store.put_bytes("x.bin", b"x").size == 1


def test_addressing_style(s3_store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def style(**kwargs: Any) -> str | None:
        store = open_store(s3_store_uri, **kwargs)
        return (store.client.meta.config.s3 or {}).get("addressing_style")  # type: ignore[attr-defined]

    assert style() == "path"  # a custom endpoint defaults to path style
    assert style(path_style=False) == "virtual"
    monkeypatch.setenv("SLSA_MODELS_S3_PATH_STYLE", "0")
    assert style() == "virtual"
    assert style(path_style=True) == "path"
    monkeypatch.setenv("SLSA_MODELS_S3_PATH_STYLE", "1")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert style() == "path"
    monkeypatch.setenv("SLSA_MODELS_S3_PATH_STYLE", "maybe")
    with pytest.raises(InputError) as error:
        style()
    assert str(error.value) == "SLSA_MODELS_S3_PATH_STYLE must be 1 or 0, got 'maybe'"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://", "store URI 's3://' names no bucket: use s3://bucket/prefix"),
        ("s3://Bad_Bucket/x", "invalid S3 bucket name 'Bad_Bucket': use 3-63 lowercase letters, digits, '.' or '-'"),
        ("s3://bucket/a//b", "invalid store key 'a//b': component '' must be letters, digits and '._+=@,~-', not empty and not starting with '.'"),
        ("s3://bucket/x?y=1", "store URI 's3://bucket/x?y=1' cannot have a query or fragment"),
    ],
)
def test_bad_s3_uris(uri: str, message: str) -> None:
    with pytest.raises(InputError) as error:
        open_store(uri)
    assert str(error.value) == message


def test_store_and_object_uris(s3_store_uri: str) -> None:
    bucket, _ = _split(s3_store_uri)
    store = open_store(f"s3://{bucket}/a/b/")
    assert store.uri == f"s3://{bucket}/a/b"
    assert store.object_uri("k/v") == f"s3://{bucket}/a/b/k/v"
    bare = open_store(f"s3://{bucket}")
    assert bare.uri == f"s3://{bucket}" and bare.object_uri("k") == f"s3://{bucket}/k"
    bare.put_bytes("k", b"1")
    assert [o.key for o in bare.list_objects("")] == ["k"]
    assert store.list_objects("") == []


def test_bad_endpoint_url() -> None:
    with pytest.raises(InputError) as error:
        open_store("s3://bucket/x", endpoint_url="127.0.0.1:9000")
    assert str(error.value) == (
        "invalid S3 endpoint URL '127.0.0.1:9000': it must start with http:// or https://"
    )


# -- failures: one line, the right class, fast ----------------------------------------------------


def _every_operation(store: Any, tmp_path: Path) -> list[Any]:
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc")
    return [
        lambda: store.head("k"),
        lambda: store.put_bytes("k", b"abc"),
        lambda: store.put_file("k", source),
        lambda: store.download("k", tmp_path / "dest.bin"),
        lambda: store.read_bytes("k"),
        lambda: store.read_with_tag("k"),
        lambda: store.compare_and_swap("k", b"x", None),
        lambda: store.list_objects(""),
    ]


def test_unreachable_endpoint(s3_server: str, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    store = open_store("s3://bucket/prefix", endpoint_url=endpoint)
    started = time.monotonic()
    with pytest.raises(StoreError) as error:
        store.head("k")
    elapsed = time.monotonic() - started
    assert str(error.value) == (
        f'cannot reach S3 endpoint {endpoint}: Could not connect to the endpoint URL: "{endpoint}/bucket/prefix/k"'
    )
    assert elapsed < 10
    for operation in _every_operation(store, tmp_path)[1:3]:
        with pytest.raises(StoreError, match=f"^cannot reach S3 endpoint {endpoint}: "):
            operation()
    assert not (tmp_path / "dest.bin").exists()


def test_missing_bucket(s3_server: str, tmp_path: Path) -> None:
    store = open_store("s3://no-such-bucket-here/prefix", endpoint_url=s3_server)
    for operation in _every_operation(store, tmp_path):
        with pytest.raises(NotFoundError) as error:
            operation()
        assert str(error.value) == f"S3 bucket 'no-such-bucket-here' does not exist at {s3_server}"
        assert not isinstance(error.value, MissingObjectError)
    assert not (tmp_path / "dest.bin").exists()


def test_missing_key_and_version(s3_versioned_store_uri: str, tmp_path: Path) -> None:
    store = open_store(s3_versioned_store_uri)
    assert store.head("nope") is None
    assert store.read_with_tag("nope") is None
    with pytest.raises(MissingObjectError) as error:
        store.download("nope", tmp_path / "nope")
    assert str(error.value) == f"{store.object_uri('nope')}: no such object"
    store.put_bytes("yes", b"1")
    with pytest.raises(SlsaModelsError) as error:
        store.download("yes", tmp_path / "yes", version_id="no-such-version")
    assert str(error.value) == f"{store.object_uri('yes')} (version no-such-version): no such object"
    assert not (tmp_path / "yes").exists() and not (tmp_path / "nope").exists()


def test_missing_credentials(s3_store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    store = open_store(s3_store_uri)
    with pytest.raises(StoreError) as error:
        store.put_bytes("k", b"x")
    assert str(error.value) == (
        f"no usable AWS credentials for {store.object_uri('k')} (Unable to locate credentials):"
        " set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if temporary), or AWS_PROFILE"
    )


def test_access_denied(s3_store_uri: str, s3_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto checks credentials once told to; the dummy key is then unknown, as on AWS."""
    import moto.settings

    store = open_store(s3_store_uri)
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    advice = (
        "check the AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE)"
        " and the bucket policy"
    )
    with pytest.raises(StoreError) as error:
        store.put_bytes("k", b"x")  # HEAD first: a bare 403, no error body
    assert str(error.value) == f"access denied to {store.object_uri('k')} at {s3_server} (HTTP 403): {advice}"
    with pytest.raises(StoreError) as error:
        store.read_bytes("k")
    assert str(error.value) == (
        f"access denied to {store.object_uri('k')} at {s3_server} (InvalidAccessKeyId): {advice}"
    )
