"""Training: the digits data, the architecture registry, seeded Keras and PyTorch training."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import subprocess
import sys

import numpy as np
import pytest

from slsa_models.errors import InputError
from slsa_models.training import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    FRAMEWORKS,
    TrainResult,
    build_architecture,
    train,
)
from slsa_models.training.data import load_digits_split


@pytest.fixture(scope="module", params=FRAMEWORKS)
def two_epochs(request: pytest.FixtureRequest) -> TrainResult:
    return train(request.param, epochs=2, seed=0)


def test_two_epochs_reports_accuracy_well_above_chance(two_epochs: TrainResult) -> None:
    # Chance is 0.1; measured 0.90 (Keras) and 0.93 (PyTorch) with seed 0, and
    # 0.86 to 0.92 with seeds 1 to 3.
    assert 0.5 < two_epochs.accuracy <= 1.0
    assert (two_epochs.architecture, two_epochs.epochs, two_epochs.seed) == (
        DEFAULT_ARCHITECTURE,
        2,
        0,
    )


def test_sample_inputs_are_held_out_digits(two_epochs: TrainResult) -> None:
    split = load_digits_split(0)
    samples = two_epochs.sample_inputs
    assert samples.shape == (8, 8, 8) and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, split.test_x[:8])


def test_digits_split_is_scaled_stratified_and_seeded() -> None:
    split = load_digits_split(0)
    assert len(split.train_x) + len(split.test_x) == 1797
    assert split.train_x.dtype == np.float32 and split.train_y.dtype == np.int64
    assert split.train_x.min() == 0.0 and split.train_x.max() == 1.0
    train_share = np.bincount(split.train_y) / len(split.train_y)
    test_share = np.bincount(split.test_y) / len(split.test_y)
    assert np.abs(train_share - test_share).max() < 0.01  # stratified
    np.testing.assert_array_equal(load_digits_split(0).test_y, split.test_y)
    assert not np.array_equal(load_digits_split(1).test_y, split.test_y)


def _torch_weights(result: TrainResult) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in result.model.state_dict().items()}


def test_torch_same_seed_same_weights_and_caller_rng_untouched() -> None:
    import torch

    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    first = _torch_weights(train("torch", epochs=1, seed=7))
    assert torch.equal(torch.random.get_rng_state(), before)
    second = _torch_weights(train("torch", epochs=1, seed=7))
    other = _torch_weights(train("torch", epochs=1, seed=8))
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert not all(np.array_equal(first[k], other[k]) for k in first)


def test_keras_same_seed_same_weights() -> None:
    first = train("tensorflow", epochs=1, seed=7).model.get_weights()
    second = train("tensorflow", epochs=1, seed=7).model.get_weights()
    assert len(first) == len(second) == 4
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"epochs": -3}, "epochs must be a positive integer, got -3"),
        ({"epochs": 1.5}, "epochs must be a positive integer, got 1.5"),
        ({"epochs": True}, "epochs must be a positive integer, got True"),
        ({"seed": -1}, "seed must be an integer from 0 to 4294967295, got -1"),
        ({"seed": 2**32}, "seed must be an integer from 0 to 4294967295, got 4294967296"),
        ({"seed": "0"}, "seed must be an integer from 0 to 4294967295, got '0'"),
        ({"architecture": "resnet"}, "unknown architecture 'resnet': choose one of digits-cnn"),
    ],
)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bad_training_input_is_refused(framework: str, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        train(framework, **kwargs)
    assert str(caught.value) == message


def test_unknown_framework_is_refused() -> None:
    message = "unknown framework 'jax': choose one of tensorflow, torch"
    with pytest.raises(InputError) as caught:
        train("jax")
    assert str(caught.value) == message
    with pytest.raises(InputError) as caught:
        build_architecture("jax")
    assert str(caught.value) == message


def test_build_architecture_gives_untrained_models_of_each_framework() -> None:
    import keras
    import torch

    assert list(ARCHITECTURES) == ["digits-cnn"]
    keras_model = build_architecture("tensorflow", "digits-cnn")
    torch_model = build_architecture("torch", "digits-cnn")
    assert isinstance(keras_model, keras.Model) and isinstance(torch_model, torch.nn.Module)
    batch = np.zeros((2, 8, 8), dtype=np.float32)
    assert keras.ops.convert_to_numpy(keras_model(batch)).shape == (2, 10)
    assert torch_model(torch.from_numpy(batch)).shape == (2, 10)


def test_importing_the_library_imports_no_framework() -> None:
    code = (
        "import sys, slsa_models.training, slsa_models.formats\n"
        "heavy = {'tensorflow', 'keras', 'torch', 'sklearn'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
