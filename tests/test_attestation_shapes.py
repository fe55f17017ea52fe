"""GitHub artifact attestations of the shapes the shared vector does not have, with gh's verdicts.

GitHub cannot sign here, so these attestations are made by a test Sigstore instance
(tests/attestations.py: a test Fulcio CA issuing certificates with GitHub's OIDC claims, a
test CT log, a test Rekor log, a test RFC 3161 TSA) and verified by sigstore-python against
that instance's trusted root (``--custom-trusted-root``), exactly as real bundles are.
Each shape is run through ``slsa-models verify-attestation`` with the flag combinations
of ``gh attestation verify`` (cli/cli pkg/cmd/attestation/verify) and the verdict gh gives:

- a reusable workflow pinned by commit SHA signs (the signer is another repository's
  workflow, ``@<sha>``): ``--repo``/``--owner`` alone fail, ``--signer-repo`` or
  ``--signer-workflow`` (with or without the host) pass, also when ``builder.id`` is
  ``https://github.com/actions/runner/github-hosted`` (no tagged builder: not a rule);
- a self-hosted runner: passes unless ``--deny-self-hosted-runners``;
- a SHA-512 subject: only ``--digest-alg sha512`` matches it;
- a timestamp-only bundle (RFC 3161, no transparency-log entry, no SCT: GitHub's own
  Sigstore instance for private repositories) passes against a trusted root of that
  shape (a CA and a TSA, no log), and fails against one that has a log (an entry is then
  required), against the public-good root, and with a TSA the root does not list;
- ``--source-ref`` is the certificate's ref (a tag build passes for the tag only).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.cli import main
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.serving import verify_deployed
from slsa_models.store import open_store
from slsa_models.verify import Policy, load_policy
from tests.attestations import SigstoreInstance, Workflow, make_deployer, write_bundle

MODEL = b"weights of a model attested by a test Sigstore instance\n"
SHA256 = hashlib.sha256(MODEL).hexdigest()
SHA512 = hashlib.sha512(MODEL).hexdigest()
NAME = "digits-cnn/model.pth"
PINNED = "0123456789abcdef0123456789abcdef01234567"
REUSABLE = Workflow(workflow=".github/workflows/release.yml",
                    signer_repository="github/artifact-attestations-workflows",
                    signer_workflow=".github/workflows/attest.yml", signer_ref=PINNED,
                    signer_commit=PINNED)
SUCCEEDED = "✓ Verification succeeded!"


@pytest.fixture(scope="module")
def instance() -> SigstoreInstance:
    return SigstoreInstance()


@pytest.fixture(scope="module")
def files(instance: SigstoreInstance, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The model, trusted roots of three shapes and one bundle per attestation shape."""
    where = tmp_path_factory.mktemp("shapes")
    model = where / "model.pth"
    model.write_bytes(MODEL)
    sha256 = {NAME: {"sha256": SHA256}}
    other_tsa = SigstoreInstance(ca_key=instance.ca_key, ct_key=instance.ct_key,
                                 rekor_key=instance.rekor_key)
    return {
        "model": model,
        "root": instance.trusted_root(where / "root.json"),
        "github-root": instance.trusted_root(where / "github-root.json", tlog=False, ct=False),
        "no-tsa-root": instance.trusted_root(where / "no-tsa-root.json", tlog=False, ct=False, tsa=False),
        "plain": write_bundle(where / "plain.jsonl", instance.attest(sha256)),
        "reusable": write_bundle(where / "reusable.jsonl", instance.attest(sha256, REUSABLE)),
        "self-hosted": write_bundle(where / "self-hosted.jsonl",
                                    instance.attest(sha256, Workflow(runner="self-hosted"))),
        "runner-builder": write_bundle(where / "runner-builder.jsonl", instance.attest(sha256, replace(
            REUSABLE, builder_id="https://github.com/actions/runner/github-hosted"))),
        "sha512": write_bundle(where / "sha512.jsonl", instance.attest({NAME: {"sha512": SHA512}})),
        "both": write_bundle(where / "both.jsonl",
                             instance.attest({NAME: {"sha256": SHA256, "sha512": SHA512}})),
        "tag": write_bundle(where / "tag.jsonl", instance.attest(sha256, Workflow(ref="refs/tags/v1.2.0"))),
        "both-proofs": write_bundle(where / "both-proofs.jsonl", instance.attest(sha256, timestamp=True)),
        "timestamp-only": write_bundle(where / "timestamp-only.jsonl",
                                       instance.attest(sha256, tlog=False, timestamp=True, sct=False)),
        "other-tsa": write_bundle(where / "other-tsa.jsonl",
                                  other_tsa.attest(sha256, tlog=False, timestamp=True, sct=False)),
    }


