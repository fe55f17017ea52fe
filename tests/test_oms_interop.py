"""Interop with the reference implementation, model_signing 1.1.1 (key and certificate kinds,
which never reach the network): its signatures verify with ours, ours verify with it, for a
file and a folder; every tampering case is refused naming the file; a wrong key, chain or
certificate usage is refused. The test CA is made here with ``cryptography``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.cli import main
from tests.pki import certificate

model_signing = pytest.importorskip("model_signing")


def write_key(path: Path, curve: ec.EllipticCurve = ec.SECP256R1()) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(curve)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.with_suffix(".pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """keys/: signer.pem (+ .pub), other.pem, root-ca.pem, int-ca.pem, signer-cert.pem,
    other-root.pem, nosign-cert.pem / nosign.pem."""
    keys = tmp_path_factory.mktemp("pki")
    signer = write_key(keys / "signer.pem")
    write_key(keys / "other.pem")
    root_key, int_key, other_root_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = certificate("test-root", root_key, None, ca=True)
    intermediate = certificate("test-intermediate", int_key, ("test-root", root_key), ca=True)
    pem(keys / "root-ca.pem", root)
    pem(keys / "int-ca.pem", intermediate)
    pem(keys / "signer-cert.pem", certificate("release-team", signer, ("test-intermediate", int_key), ca=False))
    pem(keys / "other-root.pem", certificate("test-root", other_root_key, None, ca=True))
    nosign = write_key(keys / "nosign.pem")
    pem(keys / "nosign-cert.pem", certificate("no-signing", nosign, ("test-intermediate", int_key), ca=False,
                                              usage="other"))
    return keys


def make_model(root: Path) -> Path:
    folder = root / "bert"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_bytes(b'{"layers": 2}\n')
    (folder / "model.safetensors").write_bytes(b"weights" * 100)
    (folder / "sub" / "tokenizer.json").write_bytes(b'{"vocab": []}\n')
    (folder / ".gitattributes").write_bytes(b"*.safetensors filter=lfs\n")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, (out + err).strip()


def theirs_sign(model: Path, signature: Path, keys: Path, kind: str, *, shard_size: int | None = None) -> None:
    config = model_signing.signing.Config()
    if kind == "key":
        config = config.use_elliptic_key_signer(private_key=keys / "signer.pem")
    else:
        config = config.use_certificate_signer(private_key=keys / "signer.pem",
                                               signing_certificate=keys / "signer-cert.pem",
                                               certificate_chain=[keys / "int-ca.pem"])
    hashing = model_signing.hashing.Config().set_ignored_paths(paths=[signature.name] if signature.parent == model
                                                               else [])
    if shard_size:
        hashing = hashing.use_shard_serialization(shard_size=shard_size)
    config.set_hashing_config(hashing).sign(model, signature)


def theirs_verify(model: Path, signature: Path, keys: Path, kind: str) -> None:
    config = model_signing.verifying.Config()
    if kind == "key":
        config = config.use_elliptic_key_verifier(public_key=keys / "signer.pub")
    else:
        config = config.use_certificate_verifier(certificate_chain=[keys / "root-ca.pem"])
    config.set_hashing_config(model_signing.hashing.Config().set_ignored_paths(
        paths=[signature.name] if signature.parent == model else [])).verify(model, signature)


def ours_verify_args(kind: str, model: Path, signature: Path, keys: Path) -> list[object]:
    trust = ["--public_key", keys / "signer.pub"] if kind == "key" else \
        ["--certificate_chain", keys / "root-ca.pem"]
    return ["verify-signature", kind, model, "--signature", signature, *trust]


def ours_sign_args(kind: str, model: Path, signature: Path, keys: Path) -> list[object]:
    extra = [] if kind == "key" else ["--signing_certificate", keys / "signer-cert.pem",
                                      "--certificate_chain", keys / "int-ca.pem"]
    return ["sign", kind, model, "--signature", signature, "--private_key", keys / "signer.pem", *extra]


def model_and_signature(tmp_path: Path, shape: str) -> tuple[Path, Path, Path]:
    """(folder, the model: the folder or one file of it, its signature: inside the folder or next to the file)."""
    folder = make_model(tmp_path)
    if shape == "folder":
        return folder, folder, folder / "model.sig"
    return folder, folder / "model.safetensors", tmp_path / "model.sig"


@pytest.mark.parametrize("kind", ["key", "certificate"])
@pytest.mark.parametrize("shape", ["file", "folder"])
def test_model_signing_signs_ours_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Path,
                                           kind: str, shape: str) -> None:
    folder, model, signature = model_and_signature(tmp_path, shape)
    theirs_sign(model, signature, pki, kind)
    assert run(capsys, *ours_verify_args(kind, model, signature, pki)) == (0, "Verification succeeded")


@pytest.mark.parametrize("kind", ["key", "certificate"])
@pytest.mark.parametrize("shape", ["file", "folder"])
def test_ours_signs_model_signing_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Path,
                                           kind: str, shape: str) -> None:
    folder, model, signature = model_and_signature(tmp_path, shape)
    assert run(capsys, *ours_sign_args(kind, model, signature, pki)) == (0, "Signing succeeded")
    theirs_verify(model, signature, pki, kind)  # raises on failure
    assert run(capsys, *ours_verify_args(kind, model, signature, pki)) == (0, "Verification succeeded")
    (folder / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="Signature mismatch"):
        theirs_verify(model, signature, pki, kind)


def test_model_signing_shard_manifest_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               pki: Path) -> None:
    """model_signing's CLI re-hashes whole files and refuses shard manifests; ours verifies them."""
    folder = make_model(tmp_path)
    signature = tmp_path / "shards.sig"
    theirs_sign(folder, signature, pki, "key", shard_size=256)
    assert run(capsys, *ours_verify_args("key", folder, signature, pki)) == (0, "Verification succeeded")
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[300] ^= 1
    (folder / "model.safetensors").write_bytes(bytes(data))
    assert run(capsys, *ours_verify_args("key", folder, signature, pki)) == (
        1, "Verification failed: model-files: expected the 3 signed files, got 1 differing (changed) "
           "(model.safetensors: its shards differ from the signed ones)")


