"""Seven behaviours of the gate and the stores that a one-line breakage used to leave green
(issue 12). Each test exercises the behaviour through real parts (a Prefect API server,
moto's S3 over HTTP, a loopback HTTP server, a child process) and fails when it is broken:

1. the deploy flow never loads bytes whose verification failed;
2. a single-part S3 put is write-once against a concurrent writer (If-None-Match);
3. S3 compare-and-swap loses to a concurrent swap (If-Match);
4. on a versioned bucket, an object replaced after verification is never promoted;
5. store steps retry only transient store errors, on a 1/4/10 s schedule;
6. $GITHUB_TOKEN goes to GitHub hosts, and only there;
7. files above 16 MiB go up in parts with one part in memory; the train flow checks
   the store before it trains.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy
from slsa_models.errors import (
    ConflictError,
    CorruptRecordError,
    InputError,
    MissingObjectError,
    NotFoundError,
    ObjectChanged,
    PolicyError,
    ProvenanceError,
    SlsaModelsError,
    StoreError,
    StoreLockedError,
    UnsafePathError,
    VerificationFailed,
)
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import ArtifactStore, StoredObject, layout, open_store
from slsa_models.store.s3 import DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, S3Store
from slsa_models.verify import TrustedKey
from tests.policies import github_policy
from tests.stub_http import StubHTTPServer

REPO = Path(__file__).resolve().parents[1]
VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
MODEL = "example"
MIB = 2**20


def _bucket(store_uri: str) -> str:
    return store_uri.removeprefix("s3://").split("/")[0]


def _s3_store(store_uri: str) -> S3Store:
    store = open_store(store_uri)
    assert isinstance(store, S3Store)
    return store


def _before_put(store: S3Store, action: Callable[[], None]) -> list[int]:
    """Run ``action`` once, just before ``store``'s next PutObject leaves for the server
    (after any HEAD it made): another writer acting between the check and the write.
    Returns a list that holds one entry once the action ran."""
    ran: list[int] = []

    def hook(**_: Any) -> None:
        if not ran:
            ran.append(1)
            action()

    store.client.meta.events.register("before-send.s3.PutObject", hook)
    return ran


def _task_runs(flow_run_id: Any, *, names: set[str]) -> list[Any]:
    """The task runs of a flow run, from the Prefect API, once those called ``names`` (and all
    others) have reached a final state: task run states reach the API a little after the run."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            settled = all(run.state is not None and run.state.is_final() for run in runs)
            if (settled and names <= {_step(run) for run in runs}) or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


def _step(task_run: Any) -> str:
    """The task's name: a task run is named ``<task name>-<3 hex>``."""
    return task_run.name.rsplit("-", 1)[0]


# -- 1. the deploy flow never loads unverified bytes ------------------------------------------


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: what a hostile pickled model could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_deploy_flow_never_loads_a_model_that_failed_verification(
    prefect_server: str, file_store_uri: str, tmp_path: Path
) -> None:
    """A pickled model (pickles allowed after verification) whose provenance is for other
    bytes: the flow refuses it, and unpickling it, which would create ``marker``, never runs."""
    from flows.deploy import deploy_flow

    marker = tmp_path / "code-ran"
    model = tmp_path / "pytorch_full_model.pth"
    model.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    store = open_store(file_store_uri)
    key = publish_model(store, MODEL, model).key
    publish_provenance(store, key, PROVENANCE)  # signed, but for the vector binary's digest

    state = deploy_flow(model_name=MODEL, store=file_store_uri, return_state=True, trust={
        "source_uri": SOURCE, "source_tag": "v14", "accept_unnamed": True, "allow_pickle": True,
    })

    assert state.is_failed()
    assert not marker.exists(), "the flow unpickled a model that failed verification"
    trusted = deploy.deployer_for(None).trusted
    [refusal] = deploy.read_history(store, MODEL, trusted)
    assert (refusal.outcome, refusal.failed_check) == ("refused", "subject-digest")
    assert refusal.smoke_load == {
        "status": "not-run", "detail": "verification did not pass: nothing is loaded before it does",
    }
    [smoke] = [run for run in _task_runs(state.state_details.flow_run_id, names={"smoke-load"})
               if _step(run) == "smoke-load"]
    assert smoke.state.is_completed()  # the step ran, and declined to load


# -- 2. single-part put_file is write-once against a concurrent writer -------------------------


