"""Store steps: check the store up front, then put the model at its write-once key."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from slsa_models.manifest import Manifest
from slsa_models.publishing import publish_digested, publish_provenance
from slsa_models.store import StoredObject, layout, open_store
from slsa_models.progress import total_size
from tasks.policy import IN_MEMORY, STORE_IO
from tasks.progress import UIProgress


@task(name="check-store", **IN_MEMORY)
def check_store(store_uri: str, model_name: str) -> str:
    """One listing request: a bad URI, endpoint, bucket or credential fails before training."""
    store = open_store(store_uri)
    store.list_objects(layout.model_prefix(model_name))
    return store.uri


@task(name="store-model", **STORE_IO)
def store_model(store_uri: str, model_name: str, path: Path, digest: str | Manifest) -> StoredObject:
    """A file at its content-addressed key, or a folder's files and then its manifest."""
    with UIProgress(f"uploading {path.name}") as progress:
        progress.add_total(total_size([path]))
        stored = publish_digested(open_store(store_uri), model_name, path, digest, on_progress=progress)
    print(f"stored {stored.uri}")
    return stored


@task(name="store-provenance", **STORE_IO)
def store_provenance(store_uri: str, model_key: str, bundle: bytes) -> StoredObject:
    stored = publish_provenance(open_store(store_uri), model_key, bundle)
    print(f"stored provenance {stored.uri}")
    return stored
