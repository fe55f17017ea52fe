"""slsa_models/deploy/history.py: current.json as the deployer reads it, and the decision history.

Written against mutants of the module that survived scripts/mutation.py: each test names the
behaviour a surviving mutant broke.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.deploy.history import read_current, require_current
from slsa_models.errors import ConflictError, InputError, NotFoundError
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.store import layout
from slsa_models.store.file import FileStore
from slsa_models.verify import TrustedKey

MODEL = "iris"


def deployer(tmp_path: Path, name: str) -> deploy.Deployer:
    generate_key_pair(tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem")
    key = load_private_key(tmp_path / f"{name}.pem")
    return deploy.Deployer(KeySigner(key, description=f"deployer {name}"), (TrustedKey(name, key.public_key()),))


def refusals(store: FileStore, who: deploy.Deployer, count: int) -> list[deploy.Decision]:
    return [deploy.record_run_refusal(store, MODEL, None, f"refusal {n}", failed_check="x", deployer=who)
            for n in range(count)]


def put(store: FileStore, key: str, data: bytes) -> Path:
    store.put_bytes(key, data)
    return Path(store.object_uri(key).removeprefix("file://"))


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    (tmp_path / "store").mkdir()
    return FileStore(tmp_path / "store")


def test_a_current_json_that_is_no_record_is_named_with_its_uri(store: FileStore, tmp_path: Path) -> None:
    """read_current: the problem (the deploy logs it when it replaces the file) is the record's
    one-line error naming the object, not None, "None" or a file named None."""
    who = deployer(tmp_path, "d")
    key = layout.current_key(MODEL)
    put(store, key, b"not a record")
    current = read_current(store, MODEL, who.trusted)
    assert (current.signed, current.tag is not None) == (None, True)
    assert current.problem == (
        f"{store.object_uri(key)} is not a signed deployment record (provenance: not JSON (Expecting value at"
        " line 1 column 1); expected a Sigstore bundle (.intoto.jsonl)); fix or remove it")


def test_a_current_json_of_another_deployer_is_named_with_its_uri(store: FileStore, tmp_path: Path) -> None:
    ours, theirs = deployer(tmp_path, "ours"), deployer(tmp_path, "theirs")
    [decision] = refusals(store, theirs, 1)
    key = layout.current_key(MODEL)
    put(store, key, store.read_bytes(decision.history_key))
    current = read_current(store, MODEL, ours.trusted)
    assert current.signed is None
    assert current.problem == (
        f"{store.object_uri(key)} is not signed by a trusted deployer (ours): edited by hand or written by "
        "another deployer; nothing loaded")
    assert read_current(store, MODEL, theirs.trusted).signed.record == decision.record  # type: ignore[union-attr]


def test_an_oversized_current_json_is_refused_unread(store: FileStore, tmp_path: Path) -> None:
    """require_current: current.json is read with the 4 MiB record bound, not the 16 MiB of any small read."""
    who = deployer(tmp_path, "d")
    key = layout.current_key(MODEL)
    size = 8 * 2**20
    put(store, key, b" " * size)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as raised:
            require_current(store, MODEL, who.trusted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == (
        f"{store.object_uri(key)} is {size} bytes, more than the 4194304-byte limit for small reads;"
        " download it instead")
    assert peak < 2**20


def test_nothing_deployed_is_one_line(store: FileStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as raised:
        require_current(store, MODEL, deployer(tmp_path, "d").trusted)
    assert str(raised.value) == (
        f"nothing is deployed for model {MODEL!r} in {store.uri} ({layout.current_key(MODEL)} does not exist);"
        " deploy it first")


def test_the_history_is_the_newest_records_up_to_the_limit(store: FileStore, tmp_path: Path) -> None:
    """read_history: at the limit it returns what it has (a list), newest first."""
    who = deployer(tmp_path, "d")
    decisions = refusals(store, who, 4)
    newest = [d.record for d in reversed(decisions)]
    assert deploy.read_history(store, MODEL, who.trusted, limit=2) == newest[:2]
    assert deploy.read_history(store, MODEL, who.trusted, limit=4) == newest
    assert deploy.read_history(store, MODEL, who.trusted) == newest
    assert [r.sequence for r in newest] == [3, 2, 1, 0]


def test_an_oversized_history_record_is_skipped_unread(store: FileStore, tmp_path: Path) -> None:
    """read_history: one damaged entry (here 8 MiB, above the 4 MiB record bound) hides no other
    record and is not read into memory."""
    who = deployer(tmp_path, "d")
    decisions = refusals(store, who, 2)
    put(store, layout.history_key(MODEL, 2), b" " * (8 * 2**20))
    tracemalloc.start()
    try:
        history = deploy.read_history(store, MODEL, who.trusted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert history == [d.record for d in reversed(decisions)]
    assert peak < 6 * 2**20  # a read of a record reserves its 4 MiB bound; 8 MiB were never read


def test_an_oversized_newest_record_stops_the_append_unread(store: FileStore, tmp_path: Path) -> None:
    """_head: the newest record is read with the 4 MiB record bound; one larger fails the append
    closed (nothing written) instead of chaining after bytes no record can be."""
    who = deployer(tmp_path, "d")
    refusals(store, who, 1)
    key = layout.history_key(MODEL, 1)
    put(store, key, b" " * (8 * 2**20))
    with pytest.raises(InputError) as raised:
        refusals(store, who, 1)
    assert str(raised.value) == (
        f"{store.object_uri(key)} is {8 * 2**20} bytes, more than the 4194304-byte limit for small reads;"
        " download it instead")
    assert [o.key for o in store.list_objects(layout.history_prefix(MODEL))] == [
        layout.history_key(MODEL, 0), key]


class RivalFirst(FileStore):
    """A file store where, before each of the next ``rivals`` history writes, another deployer
    appends its own decision (the race write-once settles)."""

    def __init__(self, root: Path, rival: deploy.Deployer, rivals: int) -> None:
        super().__init__(root)
        self.rival, self.rivals, self.racing = rival, rivals, False

    def put_bytes(self, key: str, data: bytes):  # type: ignore[no-untyped-def]
        if self.rivals and not self.racing and key.startswith(layout.history_prefix(MODEL)):
            self.rivals -= 1
            self.racing = True
            try:
                deploy.record_run_refusal(self, MODEL, None, "the rival's", failed_check="x", deployer=self.rival)
            finally:
                self.racing = False
        return super().put_bytes(key, data)


def test_an_append_that_loses_a_race_chains_after_the_winner(tmp_path: Path) -> None:
    """append_record: a ConflictError on the write (another decision took the number) is retried
    after the winner, not given up at once."""
    (tmp_path / "store").mkdir()
    ours, rival = deployer(tmp_path, "ours"), deployer(tmp_path, "rival")
    store = RivalFirst(tmp_path / "store", rival, rivals=2)
    decision = deploy.record_run_refusal(store, MODEL, None, "ours", failed_check="x", deployer=ours)
    assert decision.history_key == layout.history_key(MODEL, 2)
    history = deploy.read_history(store, MODEL, ours.trusted + rival.trusted)
    assert [(r.sequence, r.reason) for r in history] == [(2, "ours"), (1, "the rival's"), (0, "the rival's")]
    assert history[0].previous is not None


def test_an_append_that_keeps_losing_gives_up_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    ours, rival = deployer(tmp_path, "ours"), deployer(tmp_path, "rival")
    store = RivalFirst(tmp_path / "store", rival, rivals=100)
    with pytest.raises(ConflictError) as raised:
        deploy.record_run_refusal(store, MODEL, None, "ours", failed_check="x", deployer=ours)
    assert str(raised.value) == (
        f"{store.object_uri('deployments/iris/history')} kept growing: gave up after 8 attempts to append;"
        " re-run the deploy")
    assert {r.reason for r in deploy.read_history(store, MODEL, ours.trusted + rival.trusted)} == {"the rival's"}