def test_single_part_put_file_loses_to_a_writer_between_head_and_put(
    s3_store_uri: str, s3_client: Any, tmp_path: Path
) -> None:
    """Two writers of one key: the other's put lands after our HEAD found nothing and before
    our PUT; our PUT's precondition (If-None-Match: *) fails and their bytes stay."""
    ours = tmp_path / "pytorch_model.pth"
    ours.write_bytes(b"our model bytes")
    digest = hashlib.sha256(ours.read_bytes()).hexdigest()
    key = layout.model_key("digits", digest, ours.name)
    store, other = _s3_store(s3_store_uri), _s3_store(s3_store_uri)
    assert ours.stat().st_size <= store.multipart_threshold  # the single-part path
    ran = _before_put(store, lambda: other.put_bytes(key, b"their bytes"))

    with pytest.raises(ConflictError) as error:
        store.put_file(key, ours, sha256=digest)

    assert ran == [1]
    theirs = hashlib.sha256(b"their bytes").hexdigest()
    assert str(error.value) == (
        f"{store.object_uri(key)} already holds different bytes (sha256:{theirs}, 11 bytes;"
        f" refusing to write sha256:{digest}, 15 bytes): stored objects are never overwritten"
    )
    body = s3_client.get_object(Bucket=_bucket(s3_store_uri), Key=f"prefix/{key}")["Body"].read()
    assert body == b"their bytes"
    versions = s3_client.list_object_versions(Bucket=_bucket(s3_store_uri)).get("Versions", [])
    assert len(versions) == 1  # one write reached the bucket


def test_single_part_put_file_of_the_same_bytes_by_another_writer_is_a_no_op(
    s3_store_uri: str, tmp_path: Path
) -> None:
    """The same race with identical bytes (two runs of one training): no error, one object."""
    ours = tmp_path / "pytorch_model.pth"
    ours.write_bytes(b"same bytes")
    digest = hashlib.sha256(b"same bytes").hexdigest()
    key = layout.model_key("digits", digest, ours.name)
    store, other = _s3_store(s3_store_uri), _s3_store(s3_store_uri)
    first: list[StoredObject] = []
    _before_put(store, lambda: first.append(other.put_file(key, ours)))

    stored = store.put_file(key, ours)

    assert (stored.sha256, stored.size, stored.etag) == (digest, 10, first[0].etag)


# -- 3. S3 compare-and-swap sends If-Match --------------------------------------------------------


def test_s3_compare_and_swap_loses_to_a_swap_between_head_and_put(s3_store_uri: str) -> None:
    """Both writers read tag T; the other swaps first (after our HEAD still saw T): our PUT
    carries If-Match: T, the server refuses it, and the other's bytes stay."""
    store, other = _s3_store(s3_store_uri), _s3_store(s3_store_uri)
    key = "deployments/m/current.json"
    store.compare_and_swap(key, b"v0", None)
    read = store.read_with_tag(key)
    assert read is not None
    _, tag = read
    swapped: list[str] = []
    ran = _before_put(store, lambda: swapped.append(other.compare_and_swap(key, b"theirs", tag)))

    with pytest.raises(ConflictError) as error:
        store.compare_and_swap(key, b"ours", tag)

    assert ran == [1]
    assert str(error.value) == (
        f"{store.object_uri(key)} changed since it was read (expected tag {tag}):"
        " another writer got there first; read it again and retry"
    )
    assert other.read_with_tag(key) == (b"theirs", swapped[0])


def test_s3_compare_and_swap_of_a_new_key_loses_to_a_creation_between_head_and_put(
    s3_store_uri: str,
) -> None:
    """expected_tag None (the first promotion): If-None-Match: * refuses a second creator."""
    store, other = _s3_store(s3_store_uri), _s3_store(s3_store_uri)
    key = "deployments/m/current.json"
    _before_put(store, lambda: other.compare_and_swap(key, b"theirs", None))

    with pytest.raises(ConflictError) as error:
        store.compare_and_swap(key, b"ours", None)

    assert str(error.value) == (
        f"{store.object_uri(key)} changed since it was read (expected none):"
        " another writer got there first; read it again and retry"
    )
    found = other.read_with_tag(key)
    assert found is not None and found[0] == b"theirs"


# -- 4. the verified object version is pinned on a versioned bucket ---------------------------------


@pytest.fixture
def deployer(tmp_path: Path) -> deploy.Deployer:
    generate_key_pair(tmp_path / "deployer.pem", tmp_path / "deployer.pub.pem")
    key = load_private_key(tmp_path / "deployer.pem")
    return deploy.Deployer(KeySigner(key), (TrustedKey("deployer", key.public_key()),))


