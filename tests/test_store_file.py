"""The ArtifactStore contract on both backends (``store_uri``), then the file backend's own.

The S3 runs go to moto's real HTTP server on 127.0.0.1 (see conftest.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from slsa_models.errors import ConflictError, InputError, NotFoundError, StoreError
from slsa_models.store import FileStore, MissingObjectError, StoredObject, open_store
from slsa_models.store.base import ArtifactStore
from slsa_models.store.layout import history_key, history_prefix, model_key, validate_key

DATA = b"model bytes\x00\x01" * 1000
SHA = hashlib.sha256(DATA).hexdigest()
OTHER = b"other bytes"
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()
KEY = model_key("digits", SHA, "pytorch_model.pth")


@pytest.fixture
def store(store_uri: str) -> ArtifactStore:
    return open_store(store_uri)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "pytorch_model.pth"
    path.write_bytes(DATA)
    return path


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- the contract, on both backends ---------------------------------------------------------


def test_put_file_head_download_round_trip(store: ArtifactStore, model_file: Path, tmp_path: Path) -> None:
    progress: list[int] = []
    stored = store.put_file(KEY, model_file, on_progress=progress.append)
    assert (stored.key, stored.sha256, stored.size) == (KEY, SHA, len(DATA))
    assert stored.uri == store.object_uri(KEY) and stored.uri.endswith("/" + KEY)
    assert sum(progress) == len(DATA)

    head = store.head(KEY)
    assert head is not None
    assert (head.sha256, head.size, head.etag) == (SHA, len(DATA), stored.etag)
    assert head.last_modified is not None and head.last_modified.tzinfo is not None

    out = tmp_path / "out" / "model.pth"
    out.parent.mkdir()
    out.write_bytes(b"stale")
    seen: list[int] = []
    downloaded = store.download(KEY, out, on_progress=seen.append)
    assert out.read_bytes() == DATA
    assert (downloaded.sha256, downloaded.size, downloaded.etag) == (SHA, len(DATA), stored.etag)
    assert sum(seen) == len(DATA)
    assert _listing(out.parent) == ["model.pth"]  # no temp file left beside it
    assert store.read_bytes(KEY) == DATA


def test_put_bytes_round_trip(store: ArtifactStore) -> None:
    stored = store.put_bytes("notes/a.json", b"{}")
    assert stored.sha256 == hashlib.sha256(b"{}").hexdigest() and stored.size == 2
    assert store.read_bytes("notes/a.json") == b"{}"
    assert store.head("notes/missing.json") is None


def test_write_once_same_bytes_is_a_no_op(store: ArtifactStore, model_file: Path) -> None:
    first = store.put_file(KEY, model_file)
    again = store.put_file(KEY, model_file, sha256=f"sha256:{SHA}")
    assert (again.sha256, again.size, again.etag) == (first.sha256, first.size, first.etag)
    assert store.put_bytes(KEY, DATA).sha256 == SHA
    assert [obj.key for obj in store.list_objects("models/")] == [KEY]


def test_write_once_refuses_different_bytes(store: ArtifactStore, model_file: Path, tmp_path: Path) -> None:
    store.put_file(KEY, model_file)
    other = tmp_path / "other.pth"
    other.write_bytes(OTHER)
    expected = (
        f"{store.object_uri(KEY)} already holds different bytes (sha256:{SHA}, {len(DATA)} bytes;"
        f" refusing to write sha256:{OTHER_SHA}, {len(OTHER)} bytes): stored objects are never overwritten"
    )
    with pytest.raises(ConflictError) as error:
        store.put_file(KEY, other)
    assert str(error.value) == expected
    with pytest.raises(ConflictError) as error:
        store.put_bytes(KEY, OTHER)
    assert str(error.value) == expected
    assert error.value.exit_code == 1
    assert store.read_bytes(KEY) == DATA
    assert store.head(KEY).sha256 == SHA  # type: ignore[union-attr]


def test_put_file_with_wrong_sha256_stores_nothing(store: ArtifactStore, model_file: Path) -> None:
    with pytest.raises(InputError) as error:
        store.put_file(KEY, model_file, sha256=OTHER_SHA)
    assert str(error.value) == (
        f"{model_file}: its sha256 is {SHA}, not the {OTHER_SHA} expected; nothing was stored"
    )
    assert store.head(KEY) is None
    assert store.list_objects("") == []


def test_put_file_bad_source_stores_nothing(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        store.put_file(KEY, tmp_path / "absent.pth")
    assert str(error.value) == f"{tmp_path / 'absent.pth'}: no such file"
    with pytest.raises(InputError) as error:
        store.put_file(KEY, tmp_path)
    assert str(error.value) == f"{tmp_path}: is a directory, not a file"
    with pytest.raises(InputError) as error:
        store.put_file(KEY, tmp_path / "x", sha256="nope")
    assert str(error.value) == "not a SHA-256 digest: 'nope' (expected sha256:<64 hex digits>)"
    assert store.list_objects("") == []


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a/.hidden", "a//b"])
def test_bad_keys_are_refused_everywhere(store: ArtifactStore, key: str, tmp_path: Path, model_file: Path) -> None:
    calls = [
        lambda: store.put_bytes(key, b"x"),
        lambda: store.put_file(key, model_file),
        lambda: store.head(key),
        lambda: store.read_bytes(key),
        lambda: store.read_with_tag(key),
        lambda: store.download(key, tmp_path / "out"),
        lambda: store.compare_and_swap(key, b"x", None),
        lambda: store.object_uri(key),
    ]
    with pytest.raises(InputError) as expected:
        validate_key(key)
    for call in calls:  # the key check's own line, from every entry point
        with pytest.raises(InputError) as raised:
            call()
        assert str(raised.value) == str(expected.value)
    assert store.list_objects("") == []
    assert not (tmp_path / "out").exists()


def test_scratch_download_skips_only_the_fsync(
    store: ArtifactStore, model_file: Path, tmp_path: Path, count_fsyncs: Callable[[], list[int]]
) -> None:
    """durable=False: same bytes, digest, size and no temp file left, just no fsync. The real
    os.fsync still runs for durable=True; the test only counts the calls."""
    stored = store.put_file(KEY, model_file)
    synced = count_fsyncs()
    dest = tmp_path / "scratch" / "model.pth"
    dest.parent.mkdir()
    dest.write_bytes(b"stale")
    got = store.download(KEY, dest, durable=False)
    assert dest.read_bytes() == DATA
    assert (got.sha256, got.size, got.etag) == (SHA, len(DATA), stored.etag)
    assert _listing(dest.parent) == ["model.pth"]
    assert synced == []
    assert store.download(KEY, tmp_path / "durable.pth").sha256 == SHA
    assert len(synced) == 1


def test_download_missing_key(store: ArtifactStore, tmp_path: Path) -> None:
    dest = tmp_path / "dl" / "model.pth"
    dest.parent.mkdir()
    with pytest.raises(MissingObjectError) as error:
        store.download(KEY, dest)
    assert str(error.value) == f"{store.object_uri(KEY)}: no such object"
    assert isinstance(error.value, NotFoundError)
    assert _listing(dest.parent) == []


def test_download_to_missing_directory(store: ArtifactStore, tmp_path: Path) -> None:
    store.put_bytes("a.json", b"{}")
    with pytest.raises(InputError) as error:
        store.download("a.json", tmp_path / "no" / "a.json")
    assert str(error.value) == f"cannot download to {tmp_path / 'no' / 'a.json'}: directory {tmp_path / 'no'} does not exist"
    with pytest.raises(InputError) as error:
        store.download("a.json", tmp_path)
    assert str(error.value) == f"cannot download to {tmp_path}: it is a directory"


def test_download_failure_keeps_the_old_file(store: ArtifactStore, model_file: Path, tmp_path: Path) -> None:
    store.put_file(KEY, model_file)
    dest = tmp_path / "dl" / "model.pth"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")

    def stop(_count: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.download(KEY, dest, on_progress=stop)
    assert dest.read_bytes() == b"previous"
    assert _listing(dest.parent) == ["model.pth"]


def test_read_bytes_limits(store: ArtifactStore) -> None:
    store.put_bytes("big.bin", b"x" * 100)
    assert store.read_bytes("big.bin", max_size=100) == b"x" * 100
    with pytest.raises(InputError) as error:
        store.read_bytes("big.bin", max_size=99)
    assert str(error.value) == (
        f"{store.object_uri('big.bin')} is 100 bytes, more than the 99-byte limit for small reads;"
        " download it instead"
    )
    with pytest.raises(MissingObjectError) as missing:
        store.read_bytes("absent.bin")
    assert str(missing.value) == f"{store.object_uri('absent.bin')}: no such object"


def test_compare_and_swap(store: ArtifactStore) -> None:
    key = "deployments/digits/current.json"
    uri = store.object_uri(key)
    assert store.read_with_tag(key) is None
    with pytest.raises(ConflictError) as error:
        store.compare_and_swap(key, b"v0", "some-tag")
    assert str(error.value) == (
        f"{uri} changed since it was read (expected tag some-tag, found none):"
        " another writer got there first; read it again and retry"
    )
    tag1 = store.compare_and_swap(key, b"v1", None)
    assert store.read_with_tag(key) == (b"v1", tag1)
    assert store.head(key).etag == tag1  # type: ignore[union-attr]
    with pytest.raises(ConflictError) as error:
        store.compare_and_swap(key, b"v1 again", None)
    assert str(error.value) == (
        f"{uri} changed since it was read (expected none, found tag {tag1}):"
        " another writer got there first; read it again and retry"
    )
    tag2 = store.compare_and_swap(key, b"v2", tag1)
    assert tag2 != tag1
    assert store.read_with_tag(key) == (b"v2", tag2)
    with pytest.raises(ConflictError):
        store.compare_and_swap(key, b"v3", tag1)
    assert store.read_bytes(key) == b"v2"


def test_compare_and_swap_two_contenders_one_wins(store: ArtifactStore) -> None:
    key = "deployments/digits/current.json"
    base_tag = store.compare_and_swap(key, b"base", None)
    _data, tag_a = store.read_with_tag(key)  # type: ignore[misc]
    _data, tag_b = store.read_with_tag(key)  # type: ignore[misc]
    assert tag_a == tag_b == base_tag
    tag_after_a = store.compare_and_swap(key, b"from A", tag_a)
    with pytest.raises(ConflictError) as error:
        store.compare_and_swap(key, b"from B", tag_b)
    assert str(error.value) == (
        f"{store.object_uri(key)} changed since it was read (expected tag {tag_b}, found tag {tag_after_a}):"
        " another writer got there first; read it again and retry"
    )
    assert store.read_bytes(key) == b"from A"


def test_list_objects(store: ArtifactStore) -> None:
    keys = [
        model_key("digits", SHA, "a.pth"),
        model_key("digits", SHA, "a.pth.intoto.jsonl"),
        model_key("digits", OTHER_SHA, "b.keras"),
        model_key("digitsx", SHA, "c.pt"),
        "deployments/digits/current.json",
    ]
    for key in reversed(keys):
        store.put_bytes(key, key.encode())
    listed = store.list_objects("models/digits/")
    assert [obj.key for obj in listed] == sorted(keys[:3])
    assert all(obj.sha256 == "" and obj.size == len(obj.key) for obj in listed)
    assert all(obj.uri == store.object_uri(obj.key) for obj in listed)
    now = datetime.now(timezone.utc)
    assert all(abs(obj.last_modified - now) < timedelta(minutes=5) for obj in listed)  # type: ignore[operator]
    assert [obj.key for obj in store.list_objects("models/digits")] == sorted(keys[:4])
    assert [obj.key for obj in store.list_objects("")] == sorted(keys)
    assert store.list_objects("models/none/") == []


def test_append_history_is_write_once_and_sorts_by_sequence(store: ArtifactStore) -> None:
    for sequence, outcome in [(2, "refused"), (0, "promoted"), (1, "refused")]:
        stored = store.append(history_key("digits", sequence), f'{{"outcome": "{outcome}"}}'.encode())
        assert isinstance(stored, StoredObject)
    listed = store.list_objects(history_prefix("digits"))
    outcomes = [store.read_bytes(obj.key) for obj in listed]
    assert outcomes == [b'{"outcome": "promoted"}', b'{"outcome": "refused"}', b'{"outcome": "refused"}']
    with pytest.raises(ConflictError):
        store.append(history_key("digits", 1), b'{"outcome": "promoted"}')


# -- open_store ----------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["ftp://host/dir", "gs://bucket/prefix", "http://x/y"])
def test_unsupported_scheme(uri: str) -> None:
    with pytest.raises(InputError) as error:
        open_store(uri)
    assert str(error.value) == f"unsupported store URI {uri!r}: use s3://bucket/prefix or file:///path"


def test_open_file_store_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(tmp_path.as_uri())
    assert isinstance(store, FileStore) and store.root == tmp_path and store.uri == tmp_path.as_uri()
    assert open_store(f"file://localhost{tmp_path}").root == tmp_path  # type: ignore[attr-defined]
    assert open_store(str(tmp_path)).root == tmp_path  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    assert open_store("sub").root == tmp_path / "sub"  # type: ignore[attr-defined]
    spaced = tmp_path / "a b"
    assert open_store(spaced.as_uri()).root == spaced  # type: ignore[attr-defined]
    for bad in ["file://host/dir", "file:relative/dir", "file:/abs", "file:///x?y=1", "", "   "]:
        with pytest.raises(InputError):
            open_store(bad)
    with pytest.raises(InputError) as error:
        open_store("s3:bucket/x")
    assert str(error.value) == "unsupported store URI 's3:bucket/x': use s3://bucket/prefix or file:///path"


# -- the file backend ------------------------------------------------------------------------


def test_missing_directory(tmp_path: Path, model_file: Path) -> None:
    root = tmp_path / "absent"
    store = open_store(root.as_uri())
    message = f"store directory {root} does not exist"
    calls = [
        lambda: store.put_file(KEY, model_file),
        lambda: store.put_bytes(KEY, DATA),
        lambda: store.head(KEY),
        lambda: store.read_bytes(KEY),
        lambda: store.read_with_tag(KEY),
        lambda: store.download(KEY, tmp_path / "out"),
        lambda: store.list_objects(""),
        lambda: store.compare_and_swap("deployments/d/current.json", b"x", None),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as error:
            call()
        assert str(error.value) == message
        assert not isinstance(error.value, MissingObjectError)
    assert not root.exists() and not (tmp_path / "out").exists()


def test_file_layout_on_disk(file_store_uri: str, model_file: Path) -> None:
    store = open_store(file_store_uri)
    store.put_file(KEY, model_file)
    root = Path(store.root)  # type: ignore[attr-defined]
    directory = root / KEY.rsplit("/", 1)[0]
    assert (root / KEY).read_bytes() == DATA
    # the object and its hidden sidecar; no temp file is left
    assert _listing(directory) == [".pytorch_model.pth.sha256", "pytorch_model.pth"]
    assert (directory / ".pytorch_model.pth.sha256").read_text() == SHA + "\n"


def test_failed_put_leaves_nothing(file_store_uri: str, model_file: Path) -> None:
    store = open_store(file_store_uri)

    def stop(_count: int) -> None:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        store.put_file(KEY, model_file, on_progress=stop)
    assert store.head(KEY) is None
    directory = Path(store.root) / KEY.rsplit("/", 1)[0]  # type: ignore[attr-defined]
    assert _listing(directory) == []


def test_download_hashes_bytes_not_sidecar(file_store_uri: str, model_file: Path, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    store.put_file(KEY, model_file)
    path = Path(store.root) / KEY  # type: ignore[attr-defined]
    path.chmod(0o644)
    path.write_bytes(OTHER)  # tampered behind the store's back
    assert store.head(KEY).sha256 == SHA  # type: ignore[union-attr]  # the sidecar says so
    got = store.download(KEY, tmp_path / "got")
    assert (got.sha256, got.size) == (OTHER_SHA, len(OTHER))


def test_object_without_sidecar(file_store_uri: str) -> None:
    store = open_store(file_store_uri)
    (Path(store.root) / "loose.bin").write_bytes(DATA)  # type: ignore[attr-defined]
    assert store.head("loose.bin").sha256 == SHA  # type: ignore[union-attr]  # computed: small object
    assert store.put_bytes("loose.bin", DATA).sha256 == SHA
    with pytest.raises(ConflictError):
        store.put_bytes("loose.bin", OTHER)


def test_file_store_has_no_versions(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    store.put_bytes("a.bin", b"a")
    with pytest.raises(InputError) as error:
        store.download("a.bin", tmp_path / "a.bin", version_id="v1")
    assert str(error.value) == "file stores keep no object versions; cannot read version 'v1'"
    assert not (tmp_path / "a.bin").exists()


def test_concurrent_write_once_one_wins(file_store_uri: str) -> None:
    store = open_store(file_store_uri)
    barrier = threading.Barrier(8)
    results: list[object] = []

    def put(index: int) -> None:
        barrier.wait()
        try:
            results.append(store.put_bytes("race.bin", b"writer %d" % index))
        except ConflictError as error:
            results.append(error)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if isinstance(r, StoredObject)]
    assert len(winners) == 1 and len(results) == 8
    assert hashlib.sha256(store.read_bytes("race.bin")).hexdigest() == winners[0].sha256


def test_concurrent_compare_and_swap_one_wins(file_store_uri: str) -> None:
    store = open_store(file_store_uri)
    key = "deployments/digits/current.json"
    tag = store.compare_and_swap(key, b"base", None)
    barrier = threading.Barrier(8)
    won: list[bytes] = []
    lost: list[ConflictError] = []

    def swap(index: int) -> None:
        data = b"contender %d" % index
        barrier.wait()
        try:
            store.compare_and_swap(key, data, tag)
            won.append(data)
        except ConflictError as error:
            lost.append(error)

    threads = [threading.Thread(target=swap, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 7
    assert store.read_bytes(key) == won[0]
    directory = Path(store.root) / "deployments/digits"  # type: ignore[attr-defined]
    assert _listing(directory) == ["current.json"]  # lock and temp files are gone


def test_a_stale_lock_file_does_not_block(file_store_uri: str) -> None:
    store = FileStore(open_store(file_store_uri).root, lock_timeout=0.05)  # type: ignore[attr-defined]
    key = "deployments/digits/current.json"
    tag = store.compare_and_swap(key, b"base", None)
    lock = store.root / "deployments/digits/.current.json.lock"
    lock.write_text("12345\n")  # left by a writer that died: nobody holds the flock
    store.compare_and_swap(key, b"new", tag)
    assert store.read_bytes(key) == b"new"
    assert not lock.exists()


@pytest.mark.parametrize("write", ["put_bytes", "put_file", "compare_and_swap"])
def test_each_write_turns_an_os_failure_into_one_line(file_store_uri: str, write: str, model_file: Path) -> None:
    store = open_store(file_store_uri)
    store.put_bytes("a.bin", b"x")
    with pytest.raises(StoreError) as error:
        if write == "put_bytes":
            store.put_bytes("a.bin/b.bin", b"y")
        elif write == "put_file":
            store.put_file("a.bin/b.bin", model_file)
        else:
            store.compare_and_swap("a.bin/b.bin", b"y", None)
    assert str(error.value) == f"cannot write {store.object_uri('a.bin/b.bin')}: File exists"
    assert [obj.key for obj in store.list_objects("")] == ["a.bin"]


def _head_sees_nothing(store: ArtifactStore, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The next ``times`` checks of any key see nothing (another writer is not done yet)."""
    real_head = store.head
    left = [times]

    def head(key: str) -> StoredObject | None:
        if left[0] > 0:
            left[0] -= 1
            return None
        return real_head(key)
    monkeypatch.setattr(store, "head", head)


