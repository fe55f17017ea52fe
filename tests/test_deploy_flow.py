"""The deploy flow end to end: a real Prefect API server, real S3 (moto over HTTP), real
slsa-github-generator provenance (tests/vectors), whose artifact is stored as the model.

A model trained here cannot carry Sigstore provenance (that needs GitHub's OIDC), so
the Sigstore path is tested with the vector; see test_trained_model_deploys_end_to_end
for a trained model with the local builder's key-signed provenance.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import ArtifactStore, layout, open_store
from tests.stub_http import StubHTTPServer

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
MODEL = "example"
KEY_FLAGS = ["--public-key", str(Path(__file__).parents[1] / "examples" / "policies" / "local-builder.pub.pem"),
             "--builder-id", "https://ci.example.com/builders/gpu-box"]
POLICY = {"source_uri": SOURCE, "source_tag": "v14", "accept_unnamed": True}  # the vectors name no model


def store_vector(store_uri: str, *, name: str = "binary-linux-amd64",
                 provenance: Path | bytes | None = PROVENANCE, tmp: Path | None = None) -> str:
    store = open_store(store_uri)
    path = BINARY
    if name != BINARY.name:
        assert tmp is not None
        path = tmp / name
        path.write_bytes(BINARY.read_bytes())
    key = publish_model(store, MODEL, path).key
    if provenance is not None:
        publish_provenance(store, key, provenance)
    return key


def parameters(store_uri: str, digest: str | None = None, **trust: Any) -> dict[str, Any]:
    """The flow's parameters: model, digest, store and (outside a deployment) the trust options."""
    return {"model_name": MODEL, "store": store_uri, "digest": digest,
            "trust": {key: value for key, value in {**POLICY, **trust}.items() if value is not None}}


def run(store_uri: str, digest: str | None = None, **trust: Any) -> Any:
    from flows.deploy import deploy_flow

    return deploy_flow(**parameters(store_uri, digest, **trust), return_state=True)


def run_cli_flow(store_uri: str, capsys: pytest.CaptureFixture[str], digest: str | None = None,
                 **trust: Any) -> tuple[int, str]:
    """run_flow as ``python -m flows.deploy`` uses it: (exit code, last stderr line)."""
    from flows._cli import run_flow
    from flows.deploy import deploy_flow

    code, _ = run_flow(deploy_flow, parameters(store_uri, digest, **trust))
    lines = capsys.readouterr().err.splitlines()
    return code, lines[-1] if lines else ""


def trusted() -> tuple[Any, ...]:
    """The deployer keys the flow's records verify with (the development deployer key here)."""
    return deploy.deployer_for(None).trusted


def outcomes(store_uri: str) -> list[str]:
    return [record.outcome for record in deploy.read_history(open_store(store_uri), MODEL, trusted())]


def current_bytes(store: ArtifactStore) -> bytes | None:
    found = store.read_with_tag(layout.current_key(MODEL))
    return found[0] if found else None


def current_record(store: ArtifactStore) -> dict[str, Any]:
    data = current_bytes(store)
    assert data is not None
    return deploy.open_record(data, trusted(), "current.json").record.to_dict()


