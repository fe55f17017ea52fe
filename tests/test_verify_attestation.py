"""GitHub artifact attestations under gh attestation verify's rules: the real cli/cli vector.

The vector (/work/shared/vectors/github-attestations/custom-issuer, cli/cli's test data) is a
real actions/attest-build-provenance bundle signed under a GitHub Enterprise custom OIDC issuer
(``.../hammer-time``). Every verdict of its README table is checked through the command line
(``slsa-models verify-attestation``: exact output lines and exit codes), through the library
(``AttestationPolicy``) and through the gate (a ``[github-attestation]`` policy file; the
vector names no model, so the file sets accept-unnamed). Attestations of other shapes
(reusable workflow pinned by SHA, self-hosted runner, SHA-512 subject, timestamp-only bundle)
are signed by a test Sigstore instance in tests/test_attestation_shapes.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.cli import main
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import open_store
from slsa_models.verify import Artifact, AttestationPolicy, Policy, load_policy, verify_artifacts

VECTOR = Path("/work/shared/vectors/github-attestations/custom-issuer")
ARTIFACT = VECTOR / "custom-issuer-artifact"
BUNDLE = VECTOR / "custom-issuer.sigstore.json"
SHA256 = "afa27b44d43b02a9fea41d13cedc2e4016cfcf87c5dbf990e593669aa8ce286d"
HAMMER = "https://token.actions.githubusercontent.com/hammer-time"
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"
SAN = "https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main"
COMMIT = "283bf967fa3c591925dd25e6a6e8e781542117bf"
OTHER_SIGNER = ("the attestation was signed by another workflow; name the signer with signer-repo, "
                "signer-workflow or cert-identity to trust it")
ISSUER_HINT = ("a custom OIDC issuer under the expected one, as a GitHub Enterprise issuer policy "
               "makes; to trust it, give it with --cert-oidc-issuer, or cert-oidc-issuer in "
               "[github-attestation]")

pytestmark = pytest.mark.skipif(not VECTOR.is_dir(), reason=f"{VECTOR} is not here")

ATTESTED = [
    "- Attestation #1",
    "  - Build repo:..... too-legit/attest",
    "  - Build workflow:. .github/workflows/integration.yml@refs/heads/main",
    "  - Signer repo:.... too-legit/attest",
    "  - Signer workflow: .github/workflows/integration.yml@refs/heads/main",
]


def head(artifact: Path = ARTIFACT, digest: str = f"sha256:{SHA256}") -> list[str]:
    return [f"Loaded digest {digest} for file://{artifact}",
            f"Loaded 1 attestation from {BUNDLE}", "",
            "The following policy criteria will be enforced:"]


def run(capsys: pytest.CaptureFixture[str], *flags: str,
        artifact: Path = ARTIFACT) -> tuple[int, list[str], str]:
    code = main(["verify-attestation", str(artifact), "--bundle", str(BUNDLE), *flags])
    out, err = capsys.readouterr()
    return code, err.splitlines(), out


# --- the README table, through the command line ------------------------------------------------

def test_owner_issuer_and_exact_identity_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, out = run(capsys, "--owner", "too-legit", "--cert-oidc-issuer", HAMMER,
                           "--cert-identity", SAN)
    assert (code, out) == (0, "")
    assert lines == head() + [
        "- Predicate type must match:............. https://slsa.dev/provenance/v1",
        "- Source Repository Owner URI must match: https://github.com/too-legit",
        f"- Subject Alternative Name must match:... {SAN}",
        f"- OIDC Issuer must match:................ {HAMMER}",
        "", "✓ Verification succeeded!", "",
        "The following 1 attestation matched the policy criteria", "", *ATTESTED]


def test_repo_issuer_and_identity_regex_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "--repo", "too-legit/attest", "--cert-oidc-issuer", HAMMER,
                         "--cert-identity-regex", "^https://github.com/too-legit/attest")
    assert code == 0
    assert lines == head() + [
        "- Predicate type must match:................ https://slsa.dev/provenance/v1",
        "- Source Repository Owner URI must match:... https://github.com/too-legit",
        "- Source Repository URI must match:......... https://github.com/too-legit/attest",
        "- Subject Alternative Name must match regex: ^https://github.com/too-legit/attest",
        f"- OIDC Issuer must match:................... {HAMMER}",
        "", "✓ Verification succeeded!", "",
        "The following 1 attestation matched the policy criteria", "", *ATTESTED]


DEFAULT_IDENTITY = "- Subject Alternative Name must match regex: (?i)^https://github\\.com/too-legit/"


def test_owner_and_issuer_pass_with_the_default_identity(capsys: pytest.CaptureFixture[str]) -> None:
    """The default signer: a workflow of one of the owner's repositories."""
    code, lines, _ = run(capsys, "--owner", "too-legit", "--cert-oidc-issuer", HAMMER)
    assert code == 0
    assert lines[4:8] == [
        "- Predicate type must match:................ https://slsa.dev/provenance/v1",
        "- Source Repository Owner URI must match:... https://github.com/too-legit",
        DEFAULT_IDENTITY,
        f"- OIDC Issuer must match:................... {HAMMER}"]
    assert lines[9] == "✓ Verification succeeded!"


