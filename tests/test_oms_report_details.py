"""What an OMS verification report says beyond its verdict: each check's exact words,
which artifact passed, what the signer and the policy leave out, and the library
defaults (found by mutation testing: the verdict tests passed with these broken)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slsa_models.errors import InputError
from slsa_models.oms.format import SIGNER_CERTIFICATE, OMSBundle
from slsa_models.oms.sign import sign_model
from slsa_models.oms.trust import OMSKey, load_certificates
from slsa_models.oms.verify import verify_model, verify_signer
from slsa_models.provenance.keys import generate_key_pair
from slsa_models.verify import Artifact, Policy, load_provenance, verify_loaded
from slsa_models.verify.policy import OMSPolicy
from tests.folders import sha, write_folder

VERSIONS = Path(__file__).parent / "vectors" / "oms"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    generate_key_pair(folder / "release.pem", folder / "release.pub.pem")
    return folder


def policy(keys: Path, **rules: object) -> OMSPolicy:
    return OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),), **rules)


def check(report: object, name: str) -> str:
    return next(c.message for c in report.checks if c.name == name)  # type: ignore[attr-defined]


def test_a_passing_folder_reports_its_files_and_their_subjects(keys: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"a.bin": b"a", "sub/b.bin": b"b"})
    (tmp_path / "m.sig").write_bytes(sign_model(folder, keys / "release.pem"))
    report = verify_model(folder, tmp_path / "m.sig", policy(keys))
    assert report.passed
    assert check(report, "model-files") == "model-files: expected the 2 signed files, got 2 files, each as signed"
    assert [(a.name, a.passed, a.subject) for a in report.artifacts] == [("a.bin", True, "a.bin"),
                                                                         ("sub/b.bin", True, "sub/b.bin")]


def test_a_symlink_is_refused_unless_allowed(keys: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"a.bin": b"a"})
    (tmp_path / "m.sig").write_bytes(sign_model(folder, keys / "release.pem"))
    (folder / "link.bin").symlink_to(folder / "a.bin")
    with pytest.raises(InputError) as raised:
        verify_model(folder, tmp_path / "m.sig", policy(keys))
    assert str(raised.value) == (f"{folder / 'link.bin'}: is a symlink; a model folder holds regular files only "
                                 "(leave it out with --ignore-paths)")


def test_a_folder_the_signer_left_a_subfolder_out_of(keys: Path, tmp_path: Path) -> None:
    """The signer's ignored paths are honoured as given ('cacheX', not 'cache')."""
    folder = write_folder(tmp_path / "m", {"a.bin": b"a", "cacheX/tmp.bin": b"t"})
    (tmp_path / "m.sig").write_bytes(sign_model(folder, keys / "release.pem", ignore_paths=["cacheX"]))
    write_folder(folder, {"cacheX/later.bin": b"later", "cache/kept.bin": b"k"})
    report = verify_model(folder, tmp_path / "m.sig", policy(keys))
    assert check(report, "model-files") == ("model-files: expected the 1 signed file, got 1 differing (added) "
                                            "(cache/kept.bin: not signed (added))")
    (folder / "cache" / "kept.bin").unlink()
    assert verify_model(folder, tmp_path / "m.sig", policy(keys)).passed


def test_a_shard_manifest_with_unsigned_files_left_out(keys: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"a.bin": b"a" * 100, "b.bin": b"b" * 10})
    (tmp_path / "m.sig").write_bytes(sign_model(folder, keys / "release.pem", shard_size=32))
    write_folder(folder, {"notes.txt": b"added later"})
    assert not verify_model(folder, tmp_path / "m.sig", policy(keys)).passed
    assert verify_model(folder, tmp_path / "m.sig", policy(keys, ignore_unsigned_files=True)).passed


def test_a_signed_file_the_policy_ignores_is_missing_and_fails(keys: Path, tmp_path: Path) -> None:
    """As in model_signing: ignoring a file the signature lists does not make it optional."""
    files = {"a.bin": b"a", "README.md": b"read me"}
    folder = write_folder(tmp_path / "m", files)
    signature = load_provenance_bytes(tmp_path, sign_model(folder, keys / "release.pem", model_name="m"))
    report = verify_loaded(signature, [Artifact(n, sha(d)) for n, d in sorted(files.items())],
                           Policy(policy(keys, ignore_paths=("README.md",))))
    assert check(report, "model-files") == ("model-files: expected the 2 signed files, got 1 differing (missing) "
                                            "(README.md: signed but missing)")
    assert [(a.name, a.passed) for a in report.artifacts] == [("README.md", False), ("a.bin", False)]


def load_provenance_bytes(tmp_path: Path, data: bytes) -> object:
    (tmp_path / "signature.sig").write_bytes(data)
    return load_provenance(tmp_path / "signature.sig")


def test_a_one_file_signature_over_a_folder(keys: Path, tmp_path: Path) -> None:
    (tmp_path / "model.keras").write_bytes(b"weights")
    signature = load_provenance_bytes(tmp_path, sign_model(tmp_path / "model.keras", keys / "release.pem"))
    report = verify_loaded(signature, [Artifact("a.bin", sha(b"a")), Artifact("b.bin", sha(b"b"))],
                           Policy(policy(keys)))
    assert check(report, "model-files") == ("model-files: expected one model file (the signature signs a single "
                                            "file), got 2 files")


