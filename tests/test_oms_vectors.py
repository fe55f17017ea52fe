"""The shared OMS vectors (real model_signing v1.0.1 signatures) with their verdicts, through
`slsa-models verify-signature` (exit codes and exact lines) and the library; mutations of them."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.errors import ProvenanceError
from slsa_models.oms.trust import load_certificates
from slsa_models.oms.verify import verify_model
from slsa_models.verify.policy import OMSPolicy

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "model-signing"
if not VECTORS.is_dir():  # the shared checkout next to this one
    VECTORS = Path("/work/shared/vectors/model-signing")
KEYS = VECTORS / "keys"
IDENTITY = "stefanb@us.ibm.com"
ISSUER = "https://sigstore.verify.ibm.com/oauth2"
SIGNME_1 = "f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1"
SIGNME_2 = "32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["verify-signature", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(VECTORS / name, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


def certificate_args(folder: Path) -> list[object]:
    return ["certificate", folder, "--signature", folder / "model.sig",
            "--certificate_chain", KEYS / "ca-cert.pem", "--ignore-paths", folder / "ignore-me"]


def sigstore_args(folder: Path, identity: str = IDENTITY, issuer: str = ISSUER) -> list[object]:
    return ["sigstore", folder, "--signature", folder / "model.sig", "--identity", identity,
            "--identity_provider", issuer, "--ignore-paths", folder / "ignore-me"]


def test_certificate_vector_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *certificate_args(VECTORS / "v1.0.1-certificate")) == \
        (0, "Verification succeeded\n", "")


def test_sigstore_vector_passes_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *sigstore_args(VECTORS / "v1.0.1-sigstore"), "--json")
    assert (code, err) == (0, "Verification succeeded\n")
    report = json.loads(out)
    assert report["kind"] == "oms" and report["signer_key"] == f"{IDENTITY} ({ISSUER})"
    assert [check["name"] for check in report["checks"]] == [
        "certificate-chain", "certificate-sct", "certificate-issuer", "transparency-log", "signature",
        "log-entry-binding", "cert-identity", "statement", "model-files"]
    assert [(a["name"], a["sha256"]) for a in report["artifacts"]] == [("signme-1", SIGNME_1),
                                                                       ("signme-2", SIGNME_2)]


def test_dash_and_underscore_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    folder = VECTORS / "v1.0.1-certificate"
    assert run(capsys, "certificate", folder, "--signature", folder / "model.sig", "--certificate-chain",
               KEYS / "ca-cert.pem", "--ignore_paths", folder / "ignore-me")[0] == 0
    assert run(capsys, "certificate", folder, "--signature", folder / "model.sig", "--certificate-chain",
               KEYS / "ca-cert.pem", "--ignore-unsigned-files")[0] == 0


def test_sigstore_vector_other_identity_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *sigstore_args(VECTORS / "v1.0.1-sigstore", identity="mallory@us.ibm.com")) == (
        1, "", ("Verification failed: cert-identity: expected mallory@us.ibm.com, got "
                "stefanb@us.ibm.com (Certificate's SANs do not match mallory@us.ibm.com)\n"))


def test_sigstore_vector_other_issuer_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *sigstore_args(VECTORS / "v1.0.1-sigstore", issuer="https://accounts.google.com")) == (
        1, "", ("Verification failed: certificate-issuer: expected https://accounts.google.com, got "
                f"{ISSUER} (certificate OIDC issuer is '{ISSUER}', expected 'https://accounts.google.com')\n"))


def test_unignored_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    folder = VECTORS / "v1.0.1-certificate"
    assert run(capsys, "certificate", folder, "--signature", folder / "model.sig",
               "--certificate_chain", KEYS / "ca-cert.pem") == (
        1, "", ("Verification failed: model-files: expected the 2 signed files, got 1 differing (added) "
                "(ignore-me: not signed (added))\n"))


def _changed(digest: str, signed: str) -> str:
    return f"sha256:{digest[:12]}... differs from the signed sha256:{signed[:12]}..."


@pytest.mark.parametrize("name", ["v1.0.1-certificate", "v1.0.1-sigstore"])
@pytest.mark.parametrize("tamper", ["changed", "missing", "added", "renamed", "swapped"])
def test_tampered_vector_fails_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               name: str, tamper: str) -> None:
    folder = copy(name, tmp_path)
    one, two = folder / "signme-1", folder / "signme-2"
    if tamper == "changed":
        one.write_bytes(b"changed\n")
        digest = hashlib.sha256(b"changed\n").hexdigest()
        detail = f"1 differing (changed) (signme-1: {_changed(digest, SIGNME_1)})"
    elif tamper == "missing":
        one.unlink()
        detail = "1 differing (missing) (signme-1: signed but missing)"
    elif tamper == "added":
        (folder / "extra.bin").write_bytes(b"x")
        detail = "1 differing (added) (extra.bin: not signed (added))"
    elif tamper == "renamed":
        one.rename(folder / "signme-3")
        detail = "1 differing (renamed) (signme-3: renamed from signme-1)"
    else:
        first, second = one.read_bytes(), two.read_bytes()
        one.write_bytes(second)
        two.write_bytes(first)
        detail = ("2 differing (swapped) (signme-1: holds the signed bytes of signme-2; "
                  "signme-2: holds the signed bytes of signme-1)")
    args = certificate_args(folder) if "certificate" in name else sigstore_args(folder)
    assert run(capsys, *args) == (
        1, "", f"Verification failed: model-files: expected the 2 signed files, got {detail}\n")


def test_certificate_vector_wrong_chain_fails(capsys: pytest.CaptureFixture[str]) -> None:
    folder = VECTORS / "v1.0.1-certificate"
    code, out, err = run(capsys, "certificate", folder, "--signature", folder / "model.sig",
                         "--certificate_chain", KEYS / "int-ca-cert.pem", "--ignore-paths", folder / "ignore-me")
    assert (code, out) == (1, "")
    assert err == ("Verification failed: certificate-chain: expected a signing certificate chaining to a "
                   "trusted root (1 given), got a chain ending at CN=intermediate-ca (the trusted "
                   "certificate it chains to is not a root (self-signed) certificate; give the root with "
                   "--certificate_chain)\n")


def test_certificate_vector_with_the_system_roots_fails(capsys: pytest.CaptureFixture[str]) -> None:
    folder = VECTORS / "v1.0.1-certificate"
    code, _, err = run(capsys, "certificate", folder, "--signature", folder / "model.sig")
    assert code == 1
    # how many roots the system trusts and the reason in parentheses (cryptography's) vary
    assert re.fullmatch(re.escape("Verification failed: certificate-chain: expected a signing certificate "
                                  "chaining to a trusted root (") + r"[0-9]+"
                        + re.escape(" given), got CN=intermediate-ca (") + r"[^\n]+\)\n", err), err


def test_vector_with_the_wrong_kind_fails(capsys: pytest.CaptureFixture[str]) -> None:
    folder = VECTORS / "v1.0.1-sigstore"
    assert run(capsys, "key", folder, "--signature", folder / "model.sig", "--public_key",
               KEYS / "signing-key-pub.pem") == (
        1, "", ("Verification failed: signer: expected a signature by a public key, got signed with "
                "Sigstore (this signature is checked with an identity and identity provider (--identity, "
                "--identity_provider))\n"))


def test_forged_payload_fails_the_signature(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The manifest re-signed by nobody: a changed digest inside the signed payload."""
    import base64

    folder = copy("v1.0.1-certificate", tmp_path)
    bundle = json.loads((folder / "model.sig").read_text())
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"]).replace(SIGNME_1.encode(), b"0" * 64)
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    (folder / "model.sig").write_text(json.dumps(bundle))
    assert run(capsys, *certificate_args(folder)) == (
        1, "", ("Verification failed: signature: expected a DSSE signature by the certificate's key, got "
                "invalid (the signed manifest was changed, or another key signed it)\n"))


