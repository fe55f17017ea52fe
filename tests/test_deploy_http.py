"""Provenance over HTTP: a real http.server on 127.0.0.1 (no internet), real urllib."""

from __future__ import annotations

import io
import socket
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from slsa_models.deploy import http
from slsa_models.errors import InputError, ProvenanceError
from tests.stub_http import StubHTTPServer

VECTOR = Path(__file__).parent / "vectors" / "binary-linux-amd64-push-v14.intoto.jsonl"
NO_WAIT = (0.0, 0.0, 0.0)


class Routes:
    """What the server answers: path -> list of (status, headers, body), consumed in order
    (the last one repeats). Requests are recorded as (path, headers)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.requests: list[tuple[str, Message]] = []

    def add(self, path: str, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.answers[path] = list(answers)


@pytest.fixture
def server() -> Iterator[tuple[str, Routes]]:
    routes = Routes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.requests.append((self.path, self.headers))
            queue = routes.answers.get(self.path, [(404, {}, b"not found")])
            status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
            self.send_response(status)
            for name, value in headers.items():
                if name != "X-Omit-Length":
                    self.send_header(name, value)
            if "Content-Length" not in headers and "X-Omit-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = StubHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch(url: str, **options: object) -> bytes:
    options.setdefault("max_bytes", 1 << 20)
    options.setdefault("delays", NO_WAIT)
    return http.fetch_url(url, **options)  # type: ignore[arg-type]


def test_fetches_the_body(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/p.intoto.jsonl", (200, {}, VECTOR.read_bytes()))
    assert fetch(f"{base}/p.intoto.jsonl") == VECTOR.read_bytes()
    _, headers = routes.requests[0]
    assert headers["Accept"] == "application/octet-stream"
    assert "Authorization" not in headers


def test_retries_transient_failures_then_succeeds(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/p", (503, {}, b"busy"), (429, {}, b"slow down"), (200, {}, b"{}"))
    waited: list[float] = []
    assert fetch(f"{base}/p", delays=(0.5, 1.0, 2.0), sleep=waited.append) == b"{}"
    assert len(routes.requests) == 3
    assert waited == [0.5, 1.0]


def test_gives_up_after_bounded_attempts(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/p?token=secret", (502, {}, b"bad gateway"))
    with pytest.raises(ProvenanceError) as caught:
        fetch(f"{base}/p?token=secret")
    assert str(caught.value) == (
        f"cannot fetch provenance from {base}/p: HTTP 502 Bad Gateway (gave up after 4 attempts)"
    )
    assert len(routes.requests) == 4


def test_not_found_is_not_retried(server: tuple[str, Routes]) -> None:
    base, routes = server
    with pytest.raises(ProvenanceError) as caught:
        fetch(f"{base}/missing")
    assert str(caught.value) == (
        f"cannot fetch provenance from {base}/missing: HTTP 404 Not Found; check the URL"
        " (a private repository also answers 404 without a token)"
    )
    assert len(routes.requests) == 1


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waited: list[float] = []
    with pytest.raises(ProvenanceError) as caught:
        fetch(f"http://127.0.0.1:{port}/p", sleep=waited.append)
    assert str(caught.value) == (
        f"cannot fetch provenance from http://127.0.0.1:{port}/p: Connection refused"
        " (gave up after 4 attempts)"
    )
    assert waited == list(NO_WAIT)


def test_size_cap_by_content_length_and_by_body(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/big", (200, {}, b"x" * 2048))
    routes.add("/liar", (200, {"Content-Length": "10"}, b"y" * 10))
    with pytest.raises(ProvenanceError) as caught:
        fetch(f"{base}/big", max_bytes=1024)
    assert str(caught.value) == (
        f"{base}/big: 2048 bytes is more than the 1024-byte limit for a provenance file;"
        " is this the model instead of its .intoto.jsonl?"
    )
    assert fetch(f"{base}/liar", max_bytes=10) == b"y" * 10


def test_size_cap_without_content_length(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/stream", (200, {"X-Omit-Length": "1"}, b"z" * 4096))
    with pytest.raises(ProvenanceError) as caught:
        fetch(f"{base}/stream", max_bytes=1024)
    assert str(caught.value) == (
        f"{base}/stream: more than the 1024-byte limit for a provenance file;"
        " is this the model instead of its .intoto.jsonl?"
    )


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_actions_artifact_zip_gives_its_provenance_member(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/one.zip", (200, {}, _zip({"model.keras.intoto.jsonl": b"{one}"})))
    routes.add("/two.zip", (200, {}, _zip({"a.intoto.jsonl": b"{a}", "b.intoto.jsonl": b"{b}"})))
    assert fetch(f"{base}/one.zip") == b"{one}"
    assert fetch(f"{base}/two.zip", member_name="b.intoto.jsonl") == b"{b}"
    with pytest.raises(ProvenanceError) as caught:
        fetch(f"{base}/two.zip", member_name="c.intoto.jsonl")
    assert str(caught.value) == (
        f"{base}/two.zip: a zip archive without exactly one .intoto.jsonl file"
        " (found: a.intoto.jsonl, b.intoto.jsonl); link the provenance file itself"
    )


def test_zip_member_over_the_cap_is_refused(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add("/bomb.zip", (200, {}, _zip({"m.intoto.jsonl": b"0" * 100_000})))
    with pytest.raises(ProvenanceError) as raised:
        fetch(f"{base}/bomb.zip", max_bytes=50_000)
    assert str(raised.value) == (
        f"{base}/bomb.zip: m.intoto.jsonl is larger than the 50000-byte limit for a provenance file")


@pytest.mark.parametrize(
    ("url", "sends_token"),
    [
        ("https://github.com/acme/models/releases/download/v1/m.intoto.jsonl", True),
        ("https://api.github.com/repos/acme/models/actions/artifacts/7/zip", True),
        ("https://objects.githubusercontent.com/x", False),
        ("https://github.com.evil.example/x", False),
        ("http://127.0.0.1:8000/x", False),
    ],
)
def test_token_goes_to_github_hosts_only(url: str, sends_token: bool) -> None:
    """Built, not sent: nothing here reaches the internet."""
    request = http.build_request(url, token="ghs_secret")
    assert (request.get_header("Authorization") == "Bearer ghs_secret") is sends_token


def test_token_is_not_forwarded_on_redirect() -> None:
    """GitHub answers release-asset downloads with a redirect to another host."""
    request = http.build_request("https://github.com/acme/models/releases/download/v1/m.intoto.jsonl", "t")
    follow = urllib.request.HTTPRedirectHandler().redirect_request(
        request, io.BytesIO(), 302, "Found", Message(), "https://objects.githubusercontent.com/blob"
    )
    assert follow is not None
    assert follow.get_header("Authorization") is None
    assert follow.get_header("Accept") == "application/octet-stream"


def test_token_defaults_to_github_token_env(server: tuple[str, Routes], monkeypatch: pytest.MonkeyPatch) -> None:
    base, routes = server
    routes.add("/p", (200, {}, b"{}"))
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_from_env")
    fetch(f"{base}/p")
    assert "Authorization" not in routes.requests[0][1]  # loopback is not GitHub


@pytest.mark.parametrize("url", ["ftp://example.com/p", "file:///etc/passwd", "not a url"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(InputError) as error:
        http.build_request(url)
    assert str(error.value) == f"provenance URL {http.redact(url)!r} must be an http:// or https:// URL"


def test_redact_drops_query_and_credentials() -> None:
    assert http.redact("https://u:p@host:8443/a/b?sig=secret#x") == "https://host:8443/a/b"
