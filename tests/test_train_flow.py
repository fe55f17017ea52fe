"""The train flow end to end: a real Prefect API server, real S3 (moto over HTTP)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slsa_models import formats
from slsa_models.store import layout

REPO = Path(__file__).resolve().parents[1]


def run_train(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.train", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300,
    )


def list_keys(s3_client: Any, store_uri: str) -> list[str]:
    bucket = store_uri.removeprefix("s3://").split("/")[0]
    return [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.parametrize("model_format", formats.FORMAT_NAMES)
def test_each_format_lands_at_its_content_addressed_key(
    model_format: str, prefect_server: str, s3_store_uri: str, s3_client: Any
) -> None:
    from flows.train import train_flow

    result = train_flow(model_format=model_format, store=s3_store_uri, epochs=1, model_name="digits")

    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    body = s3_client.get_object(Bucket=bucket, Key=f"prefix/{result['key']}")["Body"].read()
    sha256 = hashlib.sha256(body).hexdigest()
    assert result["sha256"] == sha256
    assert result["key"] == layout.model_key("digits", sha256, model_format)
    assert result["uri"] == f"{s3_store_uri}/{result['key']}"
    assert result["subject"] == f"{sha256}  digits/{model_format}\n"  # the subject names the model
    assert result["model_format"] == model_format and result["size"] == len(body)
    assert 0.0 < result["accuracy"] <= 1.0
    assert result["provenance_uri"] == f"{s3_store_uri}/{result['key']}.intoto.jsonl"
    assert sorted(list_keys(s3_client, s3_store_uri)) == [
        f"prefix/{result['key']}", f"prefix/{result['key']}.intoto.jsonl"
    ]


def test_flow_run_is_named_after_format_and_publishes_an_artifact(
    prefect_server: str, file_store_uri: str
) -> None:
    from prefect import get_client

    from flows.train import train_flow

    result = train_flow(model_format="pytorch_model.pth", store=file_store_uri, epochs=1)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(result["flow_run_id"])
        artifact = client.read_latest_artifacts(limit=50)
    assert run.name == "train-digits-cnn-pytorch_model.pth"
    assert run.state.is_completed()
    train_artifact = next(a for a in artifact if a.key == "train-digits-cnn")
    assert result["sha256"] in train_artifact.data and result["uri"] in train_artifact.data


def _migrated_database(prefect_home: Path) -> None:
    """A copy of the session server's SQLite database in ``prefect_home``: Prefect's ephemeral
    server then starts without running its migrations (its own code, 15 s here)."""
    import sqlite3

    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    source = PREFECT_API_DATABASE_CONNECTION_URL.value().split(":///", 1)[1]
    prefect_home.mkdir()
    with sqlite3.connect(source) as live, sqlite3.connect(prefect_home / "prefect.db") as copy:
        live.backup(copy)


def test_cli_in_ephemeral_mode_writes_sha256sum_subjects(tmp_path: Path, prefect_server: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m flows.train` with no Prefect server configured: Prefect's ephemeral mode."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    store = tmp_path / "store"
    subjects = tmp_path / "subjects.txt"
    _migrated_database(tmp_path / "prefect-home")
    env = {"PREFECT_HOME": str(tmp_path / "prefect-home"), "SLSA_MODELS_HOME": str(tmp_path)}
    result = run_train("--model-format", "pytorch_jitted_model.pt", "--epochs", "1",
                       "--subjects-file", str(subjects), env=env)
    assert result.returncode == 0, result.stderr
    stored = next(store.glob("models/digits-cnn/sha256-*/pytorch_jitted_model.pt"))
    # sha256sum's line for the file, named <model>/<file>: the subject binds the model's name
    digest = subprocess.run(["sha256sum", stored.name], cwd=stored.parent, capture_output=True,
                            text=True).stdout.split()[0]
    expected = f"{digest}  digits-cnn/{stored.name}\n"
    assert subjects.read_text() == expected
    assert f"digest:   sha256:{expected.split()[0]}" in result.stdout
    assert f"model:    {store.as_uri()}/models/digits-cnn/" in result.stdout
    assert "prefect - Starting temporary server on http://127.0.0.1:" in result.stdout + result.stderr
    assert "Error emitting event" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model-format", "onnx_model.onnx"],
         "error: argument --model-format: unknown model format 'onnx_model.onnx': choose one of "
         + ", ".join(formats.FORMAT_NAMES)),
        (["--epochs", "0"], "error: argument --epochs: epochs must be a positive integer, got 0"),
        (["--epochs", "-3"], "error: argument --epochs: epochs must be a positive integer, got -3"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_anything_runs(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = run_train(*args, "--store", (tmp_path / "store").as_uri())
    assert result.returncode == 2
    assert result.stderr == f"{message} (see python -m flows.train --help)\n"
    assert not (tmp_path / "store").exists()


def _run(**parameters: Any) -> tuple[int, Any]:
    from flows._cli import run_flow
    from flows.train import train_flow

    return run_flow(train_flow, {"epochs": 1, **parameters})


def test_unknown_store_scheme(prefect_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(store="ftp://models/prod")
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: unsupported store URI 'ftp://models/prod': use s3://bucket/prefix or file:///path"
    )


def test_unreachable_endpoint_fails_before_training(
    prefect_server: str, s3_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    code, _ = _run(store="s3://models/prod")
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot reach S3 endpoint http://127.0.0.1:{port}: Could not connect to the endpoint URL:"
        f' "http://127.0.0.1:{port}/models?list-type=2&prefix=prod%2Fmodels%2Fdigits-cnn%2F&encoding-type=url"'
    )


def test_missing_bucket(prefect_server: str, s3_server: str, s3_client: Any,
                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    code, _ = _run(store="s3://no-such-bucket/models")
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: S3 bucket 'no-such-bucket' does not exist at {s3_server}"
    )
    names = [b["Name"] for b in s3_client.list_buckets()["Buckets"]]
    assert "no-such-bucket" not in names


def test_key_holding_different_bytes_is_refused_and_kept(
    prefect_server: str, s3_store_uri: str, s3_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Content addresses can only clash through tampering: plant other bytes at the model's key."""
    from prefect import flow

    from flows._cli import run_flow
    from tasks.store import store_model

    model = tmp_path / "pytorch_model.pth"
    model.write_bytes(b"the real model")
    sha256 = hashlib.sha256(model.read_bytes()).hexdigest()
    key = layout.model_key("digits-cnn", sha256, model.name)
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    s3_client.put_object(Bucket=bucket, Key=f"prefix/{key}", Body=b"planted bytes")

    @flow
    def store_only() -> None:
        store_model(s3_store_uri, "digits-cnn", model, sha256)

    code, _ = run_flow(store_only, {})
    assert code == 1
    planted = hashlib.sha256(b"planted bytes").hexdigest()
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: {s3_store_uri}/{key} already holds different bytes (sha256:{planted}, 13 bytes;"
        f" refusing to write sha256:{sha256}, 14 bytes): stored objects are never overwritten"
    )
    assert s3_client.get_object(Bucket=bucket, Key=f"prefix/{key}")["Body"].read() == b"planted bytes"
    assert list_keys(s3_client, s3_store_uri) == [f"prefix/{key}"]


