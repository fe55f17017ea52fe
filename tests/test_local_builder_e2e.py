"""The issue's "done when": a model trained by `python -m flows.train` outside GitHub Actions
carries key-signed provenance next to it in the store, which verifies against a policy that
trusts the local key and fails against one that trusts another key.

The train flow runs once for the module (against the session's Prefect server, with a fresh
PREFECT_HOME and SLSA_MODELS_HOME and a file:// store; test_train_flow.py runs it in Prefect's
ephemeral mode); the keys come from `slsa-models keygen`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.verify import Artifact, load_policy, verify_artifacts

REPO = Path(__file__).resolve().parents[1]
BUILDER = "https://ci.example.com/builders/e2e"
MODEL_FORMAT = "pytorch_model.pth"


def run(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("e2e")
    env = {"SLSA_MODELS_HOME": str(root / "home"), "PREFECT_HOME": str(root / "prefect-home"),
           "PREFECT_API_URL": prefect_server, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "GITHUB_ACTIONS": ""}  # outside GitHub Actions even when the suite runs in it
    keys = root / "keys"
    for name in ("builder", "other"):
        made = run("-m", "slsa_models.cli", "keygen", "--private-key", str(keys / f"{name}.pem"),
                   "--public-key", str(keys / f"{name}.pub.pem"), env=env)
        assert made.returncode == 0, made.stderr
    store = root / "store"
    store.mkdir()  # a file store must exist (the flow checks it before training)
    result = run("-m", "flows.train", "--model-format", MODEL_FORMAT, "--epochs", "1",
                 "--store", store.as_uri(), "--signing-key", str(keys / "builder.pem"),
                 "--builder-id", BUILDER, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    [model] = store.glob(f"models/digits-cnn/sha256-*/{MODEL_FORMAT}")
    return {"root": root, "keys": keys, "model": model,
            "provenance": model.with_name(model.name + ".intoto.jsonl")}


def policy(trained: dict[str, Path], key: str, name: str) -> Path:
    path = trained["root"] / name
    path.write_text(f"""\
version = 2

[slsa-github-generator]
source-uri = "github.com/acme/models"

[local-builder.e2e]
builder-id = "{BUILDER}"
public-key = "keys/{key}.pub.pem"
""")
    return path


def verify_cli(trained: dict[str, Path], policy_file: Path,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["verify-artifact", str(trained["model"]), "--provenance-path",
                 str(trained["provenance"]), "--policy", str(policy_file)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_provenance_is_stored_next_to_the_model(trained: dict[str, Path]) -> None:
    from sigstore_models.bundle.v1 import Bundle

    assert trained["provenance"].is_file()
    bundle = Bundle.from_json(trained["provenance"].read_bytes())
    assert bundle.verification_material.public_key is not None
    assert trained["model"].parent.name == f"sha256-{Artifact.from_path(trained['model']).sha256}"


def test_it_verifies_against_a_policy_that_trusts_the_local_key(
    trained: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = verify_cli(trained, policy(trained, "builder", "trusted.toml"), capsys)
    assert (code, out) == (0, ""), err
    lines = err.splitlines()
    # the train flow ran in this repository's checkout, so the statement records its commit
    assert re.fullmatch(rf'Verified build using builder "{re.escape(BUILDER)}" at commit [0-9a-f]{{40}}',
                        lines[0])
    assert lines[1:] == [f"Verifying artifact {trained['model']}: PASSED", "",
                         "PASSED: SLSA verification passed"]
    report = verify_artifacts(trained["provenance"], [Artifact.from_path(trained["model"])],
                              load_policy(trained["root"] / "trusted.toml"))
    statement = json.loads(report.payload or b"")
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["model_format"] == \
        MODEL_FORMAT
    assert report.kind == "local-builder" and report.signer_key == "e2e"


def test_it_fails_against_a_policy_that_trusts_another_key(
    trained: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = verify_cli(trained, policy(trained, "other", "untrusted.toml"), capsys)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "FAILED: SLSA verification failed: signature: expected a DSSE signature by a trusted key "
        "(e2e), got no trusted key verifies it (signed with another key, or the signed payload "
        "was changed)")
