"""Faults and concurrency: the S3 server stops mid-deploy, two deploys race.

A function-scoped moto server (its own port) is stopped and restarted on the
same port; moto keeps its state in the process, so the objects are back after
the restart. werkzeug lets a response already being sent finish, so the server
is stopped at a step boundary: as the model download starts, or inside promote.
Task retries keep their count (3) with the delay set to 0 to keep the test fast.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy
from slsa_models.deploy import promotion
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import layout, open_store

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
TRUST = {"source_uri": "github.com/slsa-framework/example-package", "source_tag": "v14",
         "accept_unnamed": True}
MODEL = "example"
TASK_ATTEMPTS = 4  # STORE_IO: the first run and 3 retries


class RestartableS3:
    """moto's ThreadedMotoServer that can stop (closing its socket) and start again on its port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.running = False

    def start(self) -> None:
        self._server.start()
        self.running = True

    def stop(self) -> None:
        self._server.stop()
        self._server._server.server_close()  # stop() leaves the socket listening: close it
        self.running = False


@pytest.fixture
def flaky_s3(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, RestartableS3]]:
    """(store URI, server) with the vector stored as the model; s3_server sets the credentials."""
    import boto3

    server = RestartableS3()
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    bucket = f"flaky-{uuid.uuid4().hex[:12]}"  # moto's state is per process: a fresh bucket
    boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=bucket)
    store_uri = f"s3://{bucket}/models"
    store = open_store(store_uri)
    publish_provenance(store, publish_model(store, MODEL, BINARY).key, PROVENANCE)
    try:
        yield store_uri, server
    finally:
        if server.running:
            server.stop()


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.fetch
    import tasks.promote

    for step in (tasks.fetch.find_model, tasks.fetch.fetch_evidence, tasks.fetch.fetch_model,
                 tasks.promote.promote, tasks.promote.record_refusal):
        assert step.retries == TASK_ATTEMPTS - 1
        monkeypatch.setattr(step, "retry_delay_seconds", 0)


