"""Concurrent ranged downloads and parallel multipart uploads, on moto's real HTTP server.

Parts are small here (1 MiB downloads, S3's 5 MiB floor for uploads) so that
objects of a few MiB have many parts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from slsa_models.errors import ObjectChanged, StoreError
from slsa_models.store.layout import model_key
from slsa_models.store.s3 import MIB, MIN_PART_SIZE, S3Store

DATA = os.urandom(MIB) * 5 + os.urandom(300_000)  # 6 parts of 1 MiB, the last one short
DATA_SHA = hashlib.sha256(DATA).hexdigest()
KEY = model_key("m", DATA_SHA, "model.safetensors")


def _split(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    return bucket, prefix


def _store(uri: str, **options: Any) -> S3Store:
    bucket, prefix = _split(uri)
    return S3Store(bucket, prefix, **{"download_part_size": MIB, "max_concurrency": 3, **options})


def _gets(store: S3Store) -> list[dict[str, Any]]:
    """Record the parameters of every GetObject the store's client sends (a live list)."""
    seen: list[dict[str, Any]] = []
    store.client.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: seen.append(dict(params))
    )
    return seen


def _leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_ranged_download_correct_bytes_and_digest(s3_store_uri: str, tmp_path: Path) -> None:
    store = _store(s3_store_uri)
    store.put_bytes(KEY, DATA)
    gets = _gets(store)
    progress: list[int] = []
    got = store.download(KEY, tmp_path / "model.safetensors", on_progress=progress.append)
    assert (got.sha256, got.size, got.key) == (DATA_SHA, len(DATA), KEY)
    assert got.etag == store.head(KEY).etag  # type: ignore[union-attr]
    assert (tmp_path / "model.safetensors").read_bytes() == DATA
    assert sum(progress) == len(DATA)
    ranges = sorted(params["Range"] for params in gets)
    assert ranges == sorted(f"bytes={start}-{min(start + MIB, len(DATA)) - 1}"
                            for start in range(0, len(DATA), MIB))
    etag = got.etag
    assert [params.get("IfMatch") for params in gets] == [None] + [etag] * 5  # every range pinned
    assert _leftovers(tmp_path) == ["model.safetensors"]


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB])
def test_small_object_is_one_get(s3_store_uri: str, tmp_path: Path, size: int) -> None:
    store = _store(s3_store_uri)
    data = os.urandom(size)
    store.put_bytes("small.bin", data)
    gets = _gets(store)
    got = store.download("small.bin", tmp_path / "small.bin")
    assert (got.sha256, got.size) == (hashlib.sha256(data).hexdigest(), size)
    assert (tmp_path / "small.bin").read_bytes() == data
    # an empty object has no byte 0 to ask for: the ranged GET is refused, one plain GET follows
    assert len(gets) == (2 if size == 0 else 1)


class _ReplacedMidway(S3Store):
    """Another writer replaces the object just before the part at 3 MiB is asked for."""

    def __init__(self, uri: str, replace: Any) -> None:
        bucket, prefix = _split(uri)
        super().__init__(bucket, prefix, download_part_size=MIB, max_concurrency=3)
        self.replace = replace

    def _get_range(self, key: str, start: int, end: int, *args: Any) -> Any:
        if start == 3 * MIB:
            self.replace()
        return super()._get_range(key, start, end, *args)


def _writer(s3_client: Any, uri: str, body: bytes) -> Any:
    bucket, prefix = _split(uri)
    return lambda: s3_client.put_object(Bucket=bucket, Key=f"{prefix}/{KEY}", Body=body)


def test_versioned_download_pins_the_version(s3_versioned_store_uri: str, s3_client: Any, tmp_path: Path) -> None:
    """Replaced mid-download in a versioned bucket: every range still comes from the first version."""
    store = _ReplacedMidway(s3_versioned_store_uri, _writer(s3_client, s3_versioned_store_uri, DATA[::-1]))
    first = store.put_bytes(KEY, DATA)
    gets = _gets(store)
    got = store.download(KEY, tmp_path / "m")
    assert (got.sha256, got.version_id) == (DATA_SHA, first.version_id)
    assert (tmp_path / "m").read_bytes() == DATA
    assert {params.get("VersionId") for params in gets[1:]} == {first.version_id}
    assert store.head(KEY).version_id != first.version_id  # type: ignore[union-attr]