@pytest.mark.parametrize(("content", "line"), [
    (b"", "error: {sig}: not JSON; expected an OMS signature (a Sigstore bundle)"),
    (b"[]", "error: {sig}: not a JSON object; expected an OMS signature (a Sigstore bundle)"),
    (b'{"mediaType": "x"}', ("error: {sig}: media type 'x' is not a Sigstore bundle (expected "
                             "'application/vnd.dev.sigstore.bundle.v0.3+json')")),
])
def test_unusable_signature_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    content: bytes, line: str) -> None:
    signature = tmp_path / "model.sig"
    signature.write_bytes(content)
    folder = VECTORS / "v1.0.1-certificate"
    assert run(capsys, "certificate", folder, "--signature", signature, "--certificate_chain",
               KEYS / "ca-cert.pem") == (2, "", line.format(sig=signature) + "\n")


def test_missing_model_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = VECTORS / "v1.0.1-certificate"
    assert run(capsys, "certificate", tmp_path / "nope", "--signature", folder / "model.sig",
               "--certificate_chain", KEYS / "ca-cert.pem") == (
        2, "", f"error: {tmp_path / 'nope'}: no such model file or folder\n")


def test_library_report_subjects_are_relative_paths() -> None:
    folder = VECTORS / "v1.0.1-certificate"
    report = verify_model(folder, folder / "model.sig",
                          OMSPolicy(certificate_chain=load_certificates([KEYS / "ca-cert.pem"])),
                          ignore_paths=["ignore-me"])
    assert report.passed and report.kind == "oms"
    assert report.subjects == (("signme-1", SIGNME_1), ("signme-2", SIGNME_2))
    assert report.named_models == ("v1.0.1-certificate",)


