"""Policy files (TOML, version 2): the examples, the real GitHub vectors, a local key, and
every refusal."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.digest import sha256_file
from slsa_models.errors import InputError
from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.statement import build_statement
from slsa_models.verify import (
    Artifact,
    AttestationPolicy,
    GeneratorPolicy,
    LocalBuilderPolicy,
    Policy,
    load_policy,
    verify_artifacts,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "policies"
VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
PUSH_V14 = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
GENERATOR = ("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
             "generator_generic_slsa3.yml")
COMMIT = "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
LOCAL_BUILDER = "https://ci.example.com/builders/gpu-box"
TRUST_THE_VECTORS = f"""\
version = 2

[slsa-github-generator]
source-uri = "{SOURCE}"
builder-id = "{GENERATOR}@v2.1.0"
source-versioned-tag = "v14"
triggers = ["push"]
"""


@pytest.fixture
def local_build(tmp_path: Path) -> dict[str, Path]:
    """A key pair, an artifact and its key-signed provenance, under tmp_path/build."""
    build = tmp_path / "build"
    files = {"key": build / "builder.pem", "pub": build / "builder.pub.pem",
             "other": build / "other.pub.pem", "artifact": build / "model.pth",
             "provenance": build / "model.pth.intoto.jsonl"}
    generate_key_pair(files["key"], files["pub"])
    generate_key_pair(build / "other.pem", files["other"])
    files["artifact"].write_bytes(b"state dict")
    now = datetime.now(timezone.utc)
    statement = build_statement([("model.pth", sha256_file(files["artifact"]))],
                                builder_id=LOCAL_BUILDER, external_parameters={},
                                internal_parameters={}, started_on=now, finished_on=now)
    files["provenance"].write_text(key_signed_bundle(load_private_key(files["key"]), statement))
    return files


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def cli(capsys: pytest.CaptureFixture[str], artifact: Path, provenance: Path,
        policy: Path) -> tuple[int, str, str]:
    code = main(["verify-artifact", str(artifact), "--provenance-path", str(provenance),
                 "--policy", str(policy)])
    out, err = capsys.readouterr()
    return code, out, err


# --- the examples ----------------------------------------------------------------------------

def test_there_is_an_example_per_provenance_kind() -> None:
    names = {path.name for path in EXAMPLES.glob("*.toml")}
    assert {"slsa-github-generator.toml", "github-attestation.toml", "local-builder.toml",
            "deployment.toml"} <= names
    for path in EXAMPLES.glob("*.toml"):
        assert path.read_text().count("\nversion = 2\n") == 1, path.name


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_parses(example: str, monkeypatch: pytest.MonkeyPatch,
                              tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # key paths are relative to the file, not the working directory
    policy = load_policy(EXAMPLES / example)
    assert isinstance(policy, Policy)
    assert policy.kinds


def kind(policy: Policy, name: str) -> object:
    found = policy.for_kind(name)
    assert found is not None, f"the policy has no {name} table"
    return found


def test_what_the_examples_say() -> None:
    generator_file = load_policy(EXAMPLES / "slsa-github-generator.toml")
    assert generator_file.kind_names == (KIND_GENERATOR,)
    generator = kind(generator_file, KIND_GENERATOR)
    assert isinstance(generator, GeneratorPolicy)
    assert (generator.source_uri, generator.source_versioned_tag, generator.triggers) == (
        "github.com/acme/models", "v1", ("push", "release"))
    assert generator.builder_id == f"{GENERATOR}@v2.1.0" and generator.trusted_root is None
    assert (generator_file.require, generator_file.accept_unnamed, generator_file.deployers) == (
        (), False, ())

    attestation_file = load_policy(EXAMPLES / "github-attestation.toml")
    assert attestation_file.kind_names == (KIND_GITHUB_ATTESTATION,)
    attestation = kind(attestation_file, KIND_GITHUB_ATTESTATION)
    assert isinstance(attestation, AttestationPolicy)
    assert attestation.builder_id == "https://github.com/acme/models/.github/workflows/train.yml"
    assert (attestation.source_branch, attestation.triggers) == ("main", ("workflow_dispatch",))
    assert dict(attestation.build_workflow_inputs) == {"model-format": "pytorch_model.pth",
                                                       "epochs": "5"}

    local_file = load_policy(EXAMPLES / "local-builder.toml")
    assert local_file.kind_names == (KIND_LOCAL,)
    local = kind(local_file, KIND_LOCAL)
    assert isinstance(local, LocalBuilderPolicy)
    [key] = local.keys
    assert (key.name, key.builder_id, key.source_uri) == ("gpu-box", LOCAL_BUILDER,
                                                          "github.com/acme/models")
    assert key.expires == datetime(2028, 12, 31, tzinfo=timezone.utc)

    deployment = load_policy(EXAMPLES / "deployment.toml")
    assert deployment.kind_names == (KIND_GENERATOR, KIND_LOCAL)
    assert deployment.require == (KIND_GENERATOR, KIND_LOCAL) and deployment.accept_unnamed is False
    deployed_generator = kind(deployment, KIND_GENERATOR)
    assert isinstance(deployed_generator, GeneratorPolicy)
    assert (deployed_generator.source_uri, deployed_generator.source_versioned_tag) == (
        "github.com/acme/models", "v1")
    deployed_local = kind(deployment, KIND_LOCAL)
    assert isinstance(deployed_local, LocalBuilderPolicy)
    assert [k.hint for k in deployed_local.keys] == [key.hint]
    [deployer] = deployment.deployers
    assert deployer.name == "stack" and deployer.hint != key.hint  # a key of its own
    assert (deployer.builder_id, deployer.source_uri) == (None, None)
    # require: both kinds must pass, one alone is not enough
    assert deployment.combine([KIND_GENERATOR, KIND_LOCAL]) is None
    assert deployment.combine([KIND_GENERATOR]) == (
        "the policy requires slsa-github-generator and local-builder; no evidence of "
        "local-builder passed")


EXAMPLE_VERDICTS = {
    # the examples trust acme/models, not the vectors' repository (slsa-framework/example-package)
    "slsa-github-generator.toml":
        "source-uri: expected git+https://github.com/acme/models, got "
        "git+https://github.com/slsa-framework/example-package in the certificate "
        "(built from another repository)",
    "deployment.toml":
        "source-uri: expected git+https://github.com/acme/models, got "
        "git+https://github.com/slsa-framework/example-package in the certificate "
        "(built from another repository)",
    "oms.toml":
        "source-uri: expected git+https://github.com/acme/models, got "
        "git+https://github.com/slsa-framework/example-package in the certificate "
        "(built from another repository)",
    # the generator vector is evidence of a kind these examples do not trust
    "github-attestation.toml":
        "evidence-kind: expected github-attestation, got slsa-github-generator (the policy does "
        "not trust slsa-github-generator evidence (add a [slsa-github-generator] table to trust it))",
    # (the hint after it is checked in test_policy_rules: it names a table files refuse)
    "local-builder.toml":
        "evidence-kind: expected local-builder, got Sigstore-signed provenance from GitHub (the policy does "
        "not trust slsa-github-generator or github-attestation evidence (add a [slsa-github-generator] or "
        "[github-attestation] table to trust it))",
}


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_works_with_the_cli(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    """On the real generator vector every example parses, then gives a clean FAIL (exit 1)
    naming the check, never a policy error."""
    code, out, err = cli(capsys, BINARY, PUSH_V14, EXAMPLES / example)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == f"FAILED: SLSA verification failed: {EXAMPLE_VERDICTS[example]}"


# --- the real GitHub vectors through a policy file ------------------------------------------

def test_the_real_vectors_verify_with_a_policy_file(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(tmp_path, TRUST_THE_VECTORS)
    report = verify_artifacts(PUSH_V14, [Artifact.from_path(BINARY)], load_policy(policy))
    assert report.passed, [c.message for c in report.failed_checks()]
    assert "trigger" in [c.name for c in report.checks]
    code, out, err = cli(capsys, BINARY, PUSH_V14, policy)
    assert (code, out) == (0, "")
    assert err == (f'Verified build using builder "{GENERATOR}@refs/tags/v2.1.0" at commit {COMMIT}\n'
                   f"Verifying artifact {BINARY}: PASSED\n\nPASSED: SLSA verification passed\n")


@pytest.mark.parametrize(
    ("vector", "rules", "reason"),
    [
        ("push-v14", 'source-tag = "v13"', "source-tag: expected v13, got v14 (built from another tag)"),
        ("push-v14", 'source-versioned-tag = "v15"',
         "source-versioned-tag: expected v15, got v14 (major version expected 'v15', got 'v14')"),
        ("workflow_dispatch", 'source-branch = "dev"',
         "source-branch: expected dev, got main (built from another branch)"),
        ("push-v14", 'triggers = ["release"]',
         "trigger: expected release, got push (the build was started by another event)"),
        ("workflow_dispatch", '[slsa-github-generator.build-workflow-inputs]\nname = "value"',
         "workflow-inputs: expected name=value, got no inputs (the provenance records no workflow inputs)"),
        ("push-v14", f'builder-id = "{GENERATOR}@v2.0.0"',
         f"builder-id: expected {GENERATOR}@v2.0.0, got {GENERATOR}@refs/tags/v2.1.0"
         " (the provenance was signed by another workflow)"),
    ],
)
def test_policy_file_rules_mean_what_the_flags_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], vector: str, rules: str, reason: str,
) -> None:
    policy = write(tmp_path, f'version = 2\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
                             f'{rules}\n')
    code, _, err = cli(capsys, BINARY, VECTORS / f"binary-linux-amd64-{vector}.intoto.jsonl", policy)
    assert code == 1
    assert err.splitlines()[-1] == f"FAILED: SLSA verification failed: {reason}"


# --- one file trusting GitHub and a local key ---------------------------------------------------

def test_one_file_trusts_the_generator_and_a_local_key(
    tmp_path: Path, local_build: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    policy = write(tmp_path, TRUST_THE_VECTORS + f"""
