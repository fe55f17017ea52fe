"""Fetch steps of the deploy: find the model, fetch its evidence, download it hashing."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from slsa_models import deploy
from slsa_models.store import StoredObject
from tasks.policy import STORE_IO
from tasks.progress import UIProgress


@task(name="find-model", **STORE_IO)
def find_model(gate: deploy.Gate, digest: str | None) -> StoredObject:
    found = gate.find(digest)
    print(f"candidate {found.uri}")
    return found


@task(name="fetch-evidence", **STORE_IO)
def fetch_evidence(gate: deploy.Gate, candidate: StoredObject) -> tuple[deploy.FetchedProvenance, ...]:
    """Store failures raise (and are retried); unusable evidence is returned, to be recorded."""
    evidence = gate.fetch_evidence(candidate)
    for piece in evidence:
        print(f"evidence {piece.location}: "
              + (f"sha256:{piece.sha256}" if piece.usable else str(piece.error)))
    return evidence


@task(name="fetch-model", **STORE_IO)
def fetch_model(gate: deploy.Gate, candidate: StoredObject, directory: Path) -> deploy.FetchedModel:
    """Download into the flow's scratch directory: no fsync (it is removed after the run)."""
    with UIProgress(f"downloading {candidate.key.rsplit('/', 1)[-1]}") as progress:
        fetched = gate.fetch_model(candidate, directory, progress=progress)
    print(f"downloaded {fetched.stored.size} bytes, sha256:{fetched.sha256}")
    return fetched
