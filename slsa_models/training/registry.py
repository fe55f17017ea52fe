"""Registered architectures and frameworks, by name.

Adding an architecture is one module (see ``digits_cnn``) plus one line in
``ARCHITECTURES``. Modules are imported only when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from slsa_models.errors import InputError

if TYPE_CHECKING:
    from slsa_models.training.data import Split

FRAMEWORKS: tuple[str, ...] = ("tensorflow", "torch")
DEFAULT_ARCHITECTURE = "digits-cnn"

# architecture name -> module providing it
ARCHITECTURES: dict[str, str] = {
    "digits-cnn": "slsa_models.training.digits_cnn",
}


class Architecture(Protocol):
    """What an architecture module provides."""

    BATCH_SIZE: int
    LEARNING_RATE: float

    def load_data(self, seed: int) -> Split: ...

    def build_keras(self) -> Any: ...

    def build_torch(self) -> Any: ...


def check_framework(framework: str) -> str:
    """Return ``framework`` if known, else raise InputError listing the known ones."""
    if framework not in FRAMEWORKS:
        raise InputError(
            f"unknown framework {framework!r}: choose one of {', '.join(FRAMEWORKS)}"
        )
    return framework


def get_architecture(name: str) -> Architecture:
    """Import and return the module registered as ``name``."""
    if name not in ARCHITECTURES:
        raise InputError(
            f"unknown architecture {name!r}: choose one of {', '.join(ARCHITECTURES)}"
        )
    module: Any = importlib.import_module(ARCHITECTURES[name])
    return module
