"""The ``slsa-models`` command.

Each subcommand lives in its own module under ``slsa_models.commands`` with two
functions, ``configure(parser)`` and ``run(args) -> int``; modules are imported
only when their subcommand runs, so ``slsa-models digest`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import NoReturn

from slsa_models import __version__
from slsa_models.errors import SlsaModelsError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "digest": ("slsa_models.commands.digest", "print sha256sum-format subjects (or their base64)"),
    "verify-artifact": (
        "slsa_models.commands.verify_artifact",
        "verify artifacts against SLSA provenance (a drop-in for slsa-verifier)",
    ),
    "publish": (
        "slsa_models.commands.publish",
        "put a model file and its provenance into the store at their content-addressed keys",
    ),
    "keygen": ("slsa_models.commands.keygen", "write an ECDSA P-256 key pair for the local builder"),
    "attest": ("slsa_models.commands.attest", "sign SLSA v1 provenance for artifacts with a key"),
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


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="slsa-models",
        description="Prove where a model came from: digest, attest and verify model files "
        "with SLSA provenance. Works offline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in _available_commands().items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module)
        importlib.import_module(module).configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args))
    except SlsaModelsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `slsa-models verify-artifact --json ... | head`
        sys.stderr.close()
        return 1


if __name__ == "__main__":
    sys.exit(main())