def _verified(store: ArtifactStore, work: Path) -> deploy.Verdict:
    key = publish_model(store, MODEL, BINARY).key
    publish_provenance(store, key, PROVENANCE)
    work.mkdir()
    verdict, _ = deploy.Gate(store, MODEL, github_policy(source_uri=SOURCE, source_tag="v14")).run(work)
    assert verdict.passed, verdict.reason
    return verdict


def test_versioned_bucket_refuses_an_object_replaced_after_verification(
    s3_versioned_store_uri: str, s3_client: Any, tmp_path: Path, deployer: deploy.Deployer
) -> None:
    """Another version of the model's key is put (bytes of the same size) between
    verification and promotion: nothing is promoted, and the refusal names both versions."""
    store = open_store(s3_versioned_store_uri)
    verdict = _verified(store, tmp_path / "work")
    assert verdict.model is not None
    verified_version = verdict.model.stored.version_id
    assert verified_version not in (None, "null")
    swapped = bytearray(BINARY.read_bytes())
    swapped[-1] ^= 0xFF
    put = s3_client.put_object(Bucket=_bucket(s3_versioned_store_uri), Key=f"prefix/{verdict.model_key}",
                               Body=bytes(swapped))
    uri = store.object_uri(verdict.model_key)
    expected = (f"{uri} changed after it was verified (version {verified_version} when downloaded,"
                f" version {put['VersionId']} now): nothing deployed; re-run the deploy to verify what"
                " the store holds now")

    with pytest.raises(ObjectChanged) as error:
        deploy.pin_verified_object(store, verdict)
    assert str(error.value) == expected

    decision = deploy.promote(store, verdict, deploy.SmokeResult("skipped", "not a model format"),
                              deployer=deployer, policy={}, flow_run_id="run")
    assert not decision.deployed
    assert (decision.record.outcome, decision.record.failed_check) == ("refused", "stored-object")
    assert decision.record.reason == expected
    assert store.read_with_tag(layout.current_key(MODEL)) is None
    assert [record.outcome for record in deploy.read_history(store, MODEL, deployer.trusted)] == ["refused"]


def test_versioned_bucket_promotes_the_verified_version_when_unchanged(
    s3_versioned_store_uri: str, tmp_path: Path, deployer: deploy.Deployer
) -> None:
    """The other side of the pin: nothing changed, so the verified version is promoted."""
    store = open_store(s3_versioned_store_uri)
    verdict = _verified(store, tmp_path / "work")
    assert verdict.model is not None
    assert deploy.pin_verified_object(store, verdict) == verdict.model.stored
    decision = deploy.promote(store, verdict, deploy.SmokeResult("skipped", "not a model format"),
                              deployer=deployer, policy={}, flow_run_id="run")
    assert decision.deployed
    assert decision.record.object["version_id"] == verdict.model.stored.version_id