def verdict(capsys: pytest.CaptureFixture[str], files: dict[str, Path], shape: str, *flags: str,
            root: str | None = "root", model: Path | None = None) -> tuple[int, str]:
    """verify-attestation's exit code and last line of stderr (the verdict)."""
    trust = ["--custom-trusted-root", str(files[root])] if root else []
    code = main(["verify-attestation", str(model or files["model"]), "--bundle", str(files[shape]),
                 *trust, *flags])
    err = capsys.readouterr().err.strip().splitlines()
    return code, next(line for line in err if line.startswith(("✓", "✗")))


def fails(check: str) -> str:
    return f"✗ Verification failed: {check}"


def no_timestamp(reason: str) -> str:
    return fails("signed-timestamp: expected an RFC 3161 timestamp from a TSA of the trusted root "
                 f"(no log entry), got invalid ({reason})")


NEEDS_ENTRY = ("the bundle has no transparency-log entry, and the trusted root has a log: an entry is "
               "required (only a root without a log, like GitHub's own instance's, relies on signed "
               "timestamps alone)")


SIGNER_REGEX = "(?i)^https://github\\.com/acme/models/"
SAN = f"https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@{PINNED}"
OTHER_SIGNER = (f"cert-identity: expected a SAN matching {SIGNER_REGEX}, got {SAN} (the attestation "
                "was signed by another workflow; name the signer with signer-repo, signer-workflow or "
                "cert-identity to trust it)")

