"""`slsa-models publish`: what the GitHub workflow's publish job runs, against real S3 (moto)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def publish(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slsa_models.cli", "publish", *args],
                          capture_output=True, text=True, env=dict(os.environ))


@pytest.fixture
def model(tmp_path: Path) -> tuple[Path, Path, str]:
    path = tmp_path / "tensorflow_model.keras"
    path.write_bytes(b"model bytes")
    provenance = tmp_path / "tensorflow_model.keras.intoto.jsonl"
    provenance.write_text('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}\n')
    return path, provenance, hashlib.sha256(b"model bytes").hexdigest()


def test_publish_puts_both_at_their_content_addressed_keys(
    s3_store_uri: str, s3_client: Any, model: tuple[Path, Path, str]
) -> None:
    path, provenance, sha256 = model
    result = publish("--store", s3_store_uri, "--model-name", "digits", str(path), str(provenance))
    assert result.returncode == 0, result.stderr
    key = f"models/digits/sha256-{sha256}/tensorflow_model.keras"
    assert json.loads(result.stdout) == {
        "model": f"{s3_store_uri}/{key}", "sha256": sha256,
        "provenance": f"{s3_store_uri}/{key}.intoto.jsonl",
    }
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    assert s3_client.get_object(Bucket=bucket, Key=f"prefix/{key}")["Body"].read() == b"model bytes"
    stored = s3_client.get_object(Bucket=bucket, Key=f"prefix/{key}.intoto.jsonl")["Body"].read()
    assert stored == provenance.read_bytes()

    again = publish("--store", s3_store_uri, "--model-name", "digits", str(path), str(provenance))
    assert again.returncode == 0 and again.stdout == result.stdout  # a re-run of the job is a no-op


def test_publish_refuses_other_bytes_at_a_model_key(
    s3_store_uri: str, s3_client: Any, model: tuple[Path, Path, str]
) -> None:
    path, provenance, sha256 = model
    key = f"prefix/models/digits/sha256-{sha256}/tensorflow_model.keras"
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"tampered")
    result = publish("--store", s3_store_uri, "--model-name", "digits", str(path), str(provenance))
    assert result.returncode == 1
    tampered = hashlib.sha256(b"tampered").hexdigest()
    assert result.stderr == (
        f"error: {s3_store_uri}/models/digits/sha256-{sha256}/tensorflow_model.keras already holds different"
        f" bytes (sha256:{tampered}, 8 bytes; refusing to write sha256:{sha256}, {path.stat().st_size} bytes):"
        " stored objects are never overwritten\n"
    )
    assert s3_client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"tampered"
    listed = s3_client.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == [key], "no provenance was written for refused bytes"


def test_publish_missing_file_is_one_line(file_store_uri: str, tmp_path: Path) -> None:
    result = publish("--store", file_store_uri, "--model-name", "digits", str(tmp_path / "nope.keras"))
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path / 'nope.keras'}: no such file\n"
