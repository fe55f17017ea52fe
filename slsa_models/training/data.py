"""The example data set: scikit-learn's bundled 8x8 digits (no download).

Both frameworks train on the same arrays: images of shape ``(N, 8, 8)`` as
float32 in ``[0, 1]`` and int64 labels ``0..9``, split into a training part
and a held-out part, stratified by label and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

HELD_OUT_FRACTION = 0.25
_PIXEL_MAX = 16.0  # load_digits pixels are integers 0..16


@dataclass(frozen=True)
class Split:
    """Training and held-out arrays of one seeded split."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def load_digits_split(seed: int) -> Split:
    """The digits images scaled to ``[0, 1]``, split stratified by ``seed``."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / _PIXEL_MAX).astype(np.float32)
    labels = digits.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=HELD_OUT_FRACTION, stratify=labels, random_state=seed
    )
    return Split(train_x, train_y, test_x, test_y)


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose highest score is the true label."""
    return float((scores.argmax(axis=1) == labels).mean())
