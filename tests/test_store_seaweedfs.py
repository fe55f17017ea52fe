"""Parallel uploads and concurrent ranged downloads against SeaweedFS, a real S3 server that
(unlike moto) verifies the ``x-amz-checksum-sha256`` of every part it receives."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slsa_models.errors import ObjectChanged, StoreError
from slsa_models.stack import seaweedfs
from slsa_models.stack.config import StackConfig
from slsa_models.stack.process import free_ports
from slsa_models.store.layout import model_key
from slsa_models.store.s3 import MIB, MIN_PART_SIZE, S3Store

REPO = Path(__file__).resolve().parents[1]
DATA = os.urandom(MIB) * 11 + os.urandom(12_345)  # 3 parts of 5 MiB up, 12 parts of 1 MiB down
DATA_SHA = hashlib.sha256(DATA).hexdigest()
KEY = model_key("m", DATA_SHA, "model.safetensors")


@pytest.fixture(scope="module")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    home = tmp_path_factory.mktemp("weed")
    config = StackConfig(home=home / "stack", checkout=REPO, s3_port=free_ports("127.0.0.1", 1)[0], bucket="models")
    patch = pytest.MonkeyPatch()
    try:
        seaweedfs.start(config, dict(os.environ))
        seaweedfs.ensure_bucket(config)
        for name, value in seaweedfs.aws_environment(config).items():
            patch.setenv(name, value)
        yield config
    finally:
        patch.undo()
        seaweedfs.service(config).stop()


def _store(prefix: str) -> S3Store:
    return S3Store("models", prefix, multipart_threshold=MIN_PART_SIZE, part_size=MIN_PART_SIZE,
                   download_part_size=MIB, max_concurrency=4)


def test_parallel_upload_then_ranged_download(weed: StackConfig, tmp_path: Path) -> None:
    source = tmp_path / "model.safetensors"
    source.write_bytes(DATA)
    store = _store("round-trip")
    stored = store.put_file(KEY, source)
    assert (stored.sha256, stored.size) == (DATA_SHA, len(DATA))
    assert stored.etag is not None and stored.etag.strip('"').endswith("-3")
    got = store.download(KEY, tmp_path / "got")
    assert (got.sha256, got.size, got.etag) == (DATA_SHA, len(DATA), stored.etag)
    assert (tmp_path / "got").read_bytes() == DATA


def test_a_part_whose_bytes_differ_from_its_checksum_is_refused(weed: StackConfig, tmp_path: Path) -> None:
    """The checksum sent is of the file; the bytes sent are not: SeaweedFS refuses the part."""
    source = tmp_path / "model.safetensors"
    source.write_bytes(DATA)

    class Corrupting(S3Store):
        def _upload_part(self, full: str, upload_id: str, number: int, body: Any) -> dict[str, Any]:
            if number == 2:
                read = body.read

                def corrupted(size: int | None = -1) -> bytes:
                    data = read(size)
                    return bytes([data[0] ^ 1]) + data[1:] if data else data

                body.read = corrupted  # the checksum (body.sha256) is still of the file's bytes
            return super()._upload_part(full, upload_id, number, body)

    store = Corrupting("models", "corrupt", multipart_threshold=MIN_PART_SIZE, part_size=MIN_PART_SIZE,
                       max_concurrency=4)
    with pytest.raises(StoreError) as error:
        store.put_file(KEY, source)
    # SeaweedFS's error code, then its message
    assert re.fullmatch(re.escape(f"S3 request for {store.object_uri(KEY)} at {store.endpoint} failed: ")
                        + r"BadDigest: [^\n]+", str(error.value)), str(error.value)
    assert store.head(KEY) is None
    client = seaweedfs.s3_client(weed)
    assert not client.list_multipart_uploads(Bucket="models", Prefix="corrupt/").get("Uploads")


def test_object_replaced_mid_download_is_refused(weed: StackConfig, tmp_path: Path) -> None:
    client = seaweedfs.s3_client(weed)

    class ReplacedMidway(S3Store):
        def _get_range(self, key: str, start: int, end: int, *args: Any) -> Any:
            if start == 3 * MIB:  # another writer, between two parts
                client.put_object(Bucket="models", Key=f"replaced/{KEY}", Body=DATA[::-1])
            return super()._get_range(key, start, end, *args)

    store = ReplacedMidway("models", "replaced", download_part_size=MIB, max_concurrency=3)
    first = store.put_bytes(KEY, DATA)
    with pytest.raises(ObjectChanged) as error:
        store.download(KEY, tmp_path / "m")
    assert str(error.value) == (
        f"{store.object_uri(KEY)} changed while it was being downloaded (etag {first.etag}, {len(DATA)} bytes"
        f" when the download started; now its ETag no longer matches): nothing was written to {tmp_path / 'm'};"
        " download it again")
    assert not list(tmp_path.iterdir())
