"""The [oms] policy kind: policy files, and judging evidence at the library level
(verify_loaded with the model's files as artifacts) under an OMS-only policy, a
provenance-only policy and a policy requiring both kinds."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from slsa_models.errors import PolicyError
from slsa_models.oms.sign import sign_model
from slsa_models.oms.trust import OMSKey
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.statement import build_statement
from slsa_models.verify import Artifact, LocalBuilderPolicy, Policy, TrustedKey, load_policy
from slsa_models.verify.api import require_check, verify_loaded
from slsa_models.verify.bundle import KIND_OMS_SIGNATURE, load_provenance
from slsa_models.verify.names import signed_files
from slsa_models.verify.policy import OMSPolicy

BUILDER = "https://ci.example.com/builders/gpu-box"
VECTORS = Path("/work/shared/vectors/model-signing")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    for name in ("builder", "release", "other"):
        generate_key_pair(folder / f"{name}.pem", folder / f"{name}.pub.pem")
    return folder


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_model(root: Path) -> dict[str, bytes]:
    files = {"config.json": b"{}\n", "model.safetensors": b"weights" * 50, "sub/vocab.txt": b"a\nb\n"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def artifacts(files: dict[str, bytes]) -> list[Artifact]:
    return [Artifact(name, sha(data)) for name, data in sorted(files.items())]


def oms_policy(keys: Path, **rules: object) -> OMSPolicy:
    return OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),), **rules)


def local_policy(keys: Path) -> LocalBuilderPolicy:
    return LocalBuilderPolicy((TrustedKey("builder", (keys / "builder.pub.pem").read_bytes(),
                                          builder_id=BUILDER),))


def provenance(keys: Path, model: str, files: dict[str, bytes]) -> bytes:
    now = datetime.now(timezone.utc)
    statement = build_statement([(f"{model}/{name}", sha(data)) for name, data in sorted(files.items())],
                                builder_id=BUILDER, external_parameters={}, started_on=now, finished_on=now)
    return key_signed_bundle(load_private_key(keys / "builder.pem"), statement).encode()


def failed(report: object) -> list[str]:
    return [check.message for check in report.checks if not check.passed]  # type: ignore[attr-defined]


def test_oms_evidence_under_an_oms_only_policy(tmp_path: Path, keys: Path) -> None:
    files = folder_model(tmp_path / "bert")
    loaded = load_provenance(sign_model(tmp_path / "bert", keys / "release.pem"))
    assert loaded.kind == KIND_OMS_SIGNATURE
    report = verify_loaded(loaded, artifacts(files), Policy(oms_policy(keys)))
    assert report.passed and report.kind == "oms", failed(report)
    assert report.subjects == tuple((name, sha(data)) for name, data in sorted(files.items()))
    assert signed_files(report.subjects, "bert", kind="oms") == {n: sha(d) for n, d in files.items()}
    assert signed_files(report.subjects, "bert") == {}  # without the kind: no <model>/ prefix, no file
    assert report.named_models == ("bert",) and report.signer_key == "key release"
    assert [check.name for check in report.checks] == [
        "signature", "key-hint", "statement", "model-files", "model-file", "model-file", "model-file"]


def test_a_one_file_model_binds_the_artifact_name(tmp_path: Path, keys: Path) -> None:
    (tmp_path / "model.keras").write_bytes(b"keras bytes")
    loaded = load_provenance(sign_model(tmp_path / "model.keras", keys / "release.pem"))
    report = verify_loaded(loaded, [Artifact("model.keras", sha(b"keras bytes"))], Policy(oms_policy(keys)))
    assert report.passed and report.subjects == (("model.keras", sha(b"keras bytes")),)
    tampered = verify_loaded(loaded, [Artifact("model.keras", sha(b"other"))], Policy(oms_policy(keys)))
    assert failed(tampered) == [
        f"model-files: expected the 1 signed file, got 1 differing (changed) (model.keras: "
        f"sha256:{sha(b'other')[:12]}... differs from the signed sha256:{sha(b'keras bytes')[:12]}...)",
        f"model-file: expected sha256:{sha(b'keras bytes')}, got sha256:{sha(b'other')} (differs from the "
        "signed file)"]


@pytest.mark.parametrize("tamper", ["changed", "missing", "added", "renamed", "swapped"])
def test_each_tampering_fails_naming_the_file(tmp_path: Path, keys: Path, tamper: str) -> None:
    files = folder_model(tmp_path / "bert")
    loaded = load_provenance(sign_model(tmp_path / "bert", keys / "release.pem"))
    actual = dict(files)
    if tamper == "changed":
        actual["config.json"] = b"{1}\n"
    elif tamper == "missing":
        del actual["config.json"]
    elif tamper == "added":
        actual["extra.bin"] = b"x"
    elif tamper == "renamed":
        actual["sub/config.json"] = actual.pop("config.json")
    else:
        actual["config.json"], actual["sub/vocab.txt"] = actual["sub/vocab.txt"], actual["config.json"]
    report = verify_loaded(loaded, artifacts(actual), Policy(oms_policy(keys)))
    first = report.first_failure()
    assert not report.passed and first is not None and first.name == "model-files"
    changed, signed = sha(b"{1}\n")[:12], sha(files["config.json"])[:12]
    expected = {
        "changed": f"1 differing (changed) (config.json: sha256:{changed}... differs from the signed sha256:{signed}...)",
        "missing": "1 differing (missing) (config.json: signed but missing)",
        "added": "1 differing (added) (extra.bin: not signed (added))",
        "renamed": "1 differing (renamed) (sub/config.json: renamed from config.json)",
        "swapped": "2 differing (swapped) (config.json: holds the signed bytes of sub/vocab.txt; "
                   "sub/vocab.txt: holds the signed bytes of config.json)",
    }[tamper]
    assert first.message == f"model-files: expected the 3 signed files, got {expected}"


def test_ignored_and_unsigned_files(tmp_path: Path, keys: Path) -> None:
    files = folder_model(tmp_path / "bert")
    loaded = load_provenance(sign_model(tmp_path / "bert", keys / "release.pem"))
    extra = artifacts({**files, "docs/README.md": b"later"})
    assert not verify_loaded(loaded, extra, Policy(oms_policy(keys))).passed
    assert verify_loaded(loaded, extra, Policy(oms_policy(keys, ignore_paths=("docs",)))).passed
    assert verify_loaded(loaded, extra, Policy(oms_policy(keys, ignore_unsigned_files=True))).passed
    assert not verify_loaded(loaded, extra, Policy(oms_policy(keys, ignore_paths=("doc",)))).passed


def test_another_signer_fails(tmp_path: Path, keys: Path) -> None:
    folder_model(tmp_path / "bert")
    loaded = load_provenance(sign_model(tmp_path / "bert", keys / "other.pem"))
    report = verify_loaded(loaded, [Artifact("config.json", sha(b"{}\n"))], Policy(oms_policy(keys)))
    assert failed(report) == ["signature: expected a DSSE signature by a trusted key (release), got no "
                              "trusted key verifies it (signed with another key, or the signed manifest "
                              "was changed)"]
    assert report.subjects == () and not any(result.passed for result in report.artifacts)


def test_shard_manifests_in_the_gate(tmp_path: Path, keys: Path) -> None:
    """One shard per file: its digest is the file's, so the gate can judge it; several: it cannot."""
    files = folder_model(tmp_path / "bert")
    whole = load_provenance(sign_model(tmp_path / "bert", keys / "release.pem", shard_size=1 << 20))
    assert verify_loaded(whole, artifacts(files), Policy(oms_policy(keys))).passed
    split = load_provenance(sign_model(tmp_path / "bert", keys / "release.pem", shard_size=64))
    assert failed(verify_loaded(split, artifacts(files), Policy(oms_policy(keys)))) == [
        "model-files: expected files hashed whole, got a shard manifest (shard size 64) (files in several "
        "shards can only be checked against their bytes: verify with slsa-models verify-signature)"]


