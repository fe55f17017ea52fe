"""Run a flow from the command line: one line per expected error, no traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

from slsa_models.errors import SlsaModelsError, one_line


class _HideExpectedTracebacks(logging.Filter):
    """Our errors carry a message a user can act on; their tracebacks only add noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SlsaModelsError):
            record.exc_info = None
            record.exc_text = None
        return True


_HIDE = _HideExpectedTracebacks()


def _quiet_prefect_handlers() -> None:
    for name in ["prefect", *logging.root.manager.loggerDict]:
        if name.startswith("prefect"):
            for handler in logging.getLogger(name).handlers:
                handler.addFilter(_HIDE)  # adding the same filter again is a no-op


def run_flow(flow: Callable[..., Any], parameters: Mapping[str, Any]) -> tuple[int, Any]:
    """Run ``flow`` in-process; return (exit code, result or None) after printing any error."""
    _quiet_prefect_handlers()
    try:
        state = flow(**parameters, return_state=True)
    except SlsaModelsError as error:
        print(one_line(error), file=sys.stderr)
        return error.exit_code, None
    if state.is_completed():
        return 0, state.result()
    error = state.result(raise_on_failure=False)
    if isinstance(error, SlsaModelsError):
        print(one_line(error), file=sys.stderr)
        return error.exit_code, None
    print(f"error: flow run ended {state.name}: {error}", file=sys.stderr)
    return 1, None