@pytest.mark.parametrize("write", ["put_bytes", "put_file"])
@pytest.mark.parametrize("theirs", [DATA, OTHER], ids=["same bytes", "other bytes"])
def test_a_writer_that_publishes_first_after_the_check_is_judged_by_its_bytes(
        file_store_uri: str, write: str, theirs: bytes, model_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer publishes the key between this writer's check and its link: the same
    bytes are this write's result; other bytes are the write-once conflict (theirs kept). The
    moment is staged by hiding the first check (no real writer can be timed to land there);
    the store, its files and the link are real."""
    store = open_store(file_store_uri)
    store.put_bytes("race.bin", theirs)
    _head_sees_nothing(store, monkeypatch, 1)
    put = (lambda: store.put_bytes("race.bin", DATA)) if write == "put_bytes" else \
        (lambda: store.put_file("race.bin", model_file))
    if theirs == OTHER:
        with pytest.raises(ConflictError) as error:
            put()
        assert str(error.value) == (
            f"{store.object_uri('race.bin')} already holds different bytes (sha256:{OTHER_SHA}, {len(OTHER)} "
            f"bytes; refusing to write sha256:{SHA}, {len(DATA)} bytes): stored objects are never overwritten")
    else:
        stored = put()
        assert (stored.key, stored.sha256, stored.size) == ("race.bin", SHA, len(DATA))
    assert store.read_bytes("race.bin") == theirs
    assert _listing(Path(store.root)) == [".race.bin.sha256", "race.bin"]  # type: ignore[attr-defined]


def test_a_key_that_exists_but_cannot_be_seen_is_one_line(file_store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(file_store_uri)
    store.put_bytes("a.bin", b"x")
    _head_sees_nothing(store, monkeypatch, 2)  # before writing, and after the link found the key taken
    with pytest.raises(StoreError) as error:
        store.put_bytes("a.bin", b"x")
    assert str(error.value) == f"{store.object_uri('a.bin')} exists but cannot be read"