def test_object_replaced_between_parts_is_refused(s3_store_uri: str, s3_client: Any, tmp_path: Path) -> None:
    store = _ReplacedMidway(s3_store_uri, _writer(s3_client, s3_store_uri, DATA[::-1]))  # same size
    before = store.put_bytes(KEY, DATA)
    dest = tmp_path / "model.safetensors"
    dest.write_bytes(b"the model deployed before")
    with pytest.raises(ObjectChanged) as error:
        store.download(KEY, dest)
    assert str(error.value) == (
        f"{store.object_uri(KEY)} changed while it was being downloaded (etag {before.etag}, {len(DATA)} bytes"
        f" when the download started; now its ETag no longer matches): nothing was written to {dest};"
        " download it again"
    )
    assert dest.read_bytes() == b"the model deployed before"
    assert _leftovers(tmp_path) == ["model.safetensors"]


def test_server_ignoring_if_match_is_still_caught(s3_store_uri: str, s3_client: Any, tmp_path: Path) -> None:
    """A server that ignores If-Match: each range's ETag is compared to the first one's."""
    store = _ReplacedMidway(s3_store_uri, _writer(s3_client, s3_store_uri, DATA[::-1]))
    before = store.put_bytes(KEY, DATA)

    def ignore_if_match(params: dict[str, Any], **_: Any) -> None:
        params.pop("IfMatch", None)

    store.client.meta.events.register("provide-client-params.s3.GetObject", ignore_if_match)
    with pytest.raises(ObjectChanged) as error:
        store.download(KEY, tmp_path / "m")
    now_etag = store.head(KEY).etag  # type: ignore[union-attr]
    # which part saw the new ETag first depends on the threads: any one range, named twice
    assert re.fullmatch(
        re.escape(f"{store.object_uri(KEY)} changed while it was being downloaded (etag {before.etag}, {len(DATA)}"
                  f" bytes when the download started; now etag {now_etag}, range bytes ")
        + rf"([0-9]+)-([0-9]+)/{len(DATA)} for bytes \1-\2"
        + re.escape(f"): nothing was written to {tmp_path / 'm'}; download it again"),
        str(error.value)), str(error.value)
    assert _leftovers(tmp_path) == []


def test_failing_part_leaves_no_dest(s3_store_uri: str, tmp_path: Path) -> None:
    class FailingPart(S3Store):
        def _get_range(self, key: str, start: int, end: int, *args: Any) -> Any:
            if start == 3 * MIB:
                raise StoreError("S3 request failed: part 4 broke")
            return super()._get_range(key, start, end, *args)

    bucket, prefix = _split(s3_store_uri)
    store = FailingPart(bucket, prefix, download_part_size=MIB, max_concurrency=3)
    store.put_bytes(KEY, DATA)
    with pytest.raises(StoreError) as error:
        store.download(KEY, tmp_path / "m")
    assert str(error.value) == "S3 request failed: part 4 broke"
    assert _leftovers(tmp_path) == []


def test_body_breaking_off_is_resumed_then_given_up(s3_store_uri: str, tmp_path: Path) -> None:
    """A body that breaks off mid-part is resumed from where it stopped (READ_RETRIES times)."""
    from botocore.exceptions import ResponseStreamingError

    class Flaky:
        """Breaks off after ``at - 1`` chunks (of 1 MiB) of a response, ``breaks[0]`` times in all."""

        def __init__(self, body: Any, breaks: list[int]) -> None:
            self.body, self.breaks, self.reads = body, breaks, 0

        def read(self, amount: int) -> bytes:
            self.reads += 1
            if self.reads == at[0] and self.breaks[0] > 0:
                self.breaks[0] -= 1
                raise ResponseStreamingError(error="connection reset")
            return self.body.read(amount)

        def close(self) -> None:
            self.body.close()

    breaks, at = [0], [2]

    class FlakyStore(S3Store):
        def _get_range(self, *args: Any) -> Any:
            return Flaky(super()._get_range(*args), breaks)

    bucket, prefix = _split(s3_store_uri)
    store = FlakyStore(bucket, prefix, download_part_size=3 * MIB, max_concurrency=1)
    store.put_bytes(KEY, DATA)
    breaks[0] = 2  # the second part breaks off twice, each time after one more MiB
    gets = _gets(store)
    got = store.download(KEY, tmp_path / "m")
    assert (got.sha256, (tmp_path / "m").read_bytes()) == (DATA_SHA, DATA)
    assert [params["Range"] for params in gets[1:]] == [
        f"bytes={start}-{len(DATA) - 1}" for start in (3 * MIB, 4 * MIB, 5 * MIB)]
    breaks[0], at[0] = 10**6, 1  # no byte comes any more
    with pytest.raises(StoreError) as error:
        store.download(KEY, tmp_path / "n")
    # what follows "failed: " is botocore's
    assert re.fullmatch(re.escape(f"S3 request for {store.object_uri(KEY)} at {store.endpoint} failed: ")
                        + r"[^\n]+", str(error.value)), str(error.value)
    assert "connection reset" in str(error.value)
    assert _leftovers(tmp_path) == ["m"]


