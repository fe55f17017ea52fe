"""Reading what is deployed and the decision history; appending to the history."""

from __future__ import annotations

from datetime import datetime, timezone

from slsa_models.deploy.records import CorruptRecordError, DeploymentRecord
from slsa_models.errors import NotFoundError
from slsa_models.store import ArtifactStore, MissingObjectError, layout

HISTORY_LIMIT = 20  # records shown in a report


def read_current(store: ArtifactStore, model_name: str) -> tuple[DeploymentRecord | None, str | None]:
    """(record, tag) of ``deployments/<model>/current.json``; (None, None) when nothing is deployed."""
    key = layout.current_key(model_name)
    found = store.read_with_tag(key)
    if found is None:
        return None, None
    data, tag = found
    return DeploymentRecord.from_json(data, store.object_uri(key)), tag


def require_current(store: ArtifactStore, model_name: str) -> DeploymentRecord:
    """The deployed record, or NotFoundError saying nothing is deployed."""
    record, _ = read_current(store, model_name)
    if record is None:
        raise NotFoundError(
            f"nothing is deployed for model {model_name!r} in {store.uri}"
            f" ({layout.current_key(model_name)} does not exist); deploy it first"
        )
    return record


def append_record(store: ArtifactStore, record: DeploymentRecord) -> str:
    """Append ``record`` under ``deployments/<model>/history/``; return its key."""
    key = layout.history_key(
        record.model_name, datetime.now(timezone.utc), record.outcome, record.sha256
    )
    store.append(key, record.to_json())
    return key


def read_history(store: ArtifactStore, model_name: str, limit: int = HISTORY_LIMIT) -> list[DeploymentRecord]:
    """The newest ``limit`` history records of ``model_name``, newest first.

    A record that cannot be parsed is skipped: the history is an audit trail, and
    one damaged entry must not hide the others.
    """
    keys = [obj.key for obj in store.list_objects(layout.history_prefix(model_name))]
    records = []
    for key in reversed(keys):
        if len(records) == limit:
            break
        try:
            records.append(DeploymentRecord.from_json(store.read_bytes(key), store.object_uri(key)))
        except (MissingObjectError, CorruptRecordError):
            continue
    return records
