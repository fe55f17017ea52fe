"""Promote verified bytes: pin the store object, swap ``current.json``, append history.

The deployed location is the model's own content-addressed, write-once object.
Promotion pins the very object version that was downloaded and verified
(``version_id`` on a versioned bucket, else ``etag``) together with the SHA-256
of the verified bytes, so serving can fetch exactly that object and re-check
it. If the object vanished since it was verified, the verified local file is
uploaded back (write-once); if it changed, nothing is promoted.

``current.json`` is replaced only by compare-and-swap. A lost race is re-read:
when the new state is an older decision it is retried (at most ``attempts``
times), when it is a newer one this promotion gives up as a ``conflict``. A
decision is never applied twice (a retried task finds its own ``decision_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from slsa_models.deploy.gate import Verdict
from slsa_models.deploy.history import append_record, read_current
from slsa_models.deploy.provenance import SOURCE_URL
from slsa_models.deploy.records import (
    CONFLICT,
    PROMOTED,
    REFUSED,
    DeploymentRecord,
    build_record,
)
from slsa_models.deploy.smoke import SmokeResult
from slsa_models.errors import ConflictError
from slsa_models.store import ArtifactStore, StoredObject, layout

SWAP_ATTEMPTS = 3
STORED_OBJECT = "stored-object"  # the failed check of an object that changed after verification
SMOKE_LOAD = "smoke-load"


class ObjectChanged(ConflictError):
    """The model object in the store is no longer the one that was verified."""


@dataclass(frozen=True)
class Decision:
    """What a deploy decided; ``record`` is what was written (current.json and history)."""

    record: DeploymentRecord
    history_key: str

    @property
    def deployed(self) -> bool:
        return self.record.outcome == PROMOTED


def pin_verified_object(store: ArtifactStore, verdict: Verdict) -> StoredObject:
    """The store object that holds exactly the verified bytes (see the module docstring)."""
    model = verdict.model
    if model is None:
        raise ValueError("nothing was downloaded to pin")
    downloaded = model.stored
    now = store.head(downloaded.key)
    if now is None:
        return store.put_file(downloaded.key, model.path, sha256=model.sha256)
    if downloaded.version_id is not None:
        same = now.version_id == downloaded.version_id
        was, found = f"version {downloaded.version_id}", f"version {now.version_id}"
    else:
        same = now.etag == downloaded.etag and now.size == downloaded.size
        was, found = f"etag {downloaded.etag}, {downloaded.size} bytes", f"etag {now.etag}, {now.size} bytes"
    if not same:
        raise ObjectChanged(
            f"{downloaded.uri} changed after it was verified ({was} when downloaded, {found} now):"
            " nothing deployed; re-run the deploy to verify what the store holds now"
        )
    return downloaded


def promote(
    store: ArtifactStore,
    verdict: Verdict,
    smoke: SmokeResult,
    *,
    candidate: StoredObject,
    policy: dict[str, Any],
    flow_run_id: str | None = None,
    attempts: int = SWAP_ATTEMPTS,
) -> Decision:
    """Promote a passed verdict; the outcome is ``promoted``, ``refused`` or ``conflict``.

    Store failures raise (the caller may retry: this is idempotent).
    """
    if not verdict.passed or smoke.blocks_deploy:
        raise ValueError("promote() needs a verdict that passed and a smoke test that did not fail")
    common = {"policy": policy, "candidate": candidate, "flow_run_id": flow_run_id}
    provenance = verdict.provenance
    if provenance.source == SOURCE_URL and provenance.raw is not None:
        # keep it next to the model, where serving and audits look (write-once)
        store.put_bytes(provenance.key, provenance.raw)
    try:
        pinned = pin_verified_object(store, verdict)
    except ObjectChanged as error:
        record = build_record(verdict, smoke, outcome=REFUSED, reason=str(error),
                              failed_check=STORED_OBJECT, **common)
        return Decision(record, append_record(store, record))
    record = build_record(verdict, smoke, outcome=PROMOTED, pinned=pinned, **common)
    record = swap_current(store, record, attempts=attempts)
    return Decision(record, append_record(store, record))


def swap_current(store: ArtifactStore, record: DeploymentRecord, *, attempts: int = SWAP_ATTEMPTS) -> DeploymentRecord:
    """Put ``record`` in current.json by compare-and-swap; return it, or a ``conflict`` record."""
    key = layout.current_key(record.model_name)
    uri = store.object_uri(key)
    for _ in range(attempts):
        current, tag = read_current(store, record.model_name)
        if current is not None and current.decision_id == record.decision_id:
            return current  # this decision is already in place (a retried promotion)
        if current is not None and current.decided > record.decided:
            return replace(
                record, outcome=CONFLICT, deployed_at=None, previous=current.summary(),
                reason=(
                    f"{uri} holds a newer deployment ({current.digest}, decided"
                    f" {current.decided_at}); nothing changed; re-run the deploy to replace it"
                ),
            )
        attempt = replace(record, previous=current.summary() if current is not None else None)
        try:
            store.compare_and_swap(key, attempt.to_json(), tag)
        except ConflictError:
            continue  # lost a race: read the new state and decide again
        return attempt
    return replace(
        record, outcome=CONFLICT, deployed_at=None,
        reason=f"{uri} kept changing: gave up after {attempts} compare-and-swap attempts; nothing changed",
    )


def record_refusal(
    store: ArtifactStore,
    verdict: Verdict,
    smoke: SmokeResult,
    *,
    candidate: StoredObject,
    policy: dict[str, Any],
    flow_run_id: str | None = None,
) -> Decision:
    """Append the refusal of ``verdict`` (failed checks, unusable provenance or failed smoke test)."""
    if verdict.passed and smoke.blocks_deploy:
        reason, check = f"smoke-load failed: {smoke.detail}", SMOKE_LOAD
    else:
        reason, check = verdict.reason, None
    record = build_record(verdict, smoke, outcome=REFUSED, reason=reason, failed_check=check,
                          policy=policy, candidate=candidate, flow_run_id=flow_run_id)
    return Decision(record, append_record(store, record))
