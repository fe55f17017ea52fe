"""Fetch a provenance file over HTTP(S): bounded size, bounded retries, GitHub token.

Two kinds of URL are expected: a GitHub release asset (``github.com/.../releases/
download/...`` or ``api.github.com/repos/.../releases/assets/ID``) and an Actions
artifact download (``api.github.com/repos/.../actions/artifacts/ID/zip``), which
answers with a zip archive holding the ``.intoto.jsonl`` file. ``GITHUB_TOKEN`` is
sent as a Bearer token to github.com and api.github.com only, and never follows a
redirect (GitHub redirects downloads to other hosts).

Every read waits at most ``timeout`` seconds, and the whole fetch (retries and
their pauses included) ends within ``deadline`` seconds (60 by default), so a
server that trickles a byte at a time cannot hold a deploy forever.
"""

from __future__ import annotations

import http.client
import io
import os
import threading
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

from slsa_models.errors import InputError, ProvenanceError

TOKEN_ENV = "GITHUB_TOKEN"
TOKEN_HOSTS = frozenset({"github.com", "api.github.com"})
DEFAULT_DELAYS = (0.5, 1.0, 2.0)  # seconds before each retry: four attempts in all
DEFAULT_TIMEOUT = 30.0  # seconds one read may wait
DEFAULT_DEADLINE = 60.0  # seconds the whole fetch may take
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_ZIP_MAGIC = b"PK\x03\x04"
_USER_AGENT = "slsa-models"


