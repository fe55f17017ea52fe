"""The decision history (a hash chain of signed records) and what is deployed now.

``append_record`` gives a record the next sequence number and the digest of
the record before it, signs it and writes it write-once at
``history/<sequence>.json``; two writers racing for one number cannot both
win, the loser takes the next. Ordering comes from sequences and the store's
preconditions, never from clocks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from slsa_models.deploy.records import (
    MAX_RECORD_BYTES,
    DeploymentRecord,
    SignedRecord,
    open_record,
    record_digest,
)
from slsa_models.errors import ConflictError, CorruptRecordError, InputError, NotFoundError, UntrustedRecordError
from slsa_models.provenance.signers import KeySigner
from slsa_models.store import ArtifactStore, MissingObjectError, layout
from slsa_models.verify.keys import TrustedKey

HISTORY_LIMIT = 20  # records shown in a report
APPEND_ATTEMPTS = 8


@dataclass(frozen=True)
class Current:
    """``current.json`` as the deployer reads it before a compare-and-swap.

    ``signed`` is None when nothing is deployed or the file cannot be trusted;
    ``problem`` then says why (the deploy replaces such a file and says so).
    """

    signed: SignedRecord | None
    tag: str | None
    problem: str | None = None


def read_current(store: ArtifactStore, model_name: str, deployers: tuple[TrustedKey, ...]) -> Current:
    """What current.json holds, verified against ``deployers``; never raises for its content."""
    key = layout.current_key(model_name)
    found = store.read_with_tag(key)
    if found is None:
        return Current(None, None)
    data, tag = found
    try:
        return Current(open_record(data, deployers, store.object_uri(key)), tag)
    except (CorruptRecordError, UntrustedRecordError) as error:
        return Current(None, tag, str(error))


def require_current(store: ArtifactStore, model_name: str, deployers: tuple[TrustedKey, ...]) -> SignedRecord:
    """The deployed record, verified: NotFoundError when nothing is deployed, else the
    record's own error (untrusted, corrupt)."""
    key = layout.current_key(model_name)
    try:
        data = store.read_bytes(key, max_size=MAX_RECORD_BYTES)
    except MissingObjectError:
        raise NotFoundError(
            f"nothing is deployed for model {model_name!r} in {store.uri}"
            f" ({key} does not exist); deploy it first"
        ) from None
    return open_record(data, deployers, store.object_uri(key))


def _head(store: ArtifactStore, model_name: str) -> tuple[int, str | None, bytes | None]:
    """(sequence, digest, bytes) of the newest history record; (-1, None, None) when empty."""
    keys = [(seq, obj.key) for obj in store.list_objects(layout.history_prefix(model_name))
            if (seq := layout.history_sequence(obj.key)) is not None]
    if not keys:
        return -1, None, None
    sequence, key = max(keys)
    try:
        data = store.read_bytes(key, max_size=MAX_RECORD_BYTES)
    except MissingObjectError:
        return sequence, None, None
    return sequence, record_digest(data), data


def append_record(store: ArtifactStore, record: DeploymentRecord, signer: KeySigner,
                  deployers: tuple[TrustedKey, ...] = ()) -> tuple[str, SignedRecord]:
    """Chain, sign and write ``record``; return (its key, the signed record).

    Idempotent for a retried task: when the newest record is this decision
    (same ``decision_id``, signed by a trusted deployer), it is returned as is.
    """
    for _ in range(APPEND_ATTEMPTS):
        sequence, previous, head = _head(store, record.model_name)
        if head is not None and deployers:
            try:
                mine = open_record(head, deployers, "history")
            except (CorruptRecordError, UntrustedRecordError):
                mine = None
            if mine is not None and mine.record.decision_id == record.decision_id \
                    and mine.record.outcome == record.outcome:
                return layout.history_key(record.model_name, sequence), mine
        chained = dataclasses.replace(record, sequence=sequence + 1, previous=previous)
        data = chained.sign(signer)
        key = layout.history_key(record.model_name, sequence + 1)
        try:
            store.put_bytes(key, data)
        except ConflictError:
            continue  # another decision took this number: chain after it
        return key, SignedRecord(chained, data, "self")
    history = layout.history_prefix(record.model_name).rstrip("/")  # a prefix is no valid key
    raise ConflictError(f"{store.object_uri(history)} kept growing: "
                        f"gave up after {APPEND_ATTEMPTS} attempts to append; re-run the deploy")


def read_history(store: ArtifactStore, model_name: str, deployers: tuple[TrustedKey, ...],
                 limit: int = HISTORY_LIMIT) -> list[DeploymentRecord]:
    """The newest ``limit`` trusted history records of ``model_name``, newest first.

    A record that cannot be parsed or trusted is skipped: the history is an audit
    trail, and one damaged entry must not hide the others.
    """
    keys = sorted((seq, obj.key) for obj in store.list_objects(layout.history_prefix(model_name))
                  if (seq := layout.history_sequence(obj.key)) is not None)
    records = []
    for _, key in reversed(keys):
        if len(records) == limit:
            break
        try:
            data = store.read_bytes(key, max_size=MAX_RECORD_BYTES)
            records.append(open_record(data, deployers, store.object_uri(key)).record)
        except (MissingObjectError, CorruptRecordError, UntrustedRecordError, InputError):
            continue  # InputError: larger than a record can be (refused unread)
    return records