def artifacts_of(flow_run_id: Any) -> dict[str, Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {artifact.key or f"{artifact.type}-{artifact.description}": artifact for artifact in found}


def flow_run(flow_run_id: Any) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


# -- deployed --------------------------------------------------------------------------------


def test_verified_model_is_deployed_with_report_and_history(prefect_server: str, s3_store_uri: str) -> None:
    key = store_vector(s3_store_uri)
    state = run(s3_store_uri, digest=f"sha256:{BINARY_SHA256}")
    assert state.is_completed(), state.message
    result = state.result()
    store = open_store(s3_store_uri)
    assert current_record(store) == result
    assert result["outcome"] == "promoted" and result["digest"] == f"sha256:{BINARY_SHA256}"
    assert result["object"]["key"] == key and result["object"]["etag"]
    assert result["evidence"][0]["source"] == "store"
    assert result["evidence"][0]["sha256"] == hashlib.sha256(PROVENANCE.read_bytes()).hexdigest()
    assert result["verification"][0]["passed"] is True
    assert result["smoke_load"]["status"] == "skipped"
    assert result["smoke_load"]["detail"] == (
        "binary-linux-amd64 is not one of the seven model formats (tensorflow_model.keras, tensorflow_hdf5_model.h5,"
        " tensorflow_hdf5.weights.h5, pytorch_model.pth, pytorch_full_model.pth, pytorch_jitted_model.pt,"
        " model.safetensors); deployed without loading it")
    assert result["policy"]["kinds"]["slsa-github-generator"]["source_tag"] == "v14"
    run_id = state.state_details.flow_run_id
    assert result["flow_run_id"] == str(run_id)
    assert flow_run(run_id).name == f"deploy-{MODEL}-{BINARY_SHA256[:12]}"
    assert outcomes(s3_store_uri) == ["promoted"]

    artifacts = artifacts_of(run_id)
    markdown = artifacts["verification-example"].data
    checks = result["verification"][0]["checks"]
    assert markdown.splitlines()[0] == f"# ✓ DEPLOYED {MODEL} · sha256:{BINARY_SHA256[:12]}"
    assert f"## Checks: 0 failed, {len(checks)} passed" in markdown
    assert re.findall(r"^- (✓ PASS|✗ \*\*FAIL\*\*) \*\*([a-z-]+)\*\*", markdown, re.MULTILINE) == [
        ("✓ PASS", check["name"]) for check in checks]
    from tasks.report import escape
    for check in checks:  # expected and actual one under the other, escaped, never a wide row
        assert f"  expected: {escape(check['expected'])}  \n  actual: {escape(check['actual'])}" in markdown
    commit = result["verification"][0]["commit"]
    assert f"- **source:** [slsa-framework/example-package @ {commit[:12]}]" \
           f"(https://github.com/slsa-framework/example-package/commit/{commit})\n" in markdown
    invocation = result["verification"][0]["invocation"]
    assert invocation.startswith("https://github.com/slsa-framework/example-package/actions/runs/")
    assert f"- **train run:** [{escape(invocation.removeprefix('https://github.com/'))}]({invocation})\n" in markdown
    [policy] = [line for line in markdown.splitlines() if line.startswith("- **policy:**")]
    assert policy == ("- **policy:** the run's trust parameters: trusts slsa-github-generator, github-attestation; "
                      "requires any one kind")
    table = artifacts["deployments-example"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert [row["outcome"] for row in rows] == ["promoted"]
    assert float(artifacts[f"progress-downloading {BINARY.name}"].data) == 100.0  # the UI's progress
    everything = artifacts["deployments"].data
    everything = json.loads(everything) if isinstance(everything, str) else everything
    assert everything == [{"model": MODEL, "deployed": f"sha256:{BINARY_SHA256[:12]}", "file": BINARY.name,
                           "record": "#0 promoted", "decided at": result["decided_at"],
                           "flow run": str(run_id)}]


def test_latest_stored_model_is_chosen_without_digest(prefect_server: str, file_store_uri: str) -> None:
    store_vector(file_store_uri)
    state = run(file_store_uri)
    assert state.is_completed(), state.message
    assert flow_run(state.state_details.flow_run_id).name == f"deploy-{MODEL}-latest"


def test_provenance_from_a_url_when_the_store_has_none(prefect_server: str, s3_store_uri: str) -> None:
    """A release asset, served by a local HTTP server on 127.0.0.1 (no internet)."""
    key = store_vector(s3_store_uri, provenance=None)
    with _serving(PROVENANCE.read_bytes()) as url:
        state = run(s3_store_uri, provenance_url=url + "?token=secret")
    assert state.is_completed(), state.message
    record = state.result()
    assert record["evidence"][0]["source"] == "url"
    assert record["evidence"][0]["location"] == url  # the query is never recorded
    stored = open_store(s3_store_uri).read_bytes(layout.provenance_key(key))
    assert stored == PROVENANCE.read_bytes()  # kept next to the model for serving and audits


def test_pickle_format_is_deployed_without_loading_it(
    prefect_server: str, file_store_uri: str, tmp_path: Path
) -> None:
    store_vector(file_store_uri, name="pytorch_full_model.pth", tmp=tmp_path)
    state = run(file_store_uri)
    assert state.is_completed(), state.message
    smoke = state.result()["smoke_load"]
    assert smoke["status"] == "skipped"
    assert smoke["detail"] == (
        "pytorch_full_model.pth is a pickle that can run code when loaded; deployed without loading it"
        " (opt in with allow_pickle / --allow-pickle to smoke-load it after verification)")


# -- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"source_uri": "github.com/slsa-framework/other-repo"},
         "source-uri: expected git+https://github.com/slsa-framework/other-repo, got"
         " git+https://github.com/slsa-framework/example-package in the certificate"
         " (built from another repository)"),
        ({"source_tag": "v15"}, "source-tag: expected v15, got v14 (built from another tag)"),
        ({"source_tag": None, "source_versioned_tag": "v13"},
         "source-versioned-tag: expected v13, got v14 (major version expected 'v13', got 'v14')"),
    ],
    ids=["other-repository", "other-tag", "other-version"],
)
def test_provenance_for_another_source_is_refused(
    prefect_server: str, s3_store_uri: str, capsys: pytest.CaptureFixture[str],
    policy: dict[str, Any], reason: str,
) -> None:
    store_vector(s3_store_uri)
    code, line = run_cli_flow(s3_store_uri, capsys, **policy)
    assert code == 1
    assert line == f"error: SLSA verification failed: {reason}"
    assert current_bytes(open_store(s3_store_uri)) is None
    assert outcomes(s3_store_uri) == ["refused"]


