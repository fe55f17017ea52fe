"""Train a registered architecture with Keras (TensorFlow backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slsa_models.training.data import Split, accuracy

if TYPE_CHECKING:
    import keras

    from slsa_models.training.registry import Architecture


def train_keras(
    arch: Architecture, split: Split, *, epochs: int, seed: int
) -> tuple[keras.Model, float]:
    """Seeded fit on the training part; accuracy on the held-out part."""
    import keras

    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow generators
    model = arch.build_keras()
    model.compile(
        optimizer=keras.optimizers.Adam(arch.LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
    )
    model.fit(
        split.train_x,
        split.train_y,
        epochs=epochs,
        batch_size=arch.BATCH_SIZE,
        shuffle=True,
        verbose=0,
    )
    scores = keras.ops.convert_to_numpy(model(split.test_x, training=False))
    return model, accuracy(scores, split.test_y)