[local-builder.gpu-box]
builder-id = "{LOCAL_BUILDER}"
public-key = "build/builder.pub.pem"
expires = 2999-01-01
""")
    assert cli(capsys, BINARY, PUSH_V14, policy)[0] == 0
    code, out, err = cli(capsys, local_build["artifact"], local_build["provenance"], policy)
    assert (code, out) == (0, ""), err
    assert err.splitlines()[0] == f'Verified build using builder "{LOCAL_BUILDER}"'
    # the same file with another key: the local build is rejected, GitHub still passes
    policy.write_text(policy.read_text().replace("build/builder.pub.pem", "build/other.pub.pem"))
    code, _, err = cli(capsys, local_build["artifact"], local_build["provenance"], policy)
    assert code == 1
    assert err.splitlines()[-1] == (
        "FAILED: SLSA verification failed: signature: expected a DSSE signature by a trusted key "
        "(gpu-box), got no trusted key verifies it (signed with another key, or the signed "
        "payload was changed)")
    assert cli(capsys, BINARY, PUSH_V14, policy)[0] == 0


def test_an_expired_entry_in_the_file(tmp_path: Path, local_build: dict[str, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(tmp_path, f"""version = 2
[local-builder.gpu-box]
builder-id = "{LOCAL_BUILDER}"
public-key = "build/builder.pub.pem"
expires = "2020-01-01T00:00:00Z"
""")
    code, _, err = cli(capsys, local_build["artifact"], local_build["provenance"], policy)
    assert code == 1
    assert re.fullmatch(
        r"FAILED: SLSA verification failed: key-expiry: expected trust in key gpu-box until "
        r"2020-01-01T00:00:00Z, got verified at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(the policy stopped "
        r"trusting key gpu-box on 2020-01-01T00:00:00Z; renew the entry or rotate the key\)",
        err.splitlines()[-1]), err


def test_inline_pem_and_paths_relative_to_the_file(
    tmp_path: Path, local_build: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    pem = local_build["pub"].read_text()
    inline = write(tmp_path, f'version = 2\n[local-builder.a]\nbuilder-id = "{LOCAL_BUILDER}"\n'
                             f'public-key-pem = """\n{pem}"""\n', "inline.toml")
    (tmp_path / "policies").mkdir()
    relative = write(tmp_path / "policies", f'version = 2\n[local-builder.a]\n'
                                            f'builder-id = "{LOCAL_BUILDER}"\n'
                                            'public-key = "../build/builder.pub.pem"\n')
    monkeypatch.chdir(local_build["pub"].parent)
    artifact = [Artifact.from_path(local_build["artifact"])]
    for path in (inline, relative):
        policy = load_policy(path)
        assert verify_artifacts(local_build["provenance"], artifact, policy).passed


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-03-01", datetime(2027, 3, 1, tzinfo=timezone.utc)),
        ('"2027-03-01"', datetime(2027, 3, 1, tzinfo=timezone.utc)),
        ("2027-03-01T12:30:00+02:00", datetime(2027, 3, 1, 10, 30, tzinfo=timezone.utc)),
        ('"2027-03-01T12:30:00Z"', datetime(2027, 3, 1, 12, 30, tzinfo=timezone.utc)),
    ],
)
def test_expiry_forms(tmp_path: Path, local_build: dict[str, Path], value: str,
                      expected: datetime) -> None:
    policy = write(tmp_path, 'version = 2\n[local-builder.a]\nbuilder-id = "x"\n'
                             f'public-key = "build/builder.pub.pem"\nexpires = {value}\n')
    local = load_policy(policy).for_kind(KIND_LOCAL)
    assert isinstance(local, LocalBuilderPolicy)
    assert local.keys[0].expires == expected


def test_a_github_only_policy_fails_key_signed_provenance(
    tmp_path: Path, local_build: dict[str, Path],
) -> None:
    policy = load_policy(write(tmp_path, TRUST_THE_VECTORS))
    report = verify_artifacts(local_build["provenance"],
                              [Artifact.from_path(local_build["artifact"])], policy)
    assert [c.message for c in report.checks] == [
        "evidence-kind: expected slsa-github-generator, got key-signed provenance (a local "
        "builder) (the policy does not trust local-builder evidence (add a [local-builder.NAME] table "
        "to trust it))"]
    assert (report.passed, report.builder_id) == (False, None)


# --- refusals --------------------------------------------------------------------------------

GENERATOR_TABLE = 'version = 2\n[slsa-github-generator]\nsource-uri = "github.com/acme/models"\n'
ATTESTATION_TABLE = 'version = 2\n[github-attestation]\nsource-uri = "github.com/acme/models"\n'
LOCAL = 'version = 2\n[local-builder.gpu]\nbuilder-id = "b"\npublic-key = "build/builder.pub.pem"\n'
KEY_ONLY = '[deployer.stack]\npublic-key = "build/other.pub.pem"\n'
GITHUB_KEYS = ("source-uri, source-tag, source-versioned-tag, source-branch, builder-id, "
               "build-workflow-inputs, trusted-root, triggers")
ATTESTATION_KEYS = (GITHUB_KEYS + ", owner, repo, hostname, signer-repo, signer-workflow, "
                    "cert-identity, cert-identity-regex, cert-oidc-issuer, source-ref, source-digest, "
                    "signer-digest, deny-self-hosted-runners, predicate-type")
LOCAL_KEYS = "source-uri, builder-id, public-key, public-key-pem, expires"
INVALID: dict[str, tuple[str, str]] = {
    "unknown top-level key": (
        GENERATOR_TABLE.replace("version = 2\n", 'version = 2\ncolour = "blue"\n'),
        "unknown key 'colour' at the top level; expected one of: version, require, "
        "accept-unnamed, slsa-github-generator, github-attestation, local-builder, oms, deployer"),
    "a version 1 table": (
        'version = 2\n[github]\nsource-uri = "github.com/acme/models"\n',
        "unknown key 'github' at the top level; expected one of: version, require, "
        "accept-unnamed, slsa-github-generator, github-attestation, local-builder, oms, deployer"),
    "a trusted root at the top level": (
        'trusted-root = "root.json"\n' + GENERATOR_TABLE,
        "unknown key 'trusted-root' at the top level; expected one of: version, require, "
        "accept-unnamed, slsa-github-generator, github-attestation, local-builder, oms, deployer"),
    "unknown key in the generator table": (
        GENERATOR_TABLE + 'source_tag = "v1"\n',
        f"unknown key 'source_tag' in [slsa-github-generator]; expected one of: {GITHUB_KEYS}"),
    "unknown key in the attestation table": (
        ATTESTATION_TABLE + 'public-key = "build/builder.pub.pem"\n',
        f"unknown key 'public-key' in [github-attestation]; expected one of: {ATTESTATION_KEYS}"),
    "an attestation-only rule in the generator table": (  # generator provenance cannot check it
        GENERATOR_TABLE + 'owner = "acme"\n',
        f"unknown key 'owner' in [slsa-github-generator]; expected one of: {GITHUB_KEYS}"),
    "digest-alg in the attestation table (the gate hashes with SHA-256)": (
        ATTESTATION_TABLE + 'digest-alg = "sha512"\n',
        f"unknown key 'digest-alg' in [github-attestation]; expected one of: {ATTESTATION_KEYS}"),
    "two sources in the attestation table": (
        ATTESTATION_TABLE + 'owner = "acme"\n',
        "[github-attestation] give one of owner, repo or source URI, not owner and source_uri"),
    "two signers in the attestation table": (
        ATTESTATION_TABLE + 'signer-repo = "acme/builders"\ncert-identity = "https://x"\n',
        "[github-attestation] signer-repo and cert-identity each name the signer: give only one"),
    "deny-self-hosted-runners as a string": (
        ATTESTATION_TABLE + 'deny-self-hosted-runners = "yes"\n',
        "[github-attestation] deny-self-hosted-runners: expected true or false, got a string"),
    "an unsupported host": (
        'version = 2\n[github-attestation]\nrepo = "acme/models"\nhostname = "github.example.com"\n',
        "[github-attestation] hostname 'github.example.com' is not supported: github.com or a "
        "GHE.com tenant (NAME.ghe.com); GitHub Enterprise Server has no artifact attestations"),
    "an invalid identity regex": (
        ATTESTATION_TABLE + 'cert-identity-regex = "(unclosed"\n',
        "[github-attestation] cert identity regex '(unclosed' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0"),
    "unknown key in a local table": (
        LOCAL + 'expiry = 2027-01-01\n',
        f"unknown key 'expiry' in [local-builder.gpu]; expected one of: {LOCAL_KEYS}"),
    "bad semver": (
        GENERATOR_TABLE + 'source-versioned-tag = "latest"\n',
        "[slsa-github-generator] source versioned tag 'latest' is not a semantic version; "
        "expected vMAJOR, vMAJOR.MINOR or vMAJOR.MINOR.PATCH"),
    "conflicting ref rules": (
        ATTESTATION_TABLE + 'source-tag = "v1.0.0"\nsource-versioned-tag = "v1"\n',
        "[github-attestation] sets both source-tag and source-versioned-tag: conflicting ref "
        "rules; keep one (an exact tag, or a semantic-version match)"),
    "missing key file": (
        LOCAL.replace("builder.pub.pem", "missing.pem"),
        "[local-builder.gpu] public-key: {dir}/build/missing.pem: no such key file"),
    "unreadable key file": (
        LOCAL.replace("build/builder.pub.pem", "build"),
        "[local-builder.gpu] public-key: {dir}/build: is a directory, not a key file"),
    "not a public key": (
        LOCAL.replace("builder.pub.pem", "builder.pem"),
        "[local-builder.gpu] public-key: {dir}/build/builder.pem: not a PEM public key"),
    "bad inline PEM": (
        'version = 2\n[local-builder.gpu]\nbuilder-id = "b"\n'
        'public-key-pem = "-----BEGIN PUBLIC KEY-----"\n',
        "[local-builder.gpu] public-key-pem: not a PEM public key"),
    "two keys": (
        LOCAL + 'public-key-pem = "x"\n',
        "[local-builder.gpu] needs exactly one of public-key (a PEM file) and public-key-pem "
        "(the PEM text)"),
    "no key": (
        'version = 2\n[local-builder.gpu]\nbuilder-id = "b"\n',
        "[local-builder.gpu] needs exactly one of public-key (a PEM file) and public-key-pem "
        "(the PEM text)"),
    "no builder id": (
        'version = 2\n[local-builder.gpu]\npublic-key = "build/builder.pub.pem"\n',
        "[local-builder.gpu] needs builder-id: key-signed provenance has no default trusted "
        "builder"),
    "bad expiry date": (
        LOCAL + 'expires = "next year"\n',
        "[local-builder.gpu] expires 'next year' is not a date; expected a date like 2027-01-31 "
        "or a date-time like 2027-01-31T00:00:00Z"),
    "expiry without a time zone": (
        LOCAL + "expires = 2027-01-01T00:00:00\n",
        "[local-builder.gpu] expires 2027-01-01T00:00:00 has no time zone; write "
        "2027-01-01T00:00:00Z (UTC) or a date like 2027-01-01"),
    "expiry that is a number": (
        LOCAL + "expires = 2027\n",
        "[local-builder.gpu] expires: expected a date or a date-time, got an integer"),
    "the same key twice": (
        LOCAL + LOCAL.replace("version = 2\n", "").replace("[local-builder.gpu]",
                                                          "[local-builder.laptop]"),
        "trusted keys 'gpu' and 'laptop' are the same public key; trust it once (one key signs "
        "for one builder)"),
    "the same deployer key twice": (
        LOCAL + KEY_ONLY + KEY_ONLY.replace("stack", "backup"),
        "trusted keys 'stack' and 'backup' are the same public key; trust it once (one key signs "
        "for one builder)"),
    "a key entry that is not a table": (
        'version = 2\n[local-builder]\ngpu = "build/builder.pub.pem"\n',
        "local-builder.gpu must be a table ([local-builder.gpu]), got a string"),
    "a local-builder table without key tables": (
        'version = 2\n[local-builder]\n',
        "local-builder must hold one table per key, e.g. [local-builder.NAME], got an empty table"),
    "local-builder that is not a table": (
        'version = 2\nlocal-builder = ["build/builder.pub.pem"]\n',
        "local-builder must hold one table per key, e.g. [local-builder.NAME], got an array"),
    "a generator table that is not a table": (
        'version = 2\nslsa-github-generator = "github.com/acme/models"\n',
        "slsa-github-generator must be a table ([slsa-github-generator]), got a string"),
    "generator without a source": (
        'version = 2\n[slsa-github-generator]\nsource-branch = "main"\n',
        "[slsa-github-generator] needs source-uri: the repository GitHub builds must come from, e.g. "
        'source-uri = "github.com/OWNER/REPO"'),
    "an attestation without a source": (
        'version = 2\n[github-attestation]\nsource-branch = "main"\n',
        "[github-attestation] needs one of owner, repo or source-uri: where the attestation must "
        'come from, e.g. repo = "OWNER/REPO"'),
    "a source that is not on GitHub": (
        'version = 2\n[slsa-github-generator]\nsource-uri = "gitlab.com/a/b"\n',
        "[slsa-github-generator] source URI 'gitlab.com/a/b' is not a GitHub repository; expected "
        "github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"),
    "a bad builder id": (
        GENERATOR_TABLE + 'builder-id = "a@b@c"\n',
        "[slsa-github-generator] builder id 'a@b@c' is malformed; expected NAME, NAME@vX.Y.Z or "
        "NAME@refs/tags/vX.Y.Z"),
    "an empty branch": (
        GENERATOR_TABLE + 'source-branch = ""\n',
        "[slsa-github-generator] source-branch: expected a non-empty string, got an empty string"),
    "a tag that is a number": (
        GENERATOR_TABLE + "source-tag = 14\n",
        "[slsa-github-generator] source-tag: expected a non-empty string, got an integer"),
    "a workflow input that is a number": (
        GENERATOR_TABLE + "[slsa-github-generator.build-workflow-inputs]\nepochs = 5\n",
        "[slsa-github-generator.build-workflow-inputs] epochs: expected a string, got an integer "
        "(workflow inputs are strings: quote it)"),
    "workflow inputs that are not a table": (
        ATTESTATION_TABLE + 'build-workflow-inputs = "epochs=5"\n',
        "[github-attestation] build-workflow-inputs: expected a table of names and string values, "
        "got a string"),
    "triggers that are a string": (
        ATTESTATION_TABLE + 'triggers = "push"\n',
        '[github-attestation] triggers: expected an array of GitHub event names, e.g. triggers = '
        '["push", "release"]'),
    "a local source that is not on GitHub": (
        LOCAL + 'source-uri = "gitlab.com/a/b"\n',
        "[local-builder.gpu] source URI 'gitlab.com/a/b' is not a GitHub repository; expected "
        "github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"),
    "a future version": (GENERATOR_TABLE.replace("version = 2", "version = 3"),
                         "version 3 is not supported; this slsa-models reads version = 2"),
    "no version": (GENERATOR_TABLE.replace("version = 2\n", ""),
                   "version missing is not supported; this slsa-models reads version = 2"),
    "a version that is a string": (GENERATOR_TABLE.replace("version = 2", 'version = "2"'),
                                   "version '2' is not supported; this slsa-models reads version = 2"),
    "a version 1 file": (
        'version = 1\n[github]\nsource-uri = "github.com/acme/models"\n',
        "version 1 policy files are not read any more: rename [github] to [slsa-github-generator] "
        "(copy it to [github-attestation] to trust GitHub attestations too) and [local.NAME] to "
        "[local-builder.NAME], move trusted-root into those tables, then set version = 2"),
    "a missing trusted root": (GENERATOR_TABLE + 'trusted-root = "root.json"\n',
                               "[slsa-github-generator] trusted-root: {dir}/root.json: no such file"),
    "trusts nothing": ("version = 2\n",
                       "trusts nothing: add a [slsa-github-generator], [github-attestation] or "
                       "[local-builder.NAME] table"),
    "trusts only deployers": ("version = 2\n" + KEY_ONLY,
                              "trusts nothing: add a [slsa-github-generator], [github-attestation] "
                              "or [local-builder.NAME] table"),
    "not TOML": ("[slsa-github-generator\n",
                 "not valid TOML: Expected ']' at the end of a table declaration "
                 "(at line 1, column 23)"),
    "a key given twice": (GENERATOR_TABLE + 'source-uri = "github.com/a/b"\n',
                          "not valid TOML: Cannot overwrite a value (at line 4, column 30)"),
    "a key path ending in a newline": (
        LOCAL.replace('.pub.pem"', '.pub.pem\\n"'),
        "[local-builder.gpu] public-key: 'build/builder.pub.pem\\n': not a usable path (control "
        "characters, or longer than 4096 characters)"),
    "a key path holding DEL": (
        LOCAL.replace('.pub.pem"', '\\u007f.pub.pem"'),
        "[local-builder.gpu] public-key: 'build/builder\\x7f.pub.pem': not a usable path (control "
        "characters, or longer than 4096 characters)"),
    "an oms trusted root path holding a control character": (
        'version = 2\n[oms]\nidentity = "a@b.c"\nidentity-provider = "https://x"\n'
        'trusted-root = "root\\u0007.json"\n',
        "[oms] trusted-root: 'root\\x07.json': not a usable path (control characters, or longer than "
        "4096 characters)"),
    "a key path longer than 4096 characters": (
        LOCAL.replace('"build/', '"' + "x" * 4080 + "/build/"),
        f"[local-builder.gpu] public-key: '{'x' * 60}': not a usable path (control characters, or "
        "longer than 4096 characters)"),
}




def _cases() -> list[object]:
    """INVALID as named pytest params, with the marks of known library bugs."""
    return [pytest.param(text, message, id=name)
            for name, (text, message) in sorted(INVALID.items())]


@pytest.mark.parametrize(("text", "message"), _cases())
def test_an_invalid_policy_is_refused_with_one_line(
    text: str, message: str, tmp_path: Path, local_build: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = write(tmp_path, text)
    expected = f"{policy}: {message.format(dir=tmp_path)}"
    with pytest.raises(InputError) as raised:
        load_policy(policy)
    assert str(raised.value) == expected
    assert raised.value.exit_code == 2
    before = sorted(tmp_path.rglob("*"))
    code, out, err = cli(capsys, local_build["artifact"], local_build["provenance"], policy)
    assert (code, out, err) == (2, "", f"error: {expected}\n")
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def test_a_missing_policy_file_and_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        load_policy(tmp_path / "nope.toml")
    assert str(raised.value) == f"{tmp_path / 'nope.toml'}: no such policy file"
    with pytest.raises(InputError) as raised:
        load_policy(tmp_path)
    assert str(raised.value) == f"{tmp_path}: is a directory, not a policy file"


def test_a_policy_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(InputError) as raised:
        load_policy(path)
    assert str(raised.value) == f"{path}: not UTF-8 text; expected a TOML policy file"


def test_a_trusted_root_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "root.json").write_text(json.dumps({}))
    policy = load_policy(write(tmp_path, GENERATOR_TABLE + 'trusted-root = "root.json"\n'
                               + ATTESTATION_TABLE.replace("version = 2\n", "")))
    generator, attestation = policy.kinds
    assert isinstance(generator, GeneratorPolicy) and isinstance(attestation, AttestationPolicy)
    assert generator.trusted_root == tmp_path / "root.json"
    assert attestation.trusted_root is None  # each table has its own root


OMS_VECTORS = Path("/work/shared/vectors/model-signing")
OMS_SIGSTORE = 'identity = "stefanb@us.ibm.com"\nidentity-provider = "https://sigstore.verify.ibm.com/oauth2"\n'


@pytest.mark.parametrize(("vector", "table", "failed"), [
    ("v1.0.1-certificate", 'certificate-chain = "{keys}/ca-cert.pem"\n', []),
    ("v1.0.1-certificate", 'certificate-chain = "{keys}/int-ca-cert.pem"\n', ["certificate-chain"]),
    ("v1.0.1-sigstore", OMS_SIGSTORE + 'trusted-root = "public-good.json"\n', []),
    ("v1.0.1-sigstore", OMS_SIGSTORE + 'trusted-root = "staging.json"\n', ["certificate-chain"]),
])
def test_an_oms_table_checks_signatures_against_the_roots_it_names(
        tmp_path: Path, vector: str, table: str, failed: list[str]) -> None:
    """The certificate chain or Sigstore trusted root of [oms] (relative to the file) is the one
    the real model_signing signature is verified against: another root fails certificate-chain."""
    for name, instance in (("public-good", "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"),
                           ("staging", "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev")):
        root = resources.files("sigstore._store").joinpath(instance, "trusted_root.json")
        (tmp_path / f"{name}.json").write_bytes(root.read_bytes())
    policy = load_policy(write(tmp_path, "version = 2\n[oms]\n" + table.format(keys=OMS_VECTORS / "keys")
                               + 'ignore-paths = ["ignore-me"]\n'))
    folder = OMS_VECTORS / vector
    files = [Artifact(path.name, sha256_file(path)) for path in sorted(folder.iterdir()) if path.name != "model.sig"]
    report = verify_artifacts(folder / "model.sig", files, policy)
    assert [c.name for c in report.checks if not c.passed] == failed