def test_replaced_model_bytes_are_refused_and_reported(
    prefect_server: str, s3_store_uri: str, s3_client: Any
) -> None:
    key = store_vector(s3_store_uri)
    tampered = bytearray(BINARY.read_bytes())
    tampered[-1] ^= 0xFF
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    s3_client.put_object(Bucket=bucket, Key=f"prefix/{key}", Body=bytes(tampered))

    state = run(s3_store_uri)
    assert state.is_failed()
    tampered_hex = hashlib.sha256(bytes(tampered)).hexdigest()
    assert state.message == (  # Prefect's prefix, then our one line
        "Flow run encountered an exception: VerificationFailed: SLSA verification failed: subject-digest: expected"
        f" sha256:{tampered_hex}, got no subject with this digest (the provenance covers"
        " gha_generic-binary-linux-amd64-v14; the artifact's bytes differ)")
    run_id = state.state_details.flow_run_id
    assert flow_run(run_id).state.is_failed()
    assert current_bytes(open_store(s3_store_uri)) is None
    [refusal] = deploy.read_history(open_store(s3_store_uri), MODEL, trusted())
    assert refusal.outcome == "refused" and refusal.failed_check == "subject-digest"
    assert refusal.digest == f"sha256:{hashlib.sha256(bytes(tampered)).hexdigest()}"

    artifacts = artifacts_of(run_id)
    markdown = artifacts["verification-example"].data
    assert markdown.splitlines()[0] == f"# ✗ REFUSED {MODEL} · sha256:{tampered_hex[:12]}"
    assert markdown.splitlines()[2] == (  # escaped for Markdown
        f"> **Why:** SLSA verification failed: subject-digest: expected sha256:{tampered_hex}, got no subject with"
        " this digest \\(the provenance covers gha\\_generic-binary-linux-amd64-v14; the artifact's bytes differ\\)")
    marks = re.findall(r"^- (✓ PASS|✗ \*\*FAIL\*\*) \*\*([a-z-]+)\*\*", markdown, re.MULTILINE)
    fail = "✗ **FAIL**"
    assert marks[:2] == [(fail, "subject-digest"), (fail, "model-digest")]  # failed checks first
    assert ("✓ PASS", "signature") in marks[2:] and all(mark == "✓ PASS" for mark, _ in marks[2:])