# -- 5. retries: transient store errors only, 1/4/10 s -------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (StoreError("s3 did not answer"), True),
        (StoreLockedError("locked by pid 7"), True),
        (InputError("bad digest"), False),
        (PolicyError("no rule"), False),
        (ConflictError("already holds different bytes"), False),
        (ObjectChanged("changed after it was verified"), False),
        (NotFoundError("no such bucket"), False),
        (MissingObjectError("no such object"), False),
        (CorruptRecordError("not a record"), False),
        (UnsafePathError("a symbolic link"), False),
        (ProvenanceError("not JSON"), False),
        (VerificationFailed("source-tag"), False),
        (ValueError("a bug"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_retry_condition(error: Exception, retried: bool) -> None:
    from prefect.states import Failed

    from tasks.policy import retry_if_transient

    assert retry_if_transient(None, None, Failed(data=error)) is retried


def test_every_store_step_uses_the_retry_schedule() -> None:
    from tasks import fetch, promote, store, trust
    from tasks.policy import retry_if_transient

    steps = [fetch.find_model, fetch.fetch_evidence, fetch.fetch_model, promote.promote,
             promote.record_refusal, store.store_model, store.store_provenance, trust.refuse_run]
    for step in steps:
        assert (step.name, step.retries, step.retry_delay_seconds, step.retry_condition_fn) == (
            step.name, 3, [1, 4, 10], retry_if_transient)


class _FailingStore:
    """A real store whose listings fail with ``error`` the first ``failures`` times."""

    def __init__(self, store: ArtifactStore, error: SlsaModelsError, failures: int) -> None:
        self._store, self._error, self._failures = store, error, failures
        self.listings = 0

    def list_objects(self, prefix: str) -> list[StoredObject]:
        self.listings += 1
        if self.listings <= self._failures:
            raise self._error
        return self._store.list_objects(prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def engine_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses Prefect's task engine takes before retries, recorded instead of slept."""
    import prefect.task_engine

    sleeps: list[float] = []

    class Clock:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            sleeps.append(seconds)

    monkeypatch.setattr(prefect.task_engine, "time", Clock())
    return sleeps


def _find_in_flow(gate: Any) -> tuple[bool, Any]:
    """Run the find-model step in a flow: (completed?, its result or its exception)."""
    from prefect import flow

    from tasks.fetch import find_model

    @flow(name="find-only")
    def find_only() -> tuple[bool, Any]:
        state = find_model(gate, None, return_state=True)
        return state.is_completed(), state.result(raise_on_failure=False)

    return find_only()


def test_a_store_error_is_retried_on_the_schedule(
    prefect_server: str, file_store_uri: str, engine_sleeps: list[float]
) -> None:
    """Three failures then an answer: four attempts, pausing 1, 4 and 10 s in between."""
    real = open_store(file_store_uri)
    publish_model(real, MODEL, BINARY)
    failing = _FailingStore(real, StoreError("the store did not answer"), failures=3)
    completed, found = _find_in_flow(deploy.Gate(failing, MODEL, github_policy(source_uri=SOURCE)))  # type: ignore[arg-type]
    assert completed, found
    assert found.key == deploy.model_objects(real, MODEL)[0].key
    assert failing.listings == 4
    assert [round(pause) for pause in engine_sleeps] == [1, 4, 10]


def test_a_store_error_that_persists_fails_after_four_attempts(
    prefect_server: str, file_store_uri: str, engine_sleeps: list[float]
) -> None:
    error = StoreError("the store did not answer")
    failing = _FailingStore(open_store(file_store_uri), error, failures=99)
    completed, raised = _find_in_flow(deploy.Gate(failing, MODEL, github_policy(source_uri=SOURCE)))  # type: ignore[arg-type]
    assert not completed and raised is error
    assert failing.listings == 4
    assert [round(pause) for pause in engine_sleeps] == [1, 4, 10]


@pytest.mark.parametrize(
    "error",
    [InputError("bad input"), ConflictError("write-once conflict"), NotFoundError("no such bucket")],
    ids=["bad-input", "write-once-conflict", "not-found"],
)
def test_a_permanent_error_is_never_retried(
    prefect_server: str, file_store_uri: str, engine_sleeps: list[float], error: SlsaModelsError
) -> None:
    failing = _FailingStore(open_store(file_store_uri), error, failures=99)
    completed, raised = _find_in_flow(deploy.Gate(failing, MODEL, github_policy(source_uri=SOURCE)))  # type: ignore[arg-type]
    assert not completed and raised is error
    assert failing.listings == 1
    assert engine_sleeps == []


def test_a_real_write_once_conflict_is_not_retried(
    prefect_server: str, s3_store_uri: str, s3_client: Any, tmp_path: Path, engine_sleeps: list[float]
) -> None:
    """store-model against a key that holds other bytes (S3 on moto): one attempt, the
    ConflictError, no pause; the Prefect API counts one run of the task."""
    from prefect import flow

    from tasks.store import store_model

    model = tmp_path / "pytorch_model.pth"
    model.write_bytes(b"the real model")
    digest = hashlib.sha256(b"the real model").hexdigest()
    key = layout.model_key(MODEL, digest, model.name)
    s3_client.put_object(Bucket=_bucket(s3_store_uri), Key=f"prefix/{key}", Body=b"planted bytes")

    @flow(name="store-only")
    def store_only() -> tuple[Any, Any, Any]:
        state = store_model(s3_store_uri, MODEL, model, digest, return_state=True)
        return state.state_details.flow_run_id, state.state_details.task_run_id, state.result(raise_on_failure=False)

    flow_run_id, task_run_id, raised = store_only()
    assert isinstance(raised, ConflictError)
    planted = b"planted bytes"
    assert str(raised) == (
        f"{open_store(s3_store_uri).object_uri(key)} already holds different bytes"
        f" (sha256:{hashlib.sha256(planted).hexdigest()}, {len(planted)} bytes;"
        f" refusing to write sha256:{digest}, {len(b'the real model')} bytes): stored objects are never overwritten")
    [run] = [run for run in _task_runs(flow_run_id, names={"store-model"}) if run.id == task_run_id]
    assert (run.state.is_failed(), run.run_count) == (True, 1)
    assert engine_sleeps == []


# -- 6. $GITHUB_TOKEN goes to GitHub hosts only -------------------------------------------------------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Message]]]:
    """A loopback HTTP proxy that answers every request itself: urllib sends it requests for
    any host (github.com included) as they would go out, headers and all. Yields the
    requests seen, as (URL, headers)."""
    seen: list[tuple[str, Message]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers))
            body = b'{"provenance": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = StubHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    address = f"http://127.0.0.1:{httpd.server_address[1]}"
    # the opener urlopen uses, as it would be built with http_proxy set
    monkeypatch.setattr(urllib.request, "_opener",
                        urllib.request.build_opener(urllib.request.ProxyHandler({"http": address})))
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://github.com/acme/models/releases/download/v1/m.intoto.jsonl", True),
        ("http://api.github.com/repos/acme/models/actions/artifacts/7/zip", True),
        ("http://127.0.0.1:9/m.intoto.jsonl", False),
        ("http://localhost:9/m.intoto.jsonl", False),
        ("http://objects.githubusercontent.com/blob", False),
        ("http://github.com.evil.example/m.intoto.jsonl", False),
        ("http://evil.example/github.com/m.intoto.jsonl", False),
        ("http://evilgithub.com/m.intoto.jsonl", False),
        ("http://github.com:8443/m.intoto.jsonl", True),
    ],
)
def test_github_token_from_the_environment_goes_to_github_hosts_only(
    proxy: list[tuple[str, Message]], monkeypatch: pytest.MonkeyPatch, url: str, sent: bool
) -> None:
    from slsa_models.deploy.http import fetch_url

    monkeypatch.setenv("GITHUB_TOKEN", "ghs_from_the_environment")
    assert fetch_url(url, max_bytes=1024, delays=()) == b'{"provenance": true}'
    [(requested, headers)] = proxy
    assert requested == url
    expected = ["Bearer ghs_from_the_environment"] if sent else []
    assert headers.get_all("Authorization", []) == expected


