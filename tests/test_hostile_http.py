"""A provenance URL on a server that trickles bytes or stalls (issue 11, case 6): the fetch
ends at its overall deadline with one line. Loopback servers only; each test takes ~1 s."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from slsa_models.deploy import http
from slsa_models.errors import ProvenanceError
from tests.stub_http import StubHTTPServer

NO_WAIT = (0.0, 0.0, 0.0)
STATUS_LINE = b"HTTP/1.1 200 OK\r\n"


@pytest.fixture
def trickle() -> Iterator[str]:
    """A server that answers ``/body`` with headers then one body byte every 50 ms, and
    ``/headers`` with a status line then one header byte every 50 ms, never finishing."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request and not stop.is_set():
                request += conn.recv(4096) or b"\r\n\r\n"
            if b"/headers" in request.split(b"\r\n", 1)[0]:
                start, byte = STATUS_LINE + b"X-Slow: ", b"x"
            else:
                start, byte = STATUS_LINE + b"Content-Length: 100000\r\n\r\n", b"{"
            try:
                conn.sendall(start)
                while not stop.wait(0.05):
                    conn.sendall(byte)
            except OSError:
                return  # the client went away

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


def fetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fetch ")]


@pytest.mark.parametrize("path", ["/body", "/headers"])
def test_a_trickling_server_meets_the_deadline(trickle: str, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(ProvenanceError) as raised:
        http.fetch_url(f"{trickle}{path}?sig=secret", max_bytes=1 << 20, delays=NO_WAIT,
                       timeout=0.5, deadline=1.0)
    elapsed = time.monotonic() - started
    assert str(raised.value) == (
        f"cannot fetch provenance from {trickle}{path}: no complete answer within the 1 s deadline;"
        " the server is too slow or stalled"
    )
    assert raised.value.exit_code == 2
    assert 0.9 < elapsed < 1.5
    if path == "/body":  # the abandoned attempt stops at its next read
        deadline = time.monotonic() + 2
        while fetch_threads() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fetch_threads() == []


@pytest.fixture
def busy() -> Iterator[tuple[str, list[float]]]:
    """A server that always answers 503; the times of the requests are recorded."""
    seen: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(time.monotonic())
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = StubHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_retries_stop_at_the_deadline(busy: tuple[str, list[float]]) -> None:
    url, seen = busy
    started = time.monotonic()
    with pytest.raises(ProvenanceError) as raised:
        http.fetch_url(f"{url}/p", max_bytes=1024, delays=(0.4, 0.4, 0.4), deadline=0.6)
    assert str(raised.value) == (
        f"cannot fetch provenance from {url}/p: HTTP 503 Service Unavailable (gave up after 2 attempts)"
    )
    assert len(seen) == 2 and time.monotonic() - started < 0.6


def test_the_default_deadline_is_documented() -> None:
    assert http.DEFAULT_DEADLINE == 60.0
    assert "60 by default" in (http.__doc__ or "")
