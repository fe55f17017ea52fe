"""Fetch a model's attestations from GitHub's attestations API, by the model's digest.

    GET https://api.github.com/repos/OWNER/REPO/attestations/sha256:HEX?per_page=16

answers ``{"attestations": [{"bundle": {...}, "repository_id": 1, "bundle_url": "..."}]}``
(GitHub's REST API "List attestations"; ``gh attestation verify`` without
``--bundle`` reads the same). Each ``bundle`` is a Sigstore bundle; it is
returned here as one JSON line, the way the store keeps evidence, and judged by
the verifier like any other piece: nothing in the answer is trusted.

Only GitHub's API hosts are asked (``api.github.com``, ``api.NAME.ghe.com`` for a
GHE.com tenant), over HTTPS; ``$GITHUB_TOKEN`` is sent to them as a Bearer
token and never follows a redirect. ``allow_loopback=True`` lets a server on
127.0.0.1/::1/localhost stand in for GitHub (the tests: GitHub cannot be
reached there). The answer is read bounded (``MAX_RESPONSE_BYTES``, every read
``timeout`` seconds, the whole fetch ``deadline`` seconds), parsed with a
JSON depth limit, and every shape GitHub does not send is one line.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from slsa_models.deploy.http import _reason
from slsa_models.errors import InputError, ProvenanceError
from slsa_models.kinds import KIND_GITHUB_ATTESTATION
from slsa_models.untrusted import loads_json

TOKEN_ENV = "GITHUB_TOKEN"
GITHUB_API = "https://api.github.com"
API_VERSION = "2022-11-28"
MAX_ATTESTATIONS = 16  # the gate judges at most this many pieces of evidence
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
DEFAULT_DELAYS = (0.5, 1.0, 2.0)
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 60.0
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_REPOSITORY = re.compile(rf"{_OWNER}(/(?!\.\.?$)[A-Za-z0-9._-]{{1,100}})?")  # OWNER/REPO or OWNER
_TENANT_API = re.compile(r"api\.[a-z0-9-]+\.ghe\.com")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Transient(Exception):
    """A failure another attempt may not see (network, HTTP 429/5xx)."""


@dataclass(frozen=True)
class GitHubAttestations:
    """Where to ask for attestations: ``repository`` (OWNER/REPO, the repository's list) or
    an organization (OWNER alone, ``/orgs/OWNER/attestations``, as gh with ``--owner``) on
    ``api_url``. ``token`` defaults to $GITHUB_TOKEN; ``predicate_type`` filters on GitHub's side.
    """

    repository: str
    api_url: str = GITHUB_API
    token: str | None = None
    predicate_type: str | None = None
    allow_loopback: bool = False  # tests only: a local server standing in for GitHub
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    delays: Sequence[float] = DEFAULT_DELAYS

    def __post_init__(self) -> None:
        if not isinstance(self.repository, str) or not _REPOSITORY.fullmatch(self.repository):
            raise InputError(f"GitHub repository {self.repository!r}: expected OWNER/REPO or OWNER")
        parts = urlsplit(self.api_url)
        host = (parts.hostname or "").lower()
        loopback = self.allow_loopback and host in LOOPBACK_HOSTS
        github = host == "api.github.com" or bool(_TENANT_API.fullmatch(host))
        if parts.username or parts.password or parts.query or parts.fragment \
                or parts.path not in ("", "/") or not (github or loopback):
            raise InputError(f"GitHub API URL {self.api_url!r}: attestations are fetched from "
                             "https://api.github.com or https://api.NAME.ghe.com only")
        if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
            raise InputError(f"GitHub API URL {self.api_url!r}: must be https://")

    @classmethod
    def for_hostname(cls, repository: str, hostname: str = "github.com", **options: Any) -> GitHubAttestations:
        """The API of ``hostname`` (``github.com``, or a GHE.com tenant ``NAME.ghe.com``)."""
        return cls(repository, api_url=f"https://api.{hostname}", **options)

    @classmethod
    def for_policy(cls, policy: Any, **options: Any) -> GitHubAttestations | None:
        """Where the policy's ``[github-attestation]`` table says attestations come from: its
        repository (or its owner's organization) on its host, filtered on its predicate type;
        None without such a table."""
        rules = policy.for_kind(KIND_GITHUB_ATTESTATION)
        if rules is None:
            return None
        options.setdefault("predicate_type", rules.predicate_type)
        return cls.for_hostname(rules.repository or rules.owner_name, rules.hostname, **options)

    def url(self, sha256_hex: str) -> str:
        """The list-attestations URL of the subject ``sha256:<sha256_hex>``."""
        if not isinstance(sha256_hex, str) or not _SHA256.fullmatch(sha256_hex):
            raise InputError(f"subject digest {sha256_hex!r}: expected 64 lowercase hex digits")
        query = {"per_page": str(MAX_ATTESTATIONS)}
        if self.predicate_type is not None:
            query["predicate_type"] = self.predicate_type
        base = self.api_url.rstrip("/")
        where = f"repos/{self.repository}" if "/" in self.repository else f"orgs/{self.repository}"
        return f"{base}/{where}/attestations/sha256:{sha256_hex}?{urlencode(query)}"

    def fetch(self, sha256_hex: str, *, sleep: Callable[[float], None] = time.sleep) -> list[Attestation]:
        """The attestations GitHub lists for the digest (at most MAX_ATTESTATIONS).

        A failure of the whole answer (network, HTTP status, not JSON, another
        shape, none listed) is one ProvenanceError; an entry without a usable
        bundle is an Attestation carrying its error, so the others are still judged.
        """
        url = self.url(sha256_hex)
        shown = url.split("?", 1)[0]
        body = self._get(url, shown, sleep)
        return parse_attestations(body, shown, f"sha256:{sha256_hex}", self.repository)

    def _request(self, url: str) -> urllib.request.Request:
        request = urllib.request.Request(url, method="GET")
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        request.add_header("User-Agent", "slsa-models")
        token = self.token if self.token is not None else os.environ.get(TOKEN_ENV) or None
        if token:  # the host is GitHub's (or the test's loopback stand-in): checked above
            request.add_unredirected_header("Authorization", f"Bearer {token}")
        return request

    def _get(self, url: str, shown: str, sleep: Callable[[float], None]) -> bytes:
        ends = time.monotonic() + self.deadline
        attempts = len(self.delays) + 1
        for attempt in range(attempts):
            try:
                return self._read(self._request(url), shown, ends)
            except _Transient as problem:
                pause = self.delays[attempt] if attempt + 1 < attempts else 0.0
                if attempt + 1 == attempts or time.monotonic() + pause >= ends:
                    raise ProvenanceError(f"cannot list attestations from {shown}: {problem}"
                                          f" (gave up after {attempt + 1} attempts)") from None
                sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, request: urllib.request.Request, shown: str, ends: float) -> bytes:
        remaining = ends - time.monotonic()
        if remaining <= 0:
            raise _Transient(f"no answer within the {self.deadline:g} s deadline")
        chunks: list[bytes] = []
        size = 0
        try:
            with _NO_REDIRECTS.open(request, timeout=min(self.timeout, remaining)) as response:
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
                    raise ProvenanceError(_too_large(shown))
                while size <= MAX_RESPONSE_BYTES:
                    if time.monotonic() > ends:
                        raise _Transient(f"no complete answer within the {self.deadline:g} s deadline")
                    chunk = response.read1(min(1 << 16, MAX_RESPONSE_BYTES + 1 - size))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except urllib.error.HTTPError as error:
            if error.code in RETRYABLE_STATUS:
                raise _Transient(f"HTTP {error.code} {error.reason}") from None
            raise ProvenanceError(self._refusal(shown, error.code, str(error.reason))) from None
        except urllib.error.URLError as error:
            raise _Transient(_reason(error.reason)) from None
        except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
            raise _Transient(_reason(error)) from None
        if size > MAX_RESPONSE_BYTES:
            raise ProvenanceError(_too_large(shown))
        return b"".join(chunks)

    def _refusal(self, shown: str, code: int, reason: str) -> str:
        text = f"cannot list attestations from {shown}: HTTP {code} {reason}".rstrip()
        if code in (401, 403):
            return f"{text}; set {TOKEN_ENV} to a token that can read {self.repository}'s attestations"
        if code == 404:
            return (f"{text}; GitHub has no attestation of this digest in {self.repository}"
                    " (a private repository also answers 404 without a token)")
        if 300 <= code < 400:
            return f"{text}; redirects are not followed"
        return text


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


@dataclass(frozen=True)
class Attestation:
    """One listed attestation: its bundle as one JSON line, or why it cannot be used."""

    index: int  # 1-based, in GitHub's order
    raw: bytes | None = None
    error: ProvenanceError | None = None


def parse_attestations(body: bytes, shown: str, digest: str, repository: str) -> list[Attestation]:
    """The API's answer, read as untrusted input (see ``GitHubAttestations.fetch``)."""
    try:
        document = loads_json(body, shown, error=ProvenanceError)
    except (ValueError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ProvenanceError(f"{shown}: the answer is not JSON ({first})") from None
    if not isinstance(document, dict) or not isinstance(document.get("attestations"), list):
        raise ProvenanceError(f"{shown}: the answer is not a list of attestations"
                              " (expected an object with an \"attestations\" array)")
    entries = document["attestations"]
    if not entries:
        raise ProvenanceError(f"{shown}: GitHub lists no attestation of {digest} in {repository}")
    return [_entry(number, entry, shown) for number, entry in enumerate(entries[:MAX_ATTESTATIONS], 1)]


def _entry(number: int, entry: object, shown: str) -> Attestation:
    where = f"{shown} attestation {number}"
    if not isinstance(entry, dict):
        return Attestation(number, error=ProvenanceError(f"{where}: not an object"))
    bundle = entry.get("bundle")
    if bundle is None:
        return Attestation(number, error=ProvenanceError(
            f"{where}: no inline bundle (only a bundle_url, which is not fetched)"))
    if not isinstance(bundle, dict):
        return Attestation(number, error=ProvenanceError(
            f"{where}: \"bundle\" is a {type(bundle).__name__}, not an object"))
    return Attestation(number, raw=json.dumps(bundle, separators=(",", ":")).encode())


def _too_large(shown: str) -> str:
    return f"{shown}: the answer is larger than the {MAX_RESPONSE_BYTES // 2**20} MiB limit"
