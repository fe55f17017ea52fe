"""`slsa-models verify-artifact`: slsa-verifier's flags, lines and exit codes, plus --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.errors import PolicyError
from slsa_models.verify.options import parse_workflow_inputs

VECTORS = Path(__file__).parent / "vectors"
BINARY = str(VECTORS / "binary-linux-amd64")
SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"
BUILDER = ("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
           "generator_generic_slsa3.yml@refs/tags/v2.1.0")
COMMIT = "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
VERIFIED = f'Verified build using builder "{BUILDER}" at commit {COMMIT}\n'


def provenance(name: str) -> str:
    return str(VECTORS / f"binary-linux-amd64-{name}.intoto.jsonl")


def cli(capsys: pytest.CaptureFixture[str], *args: str, vector: str = "push-v14"
        ) -> tuple[int, str, str]:
    code = main(["verify-artifact", *args, "--provenance-path", provenance(vector)])
    out, err = capsys.readouterr()
    return code, out, err


def test_pass_prints_slsa_verifiers_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, BINARY, "--source-uri", SOURCE, "--source-tag", "v14")
    assert code == 0
    assert out == ""
    assert err == (f"{VERIFIED}Verifying artifact {BINARY}: PASSED\n\n"
                   "PASSED: SLSA verification passed\n")


def test_fail_names_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, BINARY, "--source-uri", SOURCE, "--source-tag", "v14.2")
    reason = "source-tag: expected v14.2, got v14 (built from another tag)"
    assert code == 1
    assert out == ""
    assert err == (f"Verifying artifact {BINARY}: FAILED: {reason}\n\n"
                   f"FAILED: SLSA verification failed: {reason}\n")


@pytest.mark.parametrize(
    ("vector", "flags", "reason"),
    [
        ("push-v14", ["--source-uri", "github.com/slsa-framework/other"],
         "source-uri: expected git+https://github.com/slsa-framework/other, got"
         " git+https://github.com/slsa-framework/example-package in the certificate"
         " (built from another repository)"),
        ("push-v14", ["--source-uri", SOURCE, "--source-versioned-tag", "v13"],
         "source-versioned-tag: expected v13, got v14 (major version expected 'v13', got 'v14')"),
        ("push-v14.2", ["--source-uri", SOURCE, "--source-versioned-tag", "v14.3"],
         "source-versioned-tag: expected v14.3, got v14.2 (minor version expected '3', got '2')"),
        ("workflow_dispatch", ["--source-uri", SOURCE, "--source-branch", "dev"],
         "source-branch: expected dev, got main (built from another branch)"),
        ("workflow_dispatch", ["--source-uri", SOURCE, "--build-workflow-input", "name=value"],
         "workflow-inputs: expected name=value, got no inputs (the provenance records no workflow inputs)"),
        ("workflow_dispatch", ["--source-uri", SOURCE, "--builder-id", BUILDER.replace("v2.1.0", "v2.0.0")],
         f"builder-id: expected {BUILDER.replace('v2.1.0', 'v2.0.0')}, got {BUILDER}"
         " (the provenance was signed by another workflow)"),
        ("push-v13.0.30", ["--source-uri", SOURCE, "--digest", "sha256:" + "a" * 64],
         f"subject-digest: expected sha256:{'a' * 64}, got no subject with this digest"
         " (the provenance covers gha_generic-binary-linux-amd64-v13.0.30; the artifact's bytes differ)"),
    ],
)
def test_failures_exit_1_and_name_the_check(capsys: pytest.CaptureFixture[str], vector: str,
                                            flags: list[str], reason: str) -> None:
    args = flags if "--digest" in flags else [BINARY, *flags]
    code, out, err = cli(capsys, *args, vector=vector)
    assert code == 1
    assert err.splitlines()[-1] == f"FAILED: SLSA verification failed: {reason}"


def test_several_artifacts_against_one_provenance(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "sha256:" + "0" * 64
    code, _, err = cli(capsys, BINARY, "--digest", f"sha256:{SHA256}", "--digest", bad,
                       "--source-uri", SOURCE)
    assert code == 1
    lines = err.splitlines()
    assert lines[:6] == [
        VERIFIED.rstrip("\n"), f"Verifying artifact {BINARY}: PASSED", "",
        VERIFIED.rstrip("\n"), f"Verifying artifact sha256:{SHA256}: PASSED", "",
    ]
    reason = (f"subject-digest: expected {bad}, got no subject with this digest"
              " (the provenance covers gha_generic-binary-linux-amd64-v14; the artifact's bytes differ)")
    assert lines[6:] == [f"Verifying artifact {bad}: FAILED: {reason}", "",
                         f"FAILED: SLSA verification failed: {reason}"]


def test_json_prints_the_whole_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--digest", f"sha256:{SHA256}", "--source-uri", SOURCE,
                         "--source-branch", "dev", "--json", vector="workflow_dispatch")
    assert code == 1
    report = json.loads(out)
    assert report["passed"] is False
    assert report["builder_id"] == BUILDER and report["commit"] == COMMIT
    failed = [c for c in report["checks"] if not c["passed"]]
    assert failed == [{"name": "source-branch", "passed": False, "expected": "dev",
                       "actual": "main", "detail": "built from another branch"}]
    assert {c["name"] for c in report["checks"]} >= {"signature", "transparency-log", "builder-id"}
    assert err.splitlines()[-1] == (
        "FAILED: SLSA verification failed: source-branch: expected dev, got main (built from another branch)"
    )


def test_print_provenance_prints_the_verified_statement(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, BINARY, "--source-uri", SOURCE, "--print-provenance")
    assert code == 0
    statement = json.loads(out)
    assert statement["predicate"]["builder"]["id"] == BUILDER
    code, out, _ = cli(capsys, BINARY, "--source-uri", SOURCE, "--source-tag", "v1",
                       "--print-provenance")
    assert (code, out) == (1, "")  # nothing unverified is printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([BINARY], "--source-uri is required: the repository the artifact must come from, "
                   "e.g. github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB with "
                   "--builder-id ID)"),
        ([], "no artifact to verify: give at least one ARTIFACT file or --digest sha256:HEX"),
        (["/no/such/artifact"], "/no/such/artifact: no such file"),
        (["--digest", "sha256:xyz"], "not a SHA-256 digest: 'sha256:xyz' (expected sha256:<64 hex digits>)"),
        ([BINARY, "--source-uri", "gitlab.com/a/b"],
         "source URI 'gitlab.com/a/b' is not a GitHub repository; expected github.com/OWNER/REPO "
         "(or https://github.com/OWNER/REPO)"),
        ([BINARY, "--build-workflow-input", "novalue"],
         "--build-workflow-input 'novalue': expected KEY=VALUE"),
        ([BINARY, "--source-versioned-tag", "latest"],
         "source versioned tag 'latest' is not a semantic version; expected vMAJOR, vMAJOR.MINOR "
         "or vMAJOR.MINOR.PATCH"),
        ([BINARY, "--trusted-root", "/no/root.json"],
         "/no/root.json: cannot read the trusted root: No such file or directory"),
        ([BINARY, "--source-tag", "v14", "--source-versioned-tag", "v14"],
         "give a source tag or a source versioned tag, not both"),
        ([BINARY, "--source-branch", " "], "source branch is empty"),
    ],
)
def test_unusable_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str],
                                              message: str) -> None:
    if "--source-uri" not in args and message[:13] != "--source-uri ":
        args = [*args, "--source-uri", SOURCE]
    code, out, err = cli(capsys, *args)
    assert (code, out, err) == (2, "", f"error: {message}\n")


@pytest.mark.parametrize("args", [["--json", "--print-provenance"], ["--no-such-flag"]])
def test_conflicting_flags_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["verify-artifact", BINARY, "--provenance-path", provenance("push-v14"),
              "--source-uri", SOURCE, *args])
    assert raised.value.code == 2
    assert capsys.readouterr().out == ""


def test_workflow_inputs_may_contain_equals_signs() -> None:
    assert parse_workflow_inputs(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(PolicyError) as raised:
        parse_workflow_inputs(["=v"])
    assert str(raised.value) == "--build-workflow-input '=v': expected KEY=VALUE"
    assert parse_workflow_inputs({"a": "x=y"}) == {"a": "x=y"}
    assert parse_workflow_inputs(None) == {}


def test_help_documents_the_flags_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify-artifact", "--help"])
    text = capsys.readouterr().out
    for flag in ("--provenance-path", "--source-uri", "--source-tag", "--source-versioned-tag",
                 "--source-branch", "--builder-id", "--build-workflow-input", "--print-provenance",
                 "--json", "--digest", "--trusted-root", "--policy", "--public-key", "examples:",
                 "Exit status"):
        assert flag in text


def test_a_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify-artifact hashes through slsa_models.progress (the pseudo-terminal test: test_progress.py)."""
    from slsa_models import progress

    assert not progress.progress_bar(1024, f"hashing {BINARY}").active  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with progress.progress_bar(1024, f"hashing {BINARY}") as on_progress:
        assert on_progress.active
        on_progress(1024)