def test_load_provenance_classifies_oms_signatures() -> None:
    from slsa_models.verify import load_provenance
    from slsa_models.verify.bundle import KIND_OMS_SIGNATURE

    for name, signer in (("v1.0.1-certificate", "certificate"), ("v1.0.1-sigstore", "sigstore")):
        loaded = load_provenance(VECTORS / name / "model.sig")
        assert loaded.kind == KIND_OMS_SIGNATURE and loaded.bundle.signer == signer
    with pytest.raises(ProvenanceError):
        load_provenance(b'{"mediaType": "x", "dsseEnvelope": {"payload": "' +
                        __import__("base64").b64encode(b'{"predicateType": '
                                                       b'"https://model_signing/signature/v1.0"}') + b'"}}')


def _root(instance: str) -> dict[str, object]:
    from importlib import resources

    store = resources.files("sigstore._store")
    return json.loads(store.joinpath(instance, "trusted_root.json").read_text())


@pytest.mark.parametrize(("instance", "verdict"), [
    ("https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", 0), ("https%3A%2F%2Ftuf-repo-cdn.sigstage.dev", 1)])
@pytest.mark.parametrize("shape", ["client-trust-config", "trusted-root"])
def test_sigstore_vector_with_a_trust_config(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             instance: str, verdict: int, shape: str) -> None:
    root = _root(instance)
    document = root if shape == "trusted-root" else {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", "trustedRoot": root}
    config = tmp_path / "trust.json"
    config.write_text(json.dumps(document))
    code, _, err = run(capsys, *sigstore_args(VECTORS / "v1.0.1-sigstore"), "--trust_config", config)
    assert code == verdict
    if verdict:  # staging's Fulcio did not issue the public-good certificate
        # the reason in parentheses is sigstore's
        assert re.fullmatch(re.escape("Verification failed: certificate-chain: expected a certificate chaining to "
                                      "the trusted Fulcio root at signing time, got invalid (")
                            + r"[^\n]+\)\n", err), err


def test_a_missing_trust_config_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, *sigstore_args(VECTORS / "v1.0.1-sigstore"), "--trust-config", tmp_path / "no.json") == (
        2, "", f"error: {tmp_path / 'no.json'}: no such trust configuration\n")


def test_verbose_lists_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *certificate_args(VECTORS / "v1.0.1-certificate"), "-v")
    assert (code, out) == (0, "Verification succeeded\n")
    assert [line.split(" ")[0:2] for line in err.splitlines()] == [
        ["pass", "certificate-chain:"], ["pass", "certificate-usage:"], ["pass", "signature:"],
        ["pass", "statement:"], ["pass", "model-files:"]]


def test_an_ignored_path_relative_to_the_model_gets_a_hint(capsys: pytest.CaptureFixture[str],
                                                           caplog: pytest.LogCaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """model_signing's meaning (relative to the working directory) is kept; the likely slip is named."""
    monkeypatch.chdir(VECTORS)
    code, out, err = run(capsys, "certificate", "v1.0.1-certificate", "--signature",
                         "v1.0.1-certificate/model.sig", "--certificate_chain", KEYS / "ca-cert.pem",
                         "--ignore-paths", "ignore-me")
    assert (code, out, err) == (1, "", "Verification failed: model-files: expected the 2 signed files, got 1 "
                                       "differing (added) (ignore-me: not signed (added))\n")
    assert [record.getMessage() for record in caplog.records if record.levelname == "WARNING"] == [
        "--ignore-paths ignore-me names nothing inside v1.0.1-certificate (paths are relative to the working "
        "directory, as in model_signing): did you mean v1.0.1-certificate/ignore-me?"]


def test_without_a_sub_verb_sigstore_is_meant(capsys: pytest.CaptureFixture[str]) -> None:
    """model_signing's rule: `verify MODEL --signature SIG --identity ...` is the sigstore kind."""
    args = sigstore_args(VECTORS / "v1.0.1-sigstore")[1:]
    assert run(capsys, *args) == (0, "Verification succeeded\n", "")
    assert run(capsys, "-q", *args) == (0, "Verification succeeded\n", "")
    with pytest.raises(SystemExit) as raised:  # a usage error, as argparse reports it: exit 2
        run(capsys, *args[:1], "--signature", "model.sig")
    err = capsys.readouterr().err
    assert (raised.value.code, err) == (2, "error: the following arguments are required: --identity, "
                                           "--identity-provider/--identity_provider (see slsa-models "
                                           "verify-signature sigstore --help)\n")
