"""Bring your own training: run ``package.module:function`` and take the model it wrote.

The contract: ``function(output_dir: pathlib.Path, **trainer_args)`` writes one model
file or folder under ``output_dir`` and returns its path (or returns None when it
wrote exactly one entry there). The train flow then digests, stores and attests
whatever that path holds, file or folder, exactly as it does for the example.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from slsa_models.errors import InputError, RunFailed

_SPEC = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*")


def load_trainer(spec: str) -> Callable[..., Any]:
    """The function named by ``package.module:function``."""
    if not isinstance(spec, str) or not _SPEC.fullmatch(spec):
        raise InputError(f"invalid trainer {spec!r}: expected package.module:function")
    module_name, function_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"trainer {spec}: cannot import {module_name}: {error}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise InputError(f"trainer {spec}: {module_name} has no function {function_name!r}")
    return function


def run_trainer(spec: str, output_dir: Path, trainer_args: Mapping[str, Any] | None = None) -> Path:
    """Run the trainer into ``output_dir``; return the model file or folder it wrote."""
    function = load_trainer(spec)
    try:
        returned = function(output_dir, **dict(trainer_args or {}))
    except TypeError as error:
        raise InputError(f"trainer {spec}: {error}") from None
    except Exception as error:  # the user's code: anything can happen; one line, the cause chained
        raise RunFailed(f"trainer {spec} failed: {type(error).__name__}: {error}") from error
    return _written(spec, output_dir, returned)


def _written(spec: str, output_dir: Path, returned: object) -> Path:
    if returned is None:
        entries = [entry for entry in output_dir.iterdir() if not entry.name.startswith(".")]
        if len(entries) != 1:
            raise InputError(f"trainer {spec} returned nothing and wrote {len(entries)} entries into its "
                             "output folder: return the path of the model file or folder")
        returned = entries[0]
    if not isinstance(returned, (str, os.PathLike)):
        raise InputError(f"trainer {spec} returned {type(returned).__name__}, not the model's path")
    path = Path(returned)
    path = path if path.is_absolute() else output_dir / path
    resolved, top = path.resolve(), output_dir.resolve()
    if resolved == top or top not in resolved.parents:
        raise InputError(f"trainer {spec} returned {os.fspath(returned)!r}: the model must be a file or "
                         f"folder inside the output folder it was given")
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        raise InputError(f"trainer {spec} returned {os.fspath(returned)!r}: no such model file or folder")
    return path