def test_interrupted_download_leaves_dest_untouched(s3_store_uri: str, tmp_path: Path) -> None:
    store = _store(s3_store_uri)
    store.put_bytes(KEY, DATA)
    dest = tmp_path / "m"
    dest.write_bytes(b"old")
    seen: list[int] = []

    def interrupt(count: int) -> None:
        seen.append(count)
        if sum(seen) > 2 * MIB:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.download(KEY, dest, on_progress=interrupt)
    assert dest.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["m"]
    assert store.download(KEY, dest).sha256 == DATA_SHA  # the store is still usable


def test_parallel_downloads_share_the_store_transfer_slots(
    s3_store_uri: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Four files at once (as a folder model is fetched): ranged GETs in flight never exceed
    the store's max_concurrency in all, and the connection pool is never overrun."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    lock, now, peak = threading.Lock(), [0], [0]

    class Counting(S3Store):
        def _get_range(self, *args: Any) -> Any:
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            try:
                time.sleep(0.02)  # let the others overlap
                return super()._get_range(*args)
            finally:
                with lock:
                    now[0] -= 1

    bucket, prefix = _split(s3_store_uri)
    store = Counting(bucket, prefix, download_part_size=MIB, max_concurrency=3)
    keys = [f"files/f{index}.bin" for index in range(4)]
    for key in keys:
        store.put_bytes(key, DATA)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda key: store.download(key, tmp_path / key.split("/")[1]), keys))
    assert [result.sha256 for result in got] == [DATA_SHA] * 4
    assert 1 < peak[0] <= 3
    assert "Connection pool is full" not in caplog.text


_MEMORY_CHILD = """
import json, sys, tracemalloc
from slsa_models.store.s3 import S3Store
bucket, prefix, key, dest, part, workers = sys.argv[1:]
store = S3Store(bucket, prefix, download_part_size=int(part), max_concurrency=int(workers))
tracemalloc.start()
got = store.download(key, dest)
print(json.dumps({"peak": tracemalloc.get_traced_memory()[1], "sha256": got.sha256, "size": got.size}))
"""


def test_download_memory_is_bounded_by_parts_in_flight(
    s3_store_uri: str, s3_server: str, s3_client: Any, tmp_path: Path
) -> None:
    """A 32 MiB object in 1 MiB parts, 2 workers: peak traced memory is a few chunks, not the object.

    In a child process, so that the in-process moto server's own allocations are not counted."""
    size = 32 * MIB
    source = tmp_path / "big.bin"
    with open(source, "wb") as sink:
        sink.writelines(os.urandom(MIB) for _ in range(size // MIB))
    bucket, prefix = _split(s3_store_uri)
    s3_client.upload_file(str(source), bucket, f"{prefix}/big.bin")
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, bucket, prefix, "big.bin", str(tmp_path / "got.bin"), str(MIB), "2"],
        check=False, capture_output=True, text=True, timeout=300, env={**os.environ, "AWS_ENDPOINT_URL": s3_server},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["sha256"], result["size"]) == (expected, size)
    # a 1 MiB chunk per worker being written, and one being hashed: no part is held whole
    assert result["peak"] < 4 * MIB, result["peak"]


# -- parallel multipart uploads -----------------------------------------------------------------
# (losing the write-once race to another writer: test_store_s3.py, whose uploads are parallel too)

