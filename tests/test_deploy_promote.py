"""Promotion: pin the verified object, compare-and-swap current.json, append history.

Real stores (file, and S3 on moto over HTTP), real provenance (tests/vectors).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy
from slsa_models.errors import ConflictError
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import Policy

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
POLICY = Policy(source_uri="github.com/slsa-framework/example-package", source_tag="v14")
MODEL = "example"
SKIPPED = deploy.SmokeResult("skipped", "not a model format")


def passed_verdict(store: ArtifactStore, work: Path) -> tuple[deploy.Verdict, Any]:
    work.mkdir(exist_ok=True)
    if not deploy.model_objects(store, MODEL):
        key = publish_model(store, MODEL, BINARY).key
        publish_provenance(store, key, PROVENANCE)
    candidate = deploy.find_model(store, MODEL)
    provenance = deploy.fetch_provenance(store, candidate.key)
    model = deploy.download_model(store, candidate.key, work)
    verdict = deploy.verify_candidate(MODEL, candidate, provenance, model, POLICY)
    assert verdict.passed
    return verdict, candidate


def promote(store: ArtifactStore, verdict: deploy.Verdict, candidate: Any, run: str = "run") -> deploy.Decision:
    return deploy.promote(store, verdict, SKIPPED, candidate=candidate, policy={"source_tag": "v14"},
                          flow_run_id=run)


def history(store: ArtifactStore) -> list[str]:
    return [record.outcome for record in deploy.read_history(store, MODEL)]


def test_promotion_writes_current_and_history(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    verdict, candidate = passed_verdict(store, tmp_path / "work")
    decision = promote(store, verdict, candidate)
    assert decision.deployed
    current, tag = deploy.read_current(store, MODEL)
    assert current == decision.record and tag
    assert current.object["key"] == candidate.key
    assert current.object["etag"] == verdict.model.stored.etag  # type: ignore[union-attr]
    assert current.provenance["sha256"] == verdict.provenance.sha256
    assert current.verification["passed"] is True  # type: ignore[index]
    assert current.previous is None and current.flow_run_id == "run"
    assert decision.history_key.startswith(layout.history_prefix(MODEL))
    assert history(store) == ["promoted"]


def test_versioned_bucket_pins_the_verified_version(s3_versioned_store_uri: str, tmp_path: Path) -> None:
    store = open_store(s3_versioned_store_uri)
    verdict, candidate = passed_verdict(store, tmp_path / "work")
    record = promote(store, verdict, candidate).record
    assert record.object["version_id"] == verdict.model.stored.version_id  # type: ignore[union-attr]
    assert record.object["version_id"] not in (None, "null")


def test_a_second_promotion_replaces_and_links_the_previous(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    first = promote(store, *passed_verdict(store, tmp_path / "a"), run="first").record
    second = promote(store, *passed_verdict(store, tmp_path / "b"), run="second").record
    current, _ = deploy.read_current(store, MODEL)
    assert current == second
    assert second.previous == first.summary()
    assert history(store) == ["promoted", "promoted"]


def test_retried_promotion_is_applied_once(file_store_uri: str, tmp_path: Path) -> None:
    """A task retry after current.json was written only completes the history."""
    store = open_store(file_store_uri)
    verdict, candidate = passed_verdict(store, tmp_path / "work")
    first = promote(store, verdict, candidate)
    again = promote(store, verdict, candidate)
    assert again.record == first.record
    assert deploy.read_current(store, MODEL)[0] == first.record


def test_an_older_decision_does_not_replace_a_newer_one(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    older, candidate = passed_verdict(store, tmp_path / "a")
    newer, _ = passed_verdict(store, tmp_path / "b")
    winner = promote(store, newer, candidate, run="newer").record
    loser = promote(store, older, candidate, run="older")
    assert not loser.deployed and loser.record.outcome == deploy.CONFLICT
    uri = store.object_uri(layout.current_key(MODEL))
    assert loser.record.reason == (
        f"{uri} holds a newer deployment ({winner.digest}, decided {winner.decided_at});"
        " nothing changed; re-run the deploy to replace it"
    )
    assert deploy.read_current(store, MODEL)[0] == winner
    assert history(store) == ["conflict", "promoted"]
    with pytest.raises(ConflictError) as caught:
        deploy.raise_for_outcome(older, SKIPPED, loser)
    assert str(caught.value) == loser.record.reason


class RacingStore:
    """A real store whose first read of current.json lets another deploy swap in between:
    the interleaving of a lost compare-and-swap race, made deterministic."""

    def __init__(self, store: ArtifactStore, rival: Any) -> None:
        self._store = store
        self._rival = rival

    def read_with_tag(self, key: str) -> Any:
        found = self._store.read_with_tag(key)
        if self._rival is not None:
            rival, self._rival = self._rival, None
            rival()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_lost_race_against_an_older_decision_retries_on_the_new_state(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    older, candidate = passed_verdict(store, tmp_path / "a")
    newer, _ = passed_verdict(store, tmp_path / "b")
    racing = RacingStore(store, lambda: promote(store, older, candidate, run="older"))
    decision = promote(racing, newer, candidate, run="newer")  # type: ignore[arg-type]
    assert decision.deployed
    current, _ = deploy.read_current(store, MODEL)
    assert current is not None and current.flow_run_id == "newer"
    assert current.previous is not None and current.previous["flow_run_id"] == "older"
    assert sorted(history(store)) == ["promoted", "promoted"]


def test_lost_race_against_a_newer_decision_fails_cleanly(store_uri: str, tmp_path: Path) -> None:
    store = open_store(store_uri)
    older, candidate = passed_verdict(store, tmp_path / "a")
    newer, _ = passed_verdict(store, tmp_path / "b")
    racing = RacingStore(store, lambda: promote(store, newer, candidate, run="newer"))
    decision = promote(racing, older, candidate, run="older")  # type: ignore[arg-type]
    assert decision.record.outcome == deploy.CONFLICT
    assert deploy.read_current(store, MODEL)[0].flow_run_id == "newer"  # type: ignore[union-attr]
    assert sorted(history(store)) == ["conflict", "promoted"]


def test_object_changed_after_verification_is_refused(s3_store_uri: str, s3_client: Any, tmp_path: Path) -> None:
    store = open_store(s3_store_uri)
    verdict, candidate = passed_verdict(store, tmp_path / "work")
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    s3_client.put_object(Bucket=bucket, Key=f"prefix/{candidate.key}", Body=b"swapped after verification")
    decision = promote(store, verdict, candidate)
    assert decision.record.outcome == deploy.REFUSED
    assert decision.record.failed_check == deploy.STORED_OBJECT
    assert decision.record.reason is not None and decision.record.reason.startswith(
        f"{candidate.uri} changed after it was verified (etag "
    )
    assert deploy.read_current(store, MODEL) == (None, None)
    assert history(store) == ["refused"]


def test_object_deleted_after_verification_is_restored_from_the_verified_file(
    store_uri: str, tmp_path: Path
) -> None:
    store = open_store(store_uri)
    verdict, candidate = passed_verdict(store, tmp_path / "work")
    _delete(store, candidate.key)
    decision = promote(store, verdict, candidate)
    assert decision.deployed
    restored = tmp_path / "restored"
    assert store.download(candidate.key, restored).sha256 == verdict.model.sha256  # type: ignore[union-attr]


def test_refusal_is_recorded_and_current_untouched(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    key = publish_model(store, MODEL, BINARY).key
    publish_provenance(store, key, PROVENANCE)
    candidate = deploy.find_model(store, MODEL)
    provenance = deploy.fetch_provenance(store, key)
    (tmp_path / "work").mkdir()
    model = deploy.download_model(store, key, tmp_path / "work")
    verdict = deploy.verify_candidate(MODEL, candidate, provenance, model,
                                      Policy(source_uri=POLICY.source_uri, source_tag="v15"))
    smoke = deploy.smoke_load(model.path, verified=verdict.passed)
    decision = deploy.record_refusal(store, verdict, smoke, candidate=candidate, policy={}, flow_run_id="r")
    assert decision.record.outcome == deploy.REFUSED and decision.record.failed_check == "source-tag"
    assert decision.record.smoke_load["status"] == "not-run"
    assert decision.record.deployed_at is None
    assert deploy.read_current(store, MODEL) == (None, None)
    assert history(store) == ["refused"]


def test_history_skips_a_damaged_record(file_store_uri: str, tmp_path: Path) -> None:
    store = open_store(file_store_uri)
    promote(store, *passed_verdict(store, tmp_path / "work"))
    store.append(layout.history_prefix(MODEL) + "99999999T000000.000000Z-junk.json", b"junk")
    assert history(store) == ["promoted"]


def _delete(store: ArtifactStore, key: str) -> None:
    if store.uri.startswith("file://"):
        Path(store.object_uri(key).removeprefix("file://")).unlink()
        return
    import boto3

    bucket, _, prefix = store.uri.removeprefix("s3://").partition("/")
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).delete_object(
        Bucket=bucket, Key=f"{prefix}/{key}"
    )


def test_a_damaged_current_json_stops_promotion(file_store_uri: str, tmp_path: Path) -> None:
    """Nothing overwrites what cannot be read: an operator fixes or removes it."""
    store = open_store(file_store_uri)
    verdict, candidate = passed_verdict(store, tmp_path / "work")
    store.compare_and_swap(layout.current_key(MODEL), b"{hand-edited", None)
    with pytest.raises(deploy.CorruptRecordError) as caught:
        promote(store, verdict, candidate)
    assert str(caught.value) == (
        f"{store.object_uri(layout.current_key(MODEL))} is not a deployment record (Expecting property name"
        " enclosed in double quotes: line 1 column 2 (char 1)); fix or remove it"
    )
    assert not caught.value.retryable
    assert store.read_bytes(layout.current_key(MODEL)) == b"{hand-edited"
    assert history(store) == []
