"""The local builder's signing side: keys, statements, bundles, the choice of signer."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError
from slsa_models.provenance import signers
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.dsse import INTOTO_PAYLOAD_TYPE, signature_is_valid
from slsa_models.provenance.keys import (
    generate_key_pair,
    key_hint,
    load_private_key,
    load_public_key,
)
from slsa_models.provenance.statement import LOCAL_BUILD_TYPE, build_statement, git_checkout

CLI = [sys.executable, "-m", "slsa_models.cli"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([*CLI, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_keygen_writes_a_p256_pair_with_a_private_mode(tmp_path: Path) -> None:
    result = cli("keygen", "--private-key", str(tmp_path / "k.pem"), "--public-key", str(tmp_path / "k.pub"))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    private = load_private_key(tmp_path / "k.pem")
    public = load_public_key(tmp_path / "k.pub")
    assert isinstance(private.curve, ec.SECP256R1)
    assert key_hint(private.public_key()) == key_hint(public)
    assert key_hint(public) in result.stdout


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("precious")
    result = cli("keygen", "--private-key", str(tmp_path / "k.pem"), "--public-key", str(tmp_path / "k.pub"))
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path / 'k.pem'} already exists: refusing to overwrite a key\n"
    assert (tmp_path / "k.pem").read_text() == "precious" and not (tmp_path / "k.pub").exists()


def test_password_protected_key_needs_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"SLSA_MODELS_KEY_PASSWORD": "s3cret"}
    assert cli("keygen", "--private-key", str(tmp_path / "k.pem"), "--public-key", str(tmp_path / "k.pub"),
               env=env).returncode == 0
    assert b"ENCRYPTED" in (tmp_path / "k.pem").read_bytes()
    monkeypatch.delenv("SLSA_MODELS_KEY_PASSWORD", raising=False)
    with pytest.raises(InputError) as error:
        load_private_key(tmp_path / "k.pem")
    assert str(error.value) == (
        f"{tmp_path / 'k.pem'}: the private key is encrypted: set SLSA_MODELS_KEY_PASSWORD to its password"
    )
    monkeypatch.setenv("SLSA_MODELS_KEY_PASSWORD", "wrong")
    with pytest.raises(InputError) as error:
        load_private_key(tmp_path / "k.pem")
    assert str(error.value) == f"{tmp_path / 'k.pem'}: not a PEM private key, or the password is wrong"
    monkeypatch.setenv("SLSA_MODELS_KEY_PASSWORD", "s3cret")
    assert isinstance(load_private_key(tmp_path / "k.pem"), ec.EllipticCurvePrivateKey)


def test_a_key_of_another_curve_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    other = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "p384.pem").write_bytes(other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(InputError) as error:
        load_private_key(tmp_path / "p384.pem")
    assert str(error.value) == (
        f"{tmp_path / 'p384.pem'}: not an ECDSA P-256 key (the local builder signs with P-256 only)"
    )


def test_attest_writes_a_bundle_sigstore_parses(tmp_path: Path) -> None:
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    model = tmp_path / "tensorflow_model.keras"
    model.write_bytes(b"model bytes")
    out = tmp_path / "tensorflow_model.keras.intoto.jsonl"
    result = cli("attest", "--key", str(tmp_path / "k.pem"), "--builder-id", "https://ci.example/b",
                 str(model), "-o", str(out))
    assert result.returncode == 0, result.stderr

    from sigstore_models.bundle.v1 import Bundle

    text = out.read_text()
    assert text.endswith("\n") and text.count("\n") == 1, "one JSON line"
    bundle = Bundle.from_json(text)
    assert bundle.media_type == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle.verification_material.public_key.hint == key_hint(load_public_key(tmp_path / "k.pub"))
    assert bundle.verification_material.tlog_entries == []
    envelope = bundle.dsse_envelope
    assert envelope.payload_type == INTOTO_PAYLOAD_TYPE
    assert signature_is_valid(load_public_key(tmp_path / "k.pub"), envelope.payload_type,
                              envelope.payload, envelope.signatures[0].sig)
    statement = json.loads(envelope.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    import hashlib

    assert statement["subject"] == [
        {"name": model.name, "digest": {"sha256": hashlib.sha256(b"model bytes").hexdigest()}}
    ]
    assert statement["predicate"]["runDetails"]["builder"]["id"] == "https://ci.example/b"


def test_statement_records_what_the_issue_asks_for() -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    statement = build_statement(
        [("m.pth", "ab" * 32)], builder_id="local://b", external_parameters={"epochs": 2},
        resolved_dependencies=[{"uri": "git+https://github.com/o/r", "digest": {"gitCommit": "c" * 40}}],
        invocation_id="run-1", started_on=started, finished_on=started,
    )
    definition = statement["predicate"]["buildDefinition"]
    assert definition["buildType"] == LOCAL_BUILD_TYPE
    assert definition["externalParameters"] == {"epochs": 2}
    assert {"python", "platform", "packages"} <= set(definition["internalParameters"])
    assert definition["internalParameters"]["packages"]["slsa-models"]
    assert definition["resolvedDependencies"][0]["digest"]["gitCommit"] == "c" * 40
    assert statement["predicate"]["runDetails"]["metadata"] == {
        "invocationId": "run-1", "startedOn": "2026-01-02T03:04:05Z", "finishedOn": "2026-01-02T03:04:05Z",
    }


def test_git_checkout_names_the_commit(tmp_path: Path) -> None:
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    run("remote", "add", "origin", "https://github.com/acme/models")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_checkout(tmp_path) == {"uri": "git+https://github.com/acme/models", "digest": {"gitCommit": commit}}
    plain = tmp_path.parent / f"{tmp_path.name}-plain"
    plain.mkdir()
    assert git_checkout(plain) is None


def test_signer_choice(tmp_path: Path, isolated_state_dir: Path) -> None:
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    ambient = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
    # An explicit key always wins, even where ambient OIDC exists.
    assert isinstance(signers.select_signer(tmp_path / "k.pem", environ=ambient), signers.KeySigner)
    # GitHub's OIDC cannot exist here: these two variables are what a job with id-token: write gets.
    assert isinstance(signers.select_signer(None, environ=ambient), signers.SigstoreSigner)
    assert isinstance(signers.select_signer(None, environ={"ACTIONS_ID_TOKEN_REQUEST_URL": "x"}), signers.KeySigner)
    dev = signers.select_signer(None, environ={})
    assert dev.description == "development key"
    assert (isolated_state_dir / "keys" / "dev-signing-key.pem").exists()


def test_attest_only_outside_github_actions_unless_told() -> None:
    assert signers.should_attest(None, environ={}) is True
    assert signers.should_attest(None, environ={"GITHUB_ACTIONS": "true"}) is False
    assert signers.should_attest(True, environ={"GITHUB_ACTIONS": "true"}) is True
    assert signers.should_attest(False, environ={}) is False


def test_bundle_payload_round_trips(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x", "predicate": {}}
    document = json.loads(key_signed_bundle(key, statement))
    assert json.loads(base64.b64decode(document["dsseEnvelope"]["payload"])) == statement