PART = MIN_PART_SIZE
BIG = os.urandom(MIB) * 21 + b"tail"  # 5 parts of 5 MiB (the last one short)
BIG_SHA = hashlib.sha256(BIG).hexdigest()
BIG_KEY = model_key("m", BIG_SHA, "model.safetensors")


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(BIG)
    return path


def _uploader(uri: str, **options: Any) -> S3Store:
    return _store(uri, multipart_threshold=PART, part_size=PART, **options)


def _no_uploads(s3_client: Any, bucket: str) -> bool:
    return not s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_parallel_upload_round_trip(s3_store_uri: str, s3_client: Any, big_file: Path, tmp_path: Path) -> None:
    store = _uploader(s3_store_uri, max_concurrency=4)
    sent: list[int] = []
    store.client.meta.events.register(
        "provide-client-params.s3.UploadPart", lambda params, **_: sent.append(params["PartNumber"])
    )
    progress: list[int] = []
    stored = store.put_file(BIG_KEY, big_file, on_progress=progress.append)
    assert (stored.sha256, stored.size) == (BIG_SHA, len(BIG))
    assert sorted(sent) == [1, 2, 3, 4, 5]
    assert progress == [PART] * 4 + [len(BIG) - 4 * PART]
    assert stored.etag is not None and stored.etag.strip('"').endswith("-5")
    bucket, prefix = _split(s3_store_uri)
    head = s3_client.head_object(Bucket=bucket, Key=f"{prefix}/{BIG_KEY}", ChecksumMode="ENABLED")
    assert head["Metadata"] == {"sha256": BIG_SHA}
    assert _no_uploads(s3_client, bucket)
    got = store.download(BIG_KEY, tmp_path / "got")
    assert (got.sha256, got.size) == (BIG_SHA, len(BIG))


def test_parallel_upload_failing_part_aborts(s3_store_uri: str, s3_client: Any, big_file: Path) -> None:
    class FailingPart(S3Store):
        def _upload_part(self, full: str, upload_id: str, number: int, body: Any) -> dict[str, Any]:
            if number == 3:
                raise StoreError("S3 request failed: part 3 broke")
            return super()._upload_part(full, upload_id, number, body)

    bucket, prefix = _split(s3_store_uri)
    store = FailingPart(bucket, prefix, multipart_threshold=PART, part_size=PART, max_concurrency=4)
    with pytest.raises(StoreError) as error:
        store.put_file(BIG_KEY, big_file)
    assert str(error.value) == "S3 request failed: part 3 broke"
    assert store.head(BIG_KEY) is None
    assert _no_uploads(s3_client, bucket)


