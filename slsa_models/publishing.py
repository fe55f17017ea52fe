"""Put a model and its provenance at their content-addressed, write-once keys.

The train flow's store step, the local builder and ``slsa-models publish`` (the
GitHub workflow's publish job) all go through here, so the layout has one owner.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from slsa_models.digest import sha256_file
from slsa_models.errors import ConflictError
from slsa_models.store import ArtifactStore, StoredObject, layout

log = logging.getLogger(__name__)


def publish_model(
    store: ArtifactStore,
    model_name: str,
    path: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> StoredObject:
    """Store a model file at ``models/<model>/sha256-<hex>/<file name>``; identical bytes are a no-op."""
    path = Path(path)
    digest = sha256 or sha256_file(path)
    key = layout.model_key(model_name, digest, path.name)
    return store.put_file(key, path, sha256=digest, on_progress=on_progress)


def publish_provenance(
    store: ArtifactStore, model_key: str, provenance: str | os.PathLike[str] | bytes
) -> StoredObject:
    """Store provenance (a file, or its bytes) next to its model as ``<model file>.intoto.jsonl``."""
    key = layout.provenance_key(model_key)
    try:
        if isinstance(provenance, bytes):
            return store.put_bytes(key, provenance)
        return store.put_file(key, Path(provenance))
    except ConflictError:
        # The model key is content-addressed, so the stored provenance attests these
        # very bytes (a re-run with the same seed); it stays, write-once as ever.
        existing = store.head(key)
        if existing is None:
            raise
        log.warning("%s already holds provenance for these exact model bytes: keeping it", existing.uri)
        return existing