def test_the_installed_command_end_to_end(tmp_path: Path) -> None:
    """The real entry point in a subprocess: exit codes and no traceback."""
    command = [sys.executable, "-m", "slsa_models.cli", "verify-artifact", BINARY,
               "--source-uri", SOURCE]
    ok = subprocess.run([*command, "--provenance-path", provenance("push-v14.2"),
                         "--source-versioned-tag", "v14"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.endswith("PASSED: SLSA verification passed\n")
    empty = tmp_path / "empty.intoto.jsonl"
    empty.write_bytes(b"")
    bad = subprocess.run([*command, "--provenance-path", str(empty)], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr == f"error: {empty}: empty file; expected a Sigstore bundle (.intoto.jsonl)\n"


def test_one_provenance_file_cannot_satisfy_a_policy_requiring_two_kinds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """require = [generator, local-builder]: the generator file passes its own kind's rules, but one
    file is one piece of evidence, so verify-artifact refuses instead of skipping `require`."""
    from slsa_models.provenance.keys import generate_key_pair

    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'version = 2\nrequire = ["slsa-github-generator", "local-builder"]\n'
        f'[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
        '[local-builder.box]\nbuilder-id = "https://ci.example.com/b"\npublic-key = "k.pub.pem"\n')
    code = main(["verify-artifact", BINARY, "--provenance-path",
                 str(VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"), "--policy", str(policy)])
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "FAILED: SLSA verification failed: policy: expected evidence of slsa-github-generator and "
        "local-builder, got slsa-github-generator (the policy requires slsa-github-generator and "
        "local-builder; no evidence of local-builder passed (one provenance file is one piece of evidence))")
