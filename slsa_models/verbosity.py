"""How much a command says: ``-q`` (errors and warnings only), the default, ``-v`` and ``-vv``.

Every ``slsa-models`` command takes ``-q/--quiet`` and ``-v/--verbose`` (before or after
the subcommand name); ``cli.main`` applies them for the command's run with ``applied``:

- ``-q``: no progress bars, no informational lines on stderr (``note``), no warnings:
  only the command's output on stdout and its error line.
- default: progress bars on a terminal, informational lines, warnings.
- ``-v``: also the library's INFO log lines (what was stored, fetched, checked) on stderr;
  ``-vv`` adds DEBUG lines.

Other entry points (``python -m flows.train``, ``python -m flows.deploy``) use the same two
calls: ``add_arguments(parser)`` and ``with applied(from_args(args)): ...``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

QUIET = -1
NORMAL = 0
VERBOSE = 1
DEBUG = 2

LOGGER = "slsa_models"  # the library's loggers are all below this one
_level = NORMAL


def level() -> int:
    """The verbosity in force: QUIET, NORMAL, VERBOSE or DEBUG."""
    return _level


def quiet() -> bool:
    return _level <= QUIET


def note(message: str) -> None:
    """An informational line on stderr (``wrote ...``, ``pulled ...``), unless ``-q``."""
    if not quiet():
        print(message, file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """``-q/--quiet`` and ``-v/--verbose``. ``nested``: a subcommand's parser, whose unset
    flags must not override what the parent parser already read (``slsa-models -q digest``)."""
    group = parser.add_argument_group("output")
    group.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS if nested else False,
                       help="say nothing but the result and errors: no progress bars, notes or warnings")
    group.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if nested else 0,
                       help="say more: what is stored, fetched and checked (-vv: debugging detail)")


def from_args(args: argparse.Namespace) -> int:
    """The level the parsed ``-q``/``-v`` ask for; both at once is a usage error (InputError)."""
    quiet_flag = bool(getattr(args, "quiet", False))
    verbose = int(getattr(args, "verbose", 0) or 0)
    if quiet_flag and verbose:
        from slsa_models.errors import InputError

        raise InputError("-q/--quiet and -v/--verbose cannot be combined")
    if quiet_flag:
        return QUIET
    return min(verbose, DEBUG)


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args`` with ``args.verbosity`` set; ``-q -v`` together is a usage error."""
    from slsa_models.errors import SlsaModelsError

    args = parser.parse_args(argv)
    try:
        args.verbosity = from_args(args)
    except SlsaModelsError as error:
        parser.error(str(error))
    return args


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (pytest swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


@contextmanager
def applied(new_level: int) -> Iterator[None]:
    """Run with ``new_level`` in force: the library logger's level and handler follow it; both
    are restored afterwards (``main()`` may run many times in one process)."""
    global _level
    logger = logging.getLogger(LOGGER)
    saved = (_level, logger.level)
    handler: logging.Handler | None = None
    _level = new_level
    if new_level <= QUIET:
        logger.setLevel(logging.ERROR)
    elif new_level >= VERBOSE:
        logger.setLevel(logging.DEBUG if new_level >= DEBUG else logging.INFO)
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    try:
        yield
    finally:
        _level, previous = saved
        logger.setLevel(previous)
        if handler is not None:
            logger.removeHandler(handler)
