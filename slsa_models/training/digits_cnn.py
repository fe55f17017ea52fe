"""The ``digits-cnn`` architecture: a small CNN for the 8x8 digits.

An architecture module provides ``load_data(seed)``, ``build_keras()``,
``build_torch()``, ``BATCH_SIZE`` and ``LEARNING_RATE``; the generic trainers
do the rest. Both builders take ``(N, 8, 8)`` float inputs and give 10 class
scores per row (Keras: probabilities, PyTorch: logits).

The PyTorch model is an ``nn.Sequential`` of torch's own layers, so a pickled
whole model (``pytorch_full_model.pth``) refers only to importable torch
classes, and this module need not import torch at module level. An
architecture that needs its own ``nn.Module`` subclass must define it at
module level in a module that is imported only lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slsa_models.training.data import Split, load_digits_split

if TYPE_CHECKING:
    import keras
    import torch

BATCH_SIZE = 32
LEARNING_RATE = 3e-3
_FILTERS = 16
_CLASSES = 10


def load_data(seed: int) -> Split:
    """The digits split this architecture trains on."""
    return load_digits_split(seed)


def build_keras() -> keras.Model:
    """Untrained Keras model: conv, pool, dense softmax."""
    import keras

    layers: list[Any] = [
        keras.Input(shape=(8, 8)),
        keras.layers.Reshape((8, 8, 1)),
        keras.layers.Conv2D(_FILTERS, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(_CLASSES, activation="softmax"),
    ]
    return keras.Sequential(layers, name="digits_cnn")


def build_torch() -> torch.nn.Module:
    """Untrained PyTorch model, the same layers as the Keras one (logits out)."""
    from torch import nn

    return nn.Sequential(
        nn.Unflatten(1, (1, 8)),  # (N, 8, 8) -> (N, 1, 8, 8)
        nn.Conv2d(1, _FILTERS, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(_FILTERS * 4 * 4, _CLASSES),
    )