def deploy_once(store_uri: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from flows._cli import run_flow
    from flows.deploy import deploy_flow

    code, _ = run_flow(deploy_flow, {"model_name": MODEL, "store": store_uri, "trust": TRUST})
    lines = capsys.readouterr().err.splitlines()
    return code, lines[-1] if lines else ""


def unreachable(server: RestartableS3, store_uri: str) -> str:
    """The line of a deploy whose last attempt could not reach the model object."""
    key = layout.model_key(MODEL, hashlib.sha256(BINARY.read_bytes()).hexdigest(), BINARY.name)
    url = f"{server.endpoint}/{store_uri.removeprefix('s3://')}/{key}"
    return f'error: cannot reach S3 endpoint {server.endpoint}: Could not connect to the endpoint URL: "{url}"'


def state_of(store_uri: str) -> tuple[bytes | None, list[str]]:
    store = open_store(store_uri)
    found = store.read_with_tag(layout.current_key(MODEL))
    return (found[0] if found else None), [r.outcome for r in deploy.read_history(store, MODEL, trusted())]


def trusted() -> tuple[Any, ...]:
    return deploy.deployer_for(None).trusted


def stop_on_first_call(server: RestartableS3, function: Any, calls: list[int]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            server.stop()
        return function(*args, **kwargs)

    return wrapper


def test_server_stops_as_the_download_starts(
    prefect_server: str, flaky_s3: tuple[str, RestartableS3], no_retry_delay: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    store_uri, server = flaky_s3
    calls: list[int] = []
    original = deploy.Gate.fetch_model
    monkeypatch.setattr(deploy.Gate, "fetch_model", stop_on_first_call(server, original, calls))
    code, line = deploy_once(store_uri, capsys)
    assert code == 2
    assert line == unreachable(server, store_uri)
    assert len(calls) == TASK_ATTEMPTS

    server.start()
    assert state_of(store_uri) == (None, [])  # nothing deployed, nothing recorded
    monkeypatch.setattr(deploy.Gate, "fetch_model", original)
    assert deploy_once(store_uri, capsys) == (0, "")
    current, history = state_of(store_uri)
    assert current is not None and history == ["promoted"]


def test_server_stops_before_the_record_is_appended(
    prefect_server: str, flaky_s3: tuple[str, RestartableS3], no_retry_delay: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """After the verified object was pinned, before anything is written."""
    store_uri, server = flaky_s3
    calls: list[int] = []
    original = promotion.append_record
    monkeypatch.setattr(promotion, "append_record", stop_on_first_call(server, original, calls))
    code, line = deploy_once(store_uri, capsys)
    assert code == 2
    assert line == unreachable(server, store_uri)
    assert len(calls) == 1  # the retries could not even re-read the object to pin it

    server.start()
    assert state_of(store_uri) == (None, [])
    monkeypatch.setattr(promotion, "append_record", original)
    assert deploy_once(store_uri, capsys) == (0, "")
    assert state_of(store_uri)[1] == ["promoted"]


def test_server_stops_after_the_record_before_the_swap(
    prefect_server: str, flaky_s3: tuple[str, RestartableS3], no_retry_delay: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The decision is in history (#0); current.json was never swapped. The next deploy's
    decision (#1) replaces nothing it should not and chains after #0."""
    store_uri, server = flaky_s3
    calls: list[int] = []
    original = promotion.swap_current
    monkeypatch.setattr(promotion, "swap_current", stop_on_first_call(server, original, calls))
    code, _ = deploy_once(store_uri, capsys)
    assert code == 2

    server.start()
    assert state_of(store_uri) == (None, ["promoted"])
    monkeypatch.setattr(promotion, "swap_current", original)
    assert deploy_once(store_uri, capsys) == (0, "")
    again, history = state_of(store_uri)
    assert history == ["promoted", "promoted"]
    record = deploy.open_record(again or b"", trusted(), "current.json").record
    store = open_store(store_uri)
    assert record.sequence == 1
    assert record.previous == deploy.records.record_digest(store.read_bytes(layout.history_key(MODEL, 0)))


def test_two_deploys_race_for_one_model(
    prefect_server: str, s3_store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deploy flows in two threads. Both append their decisions (#0 and #1), read
    current.json (absent) and only then, held at a barrier, swap it: one compare-and-swap
    wins; the loser re-reads and either retries on the winner's state (its decision is
    newer) or ends Failed with ConflictError (older). current.json ends with #1."""
    from flows.deploy import deploy_flow

    store = open_store(s3_store_uri)
    publish_provenance(store, publish_model(store, MODEL, BINARY).key, PROVENANCE)
    both_read = threading.Barrier(2, timeout=60)
    reads: list[int] = []
    lock = threading.Lock()
    original = promotion.read_current

    def read_then_wait(*args: Any) -> Any:
        found = original(*args)
        with lock:
            reads.append(1)
            first_two = len(reads) <= 2
        if first_two:
            both_read.wait()
        return found

    monkeypatch.setattr(promotion, "read_current", read_then_wait)
    states: dict[str, Any] = {}

    def racer(name: str) -> None:
        states[name] = deploy_flow(model_name=MODEL, store=s3_store_uri, trust=TRUST, return_state=True)

    threads = [threading.Thread(target=racer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(states) == {"a", "b"}
    assert len(reads) == 3  # both read before either swapped; the loser read once more

    completed = [state for state in states.values() if state.is_completed()]
    failed = [state for state in states.values() if state.is_failed()]
    assert len(completed) + len(failed) == 2 and completed
    for state in failed:  # the loser's decision (#0) is older than the winner's (#1)
        assert state.message == (
            f"Flow run encountered an exception: ConflictError: {store.object_uri(layout.current_key(MODEL))} holds a"
            f" newer deployment (#1, sha256:{hashlib.sha256(BINARY.read_bytes()).hexdigest()}) than this one (#0);"
            " nothing changed; re-run the deploy to replace it")
    records = deploy.read_history(store, MODEL, trusted())
    assert sorted(r.outcome for r in records) == sorted(["promoted"] * 2 + ["conflict"] * len(failed))
    assert len({r.flow_run_id for r in records}) == 2
    held = deploy.read_current(store, MODEL, trusted()).signed
    assert held is not None and held.record.sequence == 1
    winners = {str(state.state_details.flow_run_id) for state in completed}
    assert held.record.flow_run_id in winners
