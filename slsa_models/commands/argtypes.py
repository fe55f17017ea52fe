"""argparse types shared by every command line that trains (flows.train, stack up/run)."""

from __future__ import annotations

import argparse

from slsa_models import formats
from slsa_models.errors import SlsaModelsError


def format_name(text: str) -> str:
    """One of the seven format names, with the library's own message otherwise."""
    try:
        return formats.get_format(text).name
    except SlsaModelsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_epochs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"epochs must be a positive integer, got {value}")
    return value


def digest_argument(text: str) -> str:
    """``sha256:HEX`` (or bare HEX), normalized; the library's message otherwise."""
    from slsa_models.digest import Digest

    try:
        return str(Digest.parse(text))
    except SlsaModelsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def json_object(text: str) -> dict[str, object]:
    """A JSON object given on the command line (bounded, shallow: see slsa_models.untrusted)."""
    from slsa_models.untrusted import loads_json

    try:
        value = loads_json(text, "the argument")
    except SlsaModelsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def add_ignore_paths(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--ignore-paths``: files or folders of a model folder left out (as model_signing's flag)."""
    parser.add_argument("--ignore-paths", nargs="+", default=[], metavar="PATH",
                        help="files or folders inside a model folder to leave out (they are not bound)")
