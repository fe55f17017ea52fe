"""Decide and record: pin the verified object, append the signed record, swap ``current.json``.

The deployed location is the model's own content-addressed, write-once object.
Promotion pins the very object version that was downloaded and verified
(``version_id`` on a versioned bucket, else ``etag``) together with the SHA-256
of the verified bytes, so serving can fetch exactly that object and re-check
it. If the object vanished since it was verified, the verified local file is
uploaded back (write-once); if it changed, nothing is promoted.

Every decision is first appended to the history (which gives it its sequence
number), then a promotion replaces ``current.json`` by compare-and-swap on the
store's tag. A promotion whose sequence is lower than the one in place lost to
a newer decision and ends as a ``conflict``; an untrusted or unreadable
``current.json`` is replaced and the record says so. No clock is compared.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from slsa_models.deploy.deployer import Deployer
from slsa_models.deploy.gate import Verdict
from slsa_models.deploy.history import append_record, read_current
from slsa_models.deploy.provenance import SOURCE_URL
from slsa_models.deploy.records import (
    CONFLICT,
    PROMOTED,
    REFUSED,
    DeploymentRecord,
    SignedRecord,
    iso,
    object_dict,
)
from slsa_models.deploy.smoke import SmokeResult
from slsa_models.errors import ConflictError, ObjectChanged
from slsa_models.store import ArtifactStore, StoredObject, layout

log = logging.getLogger(__name__)
SWAP_ATTEMPTS = 5
STORED_OBJECT = "stored-object"  # the failed check of an object that changed after verification
SMOKE_LOAD = "smoke-load"
TRUST_PARAMETERS = "trust-parameters"  # the failed check of a run that tried to set the policy


@dataclass(frozen=True)
class Decision:
    """What a deploy decided; ``record`` is what was written (history, and current.json if promoted)."""

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


def build_record(verdict: Verdict, smoke: SmokeResult, *, outcome: str, policy: dict[str, Any],
                 flow_run_id: str | None, reason: str | None = None, failed_check: str | None = None,
                 pinned: StoredObject | None = None) -> DeploymentRecord:
    """The record of ``verdict``; ``pinned`` is the object promoted (default: the one downloaded)."""
    downloaded = verdict.model.stored if verdict.model is not None else None
    _, key_digest, file_name = layout.parse_model_key(verdict.model_key)
    if failed_check is None and outcome == REFUSED and not verdict.passed:
        failed_check = verdict.failed_check()
    target = pinned or downloaded
    return DeploymentRecord(
        outcome=outcome,
        model_name=verdict.model_name,
        digest=f"sha256:{downloaded.sha256 if downloaded is not None else key_digest}",
        file_name=file_name,
        object=object_dict(target) if target is not None else {"key": verdict.model_key},
        evidence=[{"source": piece.source, "location": piece.location, "key": piece.key,
                   "sha256": piece.sha256,
                   "kind": report.kind if report is not None else None,
                   "passed": report is not None and report.passed,
                   "error": str(piece.error) if piece.error is not None else None}
                  for piece, report in zip(verdict.evidence, verdict.reports, strict=True)],
        verification=[report.to_dict() for report in verdict.reports if report is not None],
        smoke_load=smoke.to_dict(),
        policy=policy,
        decision_id=verdict.decision_id,
        decided_at=iso(verdict.decided_at),
        flow_run_id=flow_run_id,
        deployed_at=iso(datetime.now(timezone.utc)) if outcome == PROMOTED else None,
        reason=reason,
        failed_check=failed_check,
    )


def promote(store: ArtifactStore, verdict: Verdict, smoke: SmokeResult, *, deployer: Deployer,
            policy: dict[str, Any], flow_run_id: str | None = None,
            attempts: int = SWAP_ATTEMPTS) -> Decision:
    """Promote a passed verdict; the outcome is ``promoted``, ``refused`` or ``conflict``.

    Store failures raise (the caller may retry: this is idempotent).
    """
    if not verdict.passed or smoke.blocks_deploy:
        raise ValueError("promote() needs a verdict that passed and a smoke test that did not fail")
    common = {"policy": policy, "flow_run_id": flow_run_id}
    for piece in verdict.evidence:  # keep evidence fetched from a URL next to the model (write-once)
        if piece.source == SOURCE_URL and piece.raw is not None:
            store.put_bytes(piece.key, piece.raw)
    try:
        pinned = pin_verified_object(store, verdict)
    except ObjectChanged as error:
        record = build_record(verdict, smoke, outcome=REFUSED, reason=str(error),
                              failed_check=STORED_OBJECT, **common)
        return _append(store, record, deployer)
    record = build_record(verdict, smoke, outcome=PROMOTED, pinned=pinned, **common)
    key, signed = append_record(store, record, deployer.signer, deployer.trusted)
    return swap_current(store, signed, key, deployer, attempts=attempts)


def swap_current(store: ArtifactStore, signed: SignedRecord, history_key: str, deployer: Deployer,
                 *, attempts: int = SWAP_ATTEMPTS) -> Decision:
    """Put the signed promotion in current.json by compare-and-swap, unless a newer one is there."""
    record = signed.record
    key = layout.current_key(record.model_name)
    uri = store.object_uri(key)
    for _ in range(attempts):
        current = read_current(store, record.model_name, deployer.trusted)
        held = current.signed.record if current.signed is not None else None
        if held is not None and held.decision_id == record.decision_id:
            return Decision(record, history_key)  # already in place (a retried promotion)
        if held is not None and held.sequence > record.sequence:
            return _append(store, replace(
                record, outcome=CONFLICT, deployed_at=None,
                reason=(f"{uri} holds a newer deployment (#{held.sequence}, {held.digest}) than this "
                        f"one (#{record.sequence}); nothing changed; re-run the deploy to replace it"),
            ), deployer)
        try:
            store.compare_and_swap(key, signed.data, current.tag)
        except ConflictError:
            continue  # lost a race: read the new state and decide again
        if current.problem is not None:
            log.warning("replaced an untrusted current.json: %s", current.problem)
        return Decision(record, history_key)
    return _append(store, replace(
        record, outcome=CONFLICT, deployed_at=None,
        reason=f"{uri} kept changing: gave up after {attempts} compare-and-swap attempts; nothing changed",
    ), deployer)


def record_refusal(store: ArtifactStore, verdict: Verdict, smoke: SmokeResult, *, deployer: Deployer,
                   policy: dict[str, Any], flow_run_id: str | None = None) -> Decision:
    """Append the refusal of ``verdict`` (failed checks, unusable evidence or failed smoke test)."""
    if verdict.passed and smoke.blocks_deploy:
        reason, check = f"smoke-load failed: {smoke.detail}", SMOKE_LOAD
    else:
        reason, check = verdict.reason, None
    record = build_record(verdict, smoke, outcome=REFUSED, reason=reason, failed_check=check,
                          policy=policy, flow_run_id=flow_run_id)
    return _append(store, record, deployer)


def _append(store: ArtifactStore, record: DeploymentRecord, deployer: Deployer) -> Decision:
    key, signed = append_record(store, record, deployer.signer, deployer.trusted)
    return Decision(signed.record, key)


def record_run_refusal(store: ArtifactStore, model_name: str, digest: str | None, reason: str, *,
                       failed_check: str, deployer: Deployer, flow_run_id: str | None = None) -> Decision:
    """Append a refusal decided before any model was looked at (e.g. trust parameters in a run)."""
    now = iso(datetime.now(timezone.utc))
    record = DeploymentRecord(
        outcome=REFUSED, model_name=model_name, digest=digest, file_name=None, object={},
        evidence=[], verification=[], smoke_load={"status": "skipped", "detail": "nothing verified"},
        policy={}, decision_id=uuid.uuid4().hex, decided_at=now, flow_run_id=flow_run_id,
        reason=reason, failed_check=failed_check,
    )
    return _append(store, record, deployer)
