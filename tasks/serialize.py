"""Serialize step: write the trained model in the requested format."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from slsa_models import formats
from slsa_models.training import TrainResult
from tasks.policy import IN_MEMORY


@task(name="serialize", **IN_MEMORY)
def serialize_model(trained: TrainResult, model_format: str, directory: Path) -> Path:
    return formats.save_model(trained.model, model_format, directory)
