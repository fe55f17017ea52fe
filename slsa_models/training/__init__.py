"""Example models and their training, per framework.

Importing this package imports neither TensorFlow nor PyTorch: each framework
is imported inside the function that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slsa_models.errors import InputError
from slsa_models.training.registry import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    FRAMEWORKS,
    check_framework,
    get_architecture,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_ARCHITECTURE",
    "FRAMEWORKS",
    "TrainResult",
    "build_architecture",
    "train",
]

SAMPLE_SIZE = 8  # held-out inputs kept for smoke predictions


@dataclass
class TrainResult:
    """A trained model and what is known about how it was made."""

    model: Any
    framework: str
    architecture: str
    accuracy: float  # on the held-out split
    epochs: int
    seed: int
    sample_inputs: np.ndarray  # a few held-out inputs, shape (n, 8, 8) float32


MAX_SEED = 2**32 - 1  # NumPy's seed range, which Keras seeds too


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_epochs_and_seed(epochs: object, seed: object) -> None:
    if not _is_int(epochs) or epochs < 1:  # type: ignore[operator]
        raise InputError(f"epochs must be a positive integer, got {epochs!r}")
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:  # type: ignore[operator]
        raise InputError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")


def train(
    framework: str,
    *,
    architecture: str = DEFAULT_ARCHITECTURE,
    epochs: int = 2,
    seed: int = 0,
) -> TrainResult:
    """Train ``architecture`` with ``framework`` ("tensorflow" or "torch"), seeded."""
    check_framework(framework)
    _check_epochs_and_seed(epochs, seed)
    arch = get_architecture(architecture)
    split = arch.load_data(seed)
    if framework == "tensorflow":
        from slsa_models.training.keras_trainer import train_keras as fit
    else:
        from slsa_models.training.torch_trainer import train_torch as fit
    model, accuracy = fit(arch, split, epochs=epochs, seed=seed)
    return TrainResult(
        model=model,
        framework=framework,
        architecture=architecture,
        accuracy=accuracy,
        epochs=epochs,
        seed=seed,
        sample_inputs=split.test_x[:SAMPLE_SIZE].copy(),
    )


def build_architecture(framework: str, architecture: str = DEFAULT_ARCHITECTURE) -> Any:
    """An untrained model of ``architecture``, for loaders that need one."""
    check_framework(framework)
    arch = get_architecture(architecture)
    return arch.build_keras() if framework == "tensorflow" else arch.build_torch()