def _sent_parts(store: S3Store) -> list[tuple[int, int, str]]:
    """Record (part number, announced length, thread) of every UploadPart the store sends, after
    reading the body it is about to stream: a part announcing more bytes than it holds is refused
    here (on the wire the server would wait for the missing bytes)."""
    sent: list[tuple[int, int, str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        body = params["Body"]
        held = len(body.read())
        body.seek(0)
        if held != len(body):
            raise ValueError(f"part {params['PartNumber']} announces {len(body)} bytes and holds {held}")
        sent.append((params["PartNumber"], held, threading.current_thread().name))

    store.client.meta.events.register("provide-client-params.s3.UploadPart", record)
    return sent


def test_one_part_at_a_time(s3_store_uri: str, big_file: Path) -> None:
    """max_concurrency 1: one upload thread sends the parts in order, each holding its own bytes
    (the last one short), and the whole file is hashed meanwhile."""
    store = _uploader(s3_store_uri, max_concurrency=1)
    sent = _sent_parts(store)
    stored = store.put_file(BIG_KEY, big_file)
    assert (stored.sha256, stored.size) == (BIG_SHA, len(BIG))
    assert [(number, length) for number, length, _ in sent] == [(1, PART), (2, PART), (3, PART), (4, PART),
                                                                (5, len(BIG) - 4 * PART)]
    assert len({thread for _, _, thread in sent}) == 1
    assert store.read_bytes(BIG_KEY, max_size=len(BIG)) == BIG


@pytest.mark.parametrize(("size", "parts"), [(PART, 0), (PART + 1, 2)])
def test_multipart_starts_above_the_threshold(s3_store_uri: str, tmp_path: Path, size: int, parts: int) -> None:
    """A file of exactly the threshold is one PutObject; one byte more goes up in parts."""
    store = _uploader(s3_store_uri)
    sent = _sent_parts(store)
    path = tmp_path / "model.bin"
    path.write_bytes(BIG[:size])
    stored = store.put_file("m.bin", path)
    assert len(sent) == parts
    assert stored.etag is not None and stored.etag.strip('"').endswith(f"-{parts}") == bool(parts)
    assert store.read_bytes("m.bin", max_size=size) == BIG[:size]


def test_a_failed_upload_is_aborted_after_its_parts_in_flight(s3_store_uri: str, s3_client: Any,
                                                              big_file: Path) -> None:
    """Part 1 fails at once while part 2 is still being sent: the upload is aborted only once part 2
    has landed, so no part reaches the server after the abort (S3 would keep it, billed)."""
    events: list[str] = []

    class SlowSecondPart(S3Store):
        def _upload_part(self, full: str, upload_id: str, number: int, body: Any) -> dict[str, Any]:
            if number == 1:
                raise StoreError("S3 request failed: part 1 broke")
            if number == 2:
                time.sleep(0.5)
            response = super()._upload_part(full, upload_id, number, body)
            events.append(f"part {number} sent")
            return response

        def _abort(self, full: str, upload_id: str) -> None:
            events.append("aborted")
            super()._abort(full, upload_id)

    bucket, prefix = _split(s3_store_uri)
    store = SlowSecondPart(bucket, prefix, multipart_threshold=PART, part_size=PART, max_concurrency=2)
    with pytest.raises(StoreError) as error:
        store.put_file(BIG_KEY, big_file)
    assert str(error.value) == "S3 request failed: part 1 broke"
    assert events == ["part 2 sent", "aborted"]
    assert store.head(BIG_KEY) is None
    assert _no_uploads(s3_client, bucket)


def test_transfer_settings_from_the_environment(s3_store_uri: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """open_store reads SLSA_MODELS_S3_* (every command, flow and server opens stores there):
    1 MiB download parts mean one ranged GET per MiB; the arguments of open_store still win."""
    from slsa_models.store import open_store

    monkeypatch.setenv("SLSA_MODELS_S3_DOWNLOAD_PART_SIZE_MIB", "1")
    monkeypatch.setenv("SLSA_MODELS_S3_CONCURRENCY", "2")
    monkeypatch.setenv("SLSA_MODELS_S3_PART_SIZE_MIB", "6")
    store = open_store(s3_store_uri)
    assert isinstance(store, S3Store)
    assert (store.download_part_size, store.max_concurrency, store.part_size) == (MIB, 2, 6 * MIB)
    assert open_store(s3_store_uri, part_size=MIN_PART_SIZE).part_size == MIN_PART_SIZE  # type: ignore[attr-defined]
    store.put_bytes(KEY, DATA)
    gets = _gets(store)
    assert store.download(KEY, tmp_path / "m").sha256 == DATA_SHA
    assert len(gets) == 6


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("SLSA_MODELS_S3_CONCURRENCY", "lots", "SLSA_MODELS_S3_CONCURRENCY must be a whole number, got 'lots'"),
    ("SLSA_MODELS_S3_CONCURRENCY", "-1", "SLSA_MODELS_S3_CONCURRENCY must be a whole number, got '-1'"),
    ("SLSA_MODELS_S3_CONCURRENCY", "\u00b2", "SLSA_MODELS_S3_CONCURRENCY must be a whole number, got '\u00b2'"),
    ("SLSA_MODELS_S3_CONCURRENCY", "65", "S3 concurrency must be 1..64 requests, got 65"),
    ("SLSA_MODELS_S3_PART_SIZE_MIB", "4", f"S3 part size must be at least {MIN_PART_SIZE} bytes, got {4 * MIB}"),
    ("SLSA_MODELS_S3_DOWNLOAD_PART_SIZE_MIB", "0", "S3 download part size must be at least 1 byte, got 0"),
])
def test_unusable_transfer_settings_are_one_line(s3_store_uri: str, monkeypatch: pytest.MonkeyPatch,
                                                 variable: str, value: str, message: str) -> None:
    from slsa_models.errors import InputError
    from slsa_models.store import open_store

    monkeypatch.setenv(variable, value)
    with pytest.raises(InputError) as raised:
        open_store(s3_store_uri)
    assert str(raised.value) == message
