"""Policy files (TOML): the examples, the real GitHub vectors, a local key, and every refusal."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.digest import sha256_file
from slsa_models.errors import InputError, ProvenanceError
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.statement import build_statement
from slsa_models.verify import Artifact, Policy, load_policy, verify_artifacts

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
[github]
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
    assert {"slsa-github-generator.toml", "github-attestation.toml", "local-builder.toml"} <= names


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_parses(example: str, monkeypatch: pytest.MonkeyPatch,
                              tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # key paths are relative to the file, not the working directory
    policy = load_policy(EXAMPLES / example)
    assert isinstance(policy, Policy)
    assert policy.source_uri or policy.public_keys


def test_what_the_examples_say() -> None:
    generator = load_policy(EXAMPLES / "slsa-github-generator.toml")
    assert (generator.source_uri, generator.source_versioned_tag, generator.triggers) == (
        "github.com/acme/models", "v1", ("push", "release"))
    assert generator.builder_id == f"{GENERATOR}@v2.1.0" and not generator.public_keys
    attestation = load_policy(EXAMPLES / "github-attestation.toml")
    assert attestation.builder_id == "https://github.com/acme/models/.github/workflows/train.yml"
    assert dict(attestation.build_workflow_inputs) == {"model-format": "pytorch_model.pth",
                                                       "epochs": "5"}
    local = load_policy(EXAMPLES / "local-builder.toml")
    assert local.source_uri is None
    [key] = local.public_keys
    assert (key.name, key.builder_id, key.source_uri) == ("gpu-box", LOCAL_BUILDER,
                                                          "github.com/acme/models")
    assert key.expires == datetime(2028, 12, 31, tzinfo=timezone.utc)
    both = load_policy(EXAMPLES / "deployment.toml")
    assert both.source_uri == "github.com/acme/models" and both.public_keys[0].hint == key.hint


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_works_with_the_cli(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The examples trust acme/models, not the vectors' repository: parsed, then a clean FAIL
    (GitHub rules) or refusal (no GitHub rules), never a policy error."""
    code, out, err = cli(capsys, BINARY, PUSH_V14, EXAMPLES / example)
    assert out == ""
    if load_policy(EXAMPLES / example).source_uri:
        assert code == 1
        assert err.splitlines()[-1].startswith("FAILED: SLSA verification failed: ")
    else:
        assert code == 2 and err.startswith("error: no source URI: the policy trusts only local")


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
    ("vector", "rules", "check"),
    [
        ("push-v14", 'source-tag = "v13"', "source-tag"),
        ("push-v14", 'source-versioned-tag = "v15"', "source-versioned-tag"),
        ("workflow_dispatch", 'source-branch = "dev"', "source-branch"),
        ("push-v14", 'triggers = ["release"]', "trigger"),
        ("workflow_dispatch", '[github.build-workflow-inputs]\nname = "value"', "workflow-inputs"),
        ("push-v14", f'builder-id = "{GENERATOR}@v2.0.0"', "builder-id"),
    ],
)
def test_policy_file_rules_mean_what_the_flags_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], vector: str, rules: str, check: str,
) -> None:
    policy = write(tmp_path, f'[github]\nsource-uri = "{SOURCE}"\n{rules}\n')
    code, _, err = cli(capsys, BINARY, VECTORS / f"binary-linux-amd64-{vector}.intoto.jsonl", policy)
    assert code == 1
    assert err.splitlines()[-1].startswith(f"FAILED: SLSA verification failed: {check}: ")


# --- one file trusting GitHub and a local key ---------------------------------------------------

