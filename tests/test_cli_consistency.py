"""One command line: the same key flags everywhere, -q/-v on every command, publish's required
name, help for every stack action, and `stack env`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from slsa_models import verbosity
from slsa_models.cli import build_parser, main
from slsa_models.provenance.keys import generate_key_pair
from slsa_models.stack import StackConfig, seaweedfs

REPO = Path(__file__).resolve().parents[1]
BUILDER = "https://ci.example.com/builders/one"


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                 ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser that runs something: ('digest',), ('stack', 'status'), ..."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    found = []
    for action in subs:
        for name, sub in action.choices.items():
            found += leaf_parsers(sub, (*path, name))
    return found


def every_command_parser() -> list[tuple[str, argparse.ArgumentParser]]:
    from slsa_models.commands import deploy

    parsers = [(" ".join(path), parser) for path, parser in leaf_parsers(build_parser())]
    return [*parsers, ("python -m flows.deploy", deploy.build_parser())]


def options(parser: argparse.ArgumentParser) -> list[list[str]]:
    return [list(action.option_strings) for action in parser._actions if action.option_strings]


# -- key flags ----------------------------------------------------------------------------------


def test_key_flags_are_private_key_and_public_key_everywhere() -> None:
    seen = set()
    for name, parser in every_command_parser():
        for strings in options(parser):
            keys = [s for s in strings if s.startswith("--") and "key" in s]
            if keys:
                assert keys[0] in ("--private-key", "--public-key"), (name, strings)
                # attest's older spelling; verify-signature/sign: model_signing's --public_key too
                assert set(keys[1:]) <= {"--key", keys[0].replace("-", "_").replace("__", "--", 1)}, \
                    (name, strings)
                seen.add((name, keys[0]))
    assert {("keygen", "--private-key"), ("keygen", "--public-key"), ("attest", "--private-key"),
            ("verify-artifact", "--public-key"), ("python -m flows.deploy", "--public-key")} <= seen


@pytest.mark.parametrize("flag", ["--private-key", "--key"])
def test_attest_takes_private_key_and_still_key(tmp_path: Path, flag: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    key, pub = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    generate_key_pair(key, pub)
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    out = tmp_path / "model.bin.intoto.jsonl"
    assert main(["attest", flag, str(key), "--builder-id", BUILDER, str(model), "-o", str(out)]) == 0
    assert capsys.readouterr().err == f"wrote {out} for 1 artifact(s)\n"
    assert main(["verify-artifact", str(model), "--provenance-path", str(out), "--public-key", str(pub),
                 "--builder-id", BUILDER]) == 0


def test_attest_without_a_key_names_both_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["attest", "--builder-id", BUILDER, "model.bin"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: the following arguments are required: --private-key/--key "
                                       "(see slsa-models attest --help)\n")


# -- publish needs a name -------------------------------------------------------------------------


def test_publish_requires_model_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    store.mkdir()
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    with pytest.raises(SystemExit) as exited:
        main(["publish", "--store", store.as_uri(), str(model)])
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: the following arguments are required: --model-name "
                                       "(see slsa-models publish --help)\n")
    assert list(store.iterdir()) == []


# -- -q and -v ----------------------------------------------------------------------------------


def test_every_command_takes_quiet_and_verbose() -> None:
    commands = every_command_parser()
    assert len(commands) >= 12  # digest ... stack up/run/status/stop/env, python -m flows.deploy
    for name, parser in commands:
        assert ["-q", "--quiet"] in options(parser), name
        assert ["-v", "--verbose"] in options(parser), name


@pytest.mark.parametrize("argv, level", [
    (["digest", "f"], verbosity.NORMAL),
    (["-q", "digest", "f"], verbosity.QUIET),
    (["digest", "--quiet", "f"], verbosity.QUIET),
    (["-v", "digest", "f"], verbosity.VERBOSE),
    (["digest", "-vv", "f"], verbosity.DEBUG),
    (["stack", "status", "-q"], verbosity.QUIET),
    (["-v", "stack", "stop"], verbosity.VERBOSE),
])
def test_quiet_and_verbose_before_or_after_the_command(argv: list[str], level: int) -> None:
    assert verbosity.from_args(build_parser().parse_args(argv)) == level


def test_quiet_and_verbose_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["-q", "digest", "-v", "f"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: -q/--quiet and -v/--verbose cannot be combined "
                                       "(see slsa-models --help)\n")


def test_quiet_silences_notes_and_verbose_adds_what_was_stored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "k.pem"
    generate_key_pair(key, tmp_path / "k.pub.pem")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    out = tmp_path / "a.intoto.jsonl"
    assert main(["attest", "-q", "--private-key", str(key), "--builder-id", BUILDER, str(model),
                 "-o", str(out)]) == 0
    assert capsys.readouterr() == ("", "")

    store = tmp_path / "store"
    store.mkdir()
    publish = ["publish", "--store", store.as_uri(), "--model-name", "m", str(model), str(out)]
    assert main(publish) == 0
    result = json.loads(capsys.readouterr().out)
    assert main(["-v", *publish]) == 0  # again: identical bytes are a no-op
    captured = capsys.readouterr()
    assert json.loads(captured.out) == result
    assert captured.err.splitlines() == [
        f"stored {result['model']} (sha256:{result['sha256']}, 7 bytes)",
        f"stored {result['provenance']}",
    ]
    assert main(publish) == 0
    assert capsys.readouterr().err == ""  # the default says nothing more


def test_quiet_drops_warnings_and_verbose_shows_info_then_both_are_undone(
        capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("slsa_models.test_cli_consistency")
    with verbosity.applied(verbosity.QUIET):
        assert verbosity.quiet()
        log.warning("a warning")
        verbosity.note("a note")
    with verbosity.applied(verbosity.VERBOSE):
        log.info("an info line")
        log.debug("a debug line")
        verbosity.note("a note")
    with verbosity.applied(verbosity.DEBUG):
        log.debug("a debug line")
    assert capsys.readouterr().err == "an info line\na note\na debug line\n"
    assert verbosity.level() == verbosity.NORMAL
    assert logging.getLogger("slsa_models").level == logging.NOTSET
    assert not logging.getLogger("slsa_models").handlers


def test_flows_deploy_takes_quiet_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    from slsa_models.commands import deploy

    assert deploy.parse_args(["--model-name", "m", "-q"]).verbosity == verbosity.QUIET
    assert deploy.parse_args(["--model-name", "m", "-vv"]).verbosity == verbosity.DEBUG
    with pytest.raises(SystemExit):
        deploy.parse_args(["--model-name", "m", "-q", "-v"])
    assert capsys.readouterr().err == ("error: -q/--quiet and -v/--verbose cannot be combined "
                                       "(see python -m flows.deploy --help)\n")


# -- stack status, stop and env -----------------------------------------------------------------


def test_stack_status_and_stop_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    for action, first_words in (("status", "Show each service of the local stack"),
                                ("stop", "Stop the worker, the Prefect server and SeaweedFS"),
                                ("env", "Print `export NAME=VALUE` lines")):
        with pytest.raises(SystemExit) as exited:
            main(["stack", action, "--help"])
        assert exited.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert first_words in text, action
    main_help = build_parser()._subparsers._group_actions[0].choices["stack"].format_help()  # type: ignore[union-attr]
    for line in ("show which services run", "stop the worker, the Prefect server", "print the shell exports"):
        assert line in " ".join(main_help.split())


def stack_env(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLSA_MODELS_")}
    return subprocess.run([sys.executable, "-m", "slsa_models.cli", "stack", "env"], cwd=REPO,
                          env={**env, "SLSA_MODELS_HOME": str(home), "SLSA_MODELS_S3_PORT": "18333"},
                          capture_output=True, text=True, timeout=60)


def test_stack_env_prints_the_exports_for_another_shell(tmp_path: Path) -> None:
    home = tmp_path / "state dir"  # a space: the values are quoted for the shell
    config = StackConfig(home=home / "stack", checkout=REPO, s3_port=18333)
    access, secret = seaweedfs.credentials(config)
    result = stack_env(home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "export AWS_ENDPOINT_URL=http://127.0.0.1:18333",
        f"export AWS_ACCESS_KEY_ID={access}",
        f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}",
        "export AWS_DEFAULT_REGION=us-east-1",
        "export AWS_REGION=us-east-1",
        "export AWS_EC2_METADATA_DISABLED=true",
        "export SLSA_MODELS_STORE=s3://slsa-models",
        f"export SLSA_MODELS_CHECKOUT={shlex.quote(str(REPO))}",
        f"export SLSA_MODELS_POLICY={shlex.quote(str(home / 'stack' / 'policy.toml'))}",
        f"export SLSA_MODELS_HOME={shlex.quote(str(home))}",
        "export PREFECT_API_URL=http://127.0.0.1:4200/api",
        "export DO_NOT_TRACK=1",
    ]
    assert result.stderr == ("note: not running: SeaweedFS (S3), Prefect API, Prefect worker "
                             "(`slsa-models stack up` starts them)\n")
    # a shell that evaluates them gets the values back exactly
    shell = subprocess.run(["sh", "-c", 'eval "$1"; printf "%s\\n" "$AWS_SECRET_ACCESS_KEY" "$SLSA_MODELS_HOME"',
                            "sh", result.stdout], capture_output=True, text=True, check=True)
    assert shell.stdout.splitlines() == [secret, str(home)]


def test_stack_env_without_a_stack_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = stack_env(tmp_path / "none")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: no local stack in {tmp_path / 'none' / 'stack'}: run `slsa-models stack up` first\n"
    assert not (tmp_path / "none").exists()


def test_verify_artifact_verbose_lists_every_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, pub = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    generate_key_pair(key, pub)
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    out = tmp_path / "model.bin.intoto.jsonl"
    assert main(["attest", "-q", "--private-key", str(key), "--builder-id", BUILDER, str(model), "-o", str(out)]) == 0
    verify = ["verify-artifact", str(model), "--provenance-path", str(out), "--public-key", str(pub),
              "--builder-id", BUILDER]
    assert main(verify) == 0
    plain = capsys.readouterr().err
    assert main(["-v", *verify]) == 0
    verbose = capsys.readouterr().err
    assert verbose.endswith(plain)
    checks = verbose[: -len(plain)].splitlines()
    assert [line.split(":")[0] for line in checks] == [
        "pass signature", "pass key-hint", "pass statement", "pass builder-id", "pass subject-digest"]
    assert f"pass builder-id: expected {BUILDER}, got {BUILDER}" in checks


def test_stack_quiet_keeps_only_the_result(tmp_path: Path) -> None:
    env = {**os.environ, "SLSA_MODELS_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "slsa_models.cli", "stack", "stop"]
    loud = subprocess.run(run, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    quiet = subprocess.run([*run, "-q"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert loud.stdout.count("was not running") == 3
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