def test_the_default_issuer_fails_with_gh_s_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, out = run(capsys, "--owner", "too-legit")
    assert (code, out) == (1, "")
    assert lines[-3:] == [
        f"- OIDC Issuer must match:................... {DEFAULT_ISSUER}", "",
        f"✗ Verification failed: certificate-issuer: expected {DEFAULT_ISSUER}, got {HAMMER} "
        f"({ISSUER_HINT})"]


@pytest.mark.parametrize(("flags", "failure"), [
    (("--owner", "someone-else"),
     f"cert-identity: expected a SAN matching (?i)^https://github\\.com/someone-else/, got {SAN} "
     f"({OTHER_SIGNER})"),
    (("--repo", "too-legit/other"),
     f"cert-identity: expected a SAN matching (?i)^https://github\\.com/too-legit/other/, got {SAN} "
     f"({OTHER_SIGNER})"),
    (("--owner", "someone-else", "--cert-identity", SAN),
     "source-owner: expected https://github.com/someone-else, got https://github.com/too-legit "
     "(the certificate records another source repository owner)"),
    (("--repo", "too-legit/other", "--signer-repo", "too-legit/attest"),
     "source-uri: expected https://github.com/too-legit/other, got https://github.com/too-legit/attest "
     "(the certificate records another source repository)"),
])
def test_another_owner_or_repository_fails(capsys: pytest.CaptureFixture[str], flags: tuple[str, ...],
                                           failure: str) -> None:
    code, lines, _ = run(capsys, *flags, "--cert-oidc-issuer", HAMMER)
    assert code == 1
    assert lines[-1] == f"✗ Verification failed: {failure}"


def test_a_changed_artifact_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    changed = tmp_path / ARTIFACT.name
    data = bytearray(ARTIFACT.read_bytes())
    data[0] ^= 0x01
    changed.write_bytes(bytes(data))
    digest = Artifact.from_path(changed).sha256
    code, lines, _ = run(capsys, "--owner", "too-legit", "--cert-oidc-issuer", HAMMER, artifact=changed)
    assert code == 1
    assert lines[0] == f"Loaded digest sha256:{digest} for file://{changed}"
    assert lines[-1] == (f"✗ Verification failed: subject-digest: expected sha256:{digest}, got no "
                         "subject with this digest (the provenance covers artifact; the artifact's "
                         "bytes differ)")


# --- gh's other rules on the same vector -------------------------------------------------------

@pytest.mark.parametrize("flags", [
    ("--signer-repo", "too-legit/attest"),
    ("--signer-repo", "Too-Legit/Attest"),  # gh's repository patterns ignore case
    ("--signer-workflow", "too-legit/attest/.github/workflows/integration.yml"),
    ("--signer-workflow", "github.com/too-legit/attest/.github/workflows/integration.yml"),
    ("--signer-workflow", "too-legit/attest/.github/workflows/integration.yml@refs/heads/main"),
    ("--source-ref", "refs/heads/main", "--source-digest", COMMIT, "--signer-digest", COMMIT),
    ("--deny-self-hosted-runners",),
    ("--cert-oidc-issuer", HAMMER.upper().replace("HTTPS", "https")),  # issuers compared as gh does
])
def test_gh_rules_the_vector_meets(capsys: pytest.CaptureFixture[str], flags: tuple[str, ...]) -> None:
    issuer = () if "--cert-oidc-issuer" in flags else ("--cert-oidc-issuer", HAMMER)
    code, lines, _ = run(capsys, "--owner", "too-legit", *issuer, *flags)
    assert code == 0, lines[-1]


