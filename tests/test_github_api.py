"""Fetch by digest: a model's attestations from GitHub's attestations API.

GitHub's API cannot be reached from here, so it is MOCKED: a local HTTP server
(http.server in a thread) stands in for
api.github.com and answers with the shape GitHub's "List attestations" endpoint
sends (``{"attestations": [{"bundle": ..., "repository_id": ..., "bundle_url": ...}]}``),
holding the real bundle of the shared cli/cli vector. The client reaches it only
through ``allow_loopback=True``. Everything else is real: the file store, the
verifier and the gate judging what was fetched.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.deploy.github_api import MAX_RESPONSE_BYTES, GitHubAttestations
from slsa_models.deploy.provenance import fetch_evidence
from slsa_models.errors import InputError, ProvenanceError
from slsa_models.publishing import publish_model
from slsa_models.serving import verify_deployed
from slsa_models.store import layout, open_store
from slsa_models.verify import AttestationPolicy, Policy
from tests.attestations import make_deployer
from tests.stub_http import StubHTTPServer
from tests.test_deploy_http import Routes

VECTOR = Path("/work/shared/vectors/github-attestations/custom-issuer")
ARTIFACT = VECTOR / "custom-issuer-artifact"
BUNDLE = VECTOR / "custom-issuer.sigstore.json"
SHA256 = "afa27b44d43b02a9fea41d13cedc2e4016cfcf87c5dbf990e593669aa8ce286d"
HAMMER = "https://token.actions.githubusercontent.com/hammer-time"
PATH = f"/repos/too-legit/attest/attestations/sha256:{SHA256}"
QUERY = "?per_page=16"
NO_WAIT = (0.0, 0.0, 0.0)

pytestmark = pytest.mark.skipif(not VECTOR.is_dir(), reason=f"{VECTOR} is not here")


@pytest.fixture
def server() -> Iterator[tuple[str, Routes]]:
    """A stand-in for api.github.com on 127.0.0.1 (tests/test_deploy_http.py's Routes)."""
    routes = Routes()

    class GitHub(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            routes.requests.append((self.path, self.headers))
            queue = routes.answers.get(self.path) or [(404, {}, b'{"message": "Not Found"}')]
            status, headers, body = queue.pop(0) if queue[1:] else queue[0]
            headers = dict(headers)
            time.sleep(float(headers.pop("X-Stall", "0")))  # a server that does not answer in time
            self.send_response(status)
            omit = headers.pop("X-Omit-Length", None) is not None
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            if not omit:
                headers.setdefault("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = StubHTTPServer(("127.0.0.1", 0), GitHub)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()


def recorded(*bundles: object) -> bytes:
    """The answer's shape as GitHub sends it (fields beside ``bundle`` as in its REST docs)."""
    return json.dumps({"attestations": [
        {"bundle": bundle, "repository_id": 123456789,
         "bundle_url": "https://tmp-attestations.example/bundle.json.sn"} for bundle in bundles
    ]}).encode()


def vector_bundle() -> object:
    return json.loads(BUNDLE.read_bytes())


def api(base: str, **options: object) -> GitHubAttestations:
    options.setdefault("delays", NO_WAIT)
    return GitHubAttestations("too-legit/attest", api_url=base, allow_loopback=True,
                              **options)  # type: ignore[arg-type]


def answer(routes: Routes, status: int, body: bytes, **headers: str) -> None:
    routes.add(PATH + QUERY, (status, dict(headers), body))


# --- the request ----------------------------------------------------------------------------------

def test_lists_the_bundles_with_githubs_headers(server: tuple[str, Routes],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    base, routes = server
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    answer(routes, 200, recorded(vector_bundle(), vector_bundle()))
    first, second = api(base).fetch(SHA256)
    assert (first.index, second.index) == (1, 2)
    assert json.loads(first.raw or b"") == vector_bundle() and b"\n" not in (first.raw or b"\n")
    [(path, headers)] = routes.requests
    assert path == PATH + QUERY
    assert headers["Authorization"] == "Bearer ghs_test"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_the_predicate_type_filter_and_no_token(server: tuple[str, Routes],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    base, routes = server
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    query = "?per_page=16&predicate_type=https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1"
    routes.add(PATH + query, (200, {}, recorded(vector_bundle())))
    [listed] = api(base, predicate_type="https://slsa.dev/provenance/v1").fetch(SHA256)
    assert listed.raw is not None
    [(_, headers)] = routes.requests
    assert "Authorization" not in headers


def test_urls_of_github_and_of_a_tenant() -> None:
    assert GitHubAttestations("o/r").url(SHA256) == \
        f"https://api.github.com/repos/o/r/attestations/sha256:{SHA256}?per_page=16"
    assert GitHubAttestations.for_hostname("o/r", "acme.ghe.com").url(SHA256) == \
        f"https://api.acme.ghe.com/repos/o/r/attestations/sha256:{SHA256}?per_page=16"


def test_from_the_policys_github_attestation_table() -> None:
    from slsa_models.verify import GeneratorPolicy

    found = GitHubAttestations.for_policy(Policy(AttestationPolicy(repo="acme/models", hostname="acme.ghe.com")))
    assert found is not None and found.url(SHA256) == (
        f"https://api.acme.ghe.com/repos/acme/models/attestations/sha256:{SHA256}"
        "?per_page=16&predicate_type=https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1")
    by_owner = GitHubAttestations.for_policy(Policy(AttestationPolicy(owner="acme")))
    assert by_owner is not None and by_owner.url(SHA256) == (
        f"https://api.github.com/orgs/acme/attestations/sha256:{SHA256}"
        "?per_page=16&predicate_type=https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1")
    generator = GeneratorPolicy(source_uri="github.com/acme/models")
    assert GitHubAttestations.for_policy(Policy(generator)) is None


@pytest.mark.parametrize(("options", "line"), [
    ({"api_url": "https://evil.example"},
     "GitHub API URL 'https://evil.example': attestations are fetched from https://api.github.com"
     " or https://api.NAME.ghe.com only"),
    ({"api_url": "http://127.0.0.1:8080"},  # loopback needs the explicit test-only parameter
     "GitHub API URL 'http://127.0.0.1:8080': attestations are fetched from https://api.github.com"
     " or https://api.NAME.ghe.com only"),
    ({"api_url": "http://api.github.com"}, "GitHub API URL 'http://api.github.com': must be https://"),
    ({"api_url": "https://github.com"},
     "GitHub API URL 'https://github.com': attestations are fetched from https://api.github.com"
     " or https://api.NAME.ghe.com only"),
    ({"api_url": "https://ghes.example/api/v3"},
     "GitHub API URL 'https://ghes.example/api/v3': attestations are fetched from"
     " https://api.github.com or https://api.NAME.ghe.com only"),
    ({"api_url": "https://user:pw@api.github.com"},
     "GitHub API URL 'https://user:pw@api.github.com': attestations are fetched from"
     " https://api.github.com or https://api.NAME.ghe.com only"),
    ({"repository": "o/r/../x"}, "GitHub repository 'o/r/../x': expected OWNER/REPO or OWNER"),
    ({"repository": "o/.."}, "GitHub repository 'o/..': expected OWNER/REPO or OWNER"),
    ({"repository": "-o"}, "GitHub repository '-o': expected OWNER/REPO or OWNER"),
])
def test_only_github_api_hosts(options: dict[str, str], line: str) -> None:
    options.setdefault("repository", "o/r")
    with pytest.raises(InputError) as error:
        GitHubAttestations(**options)  # type: ignore[arg-type]
    assert str(error.value) == line


def test_a_digest_must_be_sha256_hex() -> None:
    with pytest.raises(InputError) as error:
        GitHubAttestations("o/r").url("AFA27B")
    assert str(error.value) == "subject digest 'AFA27B': expected 64 lowercase hex digits"


# --- the answer, read as untrusted input ----------------------------------------------------------

def refusal(server: tuple[str, Routes], status: int, body: bytes, **headers: str) -> str:
    base, routes = server
    answer(routes, status, body, **headers)
    with pytest.raises(ProvenanceError) as error:
        api(base).fetch(SHA256)
    return str(error.value).replace(base, "BASE")


@pytest.mark.parametrize(("body", "line"), [
    (b"<html>", "BASE{path}: the answer is not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b"\xff\xfe", "BASE{path}: the answer is not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b"[" * 100 + b"]" * 100, "BASE{path}: JSON nested more than 64 levels deep; refusing to read it"),
    (b"[]", 'BASE{path}: the answer is not a list of attestations (expected an object with an'
            ' "attestations" array)'),
    (b'{"attestations": {"bundle": {}}}', 'BASE{path}: the answer is not a list of attestations'
                                          ' (expected an object with an "attestations" array)'),
    (b'{"attestations": []}', "BASE{path}: GitHub lists no attestation of sha256:" + SHA256
                              + " in too-legit/attest"),
])
def test_answers_of_another_shape_are_one_line(server: tuple[str, Routes], body: bytes, line: str) -> None:
    got = refusal(server, 200, body)
    assert got == line.format(path=PATH)


def test_entries_without_a_usable_bundle_are_carried_with_their_reason(server: tuple[str, Routes]) -> None:
    base, routes = server
    body = json.dumps({"attestations": [
        "a string", {"bundle": None, "bundle_url": "https://x"}, {"bundle": "{}"}, {"bundle": vector_bundle()},
    ]}).encode()
    answer(routes, 200, body)
    listed = api(base).fetch(SHA256)
    where = f"{base}{PATH} attestation"
    assert [str(entry.error) for entry in listed[:3]] == [
        f"{where} 1: not an object",
        f"{where} 2: no inline bundle (only a bundle_url, which is not fetched)",
        f'{where} 3: "bundle" is a str, not an object',
    ]
    assert listed[3].raw is not None and listed[3].error is None


def test_at_most_sixteen_are_taken(server: tuple[str, Routes]) -> None:
    base, routes = server
    answer(routes, 200, recorded(*[vector_bundle()] * 20))
    assert [entry.index for entry in api(base).fetch(SHA256)] == list(range(1, 17))


def test_the_size_limit(server: tuple[str, Routes]) -> None:
    line = f"BASE{PATH}: the answer is larger than the 16 MiB limit"
    assert refusal(server, 200, b"", **{"Content-Length": str(MAX_RESPONSE_BYTES + 1)}) == line
    assert refusal(server, 200, b" " * (MAX_RESPONSE_BYTES + 1), **{"X-Omit-Length": "1"}) == line


@pytest.mark.parametrize(("status", "reason", "line"), [
    (404, "Not Found", "; GitHub has no attestation of this digest in too-legit/attest (a private"
                       " repository also answers 404 without a token)"),
    (401, "Unauthorized", "; set GITHUB_TOKEN to a token that can read too-legit/attest's attestations"),
    (403, "Forbidden", "; set GITHUB_TOKEN to a token that can read too-legit/attest's attestations"),
    (302, "Found", "; redirects are not followed"),
])
def test_http_refusals(server: tuple[str, Routes], status: int, reason: str, line: str) -> None:
    got = refusal(server, status, b"{}", Location="https://elsewhere.example/")
    assert got == f"cannot list attestations from BASE{PATH}: HTTP {status} {reason}{line}"


def test_a_stalled_server_is_given_up_within_the_timeout(server: tuple[str, Routes]) -> None:
    base, routes = server
    answer(routes, 200, recorded(vector_bundle()), **{"X-Stall": "2"})
    started = time.monotonic()
    with pytest.raises(ProvenanceError) as error:
        api(base, timeout=0.2, delays=()).fetch(SHA256)
    assert time.monotonic() - started < 1.5
    assert str(error.value) == (f"cannot list attestations from {base}{PATH}: timed out"
                                " (gave up after 1 attempts)")


def test_a_huge_json_number_is_one_line(server: tuple[str, Routes]) -> None:
    got = refusal(server, 200, b'{"attestations": [' + b"1" * 5000 + b"]}")
    assert got == f"BASE{PATH}: a JSON number with more than 4300 digits; refusing to read it"


def test_transient_failures_are_retried_then_given_up(server: tuple[str, Routes]) -> None:
    base, routes = server
    routes.add(PATH + QUERY, (503, {}, b""), (200, {}, recorded(vector_bundle())))
    assert len(api(base).fetch(SHA256)) == 1
    routes.add(PATH + QUERY, (502, {}, b""))
    with pytest.raises(ProvenanceError) as error:
        api(base).fetch(SHA256)
    assert str(error.value) == (f"cannot list attestations from {base}{PATH}: HTTP 502 Bad Gateway"
                                " (gave up after 4 attempts)")


# --- through fetch_evidence and the gate ----------------------------------------------------------

def stored_model(tmp_path: Path, store_uri: str) -> tuple[object, str]:
    store = open_store(store_uri)
    model = tmp_path / "artifact.bin"
    shutil.copyfile(ARTIFACT, model)
    return store, publish_model(store, "attested", model).key


def test_the_store_holding_none_the_gate_judges_githubs(tmp_path: Path, file_store_uri: str,
                                                        server: tuple[str, Routes]) -> None:
    base, routes = server
    answer(routes, 200, recorded(vector_bundle(), {"mediaType": "not a bundle"}))
    store, key = stored_model(tmp_path, file_store_uri)
    policy = Policy(AttestationPolicy(owner="too-legit", cert_oidc_issuer=HAMMER), accept_unnamed=True)
    gate = deploy.Gate(store, "attested", policy)  # type: ignore[arg-type]
    candidate = gate.find()
    evidence = fetch_evidence(store, key, github=api(base))  # type: ignore[arg-type]
    assert [(piece.source, piece.location) for piece in evidence] == [
        ("url", f"{base}{PATH} attestation 1"), ("url", f"{base}{PATH} attestation 2")]
    assert evidence[0].key == layout.provenance_key(key)
    assert evidence[1].error is not None and str(evidence[1].error) == (
        f"{base}{PATH} attestation 2: media type 'not a bundle' is not a Sigstore bundle;"
        " expected 'application/vnd.dev.sigstore.bundle.v0.3+json'")
    work = tmp_path / "work"
    work.mkdir()
    verdict = gate.verify(candidate, evidence, gate.fetch_model(candidate, work))
    assert verdict.passed, verdict.reason
    assert verdict.reports[0] is not None and verdict.reports[0].kind == "github-attestation"


def test_a_changed_model_fails_with_githubs_attestation(tmp_path: Path, file_store_uri: str,
                                                        server: tuple[str, Routes]) -> None:
    base, routes = server
    store = open_store(file_store_uri)
    model = tmp_path / "artifact.bin"
    model.write_bytes(ARTIFACT.read_bytes() + b"!")
    key = publish_model(store, "attested", model).key
    sha256 = layout.parse_model_key(key)[1]
    routes.add(f"/repos/too-legit/attest/attestations/sha256:{sha256}{QUERY}",
               (200, {}, recorded(vector_bundle())))  # a stand-in answering with another digest's
    gate = deploy.Gate(store, "attested", Policy(
        AttestationPolicy(owner="too-legit", cert_oidc_issuer=HAMMER), accept_unnamed=True))
    candidate = gate.find()
    work = tmp_path / "work"
    work.mkdir()
    verdict = gate.verify(candidate, fetch_evidence(store, key, github=api(base)),
                          gate.fetch_model(candidate, work))
    assert not verdict.passed
    assert verdict.failed_check() == "subject-digest"


def test_evidence_in_the_store_wins_and_github_is_not_asked(tmp_path: Path, file_store_uri: str,
                                                            server: tuple[str, Routes]) -> None:
    base, routes = server
    store, key = stored_model(tmp_path, file_store_uri)
    store.put_bytes(layout.provenance_key(key), BUNDLE.read_bytes())  # type: ignore[attr-defined]
    [piece] = fetch_evidence(store, key, github=api(base))  # type: ignore[arg-type]
    assert piece.source == "store" and piece.usable
    assert routes.requests == []


def test_githubs_refusal_is_the_one_piece(tmp_path: Path, file_store_uri: str,
                                          server: tuple[str, Routes]) -> None:
    base, routes = server
    answer(routes, 404, b'{"message": "Not Found"}')
    store, key = stored_model(tmp_path, file_store_uri)
    [piece] = fetch_evidence(store, key, github=api(base))  # type: ignore[arg-type]
    assert not piece.usable and str(piece.error) == (
        f"cannot list attestations from {base}{PATH}: HTTP 404 Not Found; GitHub has no attestation"
        " of this digest in too-legit/attest (a private repository also answers 404 without a token)")


def test_promoted_evidence_from_github_is_kept_and_served_from_the_store(
        tmp_path: Path, file_store_uri: str, server: tuple[str, Routes],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Once promoted, what GitHub listed is in the store: serving verifies without asking GitHub."""
    monkeypatch.setenv("SLSA_MODELS_HOME", str(tmp_path / "home"))
    base, routes = server
    answer(routes, 200, recorded(vector_bundle()))
    store, key = stored_model(tmp_path, file_store_uri)
    deployer = make_deployer(tmp_path)
    policy = Policy(AttestationPolicy(owner="too-legit", cert_oidc_issuer=HAMMER), accept_unnamed=True,
                    deployers=deployer.trusted)
    gate = deploy.Gate(store, "attested", policy)  # type: ignore[arg-type]
    candidate = gate.find()
    (tmp_path / "work").mkdir()
    verdict = gate.verify(candidate, fetch_evidence(store, key, github=api(base)),  # type: ignore[arg-type]
                          gate.fetch_model(candidate, tmp_path / "work"))
    decision = deploy.promote(store, verdict, deploy.SmokeResult("skipped", "not a model format"),  # type: ignore[arg-type]
                              deployer=deployer, policy={})
    assert decision.deployed
    [evidence] = decision.record.evidence
    assert (evidence["source"], evidence["location"], evidence["key"]) == (
        "url", f"{base}{PATH} attestation 1", layout.provenance_key(key))
    requests = len(routes.requests)
    (tmp_path / "serve").mkdir()
    verified = verify_deployed(store, "attested", policy, tmp_path / "serve")  # type: ignore[arg-type]
    assert verified.report.passed and verified.report.kind == "github-attestation"
    assert len(routes.requests) == requests  # the store's copy, not GitHub's


def test_the_gate_asks_github_when_told_to(tmp_path: Path, file_store_uri: str, server: tuple[str, Routes]) -> None:
    """Gate(github=...) runs every step with GitHub as the evidence source (the deploy's
    --github-attestations / SLSA_MODELS_GITHUB_ATTESTATIONS=1); without it, nothing is asked."""
    base, routes = server
    answer(routes, 200, recorded(vector_bundle()))
    store, _ = stored_model(tmp_path, file_store_uri)
    policy = Policy(AttestationPolicy(owner="too-legit", cert_oidc_issuer=HAMMER), accept_unnamed=True)
    (tmp_path / "off").mkdir()
    refused, _ = deploy.Gate(store, "attested", policy).run(tmp_path / "off")  # type: ignore[arg-type]
    assert not refused.passed and routes.requests == []
    (tmp_path / "on").mkdir()
    verdict, _ = deploy.Gate(store, "attested", policy, github=api(base)).run(tmp_path / "on")  # type: ignore[arg-type]
    assert verdict.passed, verdict.reason
    assert [piece.location for piece in verdict.evidence] == [f"{base}{PATH} attestation 1"]


def test_asking_github_needs_a_github_attestation_table() -> None:
    from slsa_models.deploy.trust import Trust, resolve_trust
    from slsa_models.errors import PolicyError
    from slsa_models.verify import GeneratorPolicy

    trust = Trust(Policy(GeneratorPolicy(source_uri="github.com/acme/models")), github_attestations=True)
    with pytest.raises(PolicyError) as error:
        trust.github()
    assert str(error.value) == ("fetching GitHub attestations needs a [github-attestation] table in the policy "
                                "(its owner or repo says where to ask)")
    flags = {"source_uri": "github.com/acme/models"}  # both GitHub kinds, as verify-artifact's flags
    asked = resolve_trust({**flags, "github_attestations": True}, from_deployment=False).github()
    assert asked is not None and asked.url("a" * 64) == (
        f"https://api.github.com/repos/acme/models/attestations/sha256:{'a' * 64}"
        "?per_page=16&predicate_type=https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1")
    assert resolve_trust(flags, from_deployment=False).github() is None
