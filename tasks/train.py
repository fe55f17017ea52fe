"""Train step: fit a registered architecture on the bundled digits data."""

from __future__ import annotations

from prefect import task

from slsa_models import training
from tasks.policy import IN_MEMORY


@task(name="train", **IN_MEMORY)
def train_model(framework: str, architecture: str, epochs: int, seed: int) -> training.TrainResult:
    result = training.train(framework, architecture=architecture, epochs=epochs, seed=seed)
    print(f"trained {architecture} ({framework}): held-out accuracy {result.accuracy:.4f}")
    return result
