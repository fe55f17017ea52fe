"""Shared fixtures: a real S3 server (moto, over HTTP on 127.0.0.1) and fresh stores.

- ``s3_server`` (session): endpoint URL of a ThreadedMotoServer on a free port;
  dummy AWS credentials and region are set for the whole session, the EC2
  metadata lookup is off and no ~/.aws file is read.
- ``s3_client`` (session): a boto3 S3 client for that server, to inspect or arrange.
- ``s3_store_uri``: ``s3://<fresh bucket>/prefix`` with AWS_ENDPOINT_URL pointing
  at the server for this test.
- ``s3_versioned_store_uri``: the same with bucket versioning enabled.
- ``file_store_uri``: ``file:///<tmp>/store`` (an existing, empty directory).
- ``store_uri``: parametrized over both, for tests whose behaviour is shared.

Order independence: a ``logging.StreamHandler`` keeps the ``sys.stderr`` of the
moment it was made. Inside a test that is one of pytest's capture streams: Prefect's
handlers (made when Prefect configures logging), torch's, securesystemslib's and
absl's (made when TensorFlow or torch is first imported). The test sees their lines
in ``capsys`` (and no other test does), and once the stream is closed every later
test that logs through them fails. Worse, absl's handler *closes* its stream when
``logging.config.dictConfig`` (Prefect's setup) shuts the old handlers down, unless
that stream is the current ``sys.stderr``: after TensorFlow was imported in one test
and Prefect set its logging up outside a test's capture, pytest's own session-wide
capture file was closed and the run died ("I/O operation on closed file", "lost
sys.stderr"). The hooks below bind every handler that holds a capture stream (or a
closed one) to the process's stderr after every setup and call and before Prefect
sets its logging up; pytest's fd-level capture still shows their output in a
failing test's report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

_SESSION_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_SESSION_UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def _is_capture_stream(stream: object) -> bool:
    """One of pytest's capture streams (fd-level, sys-level or ``capsys``), or any closed one."""
    from _pytest.capture import CaptureIO, EncodedFile

    if isinstance(stream, (CaptureIO, EncodedFile)):
        return True
    try:
        return bool(getattr(stream, "closed", False))
    except ValueError:  # some wrappers raise instead of answering on a closed file
        return True


def _rebind_stream_handlers() -> None:
    """Point every stream handler that holds a pytest capture stream (or a closed stream),
    and the rich Console a Prefect console handler prints through, at the process's own
    stderr. Handlers are found on the loggers and in logging's list of every live handler
    (absl's is on no logger). Handlers made during a test are rebound after it."""
    stream = sys.__stderr__
    handlers: dict[int, logging.Handler] = {}
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            handlers[id(handler)] = handler
    for ref in list(getattr(logging, "_handlerList", ())):
        handler = ref()
        if handler is not None:
            handlers[id(handler)] = handler
    for handler in handlers.values():
        console = getattr(handler, "console", None)
        if console is not None and _is_capture_stream(getattr(console, "file", None)):
            console.file = stream
        if not isinstance(handler, logging.StreamHandler):
            continue
        current = handler.__dict__.get("stream")  # not a property (slsa_models' own follows sys.stderr)
        if current is None or current is stream or not _is_capture_stream(current):
            continue
        with handler.lock or contextlib.nullcontext():  # not setStream: it flushes the old,
            handler.stream = stream                      # maybe closed, stream


def pytest_configure(config: pytest.Config) -> None:
    # registered first, so it runs last: after the shared stack's own stop
    config.add_cleanup(lambda: _stop_leftovers(config))


def _stop_leftovers(config: pytest.Config) -> None:
    """Stop any process the session left running (tests/leftovers.py) and say so."""
    from tests.leftovers import reap

    factory = getattr(config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None)
    if basetemp is None:
        return
    left = reap(str(basetemp))
    if left:
        print(f"\ntests: {len(left)} processes outlived the session; stopped them:", file=sys.stderr)
        for pid, command in sorted(left.items()):
            print(f"  {pid}: {command[:200]}", file=sys.stderr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _rebind_stream_handlers()  # first: Prefect's dictConfig closes the handlers it replaces
        if "prefect" in sys.modules:  # e.g. prefect_server: configure logging now, not in the test
            from prefect.logging.configuration import ensure_logging_setup

            ensure_logging_setup()
        _rebind_stream_handlers()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:  # before the test's capture streams are closed in teardown
        _rebind_stream_handlers()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the default store and the development key out of the checkout."""
    home = tmp_path_factory.mktemp("slsa-models-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("SLSA_MODELS_HOME", str(home))
    patch.delenv("SLSA_MODELS_STORE", raising=False)
    patch.delenv("GITHUB_ACTIONS", raising=False)
    yield home
    patch.undo()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    aws_home = tmp_path_factory.mktemp("aws-home")
    patch = pytest.MonkeyPatch()
    for name, value in _SESSION_ENV.items():
        patch.setenv(name, value)
    for name in _SESSION_UNSET:
        patch.delenv(name, raising=False)
    patch.setenv("AWS_CONFIG_FILE", str(aws_home / "config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_home / "credentials"))
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        patch.undo()


@pytest.fixture(scope="session")
def s3_client(s3_server: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")


def _fresh_bucket(s3_client: Any) -> str:
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    s3_client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_store_uri(s3_server: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<new bucket>/prefix``; AWS_ENDPOINT_URL points at the moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    return f"s3://{_fresh_bucket(s3_client)}/prefix"


@pytest.fixture
def s3_versioned_store_uri(s3_server: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Like ``s3_store_uri``, in a bucket with versioning enabled."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    bucket = _fresh_bucket(s3_client)
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return f"s3://{bucket}/prefix"


@pytest.fixture
def count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[int]]:
    """Call it to start counting ``os.fsync`` calls (the real fsync still runs): the live list."""
    def start() -> list[int]:
        synced: list[int] = []
        real_fsync = os.fsync

        def counting_fsync(fd: int) -> None:
            synced.append(fd)
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", counting_fsync)
        return synced
    return start


@pytest.fixture
def file_store_uri(tmp_path: Path) -> str:
    """``file:///<tmp>/store``, an empty directory."""
    root = tmp_path / "store"
    root.mkdir()
    return root.as_uri()


@pytest.fixture(params=["file", "s3"])
def store_uri(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: a file store, then an S3 store on moto."""
    return request.getfixturevalue(f"{request.param}_store_uri")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real, temporary Prefect API server (SQLite) for the whole session; yields its URL.

    Flows called in-process report to it, as they would to a user's server.
    """
    import os

    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # no heartbeat in tests
        with prefect_test_harness(server_startup_timeout=90):
            yield PREFECT_API_URL.value()