def test_provenance_only_oms_only_and_both_required(tmp_path: Path, keys: Path) -> None:
    files = folder_model(tmp_path / "bert")
    signature = load_provenance(sign_model(tmp_path / "bert", keys / "release.pem"))
    slsa = load_provenance(provenance(keys, "bert", files))
    model = artifacts(files)
    oms_only, slsa_only = Policy(oms_policy(keys)), Policy(local_policy(keys))
    both = Policy(local_policy(keys), oms_policy(keys), require=["local-builder", "oms"])

    assert verify_loaded(signature, model, oms_only).passed
    assert failed(verify_loaded(slsa, model, oms_only)) == [
        "evidence-kind: expected oms, got key-signed provenance (a local builder) (the policy does not "
        "trust local-builder evidence (add a [local-builder.NAME] table to trust it))"]
    assert verify_loaded(slsa, model, slsa_only).passed
    assert failed(verify_loaded(signature, model, slsa_only)) == [
        "evidence-kind: expected local-builder, got an OMS signature (model_signing) (the policy does not "
        "trust oms evidence (add a [oms] table to trust it))"]

    reports = [verify_loaded(evidence, model, both) for evidence in (slsa, signature)]
    assert all(report.passed for report in reports)
    assert both.combine({report.kind for report in reports}) is None
    assert both.combine({"oms"}) == "the policy requires local-builder and oms; no evidence of local-builder passed"
    assert both.combine({"local-builder"}) == "the policy requires local-builder and oms; no evidence of oms passed"
    alone = require_check(reports[1], both)
    assert not alone.passed and alone.first_failure().name == "policy"  # type: ignore[union-attr]
    tampered = artifacts({**files, "config.json": b"{2}\n"})
    assert [verify_loaded(evidence, tampered, both).passed for evidence in (slsa, signature)] == [False, False]