def test_in_github_actions_the_flow_leaves_signing_to_the_generator(
    prefect_server: str, file_store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.train import train_flow

    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # what the runner sets; GitHub itself is out of reach
    result = train_flow(model_format="pytorch_model.pth", store=file_store_uri, epochs=1)
    assert result["provenance_uri"] is None
    model_dir = Path(result["uri"].removeprefix("file://")).parent
    assert sorted(p.name for p in model_dir.iterdir() if not p.name.startswith(".")) == ["pytorch_model.pth"]


def test_a_rerun_with_the_same_seed_keeps_the_model_and_adds_its_provenance(
    prefect_server: str, file_store_uri: str
) -> None:
    """pytorch_model.pth is byte-reproducible: the second run finds the model stored and adds its
    own signed provenance beside the first (evidence is added, never replaced)."""
    import hashlib

    from flows.train import train_flow

    first = train_flow(model_format="pytorch_model.pth", store=file_store_uri, epochs=1, seed=3)
    provenance = Path(first["provenance_uri"].removeprefix("file://"))
    signed_first = provenance.read_bytes()
    second = train_flow(model_format="pytorch_model.pth", store=file_store_uri, epochs=1, seed=3)
    assert second["sha256"] == first["sha256"]
    assert provenance.read_bytes() == signed_first
    added = Path(second["provenance_uri"].removeprefix("file://"))
    digest = hashlib.sha256(added.read_bytes()).hexdigest()
    assert second["provenance_uri"] == f"{first['uri']}.{digest[:12]}.intoto.jsonl"