@pytest.mark.parametrize(("flags", "failure"), [
    (("--signer-repo", "too-legit/attestations"),
     f"cert-identity: expected a SAN matching (?i)^https://github\\.com/too-legit/attestations/, got "
     f"{SAN} ({OTHER_SIGNER})"),
    (("--signer-workflow", "too-legit/attest/.github/workflows/integration.yml@refs/heads/dev"),
     "cert-identity: expected a SAN matching ^https://github\\.com/too-legit/attest/\\.github/"
     f"workflows/integration\\.yml@refs/heads/dev$, got {SAN} ({OTHER_SIGNER})"),
    (("--signer-workflow", "too-legit/attest/.github/workflows/integration"),  # a prefix only
     "cert-identity: expected a SAN matching ^https://github\\.com/too-legit/attest/\\.github/"
     f"workflows/integration(@(refs/.*|[0-9a-fA-F]+))?$, got {SAN} ({OTHER_SIGNER})"),
    (("--source-ref", "refs/heads/dev"),
     "source-ref: expected refs/heads/dev, got refs/heads/main (the certificate records another "
     "source ref)"),
    (("--source-digest", "0" * 40),
     f"source-digest: expected {'0' * 40}, got {COMMIT} (the certificate records another source "
     "commit)"),
    (("--signer-digest", "0" * 40),
     f"signer-digest: expected {'0' * 40}, got {COMMIT} (the certificate records another signer "
     "commit)"),
    (("--predicate-type", "https://spdx.dev/Document/v2.3"),
     "predicate-type: expected https://spdx.dev/Document/v2.3, got https://slsa.dev/provenance/v1 "
     "(the attestation has another predicate type)"),
    (("--hostname", "acme.ghe.com", "--cert-oidc-issuer", HAMMER),
     f"cert-identity: expected a SAN matching (?i)^https://acme\\.ghe\\.com/too-legit/, got {SAN} "
     f"({OTHER_SIGNER})"),
])
def test_gh_rules_the_vector_breaks(capsys: pytest.CaptureFixture[str], flags: tuple[str, ...],
                                    failure: str) -> None:
    issuer = () if "--cert-oidc-issuer" in flags else ("--cert-oidc-issuer", HAMMER)
    code, lines, _ = run(capsys, "--owner", "too-legit", *issuer, *flags)
    assert code == 1
    assert lines[-1] == f"✗ Verification failed: {failure}"


def test_a_tenant_host_expects_the_tenant_issuer(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "--owner", "too-legit", "--hostname", "acme.ghe.com")
    assert code == 1
    assert lines[-1] == ("✗ Verification failed: certificate-issuer: expected "
                         f"https://token.actions.acme.ghe.com, got {HAMMER} (certificate OIDC issuer "
                         f"is '{HAMMER}', expected 'https://token.actions.acme.ghe.com')")