def test_real_vector_under_a_policy_file(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'version = 2\nrequire = ["oms"]\n[oms]\ncertificate-chain = "{VECTORS}/keys/ca-cert.pem"\n'
                           'ignore-paths = ["ignore-me"]\n')
    policy = load_policy(policy_file)
    folder = VECTORS / "v1.0.1-certificate"
    files = [Artifact(path.name, sha(path.read_bytes())) for path in sorted(folder.iterdir())
             if path.name != "model.sig"]
    report = verify_loaded(load_provenance(folder / "model.sig"), files, policy)
    assert report.passed, failed(report)
    assert policy.combine({report.kind}) is None


def test_policy_file_oms_table(tmp_path: Path, keys: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'version = 2\n[oms]\npublic-key = ["{keys}/release.pub.pem", "{keys}/other.pub.pem"]\n'
                           'identity = "release@acme.com"\nidentity-provider = "https://accounts.google.com"\n'
                           'ignore-paths = "README.md"\nignore-unsigned-files = true\n')
    rules = load_policy(policy_file).for_kind("oms")
    assert isinstance(rules, OMSPolicy)
    assert [key.name for key in rules.public_keys] == [f"{keys}/release.pub.pem", f"{keys}/other.pub.pem"]
    assert (rules.identity, rules.identity_provider, rules.ignore_paths, rules.ignore_unsigned_files) == \
        ("release@acme.com", "https://accounts.google.com", ("README.md",), True)
    assert rules.signers == ("key", "sigstore")


@pytest.mark.parametrize(("table", "message"), [
    ('[oms]\nkey = "x"\n', "unknown key 'key' in [oms]; expected one of: public-key, certificate-chain, "
                           "identity, identity-provider, trusted-root, ignore-paths, ignore-unsigned-files"),
    ("[oms]\n", "[oms] trusts no signer: give public keys, a certificate chain, or a Sigstore identity and "
                "identity-provider"),
    ('[oms]\nidentity = "a@b.c"\n', "[oms] identity and identity-provider go together: the Sigstore signer's "
                                    "identity and the OIDC issuer that vouched for it"),
    ('[oms]\nidentity = "a@b.c"\nidentity-provider = "https://x"\nignore-paths = ["../up"]\n',
     "oms ignore-paths: '../up' is not a relative path inside the model folder"),
    ('[oms]\nidentity = "a@b.c"\nidentity-provider = "https://x"\nignore-unsigned-files = 1\n',
     "[oms] ignore-unsigned-files: expected true or false, got an integer"),
    ('[oms]\npublic-key = "missing.pem"\n', "[oms] {dir}/missing.pem: no such public key file"),
    ('[oms]\npublic-key = 3\n', "[oms] public-key: expected a string or an array of non-empty strings"),
    ('oms = 1\n', "oms must be a table ([oms]), got an integer"),
    ('require = ["oms"]\n[local-builder.a]\nbuilder-id = "b"\npublic-key-pem = """{pem}"""\n',
     "require names 'oms', which the policy does not trust; it trusts: local-builder"),
])
def test_policy_file_refusals(tmp_path: Path, keys: Path, table: str, message: str) -> None:
    policy_file = tmp_path / "policy.toml"
    pem = (keys / "builder.pub.pem").read_text()
    policy_file.write_text("version = 2\n" + table.replace("{pem}", pem))
    with pytest.raises(PolicyError) as raised:
        load_policy(policy_file)
    assert str(raised.value) == f"{policy_file}: " + message.replace("{dir}", str(tmp_path))


def test_the_recorded_policy_names_keys_and_roots_deterministically(keys: Path) -> None:
    """Deployment records hash the policy's JSON form: no object addresses, roots by fingerprint."""
    import json

    from slsa_models.deploy.policy import policy_to_dict
    from slsa_models.oms.trust import load_certificates

    root = VECTORS / "keys" / "ca-cert.pem"
    make = lambda: Policy(oms_policy(keys, certificate_chain=load_certificates([root])))  # noqa: E731
    recorded = policy_to_dict(make())["kinds"]["oms"]
    assert json.dumps(recorded, sort_keys=True) == json.dumps(policy_to_dict(make())["kinds"]["oms"], sort_keys=True)
    der = x509.load_pem_x509_certificate(root.read_bytes()).public_bytes(serialization.Encoding.DER)
    fingerprint = hashlib.sha256(der).hexdigest()
    assert recorded["public_keys"] == [f"release (key hint {OMSKey('release', (keys / 'release.pub.pem').read_bytes()).hint})"]
    assert recorded["certificate_chain"] == [f"CN=root-ca (sha256 {fingerprint})"]
