"""Task settings shared by every step."""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from slsa_models.errors import SlsaModelsError

# Models and file paths pass between tasks in memory: nothing to persist or cache.
IN_MEMORY: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


def retry_if_transient(task: object, task_run: object, state: Any) -> bool:
    """Retry only errors that may pass (a store that did not answer), never a bad input."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, SlsaModelsError) and error.retryable


STORE_IO: dict[str, Any] = {
    **IN_MEMORY,
    "retries": 3,
    "retry_delay_seconds": [1, 4, 10],
    "retry_condition_fn": retry_if_transient,
}
