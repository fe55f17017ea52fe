"""Digest step: streaming SHA-256 of the serialized model."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from slsa_models.digest import sha256_file
from tasks.policy import IN_MEMORY


@task(name="digest", **IN_MEMORY)
def digest_model(path: Path) -> str:
    return sha256_file(path)