def test_model_signing_shards_of_one_file_verify(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 pki: Path) -> None:
    model = make_model(tmp_path) / "model.safetensors"
    signature = tmp_path / "shards.sig"
    theirs_sign(model, signature, pki, "key", shard_size=256)  # resources ".:0:256", ".:256:512", ...
    assert run(capsys, *ours_verify_args("key", model, signature, pki)) == (0, "Verification succeeded")
    model.write_bytes(model.read_bytes() + b"x")
    assert run(capsys, *ours_verify_args("key", model, signature, pki)) == (
        1, "Verification failed: model-files: expected the 1 signed file, got 1 differing (changed) "
           "(the model file: its shards differ from the signed ones)")


def test_ours_shard_manifest_verifies_with_model_signing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         pki: Path) -> None:
    folder = make_model(tmp_path)
    signature = tmp_path / "shards.sig"
    assert run(capsys, *ours_sign_args("key", folder, signature, pki), "--shard-size", 256) == \
        (0, "Signing succeeded")
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pki / "signer.pub").verify(
        folder, signature)  # the library guesses the shard serialization from the signature


SIGNED_CONFIG, CHANGED_CONFIG = (hashlib.sha256(data).hexdigest()[:12]
                                  for data in (b'{"layers": 2}\n', b'{"layers": 3}\n'))  # make_model's, the tampered
TAMPER = {
    "changed": ("config.json", f"1 differing (changed) (config.json: sha256:{CHANGED_CONFIG}... differs from the"
                               f" signed sha256:{SIGNED_CONFIG}...)"),
    "missing": ("config.json", "1 differing (missing) (config.json: signed but missing)"),
    "added": ("extra.bin", "1 differing (added) (extra.bin: not signed (added))"),
    "renamed": ("config.json", "1 differing (renamed) (sub/config.json: renamed from config.json)"),
    "swapped": ("config.json", "2 differing (swapped) (config.json: holds the signed bytes of "
                               "sub/tokenizer.json; sub/tokenizer.json: holds the signed bytes of config.json)"),
}


