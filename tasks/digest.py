"""Digest step: streaming SHA-256 of the model file, or the manifest of a model folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import task

from slsa_models.digest import sha256_file
from slsa_models.manifest import Manifest, build_manifest
from tasks.policy import IN_MEMORY


@task(name="digest", **IN_MEMORY)
def digest_model(path: Path, ignore_paths: Sequence[str] = ()) -> str | Manifest:
    """A file's hex SHA-256, or a folder's manifest (every file hashed, on all cores)."""
    if Path(path).is_dir():
        manifest = build_manifest(path, ignore_paths)
        print(f"{path.name}: {len(manifest.files)} files, manifest {manifest.digest}")
        return manifest
    return sha256_file(path)
