"""The ``slsa-models`` command.

Each subcommand lives in its own module under ``slsa_models.commands`` with two
functions, ``configure(parser)`` and ``run(args) -> int``; modules are imported
only when their subcommand runs, so ``slsa-models digest`` stays fast.

Every command takes ``-q``/``-v`` before or after its name (``slsa_models.verbosity``).

SIGTERM ends a command the way Ctrl-C (SIGINT) does: cleanup runs (no temp
file is left), one line is printed, and the exit code is 128 + the signal
(143 for SIGTERM, 130 for SIGINT). A second signal ends it at once.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from slsa_models import __version__, verbosity
from slsa_models.errors import SlsaModelsError, one_line

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "digest": ("slsa_models.commands.digest", "print sha256sum-format subjects (or their base64)"),
    "verify-artifact": (
        "slsa_models.commands.verify_artifact",
        "verify artifacts against SLSA provenance (a drop-in for slsa-verifier)",
    ),
    "verify-attestation": (
        "slsa_models.commands.verify_attestation",
        "verify an artifact with its GitHub artifact attestation (a drop-in for gh attestation verify)",
    ),
    "publish": (
        "slsa_models.commands.publish",
        "put a model file and its provenance into the store at their content-addressed keys",
    ),
    "keygen": ("slsa_models.commands.keygen", "write an ECDSA P-256 key pair for the local builder"),
    "attest": ("slsa_models.commands.attest", "sign SLSA v1 provenance for artifacts with a key"),
    "pull": (
        "slsa_models.commands.pull",
        "verify the deployed model and put it into a directory, for any model server",
    ),
    "verify-signature": ("slsa_models.commands.verify_signature",
                         "verify a model with its OpenSSF Model Signing signature (a drop-in for model_signing verify)"),
    "sign": ("slsa_models.commands.sign", "sign a model in the OpenSSF Model Signing format (as model_signing sign)"),
    "stack": ("slsa_models.commands.stack", "run the whole pipeline locally: SeaweedFS, Prefect server and worker"),
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _available_commands() -> dict[str, tuple[str, str]]:
    """Only the subcommands whose module exists in this installation."""
    found = {}
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, help_text)
    return found


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given ``argv``, only the subcommands named in it are set up.

    Setting up a subcommand imports its module, and a verifier's start-up is part of
    every call (``verify-signature`` on a model is compared with ``model_signing``'s):
    the other subcommands are listed by name and help alone.
    """
    parser = ArgumentParser(
        prog="slsa-models",
        description="Prove where a model came from: digest, attest and verify model files "
        "with SLSA provenance. Works offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbosity.add_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in _available_commands().items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module)
        if argv is None or name in argv:
            importlib.import_module(module).configure(sub)
    _add_verbosity_below(parser)
    return parser


def _add_verbosity_below(parser: argparse.ArgumentParser) -> None:
    """-q/-v on every subcommand's parser too, at any depth (``stack status -q``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                verbosity.add_arguments(sub, nested=True)
                _add_verbosity_below(sub)


_received: list[int] = []  # the signal that interrupted the command, if any


def _interrupt(signum: int, _frame: object) -> None:
    """Turn SIGTERM/SIGINT into KeyboardInterrupt once; a second one acts as if unhandled."""
    _received.append(signum)
    signal.signal(signum, signal.SIG_DFL)
    raise KeyboardInterrupt


def _handle_signals() -> dict[int, object]:
    """Install ``_interrupt``; return the handlers it replaced. Only in the main thread (a host
    program calling main() elsewhere keeps its own), never over an ignored signal (nohup)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN:
            previous[signum] = signal.SIG_DFL if handler is None else handler
            signal.signal(signum, _interrupt)
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        level = verbosity.from_args(args)
    except SlsaModelsError as error:
        parser.error(str(error))
    _received.clear()
    previous = _handle_signals()
    try:
        with verbosity.applied(level):
            return int(importlib.import_module(args._module).run(args))
    except SlsaModelsError as error:
        print(one_line(error), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        signum = _received[0] if _received else signal.SIGINT
        if signum == signal.SIGTERM:
            print("error: terminated (SIGTERM)", file=sys.stderr)
        else:
            print("error: interrupted", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # e.g. `slsa-models verify-artifact --json ... | head`
        sys.stderr.close()
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