@pytest.mark.parametrize("tamper", list(TAMPER))
def test_tampering_a_folder_model_signing_signed_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            pki: Path, tamper: str) -> None:
    folder = make_model(tmp_path)
    signature = folder / "model.sig"
    theirs_sign(folder, signature, pki, "certificate")
    config, tokenizer = folder / "config.json", folder / "sub" / "tokenizer.json"
    if tamper == "changed":
        config.write_bytes(b'{"layers": 3}\n')
    elif tamper == "missing":
        config.unlink()
    elif tamper == "added":
        (folder / "extra.bin").write_bytes(b"x")
    elif tamper == "renamed":
        config.rename(folder / "sub" / "config.json")
    else:
        first, second = config.read_bytes(), tokenizer.read_bytes()
        config.write_bytes(second)
        tokenizer.write_bytes(first)
    code, line = run(capsys, *ours_verify_args("certificate", folder, signature, pki))
    assert code == 1
    assert line == "Verification failed: model-files: expected the 3 signed files, got " + TAMPER[tamper][1]


def test_ignore_paths_and_ignore_unsigned_files(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                pki: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_model(tmp_path)
    signature = tmp_path / "model.sig"
    theirs_sign(folder, signature, pki, "key")
    (folder / "README.md").write_bytes(b"added later\n")
    args = ours_verify_args("key", folder, signature, pki)
    assert run(capsys, *args)[0] == 1
    monkeypatch.chdir(tmp_path)  # model_signing's meaning: relative to the working directory
    assert run(capsys, *args, "--ignore-paths", "bert/README.md") == (0, "Verification succeeded")
    assert run(capsys, *args, "--ignore-paths", "README.md")[0] == 1  # not inside the model from here
    assert run(capsys, *args, "--ignore-unsigned-files") == (0, "Verification succeeded")
    (folder / ".gitattributes").write_bytes(b"changed\n")  # git paths are left out by default
    assert run(capsys, *args, "--ignore_unsigned_files") == (0, "Verification succeeded")
    # the signer left the git paths out, and the signature says so: they stay out (model_signing)
    assert run(capsys, *args, "--ignore-paths", "bert/README.md", "--no-ignore-git-paths") == \
        (0, "Verification succeeded")


def test_symlinks_only_with_allow_symlinks(capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Path) -> None:
    folder = make_model(tmp_path)
    (tmp_path / "outside.bin").write_bytes(b"outside\n")
    (folder / "link.bin").symlink_to(tmp_path / "outside.bin")
    signature = tmp_path / "model.sig"
    model_signing.signing.Config().use_elliptic_key_signer(private_key=pki / "signer.pem").set_hashing_config(
        model_signing.hashing.Config().set_allow_symlinks(True)).sign(folder, signature)
    args = ours_verify_args("key", folder, signature, pki)
    assert run(capsys, *args) == (2, f"error: {folder / 'link.bin'}: is a symlink; a model folder holds "
                                     "regular files only (leave it out with --ignore-paths)")
    assert run(capsys, *args, "--allow_symlinks") == (0, "Verification succeeded")


def test_wrong_key_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Path) -> None:
    folder = make_model(tmp_path)
    signature = tmp_path / "model.sig"
    theirs_sign(folder, signature, pki, "key")
    assert run(capsys, "verify-signature", "key", folder, "--signature", signature, "--public_key",
               pki / "other.pub") == (
        1, f"Verification failed: signature: expected a DSSE signature by a trusted key ({pki / 'other.pub'}), "
           "got no trusted key verifies it (signed with another key, or the signed manifest was changed)")


def test_a_key_hint_naming_another_key_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  pki: Path) -> None:
    folder = make_model(tmp_path)
    signature = tmp_path / "model.sig"
    theirs_sign(folder, signature, pki, "key")
    bundle = json.loads(signature.read_text())
    bundle["verificationMaterial"]["publicKey"]["hint"] = "0" * 64
    signature.write_text(json.dumps(bundle))
    code, line = run(capsys, *ours_verify_args("key", folder, signature, pki))
    assert (code, line) == (1, f"Verification failed: key-hint: expected {_hint(pki)}, got {'0' * 64} "
                               "(the signature's key hint names another key than the one that signed)")


