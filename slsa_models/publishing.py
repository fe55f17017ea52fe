"""Put a model and its provenance at their content-addressed, write-once keys.

The train flow's store step, the local builder and ``slsa-models publish`` (the
GitHub workflow's publish job) all go through here, so the layout has one owner.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slsa_models.digest import sha256_file
from slsa_models.errors import ConflictError, InputError
from slsa_models.manifest import Manifest, digest_path
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
    if path.name.endswith(layout.MANIFEST_SUFFIX):
        raise InputError(f"{path}: a model file cannot end with {layout.MANIFEST_SUFFIX!r}: the store "
                         "keeps folder models' manifests under that name")
    digest = sha256 or sha256_file(path)
    key = layout.model_key(model_name, digest, path.name)
    return store.put_file(key, path, sha256=digest, on_progress=on_progress)


UPLOAD_WORKERS = 8


def publish_folder(
    store: ArtifactStore,
    model_name: str,
    folder: str | os.PathLike[str],
    manifest: Manifest,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> StoredObject:
    """Store a folder model: every file of ``manifest`` under ``models/<model>/sha256-<manifest
    hex>/<folder>/``, several at a time, then the manifest itself, last, so a stored manifest
    means every file it lists is stored. Each file is write-once and checked against its
    manifest digest while uploading; returns the manifest's object (the folder's model key)."""
    folder = Path(folder)
    key = layout.folder_key(model_name, manifest.digest.hex, folder.name)
    jobs = [(layout.folder_file_key(key, entry.path), folder / entry.path, entry.sha256)
            for entry in manifest.files]  # every key is checked before anything is written

    def upload(job: tuple[str, Path, str]) -> StoredObject:
        file_key, path, digest = job
        return store.put_file(file_key, path, sha256=digest, on_progress=on_progress)

    with ThreadPoolExecutor(max_workers=min(UPLOAD_WORKERS, len(jobs)), thread_name_prefix="upload") as pool:
        list(pool.map(upload, jobs))
    return store.put_bytes(key, manifest.to_bytes())


def publish_digested(
    store: ArtifactStore,
    model_name: str,
    path: str | os.PathLike[str],
    digest: str | Manifest,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> StoredObject:
    """Store a model file (``digest`` its hex SHA-256) or folder (``digest`` its manifest),
    as ``digest_path`` returned them."""
    if isinstance(digest, Manifest):
        return publish_folder(store, model_name, path, digest, on_progress=on_progress)
    return publish_model(store, model_name, path, sha256=digest, on_progress=on_progress)


def publish_path(store: ArtifactStore, model_name: str, path: str | os.PathLike[str], *,
                 ignore_paths: Sequence[str] = ()) -> StoredObject:
    """Store a model file or folder (see ``publish_model`` and ``publish_folder``)."""
    return publish_digested(store, model_name, path, digest_path(path, ignore_paths))


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
