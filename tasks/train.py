"""Train step: fit a registered architecture on the bundled digits data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from slsa_models import training
from slsa_models.training.user import run_trainer
from tasks.policy import IN_MEMORY


@task(name="train", **IN_MEMORY)
def train_model(framework: str, architecture: str, epochs: int, seed: int) -> training.TrainResult:
    result = training.train(framework, architecture=architecture, epochs=epochs, seed=seed)
    print(f"trained {architecture} ({framework}): held-out accuracy {result.accuracy:.4f}")
    return result


@task(name="train", **IN_MEMORY)
def run_user_trainer(trainer: str, output_dir: Path, trainer_args: dict[str, Any]) -> Path:
    """The user's training entry point (``package.module:function``): the model file or folder it wrote."""
    path = run_trainer(trainer, output_dir, trainer_args)
    print(f"trainer {trainer} wrote {path.name}{'/' if path.is_dir() else ''}")
    return path
