"""Defaults that every entry point shares, each overridable from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL_NAME = "digits-cnn"


def state_dir() -> Path:
    """Where local state lives: the default store, the development key, the local stack.

    ``SLSA_MODELS_HOME`` overrides it; the default is ``.slsa-models`` in the
    current directory, so a checkout keeps its own state.
    """
    return Path(os.environ.get("SLSA_MODELS_HOME", ".slsa-models")).resolve()


def default_store_uri() -> str:
    """``SLSA_MODELS_STORE``, else a file store under the state directory (created here)."""
    configured = os.environ.get("SLSA_MODELS_STORE")
    if configured:
        return configured
    local = state_dir() / "store"
    local.mkdir(parents=True, exist_ok=True)
    return local.as_uri()