# (shape, flags, root, verdict line); root None: the bundled public-good trusted root.
TABLE = [
    # the plain shape: a workflow of the repository signs
    ("plain", ("--repo", "acme/models"), "root", SUCCEEDED),
    ("plain", ("--owner", "acme"), "root", SUCCEEDED),
    ("plain", ("--owner", "acme", "--deny-self-hosted-runners", "--source-ref", "refs/heads/main"),
     "root", SUCCEEDED),
    ("plain", ("--repo", "acme/other"), "root",
     fails("cert-identity: expected a SAN matching (?i)^https://github\\.com/acme/other/, got "
           "https://github.com/acme/models/.github/workflows/train.yml@refs/heads/main (the "
           "attestation was signed by another workflow; name the signer with signer-repo, "
           "signer-workflow or cert-identity to trust it)")),
    ("plain", ("--repo", "acme/models"), None,
     fails("certificate-chain: expected a certificate chaining to the trusted Fulcio root at "
           "signing time, got invalid (failed to build timestamp certificate chain: validation "
           "failed: candidates exhausted: all candidates exhausted with no interior errors)")),
    # a reusable workflow of another repository, pinned by commit SHA, signs
    ("reusable", ("--repo", "acme/models"), "root", fails(OTHER_SIGNER)),
    ("reusable", ("--owner", "acme"), "root",
     fails(OTHER_SIGNER.replace(SIGNER_REGEX, "(?i)^https://github\\.com/acme/"))),
    ("reusable", ("--repo", "acme/models", "--signer-repo", "github/artifact-attestations-workflows"),
     "root", SUCCEEDED),
    ("reusable", ("--owner", "acme", "--signer-workflow",
                  "github/artifact-attestations-workflows/.github/workflows/attest.yml"), "root", SUCCEEDED),
    ("reusable", ("--repo", "acme/models", "--signer-workflow",
                  "github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"),
     "root", SUCCEEDED),
    ("reusable", ("--repo", "acme/models", "--signer-workflow",
                  f"github/artifact-attestations-workflows/.github/workflows/attest.yml@{PINNED}"),
     "root", SUCCEEDED),
    ("reusable", ("--repo", "acme/models", "--cert-identity", SAN), "root", SUCCEEDED),
    ("reusable", ("--repo", "acme/models", "--signer-workflow",
                  "github/artifact-attestations-workflows/.github/workflows/other.yml"), "root",
     fails("cert-identity: expected a SAN matching ^https://github\\.com/github/artifact-attestations-"
           "workflows/\\.github/workflows/other\\.yml(@(refs/.*|[0-9a-fA-F]+))?$, got " + SAN + " (the "
           "attestation was signed by another workflow; name the signer with signer-repo, "
           "signer-workflow or cert-identity to trust it)")),
    ("reusable", ("--repo", "acme/other", "--signer-repo", "github/artifact-attestations-workflows"),
     "root", fails("source-uri: expected https://github.com/acme/other, got https://github.com/acme/models "
                   "(the certificate records another source repository)")),
    # builder.id is the runner (attest-build-provenance v2+), not a tagged builder: not a rule, as in gh
    ("runner-builder", ("--repo", "acme/models", "--signer-repo", "github/artifact-attestations-workflows",
                        "--deny-self-hosted-runners", "--source-ref", "refs/heads/main"), "root", SUCCEEDED),
    # a self-hosted runner
    ("self-hosted", ("--repo", "acme/models"), "root", SUCCEEDED),
    ("self-hosted", ("--repo", "acme/models", "--deny-self-hosted-runners"), "root",
     fails("runner-environment: expected github-hosted, got self-hosted in the certificate (a "
           "self-hosted runner is outside the builder's isolation guarantees)")),
    # a SHA-512 subject
    ("sha512", ("--repo", "acme/models"), "root",
     fails(f"subject-digest: expected sha256:{SHA256}, got no subject with this digest (the "
           f"provenance covers {NAME}; the artifact's bytes differ)")),
    ("sha512", ("--repo", "acme/models", "--digest-alg", "sha512"), "root", SUCCEEDED),
    ("both", ("--repo", "acme/models"), "root", SUCCEEDED),
    ("both", ("--repo", "acme/models", "--digest-alg", "sha512"), "root", SUCCEEDED),
    # the source ref is the certificate's
    ("tag", ("--repo", "acme/models", "--source-ref", "refs/tags/v1.2.0"), "root", SUCCEEDED),
    ("tag", ("--repo", "acme/models", "--source-ref", "refs/heads/main"), "root",
     fails("source-ref: expected refs/heads/main, got refs/tags/v1.2.0 (the certificate records "
           "another source ref)")),
    # RFC 3161 timestamps and no log entry (GitHub's own instance)
    ("timestamp-only", ("--repo", "acme/models"), "github-root", SUCCEEDED),
    ("timestamp-only", ("--repo", "acme/models", "--deny-self-hosted-runners"), "github-root", SUCCEEDED),
    ("timestamp-only", ("--repo", "acme/models"), "root",
     no_timestamp(NEEDS_ENTRY)),
    ("timestamp-only", ("--repo", "acme/models"), None,
     no_timestamp(NEEDS_ENTRY)),
    ("timestamp-only", ("--repo", "acme/models"), "no-tsa-root",
     no_timestamp("the bundle has no transparency-log entry and the trusted root has no "
                  "timestamp authority to verify its timestamps")),
    ("other-tsa", ("--repo", "acme/models"), "github-root",
     no_timestamp("no RFC 3161 timestamp verified against the trusted root's timestamp authorities")),
    ("plain", ("--repo", "acme/models"), "github-root",  # a log entry the root cannot check
     fails("certificate-sct: expected a valid signed certificate timestamp from a trusted CT log, "
           "got invalid (CTFE keys not found in trusted root)")),
]


@pytest.mark.parametrize(("shape", "flags", "root", "line"), TABLE,
                         ids=[f"{row[0]}:{' '.join(row[1])}:{row[2]}" for row in TABLE])
def test_gh_verdicts(capsys: pytest.CaptureFixture[str], files: dict[str, Path], shape: str,
                     flags: tuple[str, ...], root: str | None, line: str) -> None:
    code, last = verdict(capsys, files, shape, *flags, root=root)
    assert last == line
    assert code == (0 if line == SUCCEEDED else 1)


@pytest.mark.parametrize("shape", ["plain", "reusable", "sha512", "timestamp-only"])
def test_a_changed_artifact_fails(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                  tmp_path: Path, shape: str) -> None:
    changed = tmp_path / "model.pth"
    changed.write_bytes(MODEL[:-1] + b"!")
    algorithm = "sha512" if shape == "sha512" else "sha256"
    digest = hashlib.new(algorithm, changed.read_bytes()).hexdigest()
    flags = ["--repo", "acme/models", "--digest-alg", algorithm]
    if shape == "reusable":
        flags += ["--signer-repo", "github/artifact-attestations-workflows"]
    root = "github-root" if shape == "timestamp-only" else "root"
    code, last = verdict(capsys, files, shape, *flags, root=root, model=changed)
    assert (code, last) == (1, fails(f"subject-digest: expected {algorithm}:{digest}, got no subject "
                                     f"with this digest (the provenance covers {NAME}; the artifact's "
                                     "bytes differ)"))


