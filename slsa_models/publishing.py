"""Put a model and its provenance at their content-addressed, write-once keys.

The train flow's store step, the local builder and ``slsa-models publish`` (the
GitHub workflow's publish job) all go through here, so the layout has one owner.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from slsa_models.digest import sha256_file
from slsa_models.errors import ConflictError
from slsa_models.store import ArtifactStore, StoredObject, layout
from slsa_models.verify.bundle import read_provenance

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
    """Store evidence next to its model: ``<model file>.intoto.jsonl``, or, when that key
    already holds another piece, ``<model file>.<12 hex>.intoto.jsonl``. Adding evidence
    never replaces evidence (write-once), so a placeholder cannot block real provenance."""
    data = provenance if isinstance(provenance, bytes) else read_provenance(Path(provenance))
    try:
        return store.put_bytes(layout.provenance_key(model_key), data)
    except ConflictError:
        extra = layout.evidence_key(model_key, hashlib.sha256(data).hexdigest())
        stored = store.put_bytes(extra, data)
        log.info("%s holds other evidence already: stored this piece at %s", model_key, stored.uri)
        return stored
