"""Every OMS shape model_signing has written verifies: real signatures by model_signing 0.2.0,
0.3.1 and 1.0.1 (tests/vectors/oms, see its README), with their verdicts, tampered and wrong-key
variants; model_signing 1.1.1's own are covered live in test_oms_interop.py."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.oms.trust import OMSKey, load_certificates
from slsa_models.verify import Artifact, Policy, load_provenance, verify_loaded
from slsa_models.verify.policy import OMSPolicy

VECTORS = Path(__file__).parent / "vectors" / "oms"
SIGNATURES = {  # signature -> (kind, model path relative to the vectors)
    "v0.2.0-key.sig": ("key", "model"),
    "v0.2.0-certificate.sig": ("certificate", "model"),
    "v0.3.1-key.sig": ("key", "model"),
    "v0.3.1-key-file.sig": ("key", "model/model.bin"),
    "v0.3.1-key-shards.sig": ("key", "model"),
    "v1.0.1-key.sig": ("key", "model"),
    "v1.0.1-certificate.sig": ("certificate", "model"),
    "v1.0.1-key-file.sig": ("key", "model/model.bin"),
    "v1.0.1-key-shards.sig": ("key", "model"),
}


def run(capsys: pytest.CaptureFixture[str], signature: str, root: Path, trust: Path | None = None) -> tuple[int, str]:
    kind, model = SIGNATURES[signature]
    flag = "--public_key" if kind == "key" else "--certificate_chain"
    default = VECTORS / ("signer.pub.pem" if kind == "key" else "root-ca.pem")
    code = main(["verify-signature", kind, str(root / model), "--signature", str(VECTORS / signature),
                 flag, str(trust or default)])
    out, err = capsys.readouterr()
    return code, (out + err).strip()


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    shutil.copytree(VECTORS / "model", tmp_path / "model")
    return tmp_path


@pytest.mark.parametrize("signature", list(SIGNATURES))
def test_each_version_verifies(capsys: pytest.CaptureFixture[str], signature: str) -> None:
    assert run(capsys, signature, VECTORS) == (0, "Verification succeeded")


@pytest.mark.parametrize("signature", list(SIGNATURES))
def test_each_version_refuses_a_changed_file(capsys: pytest.CaptureFixture[str], copy: Path,
                                             signature: str) -> None:
    (copy / "model" / "model.bin").write_bytes(b"weights-v2\n")
    code, line = run(capsys, signature, copy)
    changed, signed = (hashlib.sha256(data).hexdigest()[:12]
                       for data in (b"weights-v2\n", (VECTORS / "model" / "model.bin").read_bytes()))
    differs = f"sha256:{changed}... differs from the signed sha256:{signed}..."
    if signature.endswith("-file.sig"):
        expected = f"the 1 signed file, got 1 differing (changed) (the model file: {differs})"
    elif signature.endswith("-shards.sig"):
        expected = "the 3 signed files, got 1 differing (changed) (model.bin: its shards differ from the signed" \
                   " ones)"
    else:
        expected = f"the 3 signed files, got 1 differing (changed) (model.bin: {differs})"
    assert (code, line) == (1, f"Verification failed: model-files: expected {expected}")


@pytest.mark.parametrize("signature", [name for name in SIGNATURES if not name.endswith("-file.sig")])
@pytest.mark.parametrize("tamper", ["missing", "added", "renamed"])
def test_each_version_refuses_a_changed_file_set(capsys: pytest.CaptureFixture[str], copy: Path,
                                                 signature: str, tamper: str) -> None:
    config = copy / "model" / "config.json"
    if tamper == "missing":
        config.unlink()
        detail = "1 differing (missing) (config.json: signed but missing)"
    elif tamper == "added":
        (copy / "model" / "extra.txt").write_bytes(b"x")
        detail = "1 differing (added) (extra.txt: not signed (added))"
    else:
        config.rename(copy / "model" / "sub" / "config.json")
        detail = "1 differing (renamed) (sub/config.json: renamed from config.json)"
    assert run(capsys, signature, copy) == (
        1, f"Verification failed: model-files: expected the 3 signed files, got {detail}")


@pytest.mark.parametrize("signature", list(SIGNATURES))
def test_each_version_refuses_another_signer(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             signature: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = tmp_path / "other.pem"
    kind, _ = SIGNATURES[signature]
    if kind == "key":
        other.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        expected = (f"signature: expected a DSSE signature by a trusted key ({other}), got no trusted key verifies"
                    " it (signed with another key, or the signed manifest was changed)")
    else:
        other = VECTORS / "int-ca.pem"  # not a root: the chain must end at a self-signed one
        expected = ("certificate-chain: expected a signing certificate chaining to a trusted root (1 given), got a"
                    " chain ending at CN=vectors-intermediate (the trusted certificate it chains to is not a root"
                    " (self-signed) certificate; give the root with --certificate_chain)")
    code, line = run(capsys, signature, VECTORS, other)
    assert (code, line) == (1, f"Verification failed: {expected}")


def test_old_versions_in_the_gate() -> None:
    """Through load_provenance / verify_loaded, as the gate verifies them."""
    files = {path.relative_to(VECTORS / "model").as_posix(): path for path in (VECTORS / "model").rglob("*")
             if path.is_file()}
    artifacts = [Artifact.from_path(path) for path in files.values()]
    artifacts = [Artifact(name, artifact.sha256) for name, artifact in zip(files, artifacts, strict=True)]
    key = Policy(OMSPolicy(public_keys=(OMSKey.from_file(VECTORS / "signer.pub.pem"),)))
    chain = Policy(OMSPolicy(certificate_chain=load_certificates([VECTORS / "root-ca.pem"])))
    for name, policy in (("v0.2.0-key.sig", key), ("v0.2.0-certificate.sig", chain), ("v1.0.1-key.sig", key),
                         ("v1.0.1-certificate.sig", chain)):
        report = verify_loaded(load_provenance(VECTORS / name), artifacts, policy)
        assert report.passed, (name, [c.message for c in report.failed_checks()])
        assert dict(report.subjects) == {n: a.sha256 for n, a in zip(files, artifacts, strict=True)}
        assert report.named_models == (() if name.startswith("v0.2.0") else ("model",))