def test_one_file_trusts_the_generator_and_a_local_key(
    tmp_path: Path, local_build: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    policy = write(tmp_path, TRUST_THE_VECTORS + f"""
[local.gpu-box]
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
    policy = write(tmp_path, f"""
[local.gpu-box]
builder-id = "{LOCAL_BUILDER}"
public-key = "build/builder.pub.pem"
expires = "2020-01-01T00:00:00Z"
""")
    code, _, err = cli(capsys, local_build["artifact"], local_build["provenance"], policy)
    assert code == 1
    assert err.splitlines()[-1].startswith(
        "FAILED: SLSA verification failed: key-expiry: expected trust in key gpu-box until "
        "2020-01-01T00:00:00Z, got verified at ")


def test_inline_pem_and_paths_relative_to_the_file(
    tmp_path: Path, local_build: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    pem = local_build["pub"].read_text()
    inline = write(tmp_path, f'[local.a]\nbuilder-id = "{LOCAL_BUILDER}"\n'
                             f'public-key-pem = """\n{pem}"""\n', "inline.toml")
    (tmp_path / "policies").mkdir()
    relative = write(tmp_path / "policies", f'[local.a]\nbuilder-id = "{LOCAL_BUILDER}"\n'
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
    policy = write(tmp_path, f'[local.a]\nbuilder-id = "x"\npublic-key = "build/builder.pub.pem"\n'
                             f"expires = {value}\n")
    assert load_policy(policy).public_keys[0].expires == expected


def test_a_github_only_policy_refuses_key_signed_provenance(
    tmp_path: Path, local_build: dict[str, Path],
) -> None:
    policy = load_policy(write(tmp_path, TRUST_THE_VECTORS))
    with pytest.raises(ProvenanceError, match="key-signed provenance needs a trusted public key"):
        verify_artifacts(local_build["provenance"], [Artifact.from_path(local_build["artifact"])],
                         policy)


# --- refusals --------------------------------------------------------------------------------

GITHUB = '[github]\nsource-uri = "github.com/acme/models"\n'
LOCAL = '[local.gpu]\nbuilder-id = "b"\npublic-key = "build/builder.pub.pem"\n'
INVALID: dict[str, tuple[str, str]] = {
    "unknown top-level key": (
        'colour = "blue"\n' + GITHUB,
        "unknown key 'colour' at the top level; expected one of: version, trusted-root, github, local"),
    "unknown key in github": (
        GITHUB + 'source_tag = "v1"\n',
        "unknown key 'source_tag' in [github]; expected one of: source-uri, builder-id, source-tag, "
        "source-versioned-tag, source-branch, triggers, build-workflow-inputs"),
    "unknown key in a local table": (
        LOCAL + 'expiry = 2027-01-01\n',
        "unknown key 'expiry' in [local.gpu]; expected one of: builder-id, public-key, "
        "public-key-pem, expires, source-uri"),
    "bad semver": (
        GITHUB + 'source-versioned-tag = "latest"\n',
        "[github] source-versioned-tag 'latest' is not a semantic version; expected vMAJOR, "
        "vMAJOR.MINOR or vMAJOR.MINOR.PATCH"),
    "conflicting ref rules": (
        GITHUB + 'source-tag = "v1.0.0"\nsource-versioned-tag = "v1"\n',
        "[github] sets both source-tag and source-versioned-tag: conflicting ref rules; keep one "
        "(an exact tag, or a semantic-version match)"),
    "missing key file": (
        LOCAL.replace("builder.pub.pem", "missing.pem"),
        "[local.gpu] public-key: {dir}/build/missing.pem: no such key file"),
    "unreadable key file": (
        LOCAL.replace("build/builder.pub.pem", "build"),
        "[local.gpu] public-key: {dir}/build: cannot read key: Is a directory"),
    "not a public key": (
        LOCAL.replace("builder.pub.pem", "builder.pem"),
        "[local.gpu] public-key: {dir}/build/builder.pem: not a PEM public key"),
    "bad inline PEM": (
        '[local.gpu]\nbuilder-id = "b"\npublic-key-pem = "-----BEGIN PUBLIC KEY-----"\n',
        "[local.gpu] public-key-pem: not a PEM public key"),
    "two keys": (
        LOCAL + 'public-key-pem = "x"\n',
        "[local.gpu] needs exactly one of public-key (a PEM file) and public-key-pem (the PEM text)"),
    "no key": (
        '[local.gpu]\nbuilder-id = "b"\n',
        "[local.gpu] needs exactly one of public-key (a PEM file) and public-key-pem (the PEM text)"),
    "no builder id": (
        '[local.gpu]\npublic-key = "build/builder.pub.pem"\n',
        "[local.gpu] needs builder-id: key-signed provenance has no default trusted builder"),
    "bad expiry date": (
        LOCAL + 'expires = "next year"\n',
        "[local.gpu] expires 'next year' is not a date; expected a date like 2027-01-31 or a "
        "date-time like 2027-01-31T00:00:00Z"),
    "expiry without a time zone": (
        LOCAL + "expires = 2027-01-01T00:00:00\n",
        "[local.gpu] expires 2027-01-01T00:00:00 has no time zone; write 2027-01-01T00:00:00Z (UTC) "
        "or a date like 2027-01-01"),
    "expiry that is a number": (
        LOCAL + "expires = 2027\n",
        "[local.gpu] expires: expected a date or a date-time, got an integer"),
    "the same key twice": (
        LOCAL + LOCAL.replace("[local.gpu]", "[local.laptop]"),
        "trusted keys 'gpu' and 'laptop' are the same public key; trust it once (one key signs "
        "for one builder)"),
    "a key entry that is not a table": (
        '[local]\ngpu = "build/builder.pub.pem"\n',
        "local.gpu must be a table ([local.gpu]), got a string"),
    "local that is not a table": (
        'local = ["build/builder.pub.pem"]\n',
        "local must hold one table per builder, e.g. [local.gpu-box], got an array"),
    "github without a source": (
        '[github]\nsource-branch = "main"\n',
        "[github] needs source-uri: the repository GitHub builds must come from, e.g. "
        'source-uri = "github.com/OWNER/REPO"'),
    "a source that is not on GitHub": (
        '[github]\nsource-uri = "gitlab.com/a/b"\n',
        "[github] source URI 'gitlab.com/a/b' is not a GitHub repository; expected "
        "github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"),
    "a bad builder id": (
        GITHUB + 'builder-id = "a@b@c"\n',
        "[github] builder id 'a@b@c' is malformed; expected NAME, NAME@vX.Y.Z or "
        "NAME@refs/tags/vX.Y.Z"),
    "an empty branch": (
        GITHUB + 'source-branch = ""\n',
        "[github] source-branch: expected a non-empty string, got an empty string"),
    "a tag that is a number": (
        GITHUB + "source-tag = 14\n",
        "[github] source-tag: expected a non-empty string, got an integer"),
    "a workflow input that is a number": (
        GITHUB + "[github.build-workflow-inputs]\nepochs = 5\n",
        "[github.build-workflow-inputs] epochs: expected a string, got an integer (workflow inputs "
        "are strings: quote it)"),
    "triggers that are a string": (
        GITHUB + 'triggers = "push"\n',
        '[github] triggers: expected an array of GitHub event names, e.g. triggers = ["push", '
        '"release"]'),
    "a local source that is not on GitHub": (
        LOCAL + 'source-uri = "gitlab.com/a/b"\n',
        "[local.gpu] source URI 'gitlab.com/a/b' is not a GitHub repository; expected "
        "github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"),
    "a future version": ("version = 2\n" + GITHUB,
                         "version 2 is not supported; this slsa-models reads version 1"),
    "a missing trusted root": ('trusted-root = "root.json"\n' + GITHUB,
                               "trusted-root: {dir}/root.json: no such file"),
    "trusts nothing": ("version = 1\n",
                       "trusts nothing: add a [github] table (GitHub provenance) or a [local.NAME] "
                       "table (a local builder's public key)"),
    "not TOML": ("[github\n", "not valid TOML: Expected ']' at the end of a table declaration "
                              "(at line 1, column 8)"),
    "a key given twice": (GITHUB + 'source-uri = "github.com/a/b"\n',
                          "not valid TOML: Cannot overwrite a value (at line 3, column 30)"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_an_invalid_policy_is_refused_with_one_line(
    name: str, tmp_path: Path, local_build: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    text, message = INVALID[name]
    policy = write(tmp_path, text)
    expected = f"{policy}: {message.format(dir=tmp_path)}"
    with pytest.raises(InputError) as raised:
        load_policy(policy)
    assert str(raised.value) == expected
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
    policy = load_policy(write(tmp_path, 'trusted-root = "root.json"\n' + GITHUB))
    assert policy.trusted_root == tmp_path / "root.json"
