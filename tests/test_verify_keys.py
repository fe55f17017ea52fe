"""Key-signed provenance from the local builder: signed by slsa_models.provenance, verified
by slsa_models.verify against trusted public keys. Real keys, real signatures, real files."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from slsa_models import formats
from slsa_models.cli import main
from slsa_models.digest import sha256_file
from slsa_models.errors import InputError, PolicyError, ProvenanceError
from slsa_models.provenance.attest import attest
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, key_hint, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.provenance.statement import LOCAL_BUILD_TYPE, build_statement
from slsa_models.verify import (
    CHECK_NAMES,
    Artifact,
    AttestationPolicy,
    GeneratorPolicy,
    LocalBuilderPolicy,
    Policy,
    Report,
    TrustedKey,
    verify_artifacts,
)
from slsa_models.verify.bundle import load_provenance
from slsa_models.verify.local import verify_key_signed
from tests.policies import github_policy, local_policy

BUILDER = "https://ci.example.com/builders/gpu-box"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
SOURCE = "github.com/slsa-framework/example-package"
ANOTHER_KEY = ("signature: expected a DSSE signature by a trusted key (builder), got no trusted key "
               "verifies it (signed with another key, or the signed payload was changed)")
STATEMENT = "statement: expected an in-toto Statement v1 with SLSA v1 provenance, got unsupported"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Three key pairs: name -> (private PEM, public PEM)."""
    directory = tmp_path_factory.mktemp("keys")
    pairs = {}
    for name in ("builder", "other", "third"):
        pairs[name] = (directory / f"{name}.pem", directory / f"{name}.pub.pem")
        generate_key_pair(*pairs[name])
    return pairs


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small file per format, from untrained models (the bytes are what is signed)."""
    from slsa_models import training

    directory = tmp_path_factory.mktemp("models")
    models: dict[str, Any] = {}
    files = {}
    for name in formats.FORMAT_NAMES:
        framework = formats.get_format(name).framework
        if framework not in models:
            models[framework] = training.build_architecture(framework)
        files[name] = formats.save_model(models[framework], name, directory / name.replace(".", "-"))
    return files


@pytest.fixture(scope="module")
def artifact_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("artifact") / "model.keras"
    path.write_bytes(b"model bytes\n")
    return path


def private(keys: dict[str, tuple[Path, Path]], name: str) -> ec.EllipticCurvePrivateKey:
    return load_private_key(keys[name][0])


def trusted(keys: dict[str, tuple[Path, Path]], name: str = "builder", **options: Any) -> TrustedKey:
    options.setdefault("builder_id", BUILDER)
    return TrustedKey.from_file(keys[name][1], name=name, **options)


def statement(path: Path, *, builder_id: str = BUILDER,
              dependencies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return build_statement(
        [(path.name, sha256_file(path))],
        builder_id=builder_id,
        external_parameters={"epochs": 1},
        internal_parameters={"python": "3.11"},
        resolved_dependencies=dependencies if dependencies is not None else [
            {"uri": "git+https://github.com/acme/models", "digest": {"gitCommit": COMMIT}}],
        started_on=NOW,
        finished_on=NOW,
    )


def signed(keys: dict[str, tuple[Path, Path]], path: Path, signer: str = "builder",
           **options: Any) -> bytes:
    return key_signed_bundle(private(keys, signer), statement(path, **options)).encode()


def edited(bundle: bytes, change: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(bundle)
    change(document)
    return json.dumps(document).encode()


def verify(bundle: bytes, artifact: Path, *keys_: TrustedKey, **policy: Any) -> Report:
    return verify_artifacts(bundle, [Artifact.from_path(artifact)],
                            local_policy(keys_, **policy))


def failures(report: Report) -> list[str]:
    return [check.message for check in report.failed_checks()]


# --- round trips ----------------------------------------------------------------------

@pytest.mark.parametrize("model_format", formats.FORMAT_NAMES)
def test_every_formats_file_signs_and_verifies(
    model_format: str, model_files: dict[str, Path], keys: dict[str, tuple[Path, Path]],
    tmp_path: Path,
) -> None:
    path = model_files[model_format]
    bundle = attest([(path.name, sha256_file(path))], signer=KeySigner(private(keys, "builder")),
                    builder_id=BUILDER, external_parameters={"model_format": model_format})
    provenance = tmp_path / f"{path.name}.intoto.jsonl"
    provenance.write_text(bundle)
    report = verify_artifacts(provenance, [Artifact.from_path(path)],
                              local_policy((trusted(keys),)))
    assert report.passed, failures(report)
    assert report.kind == "local-builder"
    assert report.builder_id == BUILDER
    assert report.signer_key == "builder"
    assert [c.name for c in report.checks] == [
        "signature", "key-hint", "statement", "builder-id", "subject-digest"]
    assert [n for n in CHECK_NAMES if n in {c.name for c in report.checks}] == [
        c.name for c in report.checks]  # report order is CHECK_NAMES order
    assert report.artifacts[0].subject == model_format
    assert json.loads(report.payload or b"")["predicate"]["buildDefinition"]["buildType"] == \
        LOCAL_BUILD_TYPE
    # ...and the same bundle does not vouch for another format's bytes
    other = model_files[formats.FORMAT_NAMES[(formats.FORMAT_NAMES.index(model_format) + 1) % 6]]
    assert [c.name for c in verify_artifacts(provenance, [Artifact.from_path(other)],
                                             local_policy((trusted(keys),))).failed_checks()
            ] == ["subject-digest"]


def test_the_report_names_the_commit_and_source_when_recorded(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    report = verify(signed(keys, artifact_file), artifact_file, trusted(keys))
    assert report.passed
    assert (report.commit, report.source_uri) == (COMMIT, "git+https://github.com/acme/models")
    assert report.to_dict()["signer_key"] == "builder"
    statement_only = signed(keys, artifact_file, dependencies=[])
    report = verify(statement_only, artifact_file, trusted(keys))
    assert report.passed and report.commit is None and report.source_uri is None


# --- rejections, one check each ----------------------------------------------------------

def test_another_key_is_rejected(keys: dict[str, tuple[Path, Path]], artifact_file: Path) -> None:
    report = verify(signed(keys, artifact_file, signer="other"), artifact_file, trusted(keys))
    assert failures(report) == [ANOTHER_KEY]
    assert [c.name for c in report.checks] == ["signature"]
    assert (report.builder_id, report.commit, report.payload) == (None, None, None)  # vouches for nothing


def test_a_changed_payload_is_rejected(keys: dict[str, tuple[Path, Path]], artifact_file: Path,
                                       tmp_path: Path) -> None:
    forged = tmp_path / "forged.bin"
    forged.write_bytes(b"other bytes")

    def swap_payload(document: dict[str, Any]) -> None:
        # The signed statement, rewritten to name the forged file's digest; signature kept.
        envelope = document["dsseEnvelope"]
        payload = json.loads(base64.b64decode(envelope["payload"]))
        payload["subject"][0]["digest"]["sha256"] = sha256_file(forged)
        envelope["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()

    report = verify(edited(signed(keys, artifact_file), swap_payload), forged, trusted(keys))
    assert failures(report) == [ANOTHER_KEY]


def test_a_changed_payload_type_is_rejected(keys: dict[str, tuple[Path, Path]],
                                            artifact_file: Path) -> None:
    bundle = edited(signed(keys, artifact_file),
                    lambda d: d["dsseEnvelope"].update(payloadType="application/json"))
    assert failures(verify(bundle, artifact_file, trusted(keys))) == [ANOTHER_KEY]


def test_a_hint_that_does_not_match_the_key_is_rejected(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    builder = trusted(keys)
    bundle = edited(signed(keys, artifact_file),
                    lambda d: d["verificationMaterial"]["publicKey"].update(hint="local-builder"))
    report = verify(bundle, artifact_file, builder)
    assert failures(report) == [
        f"key-hint: expected {builder.hint}, got local-builder "
        "(the bundle's key hint names another key than the one that signed)"]
    assert report.builder_id is None


def test_the_hint_alone_is_never_trusted(keys: dict[str, tuple[Path, Path]],
                                         artifact_file: Path) -> None:
    """Signed by an untrusted key but hinting at a trusted one: the signature decides."""
    builder = trusted(keys)
    bundle = edited(signed(keys, artifact_file, signer="other"),
                    lambda d: d["verificationMaterial"]["publicKey"].update(hint=builder.hint))
    assert failures(verify(bundle, artifact_file, builder)) == [ANOTHER_KEY]


def test_a_hint_naming_another_trusted_key_is_rejected(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    builder, other = trusted(keys), trusted(keys, "other", builder_id="https://ci.example.com/other")
    bundle = edited(signed(keys, artifact_file),
                    lambda d: d["verificationMaterial"]["publicKey"].update(hint=other.hint))
    report = verify(bundle, artifact_file, other, builder)
    assert report.checks[0].passed and report.checks[0].actual == f"signed by builder (key hint {builder.hint[:16]})"
    assert failures(report) == [
        f"key-hint: expected {builder.hint}, got {other.hint} "
        "(the bundle's key hint names another key than the one that signed)"]


def test_a_bare_envelope_names_no_key(keys: dict[str, tuple[Path, Path]],
                                      artifact_file: Path) -> None:
    envelope = json.loads(signed(keys, artifact_file))["dsseEnvelope"]
    builder = trusted(keys)
    report = verify(json.dumps(envelope).encode(), artifact_file, builder)
    assert failures(report) == [
        f"key-hint: expected {builder.hint}, got (missing) "
        "(the provenance names no key (verificationMaterial.publicKey.hint))"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.update(predicateType="https://slsa.dev/provenance/v0.2"),
         "predicate type 'https://slsa.dev/provenance/v0.2'; expected 'https://slsa.dev/provenance/v1'"),
        (lambda s: s.update(predicateType="https://spdx.dev/Document"),
         "predicate type 'https://spdx.dev/Document'; expected 'https://slsa.dev/provenance/v1'"),
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"),
         "in-toto statement type 'https://in-toto.io/Statement/v0.1'; "
         "expected 'https://in-toto.io/Statement/v1'"),
        (lambda s: s["predicate"]["runDetails"].pop("builder"),
         "the provenance has no runDetails.builder.id"),
        (lambda s: s.update(subject=[]), "the statement has no subjects"),
    ],
    ids=["slsa-v0.2", "not-slsa", "statement-v0.1", "no-builder", "no-subjects"],
)
def test_a_statement_that_is_not_slsa_v1_is_rejected(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
    change: Callable[[dict[str, Any]], object], reason: str,
) -> None:
    document = statement(artifact_file)
    change(document)
    bundle = key_signed_bundle(private(keys, "builder"), document).encode()
    report = verify(bundle, artifact_file, trusted(keys))
    assert failures(report) == [f"{STATEMENT} ({reason})"]
    assert report.builder_id is None


def test_an_expired_policy_entry_is_rejected(keys: dict[str, tuple[Path, Path]],
                                             artifact_file: Path) -> None:
    expired = trusted(keys, expires=datetime(2026, 1, 1, tzinfo=timezone.utc))
    loaded = load_provenance(signed(keys, artifact_file))
    report = verify_key_signed(loaded, [Artifact.from_path(artifact_file)],
                               LocalBuilderPolicy((expired,)), now=NOW)
    assert failures(report) == [
        "key-expiry: expected trust in key builder until 2026-01-01T00:00:00Z, got verified at "
        "2026-06-01T00:00:00Z (the policy stopped trusting key builder on 2026-01-01T00:00:00Z; "
        "renew the entry or rotate the key)"]
    assert report.builder_id is None
    # the same through verify_artifacts, with the real clock
    assert [c.name for c in verify(signed(keys, artifact_file), artifact_file,
                                   expired).failed_checks()] == ["key-expiry"]


def test_an_entry_that_has_not_expired_passes_with_the_check(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=1)
    report = verify(signed(keys, artifact_file), artifact_file, trusted(keys, expires=later))
    assert report.passed
    assert [c.name for c in report.checks][:3] == ["signature", "key-hint", "key-expiry"]


def test_another_builder_id_is_rejected(keys: dict[str, tuple[Path, Path]],
                                        artifact_file: Path) -> None:
    bundle = signed(keys, artifact_file, builder_id="https://ci.example.com/builders/laptop")
    assert failures(verify(bundle, artifact_file, trusted(keys))) == [
        f"builder-id: expected {BUILDER}, got https://ci.example.com/builders/laptop "
        "(built by another builder than the key is trusted for)"]


def test_there_is_no_default_builder(keys: dict[str, tuple[Path, Path]]) -> None:
    """Each key names its builder; a key without one is refused when the policy is built
    (there is no policy-level builder id to fall back on)."""
    with pytest.raises(PolicyError) as raised:
        LocalBuilderPolicy((trusted(keys), trusted(keys, "other", builder_id=None)))
    assert str(raised.value) == ("trusted key 'other' names no builder id: key-signed provenance "
                                 "has no default trusted builder")
    assert raised.value.exit_code == 2


def test_an_artifact_no_subject_matches_is_rejected(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path, tmp_path: Path,
) -> None:
    other = tmp_path / "model.keras"
    other.write_bytes(b"model bytes, changed\n")
    report = verify(signed(keys, artifact_file), other, trusted(keys))
    assert failures(report) == [
        f"subject-digest: expected sha256:{sha256_file(other)}, got no subject with this digest "
        "(the provenance covers model.keras; the artifact's bytes differ)"]


def test_several_trusted_keys(keys: dict[str, tuple[Path, Path]], artifact_file: Path) -> None:
    other = trusted(keys, "other", builder_id="https://ci.example.com/other")
    report = verify(signed(keys, artifact_file), artifact_file, other, trusted(keys))
    assert report.passed and report.signer_key == "builder"
    report = verify(signed(keys, artifact_file, signer="third"), artifact_file, other, trusted(keys))
    assert failures(report) == [ANOTHER_KEY.replace("(builder)", "(other, builder)")]


@pytest.mark.parametrize(
    ("uri", "passed"),
    [
        ("git+https://github.com/acme/models", True),
        ("git+https://github.com/acme/models.git", True),
        ("https://github.com/acme/models/", True),
        ("git@github.com:acme/models.git", True),
        ("ssh://git@github.com/acme/models.git", True),
        ("git+https://github.com/acme/other", False),
        ("file:///home/me/models", False),
    ],
)
def test_a_key_entry_can_pin_the_source_repository(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path, uri: str, passed: bool,
) -> None:
    bundle = signed(keys, artifact_file, dependencies=[{"uri": uri, "digest": {"gitCommit": COMMIT}}])
    report = verify(bundle, artifact_file, trusted(keys, source_uri="github.com/acme/models"))
    if passed:
        assert report.passed
    else:
        assert failures(report) == [
            f"source-uri: expected git+https://github.com/acme/models, got {uri} "
            "(built from another repository)"]


def test_a_pinned_source_needs_a_recorded_checkout(keys: dict[str, tuple[Path, Path]],
                                                   artifact_file: Path) -> None:
    bundle = signed(keys, artifact_file, dependencies=[])
    report = verify(bundle, artifact_file, trusted(keys, source_uri="github.com/acme/models"))
    assert failures(report) == [
        "source-uri: expected git+https://github.com/acme/models, got no git source "
        "(the local build records no git checkout (resolvedDependencies))"]


def test_github_rules_do_not_apply_to_key_signed_provenance(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    """The GitHub kinds' source and ref rules are theirs; the local-builder policy alone judges
    local builds, even when the policy trusts both."""
    rules: dict[str, Any] = {"source_uri": "github.com/acme/elsewhere", "source_tag": "v1",
                             "triggers": ("push",)}
    policy = Policy(GeneratorPolicy(**rules), AttestationPolicy(**rules),
                    LocalBuilderPolicy((trusted(keys),)))
    report = verify_artifacts(signed(keys, artifact_file), [Artifact.from_path(artifact_file)], policy)
    assert report.passed, failures(report)
    assert report.kind == "local-builder"


def test_key_signed_provenance_under_a_github_only_policy_fails(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    """Evidence of a kind the policy does not list FAILS (it is not unusable input)."""
    report = verify_artifacts(signed(keys, artifact_file), [Artifact.from_path(artifact_file)],
                              github_policy(source_uri=SOURCE))
    assert failures(report) == [
        "evidence-kind: expected slsa-github-generator or github-attestation, got key-signed "
        "provenance (a local builder) (the policy does not trust local-builder evidence (add a "
        "[local-builder.NAME] table to trust it))"]
    assert (report.kind, report.builder_id, report.commit, report.payload) == (
        "local-builder", None, None, None)  # vouches for nothing
    assert [a.passed for a in report.artifacts] == [False]


def test_a_sigstore_bundle_under_a_key_only_policy_fails(keys: dict[str, tuple[Path, Path]]) -> None:
    report = verify((VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl").read_bytes(), BINARY,
                    trusted(keys))
    [check] = report.checks
    assert (check.name, check.passed, check.expected, check.actual) == (
        "evidence-kind", False, "local-builder", "Sigstore-signed provenance from GitHub")
    assert (report.passed, report.builder_id, report.commit, report.payload) == (
        False, None, None, None)
    assert [a.passed for a in report.artifacts] == [False]


def test_a_key_signed_bundle_that_is_not_valid_is_unusable(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path,
) -> None:
    bundle = edited(signed(keys, artifact_file),
                    lambda d: d["dsseEnvelope"]["signatures"][0].update(sig=7))
    with pytest.raises(ProvenanceError) as raised:
        load_provenance(bundle)
    # what follows the field is pydantic's
    assert re.fullmatch(re.escape("provenance: not a valid key-signed Sigstore bundle: dsseEnvelope.signatures.0.sig: ")
                        + r"[^\n]+", str(raised.value)), str(raised.value)


# --- the GitHub trigger rule --------------------------------------------------------------

@pytest.mark.parametrize(("triggers", "message"), [
    (("push", "release"), None),
    (("workflow_dispatch",),
     "trigger: expected workflow_dispatch, got push (the build was started by another event)"),
])
def test_a_policy_can_name_the_triggers_of_github_builds(triggers: tuple[str, ...],
                                                         message: str | None) -> None:
    report = verify_artifacts(VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl",
                              [Artifact.from_path(BINARY)], github_policy(source_uri=SOURCE, triggers=triggers))
    assert failures(report) == ([message] if message else [])
    assert "trigger" in [c.name for c in report.checks]


# --- TrustedKey and Policy values ------------------------------------------------------------

def test_a_trusted_key_from_inline_pem(keys: dict[str, tuple[Path, Path]]) -> None:
    pem = keys["builder"][1].read_text()
    key = TrustedKey("inline", pem, builder_id=BUILDER)
    assert key.hint == key_hint(private(keys, "builder").public_key()) == trusted(keys).hint
    assert TrustedKey("bytes", pem.encode()).hint == key.hint
    assert key.to_dict() == {"name": "inline", "hint": key.hint, "builder_id": BUILDER,
                             "expires": None, "source_uri": None}
    assert str(key) == f"inline (key hint {key.hint[:16]})"


def _pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda k: TrustedKey("k", b"not a key"), "public key 'k': not a PEM public key"),
        (lambda k: TrustedKey("k", _pem(ec.generate_private_key(ec.SECP384R1()))),
         "public key 'k': not an ECDSA P-256 key (the local builder signs with P-256 only)"),
        (lambda k: TrustedKey("k", _pem(rsa.generate_private_key(65537, 2048))),
         "public key 'k': not an ECDSA P-256 key (the local builder signs with P-256 only)"),
        (lambda k: TrustedKey("", k), "a trusted key needs a name"),
        (lambda k: TrustedKey("k", k, builder_id=" "), "public key 'k': the builder id is empty"),
        (lambda k: TrustedKey("k", k, expires=datetime(2027, 1, 1)),
         "public key 'k': expiry datetime.datetime(2027, 1, 1, 0, 0) has no time zone; "
         "give a timezone-aware datetime"),
        (lambda k: TrustedKey("k", k, source_uri="gitlab.com/a/b"),
         "source URI 'gitlab.com/a/b' is not a GitHub repository; expected github.com/OWNER/REPO "
         "(or https://github.com/OWNER/REPO)"),
        (lambda k: local_policy((TrustedKey("a", k, builder_id=BUILDER),
                                 TrustedKey("b", k, builder_id=BUILDER))),
         "trusted keys 'a' and 'b' are the same public key; trust it once (one key signs for "
         "one builder)"),
        (lambda k: LocalBuilderPolicy(TrustedKey("a", k, builder_id=BUILDER)),  # type: ignore[arg-type]
         "local builder keys: expected a list of TrustedKey"),
        (lambda k: LocalBuilderPolicy((k,)),  # type: ignore[arg-type]
         "local builder keys: expected TrustedKey entries, got bytes"),
        (lambda k: LocalBuilderPolicy(()), "a local-builder policy needs at least one trusted key"),
        (lambda k: LocalBuilderPolicy((TrustedKey("a", k),)),
         "trusted key 'a' names no builder id: key-signed provenance has no default trusted builder"),
        (lambda k: GeneratorPolicy(SOURCE, triggers="push"),  # type: ignore[arg-type]
         "triggers: expected a list of GitHub event names, e.g. push, release"),
        (lambda k: AttestationPolicy(SOURCE, triggers=("push", "")),
         "trigger '': expected a GitHub event name, e.g. push"),
    ],
)
def test_bad_trusted_keys_and_policies_are_input_errors(
    keys: dict[str, tuple[Path, Path]], make: Callable[[bytes], object], message: str,
) -> None:
    with pytest.raises(InputError) as raised:
        make(keys["builder"][1].read_bytes())
    assert str(raised.value) == message


def test_two_entries_may_not_share_a_name(keys: dict[str, tuple[Path, Path]]) -> None:
    with pytest.raises(InputError) as raised:
        local_policy((trusted(keys), TrustedKey.from_file(keys["other"][1], name="builder")))
    assert str(raised.value) == "two trusted keys are named 'builder'; give each its own name"


def test_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        TrustedKey.from_file(tmp_path / "nope.pem")
    assert str(raised.value) == f"{tmp_path / 'nope.pem'}: no such key file"


# --- the CLI ------------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "slsa_models.cli"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def test_a_bundle_from_slsa_models_attest_verifies_with_the_cli(
    keys: dict[str, tuple[Path, Path]], tmp_path: Path,
) -> None:
    """Outside a git checkout (tmp_path) the statement records no commit: none is printed."""
    model = tmp_path / "model.keras"
    model.write_bytes(b"weights")
    signed_ = run_cli("attest", "--key", str(keys["builder"][0]), "--builder-id", BUILDER,
                      str(model), "-o", str(tmp_path / "model.keras.intoto.jsonl"), cwd=tmp_path)
    assert signed_.returncode == 0, signed_.stderr
    verify_args = ["verify-artifact", "model.keras", "--provenance-path", "model.keras.intoto.jsonl",
                   "--builder-id", BUILDER, "--public-key"]
    passed = run_cli(*verify_args, str(keys["builder"][1]), cwd=tmp_path)
    assert (passed.returncode, passed.stdout) == (0, ""), passed.stderr
    assert passed.stderr == (f'Verified build using builder "{BUILDER}"\n'
                             "Verifying artifact model.keras: PASSED\n\n"
                             "PASSED: SLSA verification passed\n")
    failed = run_cli(*verify_args, str(keys["other"][1]), cwd=tmp_path)
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr.splitlines()[-1] == (
        "FAILED: SLSA verification failed: " + ANOTHER_KEY.replace("(builder)",
                                                                   f"({keys['other'][1]})"))


def test_the_cli_prints_the_recorded_commit(keys: dict[str, tuple[Path, Path]], artifact_file: Path,
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    provenance = tmp_path / "p.intoto.jsonl"
    provenance.write_bytes(signed(keys, artifact_file))
    code = main(["verify-artifact", str(artifact_file), "--provenance-path", str(provenance),
                 "--public-key", str(keys["other"][1]), "--public-key", str(keys["builder"][1]),
                 "--builder-id", BUILDER, "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines()[0] == f'Verified build using builder "{BUILDER}" at commit {COMMIT}'
    report = json.loads(out)
    assert (report["kind"], report["signer_key"], report["commit"]) == (
        "local-builder", str(keys["builder"][1]), COMMIT)


LOCAL_CANNOT_CHECK = (
    "{flag} cannot be checked on key-signed provenance (--public-key): a local build records its "
    "git commit, not a ref, workflow inputs or a Sigstore root; to trust GitHub builds and local "
    "keys together, use a policy file")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--public-key", "{pub}"],
         "--public-key needs --builder-id: key-signed provenance has no default trusted builder"),
        (["--public-key", "{pub}", "--builder-id", BUILDER, "--source-tag", "v1"],
         LOCAL_CANNOT_CHECK.replace("{flag}", "--source-tag")),
        (["--public-key", "{pub}", "--builder-id", BUILDER, "--source-versioned-tag", "v1"],
         LOCAL_CANNOT_CHECK.replace("{flag}", "--source-versioned-tag")),
        (["--public-key", "{pub}", "--builder-id", BUILDER, "--source-uri", SOURCE,
          "--source-branch", "main"],
         LOCAL_CANNOT_CHECK.replace("{flag}", "--source-branch")),
        (["--public-key", "{pub}", "--builder-id", BUILDER, "--build-workflow-input", "a=b"],
         LOCAL_CANNOT_CHECK.replace("{flag}", "--build-workflow-input")),
        (["--public-key", "{pub}", "--builder-id", BUILDER, "--trusted-root", "{policy}"],
         LOCAL_CANNOT_CHECK.replace("{flag}", "--trusted-root")),
        (["--public-key", "{pub}", "--source-tag", "v1"],  # refused before the builder id is asked
         LOCAL_CANNOT_CHECK.replace("{flag}", "--source-tag")),
        (["--public-key", "/no/such.pem", "--builder-id", BUILDER], "/no/such.pem: no such key file"),
        (["--policy", "{policy}", "--source-uri", SOURCE, "--public-key", "{pub}"],
         "--policy replaces the policy flags: drop --source-uri, --public-key (or drop --policy)"),
    ],
    ids=["no-builder-id", "source-tag", "source-versioned-tag", "source-branch", "workflow-input",
         "trusted-root", "source-tag-no-builder-id", "missing-key", "policy-and-flags"],
)
def test_unusable_key_flags_exit_2_with_one_line(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str,
) -> None:
    provenance = tmp_path / "p.intoto.jsonl"
    provenance.write_bytes(signed(keys, artifact_file))
    policy = tmp_path / "policy.toml"
    policy.write_text('version = 2\n[slsa-github-generator]\nsource-uri = "github.com/acme/models"\n')
    values = {"pub": str(keys["builder"][1]), "provenance": str(provenance), "policy": str(policy)}
    args = [flag.format(**values) for flag in flags]
    code = main(["verify-artifact", str(artifact_file), "--provenance-path", str(provenance), *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == f"error: {message.format(**values)}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.intoto.jsonl", "policy.toml"]


def test_key_signed_provenance_under_the_github_flags_fails_with_exit_1(
    keys: dict[str, tuple[Path, Path]], artifact_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--source-uri alone trusts GitHub builds: a local build's provenance FAILS evidence-kind."""
    provenance = tmp_path / "p.intoto.jsonl"
    provenance.write_bytes(signed(keys, artifact_file))
    code = main(["verify-artifact", str(artifact_file), "--provenance-path", str(provenance),
                 "--source-uri", SOURCE])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    reason = ("evidence-kind: expected slsa-github-generator or github-attestation, got key-signed "
              "provenance (a local builder) (the policy does not trust local-builder evidence (add "
              "a [local-builder.NAME] table to trust it))")
    assert err == (f"Verifying artifact {artifact_file}: FAILED: {reason}\n\n"
                   f"FAILED: SLSA verification failed: {reason}\n")


def test_check_names_are_listed() -> None:
    assert {"key-hint", "key-expiry", "trigger"} <= set(CHECK_NAMES)
