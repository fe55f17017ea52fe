"""Fetch steps of the deploy: find the model, fetch its provenance, download it hashing."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from slsa_models import deploy
from slsa_models.store import StoredObject, open_store
from tasks.policy import STORE_IO


@task(name="find-model", **STORE_IO)
def find_model(store_uri: str, model_name: str, digest: str | None) -> StoredObject:
    found = deploy.find_model(open_store(store_uri), model_name, digest)
    print(f"candidate {found.uri}")
    return found


@task(name="fetch-provenance", **STORE_IO)
def fetch_provenance(store_uri: str, model_key: str, url: str | None) -> deploy.FetchedProvenance:
    """Store failures raise (and are retried); unusable provenance is returned, to be recorded."""
    fetched = deploy.fetch_provenance(open_store(store_uri), model_key, url)
    print(f"provenance from {fetched.location}: " + (f"sha256:{fetched.sha256}" if fetched.usable else str(fetched.error)))
    return fetched


@task(name="fetch-model", **STORE_IO)
def fetch_model(store_uri: str, model_key: str, directory: Path) -> deploy.FetchedModel:
    """Download into the flow's scratch directory: no fsync (it is removed after the run)."""
    fetched = deploy.download_model(open_store(store_uri), model_key, directory, durable=False)
    print(f"downloaded {fetched.stored.size} bytes, sha256:{fetched.sha256}")
    return fetched