def test_a_tampered_timestamp_only_bundle_fails(capsys: pytest.CaptureFixture[str],
                                                files: dict[str, Path], tmp_path: Path) -> None:
    bundle = json.loads(files["timestamp-only"].read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"][0]["name"] = "digits-cnn/other.pth"
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    files = {**files, "tampered": write_bundle(tmp_path / "tampered.jsonl", bundle)}
    code, last = verdict(capsys, files, "tampered", "--repo", "acme/models", root="github-root")
    assert (code, last) == (1, fails("signature: expected a valid DSSE signature by the "
                                     "certificate's key, got invalid (DSSE: invalid signature)"))


# --- the same shapes through the gate's [github-attestation] policy -----------------------------

GATE_POLICY = """\
version = 2
[github-attestation]
repo = "acme/models"
trusted-root = "{root}"
"""


@pytest.mark.parametrize(("shape", "root", "extra", "check"), [
    ("reusable", "root", 'signer-workflow = "github/artifact-attestations-workflows/.github/workflows/attest.yml"\n',
     None),
    ("reusable", "root", "", "cert-identity"),
    ("self-hosted", "root", "", "runner-environment"),  # refused by default in the gate
    ("self-hosted", "root", "deny-self-hosted-runners = false\n", None),
    # the gate hashes the model with SHA-256 and its policy file has no digest-alg: a
    # SHA-512-only attestation is refused there (one with both digests passes)
    ("sha512", "root", "", "subject-digest"),
    ("both", "root", "", None),
    ("timestamp-only", "github-root", 'source-ref = "refs/heads/main"\n', None),
    ("timestamp-only", "root", "", "signed-timestamp"),
])
def test_the_gate(tmp_path: Path, file_store_uri: str, files: dict[str, Path], shape: str, root: str,
                  extra: str, check: str | None) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(GATE_POLICY.format(root=files[root]) + extra)
    store = open_store(file_store_uri)
    model = tmp_path / "model.pth"
    shutil.copyfile(files["model"], model)
    key = publish_model(store, "digits-cnn", model).key
    publish_provenance(store, key, files[shape])
    gate = deploy.Gate(store, "digits-cnn", load_policy(policy))
    candidate = gate.find()
    work = tmp_path / "work"
    work.mkdir()
    result = gate.verify(candidate, gate.fetch_evidence(candidate), gate.fetch_model(candidate, work))
    assert result.failed_check() == check, result.reason


def test_format_json_lists_the_verified_timestamps(capsys: pytest.CaptureFixture[str],
                                                   files: dict[str, Path]) -> None:
    """gh's verifiedTimestamps: the TSA's for a timestamp-only bundle, the log's and the TSA's
    for a bundle with both."""
    tsa = {"type": "TimestampAuthority", "uri": "", "timestamp": "2026-06-01T12:00:00Z"}
    tlog = {"type": "Tlog", "uri": "", "timestamp": "2026-06-01T12:00:00Z"}
    for shape, root, expected in (("timestamp-only", "github-root", [tsa]), ("both-proofs", "root", [tlog, tsa]),
                                  ("plain", "root", [tlog])):
        code = main(["verify-attestation", str(files["model"]), "--bundle", str(files[shape]),
                     "--repo", "acme/models", "--custom-trusted-root", str(files[root]), "--format", "json"])
        [entry] = json.loads(capsys.readouterr().out)
        assert (code, entry["verificationResult"]["verifiedTimestamps"]) == (0, expected), shape


@pytest.mark.parametrize(("change", "line"), [
    (lambda bundle: bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
     .update(signedTimestamp="AAAA"), "Invalid Timestamp Response"),
    (lambda bundle: bundle["verificationMaterial"].pop("certificate"),
     "verificationMaterial: Value error, Exactly one of publicKey, x509CertificateChain, or certificate "
     "must be set"),
    (lambda bundle: bundle["verificationMaterial"]["timestampVerificationData"].update(rfc3161Timestamps=[]),
     "expected exactly one log entry in bundle"),
])
def test_unusable_timestamp_only_bundles_are_one_line(files: dict[str, Path], tmp_path: Path,
                                                       change: object, line: str) -> None:
    from slsa_models.errors import ProvenanceError
    from slsa_models.verify import load_provenance

    bundle = json.loads(files["timestamp-only"].read_text())
    change(bundle)  # type: ignore[operator]
    path = write_bundle(tmp_path / "bad.jsonl", bundle)
    with pytest.raises(ProvenanceError) as error:
        load_provenance(path)
    assert str(error.value) == f"{path}: not a valid Sigstore bundle: {line}"


@pytest.mark.parametrize(("shape", "root", "extra"), [
    ("reusable", "root", 'signer-repo = "github/artifact-attestations-workflows"\n'),
    ("timestamp-only", "github-root", ""),
])
def test_deployed_then_served(tmp_path: Path, file_store_uri: str, files: dict[str, Path],
                              monkeypatch: pytest.MonkeyPatch, shape: str, root: str, extra: str) -> None:
    """The [github-attestation] policy through the gate, the promotion and serving's check."""
    monkeypatch.setenv("SLSA_MODELS_HOME", str(tmp_path / "home"))
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(GATE_POLICY.format(root=files[root]) + extra)
    policy = load_policy(policy_path)
    deployer = make_deployer(tmp_path)
    store = open_store(file_store_uri)
    key = publish_model(store, "digits-cnn", files["model"]).key
    publish_provenance(store, key, files[shape])
    (tmp_path / "work").mkdir()
    verdict, _ = deploy.Gate(store, "digits-cnn", policy).run(tmp_path / "work")
    assert verdict.passed, verdict.reason
    decision = deploy.promote(store, verdict, deploy.SmokeResult("skipped", "no loader for this test"),
                              deployer=deployer, policy={})
    assert decision.deployed
    (tmp_path / "serve").mkdir()
    serving = Policy(*policy.kinds, deployers=deployer.trusted)
    verified = verify_deployed(store, "digits-cnn", serving, tmp_path / "serve")
    assert verified.report.passed and verified.report.kind == "github-attestation"
    assert verified.model.path.read_bytes() == MODEL


def test_a_trusted_root_file_of_json_lines_picks_the_root_of_the_issuing_ca(
        capsys: pytest.CaptureFixture[str], files: dict[str, Path], instance: SigstoreInstance,
        tmp_path: Path) -> None:
    """`gh attestation trusted-root` prints several roots, one a line (the public-good one and
    GitHub's): the root whose CA issued the certificate verifies it, with that root's rules."""
    github = SigstoreInstance(name="github")
    lines = [json.dumps(json.loads(files["root"].read_text())),
             json.dumps(json.loads(github.trusted_root(tmp_path / "github.json", tlog=False, ct=False)
                                   .read_text()))]
    both = tmp_path / "trusted_root.jsonl"
    both.write_text("\n".join(lines) + "\n")
    private = write_bundle(tmp_path / "private.jsonl",
                           github.attest({NAME: {"sha256": SHA256}}, tlog=False, timestamp=True, sct=False))
    roots = {**files, "both": both, "private": private}
    for shape in ("plain", "private", "reusable"):
        flags = ["--signer-repo", "github/artifact-attestations-workflows"] if shape == "reusable" else []
        assert verdict(capsys, roots, shape, "--repo", "acme/models", *flags, root="both") == (0, SUCCEEDED)
    # the public-good-shaped root has a log: a timestamp-only bundle of its own CA still needs an entry
    assert verdict(capsys, roots, "timestamp-only", "--repo", "acme/models", root="both") == (
        1, no_timestamp(NEEDS_ENTRY))


def test_a_certificate_naming_no_repository_is_refused_not_a_crash(instance: SigstoreInstance,
                                                                  files: dict[str, Path], tmp_path: Path) -> None:
    """Fulcio's repository claims (v1 extension 5, v2 extension 12) absent: the source checks fail
    naming what is missing, and the report names no source."""
    from slsa_models.verify import Artifact, AttestationPolicy, load_provenance, verify_loaded

    bundle = write_bundle(tmp_path / "no-repository.jsonl", instance.attest(
        {NAME: {"sha256": SHA256}}, Workflow(omit_claims=("5", "12"))))
    report = verify_loaded(load_provenance(bundle), [Artifact(NAME, SHA256)],
                           Policy(AttestationPolicy(repo="acme/models", trusted_root=files["root"])))
    assert (report.passed, report.source_uri) == (False, None)
    assert [check.message for check in report.failed_checks()] == [
        "source-uri: expected https://github.com/acme/models, got (missing) (the certificate records another source "
        "repository)"]