def test_refusal_leaves_the_deployed_model_in_place(prefect_server: str, file_store_uri: str) -> None:
    store_vector(file_store_uri)
    assert run(file_store_uri).is_completed()
    store = open_store(file_store_uri)
    before = current_bytes(store)
    assert run(file_store_uri, source_tag="v15").is_failed()
    assert current_bytes(store) == before
    assert outcomes(file_store_uri) == ["refused", "promoted"]


def test_smoke_load_failure_refuses_verified_bytes(
    prefect_server: str, file_store_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Verified bytes under a format's name that do not load: nothing deployed."""
    store_vector(file_store_uri, name="pytorch_model.pth", tmp=tmp_path)
    code, line = run_cli_flow(file_store_uri, capsys)
    assert code == 1
    assert current_bytes(open_store(file_store_uri)) is None
    [refusal] = deploy.read_history(open_store(file_store_uri), MODEL, trusted())
    detail = refusal.smoke_load["detail"]
    assert line == f"error: smoke-load: {detail}; nothing deployed"
    scratch = re.escape(tempfile.gettempdir()) + r"/slsa-models-deploy-[^/]+"  # the run's scratch directory
    assert re.fullmatch(rf"cannot load pytorch_model\.pth from {scratch}/pytorch_model\.pth: \S.*", detail), detail
    assert refusal.failed_check == "smoke-load" and refusal.verification[0]["passed"] is True


@pytest.mark.parametrize(
    ("provenance", "message"),
    [
        (None, "error: no provenance for {model}: {model}.intoto.jsonl does not exist; publish it"
               " with `slsa-models publish` or give its URL (--provenance-url)"),
        (b"", "error: {model}.intoto.jsonl: empty file; expected a Sigstore bundle (.intoto.jsonl)"),
        (b"garbage, not JSON\n", "error: {model}.intoto.jsonl: not JSON (Expecting value at line 1"
                                 " column 1); expected a Sigstore bundle (.intoto.jsonl)"),
        (b"[" * 1000 + b"]" * 1000, "error: {model}.intoto.jsonl: JSON nested more than 64 levels deep;"
                                    " refusing to read it"),
    ],
    ids=["missing", "empty", "garbage", "nested-1000"],
)
def test_unusable_provenance_fails_in_one_line(
    prefect_server: str, s3_store_uri: str, capsys: pytest.CaptureFixture[str],
    provenance: bytes | None, message: str,
) -> None:
    key = store_vector(s3_store_uri, provenance=provenance)
    code, line = run_cli_flow(s3_store_uri, capsys)
    assert code == 2
    assert line == message.format(model=open_store(s3_store_uri).object_uri(key))
    assert current_bytes(open_store(s3_store_uri)) is None
    assert outcomes(s3_store_uri) == ["refused"]


def test_nonexistent_model_fails_in_one_line(
    prefect_server: str, s3_store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store_vector(s3_store_uri)
    other = "0" * 64
    code, line = run_cli_flow(s3_store_uri, capsys, digest=f"sha256:{other}")
    assert code == 2
    assert line == (
        f"error: no model 'example' with digest sha256:{other} in {s3_store_uri}"
        f" (nothing under models/example/sha256-{other}/)"
    )
    assert current_bytes(open_store(s3_store_uri)) is None
    assert outcomes(s3_store_uri) == []


# -- a model trained here, end to end ----------------------------------------------------------


def test_trained_model_deploys_end_to_end(
    prefect_server: str, s3_store_uri: str, s3_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's "done when": the train flow stores a model with the local builder's
    key-signed provenance; `python -m flows.deploy --public-key PEM --builder-id ID` deploys it
    with a passing report and a smoke-load; serving loads it; the same model with one byte
    changed in the store is refused (here under --policy FILE) and current.json stays as it was."""
    from flows.train import train_flow
    from slsa_models import verify
    from slsa_models.commands.deploy import main
    from slsa_models.provenance.signers import default_builder_id, dev_key_paths
    from slsa_models.serving import load_verified_model

    trained = train_flow(model_format="pytorch_jitted_model.pt", model_name=MODEL, store=s3_store_uri,
                         epochs=1, attest=True)
    policy = tmp_path / "policy.toml"
    from slsa_models.deploy.deployer import dev_deployer_key_paths

    policy.write_text(
        f'version = 2\n[local-builder.dev]\nbuilder-id = "{default_builder_id()}"\n'
        f'public-key = "{dev_key_paths()[1]}"\n[deployer.dev]\npublic-key = "{dev_deployer_key_paths()[1]}"\n'
    )
    args = ["--model-name", MODEL, "--store", s3_store_uri, "--policy", str(policy)]
    assert main(["--model-name", MODEL, "--store", s3_store_uri, "--digest", f"sha256:{trained['sha256']}",
                 "--public-key", str(dev_key_paths()[1]), "--builder-id", default_builder_id()]) == 0
    out = capsys.readouterr().out
    assert "PASSED: SLSA verification passed" in out
    assert "smoke-load: passed: loaded with the safe loader of pytorch_jitted_model.pt" in out
    store = open_store(s3_store_uri)
    deployed = current_bytes(store)
    assert current_record(store)["digest"] == f"sha256:{trained['sha256']}"
    assert load_verified_model(store, MODEL, verify.load_policy(policy)) is not None

    body = bytearray(open_store(s3_store_uri).read_bytes(trained["key"]))
    body[len(body) // 2] ^= 0x01
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    s3_client.put_object(Bucket=bucket, Key=f"prefix/{trained['key']}", Body=bytes(body))
    assert main(args) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: SLSA verification failed: subject-digest: expected sha256:{hashlib.sha256(body).hexdigest()},"
        f" got no subject with this digest (the provenance covers {MODEL}/pytorch_jitted_model.pt;"
        " the artifact's bytes differ)"
    )
    assert current_bytes(store) == deployed
    assert outcomes(s3_store_uri) == ["refused", "promoted"]


# -- command line -----------------------------------------------------------------------------


def test_cli_deploys_and_prints_verdict_and_location(
    prefect_server: str, file_store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from slsa_models.commands.deploy import main

    key = store_vector(file_store_uri)
    code = main(["--model-name", MODEL, "--store", file_store_uri, "--source-uri", SOURCE,
                 "--source-tag", "v14", "--digest", BINARY_SHA256, "--accept-unnamed"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    store = open_store(file_store_uri)
    assert out[:3] == [
        "PASSED: SLSA verification passed",
        f"deployed:   {store.object_uri(key)} (etag {BINARY_SHA256})",
        f"digest:     sha256:{BINARY_SHA256}",
    ]
    assert out[-1] == f"current:    {store.object_uri(layout.current_key(MODEL))}"


def test_cli_json_prints_the_record(
    prefect_server: str, file_store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from slsa_models.commands.deploy import main

    store_vector(file_store_uri)
    code = main(["--model-name", MODEL, "--store", file_store_uri, "--source-uri", SOURCE, "--json",
                 "--accept-unnamed"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == current_record(open_store(file_store_uri))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source-uri", SOURCE, "--digest", "sha256:abc"],
         "error: argument --digest: not a SHA-256 digest: 'sha256:abc' (expected sha256:<64 hex digits>)"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slsa_models.commands.deploy import main

    with pytest.raises(SystemExit) as exited:
        main(["--model-name", MODEL, "--store", (tmp_path / "store").as_uri(), *args])
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"{message} (see python -m flows.deploy --help)\n"
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source-uri", "gitlab.com/a/b"],
         "error: source URI 'gitlab.com/a/b' is not a GitHub repository; expected github.com/OWNER/REPO"
         " (or https://github.com/OWNER/REPO)"),
        (["--model-name", "../up", "--source-uri", SOURCE],
         "error: invalid model name '../up': use 1-128 letters, digits, '.', '_' or '-', starting with"
         " a letter or digit"),
        # The policy flags' rules are the verifier's (policy_from_options), checked before a run.
        (["--source-tag", "v1"], "error: --source-uri is required: the repository the artifact must "
         "come from, e.g. github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB with "
         "--builder-id ID)"),
        # Without flags the policy is the deployment's, which must be configured.
        ([], "error: no policy: set SLSA_MODELS_POLICY to the deployment's policy file (a TOML file, "
             "see examples/policies/) in the worker's environment or prefect.yaml"),
        (["--source-uri", SOURCE, "--build-workflow-input", "novalue"],
         "error: --build-workflow-input 'novalue': expected KEY=VALUE"),
        (["--policy", "p.toml", "--source-tag", "v1"],
         "error: --policy replaces the policy flags: drop --source-tag (or drop --policy)"),
        (["--public-key", "b.pub.pem"],
         "error: --public-key needs --builder-id: key-signed provenance has no default trusted builder"),
        (["--source-uri", SOURCE, "--source-tag", "v1", "--source-versioned-tag", "v1"],
         "error: give a source tag or a source versioned tag, not both"),
        # The first attack: rules key-signed provenance cannot check are refused, never skipped.
        *[([*KEY_FLAGS, flag, value],
           f"error: {flag} cannot be checked on key-signed provenance (--public-key): a local build "
           "records its git commit, not a ref, workflow inputs or a Sigstore root; to trust GitHub "
           "builds and local keys together, use a policy file")
          for flag, value in (("--source-tag", "v9.9.9"), ("--source-branch", "release"),
                              ("--build-workflow-input", "approved=yes"))],
    ],
)
def test_bad_values_fail_before_a_flow_run(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slsa_models.commands.deploy import main

    store = tmp_path / "store"
    store.mkdir()
    assert main(["--model-name", MODEL, "--store", store.as_uri(), *args]) == 2
    assert capsys.readouterr().err == f"{message}\n"
    assert not list(store.iterdir())


def test_cli_with_a_policy_file(
    prefect_server: str, file_store_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slsa_models.commands.deploy import main

    policy = tmp_path / "policy.toml"
    policy.write_text(f'version = 2\naccept-unnamed = true\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
                      'source-tag = "v14"\n')
    store_vector(file_store_uri)
    code = main(["--model-name", MODEL, "--store", file_store_uri, "--policy", str(policy)])
    assert code == 0
    recorded = current_record(open_store(file_store_uri))["policy"]
    assert recorded["kinds"]["slsa-github-generator"]["source_tag"] == "v14"


def test_cli_with_a_bad_policy_file_fails_before_a_flow_run(
    file_store_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slsa_models.commands.deploy import main

    policy = tmp_path / "policy.toml"
    policy.write_text("version = 2\n[slsa-github-generator]\nsource-uri = 7\n")
    assert main(["--model-name", MODEL, "--store", file_store_uri, "--policy", str(policy)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {policy}: [slsa-github-generator] source-uri: expected a non-empty string, got an integer"
    ]
    assert outcomes(file_store_uri) == []


# -- helpers ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serving(body: bytes) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"body": body})
    httpd = StubHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/releases/download/v14/binary-linux-amd64.intoto.jsonl"
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- the gate fails closed: names bound, trust from the deployment ---------------------------------


def test_a_model_trained_under_another_name_is_refused(
    prefect_server: str, file_store_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's second attack: train `fraud` with a trusted key, publish its file and provenance
    as `digits-cnn`: the provenance names `fraud`, so the deploy of `digits-cnn` refuses it."""
    from flows.train import train_flow
    from slsa_models.commands.deploy import main
    from slsa_models.provenance.signers import default_builder_id, dev_key_paths

    trained = train_flow(model_format="pytorch_model.pth", model_name="fraud", store=file_store_uri,
                         epochs=1, attest=True)
    store = open_store(file_store_uri)
    moved = publish_model(store, "digits-cnn", _download(store, trained["key"], tmp_path))
    publish_provenance(store, moved.key, store.read_bytes(layout.provenance_key(trained["key"])))
    code = main(["--model-name", "digits-cnn", "--store", file_store_uri,
                 "--public-key", str(dev_key_paths()[1]), "--builder-id", default_builder_id()])
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: SLSA verification failed: model-name: expected digits-cnn, got fraud (the evidence "
        "was made for model 'fraud')")
    assert store.read_with_tag(layout.current_key("digits-cnn")) is None
    [refusal] = deploy.read_history(store, "digits-cnn", trusted())
    assert refusal.outcome == "refused" and refusal.failed_check == "model-name"


def _download(store: ArtifactStore, key: str, tmp_path: Path) -> Path:
    dest = tmp_path / "copy" / layout.parse_model_key(key)[2]
    dest.parent.mkdir()
    store.download(key, dest)
    return dest


def _run_as_deployment(flow: Any, parameters: dict[str, Any], env: dict[str, str]) -> Any:
    """Create a real deployment of ``flow`` on the test server and execute one of its runs
    in-process, as a worker would (``run_flow`` with the deployment's flow run)."""
    import os

    from prefect import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(flow.name)
        deployment_id = client.create_deployment(flow_id=flow_id, name="gated",
                                                 entrypoint="flows/deploy.py:deploy_flow")
        flow_run = client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return run_flow(flow, flow_run=flow_run, parameters=parameters, return_type="state")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_a_deployment_run_may_not_choose_what_is_trusted(
    prefect_server: str, file_store_uri: str, tmp_path: Path
) -> None:
    """The issue's fourth attack: someone who can start runs passes a policy that trusts their
    own key. The run is refused and the refusal recorded; the deployment's policy is untouched."""
    from flows.deploy import deploy_flow

    store_vector(file_store_uri)
    policy = tmp_path / "deployment-policy.toml"
    policy.write_text(f'version = 2\naccept-unnamed = true\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
                      'source-tag = "v15"\n')  # the deployment trusts only v15 builds
    attacker = {"model_name": MODEL, "store": file_store_uri,
                "trust": {"source_uri": SOURCE, "accept_unnamed": True}}
    state = _run_as_deployment(deploy_flow, attacker, {"SLSA_MODELS_POLICY": str(policy)})
    assert state.is_failed()
    assert state.message == (
        "Flow run encountered an exception: TrustParametersRefused: this run passed trust parameters (accept_unnamed, source_uri): the deployment's own policy "
        "(SLSA_MODELS_POLICY) decides what is trusted, not a run; nothing deployed (create the "
        "deployment with SLSA_MODELS_ALLOW_RUN_POLICY=1 only for development)")
    store = open_store(file_store_uri)
    assert current_bytes(store) is None
    [refusal] = deploy.read_history(store, MODEL, trusted())
    assert refusal.outcome == "refused" and refusal.failed_check == deploy.TRUST_PARAMETERS

    # The same deployment run without trust parameters is judged by the deployment's policy.
    state = _run_as_deployment(deploy_flow, {"model_name": MODEL, "store": file_store_uri},
                               {"SLSA_MODELS_POLICY": str(policy)})
    assert state.is_failed() and state.message == (
        "Flow run encountered an exception: VerificationFailed: SLSA verification failed: source-tag: expected v15,"
        " got v14 (built from another tag)")
    # ... and with the development opt-in, the run's own policy applies.
    state = _run_as_deployment(deploy_flow, {**attacker, "trust": {**attacker["trust"], "source_tag": "v14"}},
                               {"SLSA_MODELS_POLICY": str(policy), "SLSA_MODELS_ALLOW_RUN_POLICY": "1"})
    assert state.is_completed(), state.message
    assert outcomes(file_store_uri) == ["promoted", "refused", "refused"]