def test_sha512_matches_no_subject_of_this_attestation(capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    sha512 = hashlib.sha512(ARTIFACT.read_bytes()).hexdigest()
    code, lines, _ = run(capsys, "--owner", "too-legit", "--cert-oidc-issuer", HAMMER,
                         "--digest-alg", "sha512")
    assert code == 1
    assert lines[0] == f"Loaded digest sha512:{sha512} for file://{ARTIFACT}"
    assert lines[-1] == (f"✗ Verification failed: subject-digest: expected sha512:{sha512}, got no "
                         "subject with this digest (the provenance covers artifact; the artifact's "
                         "bytes differ)")


def test_format_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, out = run(capsys, "--owner", "too-legit", "--cert-oidc-issuer", HAMMER,
                           "--format", "json")
    assert code == 0
    assert lines[-2:] == ["✓ Verification succeeded!", ""]
    [entry] = json.loads(out)
    assert entry["attestation"]["bundle"] == json.loads(BUNDLE.read_bytes())
    result = entry["verificationResult"]
    assert result["statement"]["subject"] == [{"name": "artifact", "digest": {"sha256": SHA256}}]
    certificate = result["signature"]["certificate"]
    assert (certificate["sourceRepositoryDigest"], certificate["sourceRepositoryRef"],
            certificate["issuer"], certificate["subjectAlternativeName"],
            certificate["runnerEnvironment"]) == (COMMIT, "refs/heads/main", HAMMER, SAN, "github-hosted")
    assert result["verifiedTimestamps"] == [{"type": "Tlog", "uri": "", "timestamp": "2024-09-11T19:19:03Z"}]
    assert entry["slsaModelsReport"]["passed"] is True


def test_json_lines_with_several_bundles(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """gh reads `gh attestation download`'s JSON lines: passes when one attestation verifies."""
    line = json.dumps(json.loads(BUNDLE.read_bytes()))
    other = json.loads(line)
    other["dsseEnvelope"]["signatures"][0]["sig"] = "MEUCIQ" + "A" * 90
    bundles = tmp_path / f"sha256:{SHA256}.jsonl"
    bundles.write_text(json.dumps(other) + "\n" + line + "\n")
    code = main(["verify-attestation", str(ARTIFACT), "--bundle", str(bundles), "--owner", "too-legit",
                 "--cert-oidc-issuer", HAMMER])
    lines = capsys.readouterr().err.splitlines()
    assert code == 0
    assert lines[1] == f"Loaded 2 attestations from {bundles}"
    bundles.write_text(json.dumps(other) + "\n" + json.dumps(other) + "\n")
    code = main(["verify-attestation", str(ARTIFACT), "--bundle", str(bundles), "--owner", "too-legit",
                 "--cert-oidc-issuer", HAMMER])
    lines = capsys.readouterr().err.splitlines()
    assert code == 1
    assert lines[-1] == ("✗ Verification failed: none of 2 attestations verified; the first: signature: expected"
                         " a valid DSSE signature by the certificate's key, got invalid (DSSE: invalid signature)")


# --- unusable input: exit 2, one line --------------------------------------------------------

@pytest.mark.parametrize(("flags", "line"), [
    ((), "error: one of the arguments -o/--owner -R/--repo is required "
         "(see slsa-models verify-attestation --help)"),
    (("--owner", "too-legit", "--repo", "too-legit/attest"),
     "error: argument -R/--repo: not allowed with argument -o/--owner "
     "(see slsa-models verify-attestation --help)"),
    (("--owner", "too-legit", "--signer-repo", "a/b", "--cert-identity", SAN),
     "error: argument --cert-identity: not allowed with argument --signer-repo "
     "(see slsa-models verify-attestation --help)"),
    (("--repo", "too-legit"), "error: invalid value provided for repo: too-legit"),
    (("--owner", "too-legit", "--signer-repo", "a/b/c"),
     "error: invalid value provided for signer-repo: a/b/c"),
    (("--owner", "too-legit", "--hostname", "github.example.com"),
     "error: hostname 'github.example.com' is not supported: github.com or a GHE.com tenant "
     "(NAME.ghe.com); GitHub Enterprise Server has no artifact attestations"),
    (("--owner", "too-legit", "--cert-identity-regex", "(x"),
     "error: cert identity regex '(x' is not a valid regular expression: missing ), "
     "unterminated subpattern at position 0"),
])
def test_unusable_flags(capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], line: str) -> None:
    with pytest.raises(SystemExit) if line.endswith("--help)") else _no_exit() as exited:
        code = main(["verify-attestation", str(ARTIFACT), "--bundle", str(BUNDLE), *flags])
    code = exited.value.code if exited is not None else code
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_an_unknown_digest_algorithm(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["verify-attestation", str(ARTIFACT), "--bundle", str(BUNDLE), "--owner", "too-legit",
              "--digest-alg", "md5"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: argument -d/--digest-alg: invalid choice: 'md5' (choose from 'sha256', 'sha512')"
        " (see slsa-models verify-attestation --help)"
    ]


class _no_exit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


def test_unusable_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    not_a_bundle = tmp_path / "bundle.json"
    not_a_bundle.write_text("[]")
    for argv, line in (
        ([str(tmp_path / "missing"), "--bundle", str(BUNDLE)], f"error: {tmp_path / 'missing'}: no such file"),
        ([str(ARTIFACT), "--bundle", str(not_a_bundle)],
         f"error: {not_a_bundle}: a JSON list, not a Sigstore bundle object"),
        (["oci://ghcr.io/acme/model", "--bundle", str(BUNDLE)],
         "error: oci://ghcr.io/acme/model: OCI images are not supported offline; give a file"),
    ):
        assert main(["verify-attestation", *argv, "--owner", "too-legit"]) == 2
        assert capsys.readouterr().err.splitlines() == [line]


# --- the library -----------------------------------------------------------------------------

@pytest.mark.parametrize(("rules", "failed"), [
    ({"owner": "too-legit", "cert_oidc_issuer": HAMMER, "cert_identity": SAN}, []),
    ({"repo": "too-legit/attest", "cert_oidc_issuer": HAMMER,
      "cert_identity_regex": "^https://github.com/too-legit/attest"}, []),
    ({"owner": "too-legit", "cert_oidc_issuer": HAMMER}, []),
    ({"source_uri": "github.com/too-legit/attest", "cert_oidc_issuer": HAMMER}, []),
    ({"owner": "too-legit"}, ["certificate-issuer"]),
    ({"owner": "someone-else", "cert_oidc_issuer": HAMMER}, ["cert-identity", "source-owner"]),
    ({"repo": "too-legit/other", "cert_oidc_issuer": HAMMER}, ["cert-identity", "source-uri"]),
])
def test_the_table_through_the_library(rules: dict[str, str], failed: list[str]) -> None:
    report = verify_artifacts(BUNDLE, [Artifact.from_path(ARTIFACT)], Policy(AttestationPolicy(**rules)))
    assert [check.name for check in report.failed_checks()] == failed
    assert report.passed is (not failed)
    if not failed:
        assert (report.kind, report.builder_id, report.commit) == ("github-attestation", SAN, COMMIT)


def test_the_library_on_a_changed_artifact() -> None:
    report = verify_artifacts(BUNDLE, [Artifact.from_digest("0" * 64, name="changed")],
                              Policy(AttestationPolicy(owner="too-legit", cert_oidc_issuer=HAMMER)))
    assert [check.name for check in report.failed_checks()] == ["subject-digest"]


# --- the gate: a [github-attestation] policy file ---------------------------------------------

POLICY = f"""version = 2
accept-unnamed = true   # the vector's subject is "artifact": it names no model

[github-attestation]
owner = "too-legit"
cert-oidc-issuer = "{HAMMER}"
signer-workflow = "too-legit/attest/.github/workflows/integration.yml"
source-ref = "refs/heads/main"
source-digest = "{COMMIT}"
deny-self-hosted-runners = true
"""


def gate_verdict(tmp_path: Path, store_uri: str, policy_text: str) -> deploy.Verdict:
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(policy_text)
    store = open_store(store_uri)
    model = tmp_path / "model" / "artifact.bin"
    model.parent.mkdir(exist_ok=True)
    shutil.copyfile(ARTIFACT, model)
    key = publish_model(store, "attested", model).key
    publish_provenance(store, key, BUNDLE)
    gate = deploy.Gate(store, "attested", load_policy(policy_path))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    candidate = gate.find()
    return gate.verify(candidate, gate.fetch_evidence(candidate), gate.fetch_model(candidate, work))


def test_the_gate_passes_a_github_attestation_policy(tmp_path: Path, file_store_uri: str) -> None:
    verdict = gate_verdict(tmp_path, file_store_uri, POLICY)
    assert verdict.passed, verdict.reason
    [report] = verdict.reports
    assert report is not None and report.kind == "github-attestation"
    assert {"cert-identity", "source-owner", "source-ref", "source-digest", "runner-environment",
            "model-name", "model-digest"} <= {check.name for check in report.checks}


@pytest.mark.parametrize(("change", "check"), [
    (lambda text: text.replace(f'cert-oidc-issuer = "{HAMMER}"\n', ""), "certificate-issuer"),
    (lambda text: text.replace('owner = "too-legit"', 'owner = "someone-else"'), "source-owner"),
    (lambda text: text.replace("refs/heads/main", "refs/heads/release"), "source-ref"),
    (lambda text: text.replace("integration.yml", "release.yml"), "cert-identity"),
    (lambda text: text.replace("accept-unnamed = true", "accept-unnamed = false"), "model-name"),
])
def test_the_gate_refuses_what_the_policy_file_does_not_trust(
        tmp_path: Path, file_store_uri: str, change: object, check: str) -> None:
    verdict = gate_verdict(tmp_path, file_store_uri, change(POLICY))  # type: ignore[operator]
    assert not verdict.passed
    assert verdict.failed_check() == check