def _hint(pki: Path) -> str:
    from slsa_models.oms.trust import OMSKey

    return OMSKey.from_file(pki / "signer.pub").hint


def test_wrong_chain_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Path) -> None:
    folder = make_model(tmp_path)
    signature = tmp_path / "model.sig"
    theirs_sign(folder, signature, pki, "certificate")
    code, line = run(capsys, "verify-signature", "certificate", folder, "--signature", signature,
                     "--certificate_chain", pki / "other-root.pem")
    assert code == 1
    # the reason in parentheses is cryptography's chain validation's
    assert re.fullmatch(re.escape("Verification failed: certificate-chain: expected a signing certificate chaining "
                                  "to a trusted root (1 given), got CN=release-team (") + r"[^\n]+\)", line), line


def test_a_certificate_not_for_signing_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  pki: Path) -> None:
    folder = make_model(tmp_path)
    signature = tmp_path / "model.sig"
    assert run(capsys, "sign", "certificate", folder, "--signature", signature, "--private_key",
               pki / "nosign.pem", "--signing_certificate", pki / "nosign-cert.pem",
               "--certificate_chain", pki / "int-ca.pem") == (0, "Signing succeeded")
    assert run(capsys, *ours_verify_args("certificate", folder, signature, pki)) == (
        1, "Verification failed: certificate-usage: expected key usage digital signature, or code signing, "
           "got neither (the signing certificate cannot be used for signing)")


def test_a_certificate_for_another_key_is_refused_when_signing(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path, pki: Path) -> None:
    folder = make_model(tmp_path)
    assert run(capsys, "sign", "certificate", folder, "--signature", tmp_path / "model.sig", "--private_key",
               pki / "other.pem", "--signing_certificate", pki / "signer-cert.pem") == (
        2, "error: the signing certificate's public key is not the private key's")


def test_p384_keys_sign_and_verify_both_ways(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_key(tmp_path / "p384.pem", ec.SECP384R1())
    folder = make_model(tmp_path)
    signature = tmp_path / "ours.sig"
    assert run(capsys, "sign", "key", folder, "--signature", signature, "--private-key",
               tmp_path / "p384.pem")[0] == 0
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=tmp_path / "p384.pub").verify(
        folder, signature)
    model_signing.signing.Config().use_elliptic_key_signer(private_key=tmp_path / "p384.pem").sign(
        folder, tmp_path / "theirs.sig")
    assert run(capsys, "verify-signature", "key", folder, "--signature", tmp_path / "theirs.sig",
               "--public-key", tmp_path / "p384.pub") == (0, "Verification succeeded")


def test_v02_signature_shape_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path, pki: Path) -> None:
    """model_signing v0.2's shape, as its 1.1.1 verifier still accepts it: predicate
    Digests/v0.1 (one subject per file), its PAE bug, a public key without a hint."""
    from slsa_models.oms.verify import pae_compat

    folder = make_model(tmp_path)
    subjects = [{"name": name, "digest": {"sha256": __import__("hashlib").sha256((folder / name).read_bytes())
                                          .hexdigest()}}
                for name in ("config.json", "model.safetensors", "sub/tokenizer.json")]
    payload = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": subjects,
                          "predicateType": "https://model_signing/Digests/v0.1", "predicate": {}}).encode()
    key = serialization.load_pem_private_key((pki / "signer.pem").read_bytes(), None)
    sig = key.sign(pae_compat(payload), ec.ECDSA(hashes.SHA256()))
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
              "verificationMaterial": {"publicKey": {}, "tlogEntries": []},
              "dsseEnvelope": {"payload": base64.b64encode(payload).decode(),
                               "payloadType": "application/vnd.in-toto+json",
                               "signatures": [{"sig": base64.b64encode(sig).decode()}]}}
    signature = tmp_path / "v02.sig"
    signature.write_text(json.dumps(bundle))
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pki / "signer.pub").verify(
        folder, signature)  # the reference accepts this shape (with a warning on stdout)
    capsys.readouterr()
    assert run(capsys, *ours_verify_args("key", folder, signature, pki)) == (0, "Verification succeeded")