def test_a_certificate_signature_under_a_key_policy_names_its_kind(keys: Path) -> None:
    bundle = OMSBundle("model.sig", "application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.in-toto+json",
                       b"{}", (b"sig",), SIGNER_CERTIFICATE, chain=(b"der",))
    [result] = verify_signer(bundle, policy(keys)).checks
    assert result.message == ("signer: expected a signature by a public key, got signed with a certificate chain "
                              "(this signature is checked with a certificate chain (--certificate_chain, or "
                              "certificate-chain in [oms]))")


def test_an_unreadable_leaf_certificate_is_one_line() -> None:
    bundle = OMSBundle("model.sig", "application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.in-toto+json",
                       b"{}", (b"sig",), SIGNER_CERTIFICATE, chain=(b"\x30\x03\x02\x01\x01",))
    chain = OMSPolicy(certificate_chain=load_certificates([VERSIONS / "root-ca.pem"]))
    [result] = verify_signer(bundle, chain).checks
    # the detail is cryptography's own words, on one line
    assert re.fullmatch(r"certificate-chain: expected a signing certificate chaining to a trusted root \(1 given\), "
                        r"got unreadable certificate \([^\n]{10,}\)", result.message), result.message


def test_a_pre_1_0_signature_names_no_model(tmp_path: Path) -> None:
    """v0.2 signatures (Digests/v0.1 statements) name files, not a model: the gate's
    model-name check cannot be met by them, whatever the folder is called."""
    report = verify_model(VERSIONS / "model", VERSIONS / "v0.2.0-key.sig",
                          OMSPolicy(public_keys=(OMSKey.from_file(VERSIONS / "signer.pub.pem"),)))
    assert report.passed and report.named_models == ()
    report = verify_model(VERSIONS / "model", VERSIONS / "v1.0.1-key.sig",
                          OMSPolicy(public_keys=(OMSKey.from_file(VERSIONS / "signer.pub.pem"),)))
    assert report.passed and report.named_models == ("model",)


def test_ignore_paths_of_the_cli_are_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """model_signing's --ignore-paths: absolute, or relative to the working directory; a path
    outside the model is dropped (the next ones still count), and one that only makes sense
    relative to the model is named in a warning."""
    from slsa_models.oms.verify import resolve_ignore_paths

    folder = write_folder(tmp_path / "m", {"a.bin": b"a", "c.bin": b"c", "sub/d.bin": b"d"})
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("WARNING", logger="slsa_models.oms"):
        resolved = resolve_ignore_paths(folder, [tmp_path / "elsewhere.bin", "m/c.bin", "elsewhere.bin",
                                                 folder / "sub", "c.bin", folder, "m"])
    assert resolved == ["c.bin", "sub"]
    assert [record.getMessage() for record in caplog.records] == [
        f"--ignore-paths c.bin names nothing inside {folder} (paths are relative to the working directory, "
        f"as in model_signing): did you mean {folder / 'c.bin'}?"]


def test_files_compared_leaves_out_only_what_a_verified_manifest_lets_it(keys: Path, tmp_path: Path) -> None:
    """The gate compares a folder's files minus those the OMS verification left out; with no
    verified manifest (a failed signer, a payload that is no OMS manifest) nothing is left out."""
    import json

    from slsa_models.oms.format import parse_bundle
    from slsa_models.oms.sign import sign_payload
    from slsa_models.oms.trust import load_private_key
    from slsa_models.oms.verify import files_compared, verify_oms

    folder = write_folder(tmp_path / "m", {"a.bin": b"a"})
    files = {"a.bin": sha(b"a"), "extra.bin": sha(b"x")}
    artifacts = [Artifact(name, digest) for name, digest in files.items()]
    rules = policy(keys, ignore_unsigned_files=True)
    signed = parse_bundle("m.sig", sign_model(folder, keys / "release.pem"))
    assert files_compared(verify_oms(signed, "0" * 64, artifacts, rules), rules, files) == {"a.bin": sha(b"a")}
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    stranger = OMSPolicy(public_keys=(OMSKey("other", (tmp_path / "other.pub.pem").read_bytes()),),
                         ignore_unsigned_files=True)
    unverified = verify_oms(signed, "0" * 64, artifacts, stranger)
    assert unverified.payload is None and files_compared(unverified, stranger, files) == files
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [],
                            "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}).encode()
    not_oms = parse_bundle("x.sig", sign_payload(statement, load_private_key(keys / "release.pem")))
    report = verify_oms(not_oms, "0" * 64, artifacts, rules)
    assert report.payload == statement and files_compared(report, rules, files) == files


def test_an_unreadable_signature_file_is_a_provenance_error(tmp_path: Path) -> None:
    from slsa_models.errors import ProvenanceError
    from slsa_models.oms.verify import load_signature

    with pytest.raises(ProvenanceError) as raised:
        load_signature(tmp_path)
    assert str(raised.value) == f"{tmp_path}: is a directory, not a signature file"