def test_no_github_token_sends_no_authorization(
    proxy: list[tuple[str, Message]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from slsa_models.deploy.http import fetch_url

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    fetch_url("http://github.com/acme/models/releases/download/v1/m.intoto.jsonl", max_bytes=1024, delays=())
    [(_, headers)] = proxy
    assert headers.get_all("Authorization", []) == []


# -- 7. multipart above 16 MiB with one part in memory; the store checked before training -------------

_UPLOAD = """
import json, sys, tracemalloc
from slsa_models.store import open_store
store = open_store(sys.argv[1])
tracemalloc.start()
stored = store.put_file(sys.argv[2], sys.argv[3])
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"peak": peak, "etag": stored.etag, "sha256": stored.sha256, "size": stored.size}))
"""


def test_a_file_above_16_mib_goes_up_in_parts_with_one_part_in_memory(
    s3_store_uri: str, s3_server: str, s3_client: Any, tmp_path: Path
) -> None:
    """40 MiB with the default settings, uploaded by a child process (moto's server runs in
    this one) whose Python allocations tracemalloc measures: three parts, and a peak under
    one part plus 8 MiB (the whole file would be 40 MiB)."""
    model = tmp_path / "tensorflow_model.keras"
    with model.open("wb") as sink:
        for _ in range(40):
            sink.write(os.urandom(MIB))
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    key = layout.model_key("digits", digest, model.name)

    child = subprocess.run(
        [sys.executable, "-c", _UPLOAD, s3_store_uri, key, str(model)],
        cwd=REPO, env={**os.environ, "AWS_ENDPOINT_URL": s3_server}, capture_output=True, text=True,
        timeout=300,
    )

    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert (result["sha256"], result["size"]) == (digest, 40 * MIB)
    assert result["peak"] < DEFAULT_PART_SIZE + 8 * MIB, f"peak {result['peak'] / MIB:.1f} MiB"
    assert result["etag"].strip('"').endswith("-3")  # 16 + 16 + 8 MiB
    head = s3_client.head_object(Bucket=_bucket(s3_store_uri), Key=f"prefix/{key}")
    assert (head["ContentLength"], head["Metadata"]) == (40 * MIB, {"sha256": digest})
    assert (DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE) == (16 * MIB, 16 * MIB)  # what the docs say


def test_train_flow_checks_the_store_before_training(
    prefect_server: str, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bucket that does not exist: the flow fails on check-store and no train task runs."""
    from flows.train import train_flow

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    state = train_flow(model_format="pytorch_model.pth", store="s3://no-such-bucket/models", epochs=1,
                       return_state=True)

    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, NotFoundError)
    assert str(error) == f"S3 bucket 'no-such-bucket' does not exist at {s3_server}"
    runs = _task_runs(state.state_details.flow_run_id, names={"check-store"})
    assert sorted(_step(run) for run in runs) == ["check-store"]
