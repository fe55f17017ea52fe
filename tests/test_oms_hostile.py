"""Hostile OMS signatures: files that are not signatures (exit 2, one line), and statements a
TRUSTED key signed whose content would mislead (paths leaving the model, duplicates, a root
digest that does not match, unsupported hashing): each fails the `statement` check, never passes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.cli import main
from slsa_models.oms.sign import sign_payload

STATEMENT_FAILED = ("Verification failed: statement: expected an in-toto statement with an OMS manifest "
                    "(https://model_signing/signature/v1.0), got unsupported ({})")


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    model = tmp_path / "model"
    model.mkdir()
    (model / "a.bin").write_bytes(b"a")
    (model / "b.bin").write_bytes(b"b")
    return tmp_path, model, key


def resource(name: str, data: bytes, algorithm: str = "sha256") -> dict[str, str]:
    return {"name": name, "algorithm": algorithm, "digest": hashlib.sha256(data).hexdigest()}


def statement(resources: list[dict[str, str]], **changes: Any) -> dict[str, Any]:
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    document: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "model", "digest": {"sha256": root}}],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {"serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False},
                      "resources": resources},
    }
    for path, value in changes.items():
        target = document
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return document


def verify(capsys: pytest.CaptureFixture[str], root: Path, model: Path, signature: Path) -> tuple[int, str]:
    code = main(["verify-signature", "key", str(model), "--signature", str(signature),
                 "--public_key", str(root / "key.pub")])
    out, err = capsys.readouterr()
    return code, (out + err).strip()


def signed(root: Path, key: ec.EllipticCurvePrivateKey, document: dict[str, Any] | bytes) -> Path:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    path = root / "model.sig"
    path.write_bytes(sign_payload(payload, key))
    return path


GOOD = [resource("a.bin", b"a"), resource("b.bin", b"b")]


@pytest.mark.parametrize(("document", "reason"), [
    (statement([resource("../a.bin", b"a")]),
     "OMS statement: resource '../a.bin' is not a relative path inside the model"),
    (statement([resource("/etc/passwd", b"a")]),
     "OMS statement: resource '/etc/passwd' is not a relative path inside the model"),
    (statement([resource("a.bin", b"a"), resource("a.bin", b"a")]), "OMS statement: resource 'a.bin' is listed twice"),
    (statement(GOOD, subject=[{"name": "model", "digest": {"sha256": "0" * 64}}]),
     "OMS statement: the manifest is inconsistent: the subject digest is " + "0" * 64 + ", the resources "
     "hash to " + hashlib.sha256(hashlib.sha256(b"a").digest() + hashlib.sha256(b"b").digest()).hexdigest()),
    (statement(GOOD, predicate__serialization={"method": "files", "hash_type": "blake3", "allow_symlinks": False}),
     "OMS statement: hash type 'blake3' is not supported (sha256)"),
    (statement(GOOD, predicate__serialization={"method": "tensors", "hash_type": "sha256"}),
     "OMS statement: serialization method 'tensors' is not supported (files or shards)"),
    (statement([resource("a.bin:0:1", b"a")], predicate__serialization={
        "method": "shards", "hash_type": "sha256", "allow_symlinks": False, "shard_size": 0.5}),
     "OMS statement: shard size 0.5: expected a positive integer"),
    (statement([resource("a.bin:0:1", b"a")], predicate__serialization={
        "method": "shards", "hash_type": "sha256", "allow_symlinks": False, "shard_size": float("inf")}),
     "OMS statement: shard size inf: expected a positive integer"),
    (statement([resource("a.bin:0:1", b"a")], predicate__serialization={
        "method": "shards", "hash_type": "sha256", "allow_symlinks": False, "shard_size": float("nan")}),
     "OMS statement: shard size nan: expected a positive integer"),
    (statement([resource("a.bin:0:1", b"a")], predicate__serialization={
        "method": "shards", "hash_type": "sha256-sharded-8", "allow_symlinks": False, "shard_size": 4}),
     "OMS statement: hash type 'sha256-sharded-8' is not supported (sha256)"),
    (statement([resource("a.bin:5:1", b"a", "sha256-sharded-8")], predicate__serialization={
        "method": "shards", "hash_type": "sha256", "allow_symlinks": False, "shard_size": 8}),
     "shard resource 'a.bin:5:1': its end is not after its start"),
    (statement([resource("a.bin", b"a", "md5")]),
     "OMS statement: resource 'a.bin': algorithm 'md5' is not 'sha256'"),
    (statement([resource(".", b"a"), resource("b.bin", b"b")]),
     "OMS statement: a single-file manifest ('.') lists other files too"),
    (statement(GOOD, subject=[]), "OMS statement: expected one subject, got 0"),
    (statement(GOOD, predicateType="https://slsa.dev/provenance/v1"),
     "predicate type 'https://slsa.dev/provenance/v1' is not an OMS signature "
     "('https://model_signing/signature/v1.0')"),
    (statement(GOOD, _type="https://in-toto.io/Statement/v0.1"),
     "statement type 'https://in-toto.io/Statement/v0.1' is not 'https://in-toto.io/Statement/v1'"),
    (b"not json", "the signed payload is not JSON"),
    (statement([]), "OMS statement: the manifest lists no file"),
])
def test_a_trusted_but_misleading_statement_fails(capsys: pytest.CaptureFixture[str], setup: Any,
                                                  document: Any, reason: str) -> None:
    root, model, key = setup
    assert verify(capsys, root, model, signed(root, key, document)) == (1, STATEMENT_FAILED.format(reason))


def test_signed_ignore_paths_that_would_hide_everything_are_not_honoured(
        capsys: pytest.CaptureFixture[str], setup: Any) -> None:
    root, model, key = setup
    serialization_ = {"method": "files", "hash_type": "sha256", "allow_symlinks": False,
                      "ignore_paths": [".", "..", "/", "../model", "/added.bin"]}
    signature = signed(root, key, statement(GOOD, predicate__serialization=serialization_))
    assert verify(capsys, root, model, signature) == (0, "Verification succeeded")
    (model / "added.bin").write_bytes(b"x")
    assert verify(capsys, root, model, signature) == (
        1, "Verification failed: model-files: expected the 2 signed files, got 1 differing (added) "
           "(added.bin: not signed (added))")


def test_another_payload_type_fails(capsys: pytest.CaptureFixture[str], setup: Any) -> None:
    root, model, key = setup
    signature = signed(root, key, statement(GOOD))
    bundle = json.loads(signature.read_text())
    bundle["dsseEnvelope"]["payloadType"] = "text/plain"
    signature.write_text(json.dumps(bundle))
    assert verify(capsys, root, model, signature) == (
        1, f"Verification failed: signature: expected a DSSE signature by a trusted key ({root / 'key.pub'}), "
           "got no trusted key verifies it (signed with another key, or the signed manifest was changed)")


def _bad_base64(root: Path, signature: Path) -> str:
    bundle = json.loads(signature.read_text())
    bundle["dsseEnvelope"]["payload"] = "!!!"
    signature.write_text(json.dumps(bundle))
    return f"error: {signature}: dsseEnvelope.payload: not valid base64"


def _deep(root: Path, signature: Path) -> str:
    signature.write_text("[" * 100 + "]" * 100)
    return f"error: {signature}: JSON nested more than 64 levels deep; refusing to read it"


def _folder(root: Path, signature: Path) -> str:
    signature.unlink()
    signature.mkdir()
    return f"error: {signature}: is a directory, not a signature file"


def _fifo(root: Path, signature: Path) -> str:
    signature.unlink()
    os.mkfifo(signature)
    return f"error: {signature}: not a regular file (a FIFO); give the signature file itself"


def _huge(root: Path, signature: Path) -> str:
    with open(signature, "wb") as stream:
        stream.truncate(16 * 2**20 + 1)
    return f"error: {signature}: 16.0 MiB is larger than the 16 MiB limit for a signature file"


def _no_signer(root: Path, signature: Path) -> str:
    bundle = json.loads(signature.read_text())
    bundle["verificationMaterial"] = {"tlogEntries": []}
    signature.write_text(json.dumps(bundle))
    return (f"error: {signature}: verificationMaterial holds no public key hint, certificate chain or "
            "certificate; cannot tell who signed")


def _no_signatures(root: Path, signature: Path) -> str:
    bundle = json.loads(signature.read_text())
    bundle["dsseEnvelope"]["signatures"] = []
    signature.write_text(json.dumps(bundle))
    return f"error: {signature}: DSSE envelope without signatures"


@pytest.mark.parametrize("spoil", [_bad_base64, _deep, _folder, _fifo, _huge, _no_signer, _no_signatures])
def test_unusable_signature_files_exit_2(capsys: pytest.CaptureFixture[str], setup: Any, spoil: Any) -> None:
    root, model, key = setup
    signature = signed(root, key, statement(GOOD))
    line = spoil(root, signature)
    assert verify(capsys, root, model, signature) == (2, line)


@pytest.mark.parametrize("verb", [["sigstore"], []])  # without a sub-verb: sigstore, as model_signing
def test_keyless_signing_without_an_identity_is_refused_before_hashing(
        capsys: pytest.CaptureFixture[str], setup: Any, monkeypatch: pytest.MonkeyPatch, verb: list[str]) -> None:
    root, model, _ = setup
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    code = main(["sign", *verb, str(model), "--signature", str(root / "out.sig")])
    assert (code, capsys.readouterr().err) == (
        2, "error: no OIDC identity for keyless signing: run in GitHub Actions with id-token: write, or give "
           "--identity_token (or sign with a key)\n")
    assert not (root / "out.sig").exists()


# -- properties: any input ends in the one error family, never another exception --------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from slsa_models.errors import ProvenanceError, StatementError  # noqa: E402
from slsa_models.oms.format import parse_bundle, parse_manifest  # noqa: E402

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=20)
KEYS = st.sampled_from(["_type", "subject", "predicateType", "predicate", "serialization", "resources", "name",
                        "digest", "algorithm", "method", "hash_type", "shard_size", "ignore_paths", "sha256"])


def _mutated_statement() -> st.SearchStrategy[dict[str, Any]]:
    base = statement(GOOD)
    return st.builds(lambda key, value: {**base, key: value} if key in base else
                     {**base, "predicate": {**base["predicate"], key: value}}, KEYS, JSON)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_mutated_statement(), JSON))
def test_any_statement_is_a_manifest_or_one_statement_error(document: Any) -> None:
    try:
        parse_manifest("application/vnd.in-toto+json", json.dumps(document).encode())
    except StatementError as error:
        assert "\n" not in str(error)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=64), JSON.map(lambda value: json.dumps(value).encode()),
                 st.builds(lambda material, envelope: json.dumps(
                     {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                      "verificationMaterial": material, "dsseEnvelope": envelope}).encode(), JSON, JSON)))
def test_any_signature_file_is_a_bundle_or_one_provenance_error(raw: bytes) -> None:
    try:
        parse_bundle("model.sig", raw)
    except ProvenanceError as error:
        assert "\n" not in str(error)


@pytest.mark.parametrize("media_type", [{}, [], 3, None, True])
def test_a_media_type_of_another_json_type_is_one_line(media_type: object) -> None:
    """Found by the fuzz campaign: a JSON object as mediaType raised TypeError (unhashable)."""
    with pytest.raises(ProvenanceError) as error:
        parse_bundle("model.sig", json.dumps({"mediaType": media_type}).encode())
    assert str(error.value) == (f"model.sig: media type {media_type!r} is not a Sigstore bundle "
                                "(expected 'application/vnd.dev.sigstore.bundle.v0.3+json')")


def test_an_oms_type_spelled_with_escapes_is_refused_not_misread(setup: Any) -> None:
    """The cheap pre-check (format.may_be_oms) looks for the OMS predicate type's base64 in the
    bundle; a payload spelling it with JSON escapes is missed there, and then refused as the
    provenance it is not: a miss never passes."""
    from slsa_models.oms.trust import OMSKey
    from slsa_models.verify import Artifact, Policy, load_provenance, verify_loaded
    from slsa_models.verify.bundle import KIND_OMS_SIGNATURE
    from slsa_models.verify.policy import OMSPolicy

    root, _, key = setup
    document = statement(GOOD)
    payload = json.dumps(document).replace("/", "\\/").encode()
    assert json.loads(payload) == document
    loaded = load_provenance(signed(root, key, payload))
    assert loaded.kind != KIND_OMS_SIGNATURE
    policy = Policy(OMSPolicy(public_keys=(OMSKey("k", (root / "key.pub").read_bytes()),)))
    report = verify_loaded(loaded, [Artifact("a.bin", hashlib.sha256(b"a").hexdigest())], policy)
    assert not report.passed
    assert report.first_failure().message == (  # type: ignore[union-attr]
        "evidence-kind: expected oms, got key-signed provenance (a local builder) (the policy does not trust "
        "local-builder evidence (add a [local-builder.NAME] table to trust it))")


def test_the_oms_pre_check_tells_the_vectors_apart() -> None:
    from slsa_models.oms.format import base64_cores, may_be_oms

    vectors = Path(__file__).parent / "vectors"
    assert all(may_be_oms(path.read_bytes()) for path in (vectors / "oms").glob("*.sig"))
    assert not any(may_be_oms(path.read_bytes()) for path in vectors.glob("*.intoto.jsonl"))
    text = b"https://model_signing/"
    for prefix in range(12):  # whatever comes before and after, one core is in the encoding
        for suffix in range(4):
            encoded = base64.b64encode(os.urandom(prefix) + text + os.urandom(suffix))
            assert any(core in encoded for core in base64_cores(text))