def redact(url: str) -> str:
    """The URL without query, fragment or credentials: signed download URLs carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def build_request(url: str, token: str | None = None) -> urllib.request.Request:
    """A GET for ``url``; the token goes to GitHub hosts only and never to a redirect target."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"provenance URL {redact(url)!r} must be an http:// or https:// URL")
    request = urllib.request.Request(url, method="GET")
    request.add_header("User-Agent", _USER_AGENT)
    request.add_header("Accept", "application/octet-stream")
    host = parts.hostname.lower()
    if host == "api.github.com":
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
    if token and host in TOKEN_HOSTS:
        # unredirected: urllib drops it when following a redirect to another URL
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    return request


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    member_name: str | None = None,
    delays: Sequence[float] = DEFAULT_DELAYS,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    token: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The body of ``url`` (at most ``max_bytes``), retried on network errors and HTTP 5xx/429.

    A zip archive (an Actions artifact download) is opened and its ``.intoto.jsonl``
    member returned, preferring ``member_name``. ``token`` defaults to $GITHUB_TOKEN.
    Each read waits at most ``timeout`` seconds; the whole fetch, retries included,
    ends within ``deadline`` seconds. Every failure is a ProvenanceError naming the
    URL without its query.
    """
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    request = build_request(url, token)
    shown = redact(url)
    ends = time.monotonic() + deadline
    attempts = len(delays) + 1
    for attempt in range(attempts):
        try:
            body = _read_within(request, shown, max_bytes, timeout, ends)
            break
        except _DeadlinePassed:
            raise ProvenanceError(
                f"cannot fetch provenance from {shown}: no complete answer within the"
                f" {deadline:g} s deadline; the server is too slow or stalled"
            ) from None
        except _Transient as problem:
            pause = delays[attempt] if attempt + 1 < attempts else 0.0
            if attempt + 1 == attempts or time.monotonic() + pause >= ends:
                raise ProvenanceError(
                    f"cannot fetch provenance from {shown}: {problem}"
                    f" (gave up after {attempt + 1} attempts)"
                ) from None
            sleep(pause)
    if body.startswith(_ZIP_MAGIC):
        return _from_zip(body, shown, max_bytes, member_name)
    return body


class _Transient(Exception):
    """A failure that another attempt may not see."""


class _DeadlinePassed(Exception):
    """The fetch did not end before its deadline."""


def _read_within(
    request: urllib.request.Request, shown: str, max_bytes: int, timeout: float, ends: float
) -> bytes:
    """``_read_capped`` in a daemon thread, abandoned at ``ends`` (a time.monotonic value).

    A socket timeout bounds each read only; the thread bounds the whole attempt,
    headers included. An abandoned thread stops at its next read.
    """
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise _DeadlinePassed
    outcome: list[bytes | BaseException] = []
    stop = threading.Event()

    def attempt() -> None:
        try:
            outcome.append(_read_capped(request, shown, max_bytes, min(timeout, remaining), stop))
        except BaseException as error:  # handed to the waiting thread below
            outcome.append(error)

    worker = threading.Thread(target=attempt, name=f"fetch {shown}", daemon=True)
    worker.start()
    try:
        worker.join(remaining)
    finally:
        if not outcome:  # the deadline passed, or the caller was interrupted
            stop.set()
    if not outcome:
        raise _DeadlinePassed
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _read_capped(
    request: urllib.request.Request, shown: str, max_bytes: int, timeout: float, stop: threading.Event
) -> bytes:
    limit = _limit(max_bytes)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ProvenanceError(
                    f"{shown}: {int(length)} bytes is more than the {limit} limit for a"
                    " provenance file; is this the model instead of its .intoto.jsonl?"
                )
            chunks: list[bytes] = []
            size = 0
            while size <= max_bytes and not stop.is_set():
                chunk = response.read1(min(1 << 16, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            body = b"".join(chunks)
    except urllib.error.HTTPError as error:
        if error.code in RETRYABLE_STATUS:
            raise _Transient(f"HTTP {error.code} {error.reason}") from None
        raise ProvenanceError(_http_failure(shown, error.code, str(error.reason))) from None
    except urllib.error.URLError as error:
        raise _Transient(_reason(error.reason)) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise _Transient(_reason(error)) from None
    if len(body) > max_bytes:
        raise ProvenanceError(
            f"{shown}: more than the {limit} limit for a provenance file;"
            " is this the model instead of its .intoto.jsonl?"
        )
    return body


def _http_failure(shown: str, code: int, reason: str) -> str:
    host = (urlsplit(shown).hostname or "").lower()
    text = f"cannot fetch provenance from {shown}: HTTP {code} {reason}".rstrip()
    if code in (401, 403) and host in TOKEN_HOSTS:
        return f"{text}; set {TOKEN_ENV} to a token that can read the repository"
    if code == 404:
        return f"{text}; check the URL (a private repository also answers 404 without a token)"
    return text


def _limit(max_bytes: int) -> str:
    mib, rest = divmod(max_bytes, 2**20)
    return f"{mib} MiB" if mib and not rest else f"{max_bytes}-byte"


def _reason(error: object) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return " ".join(str(error).split()) or type(error).__name__


def _from_zip(body: bytes, shown: str, max_bytes: int, member_name: str | None) -> bytes:
    """The provenance member of an Actions artifact zip, read with the same size cap."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = [info for info in archive.infolist() if info.filename.endswith(".intoto.jsonl")]
            by_name = {info.filename.rsplit("/", 1)[-1]: info for info in members}
            if member_name in by_name:
                chosen = by_name[member_name]
            elif len(members) == 1:
                chosen = members[0]
            else:
                found = ", ".join(sorted(by_name)) or "none"
                raise ProvenanceError(
                    f"{shown}: a zip archive without exactly one .intoto.jsonl file"
                    f" (found: {found}); link the provenance file itself"
                )
            if chosen.file_size > max_bytes:
                raise ProvenanceError(
                    f"{shown}: {chosen.filename} is larger than the {_limit(max_bytes)}"
                    " limit for a provenance file"
                )
            with archive.open(chosen) as member:
                data = member.read(max_bytes + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as error:
        raise ProvenanceError(f"{shown}: unreadable zip archive ({_reason(error)})") from None
    if len(data) > max_bytes:
        raise ProvenanceError(
            f"{shown}: {chosen.filename} is larger than the {_limit(max_bytes)} limit"
            " for a provenance file"
        )
    return data
