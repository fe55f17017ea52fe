"""Digest step: streaming SHA-256 of the model file, or the manifest of a model folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import task

from slsa_models.manifest import Manifest, digest_path
from tasks.policy import IN_MEMORY


@task(name="digest", **IN_MEMORY)
def digest_model(path: Path, ignore_paths: Sequence[str] = ()) -> str | Manifest:
    """A file's hex SHA-256, or a folder's manifest (every file hashed, on all cores)."""
    digest = digest_path(path, ignore_paths)
    if isinstance(digest, Manifest):
        print(f"{path.name}: {len(digest.files)} files, manifest {digest.digest}")
    return digest
