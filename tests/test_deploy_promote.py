"""Promotion: pin the verified object, append the signed record, compare-and-swap current.json.

Real stores (file, and S3 on moto over HTTP), real provenance (tests/vectors),
records signed with a real key. Ordering is by history sequence and the
store's preconditions; no test (and no code) compares clocks.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from slsa_models import deploy
from slsa_models.errors import ConflictError, InputError
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import TrustedKey
from tests.policies import github_policy
from tests.stub_http import StubHTTPServer

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
PROVENANCE = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
SOURCE = "github.com/slsa-framework/example-package"
POLICY = github_policy(source_uri=SOURCE, source_tag="v14")
MODEL = "example"
SKIPPED = deploy.SmokeResult("skipped", "not a model format")


@pytest.fixture
def deployer(tmp_path: Path) -> deploy.Deployer:
    generate_key_pair(tmp_path / "deployer.pem", tmp_path / "deployer.pub.pem")
    key = load_private_key(tmp_path / "deployer.pem")
    return deploy.Deployer(KeySigner(key), (TrustedKey("deployer", key.public_key()),))


def passed_verdict(store: ArtifactStore, work: Path, policy: Any = POLICY) -> deploy.Verdict:
    work.mkdir(exist_ok=True)
    if not deploy.model_objects(store, MODEL):
        key = publish_model(store, MODEL, BINARY).key
        publish_provenance(store, key, PROVENANCE)
    gate = deploy.Gate(store, MODEL, policy)
    verdict, _ = gate.run(work)
    return verdict


def promote(store: ArtifactStore, verdict: deploy.Verdict, deployer: deploy.Deployer,
            run: str = "run") -> deploy.Decision:
    return deploy.promote(store, verdict, SKIPPED, deployer=deployer, policy={"source_tag": "v14"},
                          flow_run_id=run)


def history(store: ArtifactStore, deployer: deploy.Deployer) -> list[str]:
    return [record.outcome for record in deploy.read_history(store, MODEL, deployer.trusted)]


def current(store: ArtifactStore, deployer: deploy.Deployer) -> deploy.DeploymentRecord | None:
    held = deploy.read_current(store, MODEL, deployer.trusted).signed
    return held.record if held is not None else None


def test_promotion_writes_signed_current_and_history(store_uri: str, tmp_path: Path,
                                                     deployer: deploy.Deployer) -> None:
    store = open_store(store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    decision = promote(store, verdict, deployer)
    assert decision.deployed
    held = deploy.read_current(store, MODEL, deployer.trusted)
    assert held.signed is not None and held.tag and held.problem is None
    record = held.signed.record
    assert record == decision.record and record.sequence == 0 and record.previous is None
    assert record.object["key"] == verdict.model_key
    assert record.object["etag"] == verdict.model.stored.etag  # type: ignore[union-attr]
    assert record.evidence[0]["sha256"] == verdict.evidence[0].sha256
    assert record.verification[0]["passed"] is True and record.flow_run_id == "run"
    assert decision.history_key == layout.history_key(MODEL, 0)
    assert store.read_bytes(decision.history_key) == store.read_bytes(layout.current_key(MODEL))
    assert history(store, deployer) == ["promoted"]


def test_a_promotion_records_when_and_each_piece_of_evidence_judged(file_store_uri: str, tmp_path: Path,
                                                                    deployer: deploy.Deployer) -> None:
    """The evidence came from a provenance URL (a real HTTP server on 127.0.0.1): the promoted record
    names it with its kind and result, says when it was deployed, and the evidence is kept beside the
    model (write-once) so later deploys and serving find it in the store."""
    import functools
    from datetime import datetime, timezone
    from http.server import SimpleHTTPRequestHandler
    from threading import Thread

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    store = open_store(file_store_uri)
    key = publish_model(store, MODEL, BINARY).key
    server = StubHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(VECTORS)))
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{PROVENANCE.name}"
        (tmp_path / "work").mkdir()
        verdict, _ = deploy.Gate(store, MODEL, POLICY, provenance_url=url).run(tmp_path / "work")
    finally:
        server.shutdown()
        server.server_close()
    assert verdict.passed and store.head(layout.provenance_key(key)) is None
    before = deploy.records.iso(datetime.now(timezone.utc))
    record = promote(store, verdict, deployer).record
    after = deploy.records.iso(datetime.now(timezone.utc))
    assert record.outcome == deploy.PROMOTED and before <= (record.deployed_at or "") <= after
    assert record.evidence == [{"source": "url", "location": url, "key": layout.provenance_key(key),
                                "sha256": hashlib.sha256(PROVENANCE.read_bytes()).hexdigest(),
                                "kind": "slsa-github-generator", "passed": True, "error": None}]
    assert store.read_bytes(layout.provenance_key(key)) == PROVENANCE.read_bytes()


def test_a_swap_that_keeps_losing_ends_as_a_conflict(file_store_uri: str, tmp_path: Path,
                                                     deployer: deploy.Deployer) -> None:
    """Another writer replaces current.json between each of our reads and our compare-and-swap:
    after the attempts allowed, the decision is a conflict, recorded, and current.json is theirs."""
    from slsa_models.store.file import FileStore

    class Busy(FileStore):
        writes = 0

        def compare_and_swap(self, key: str, data: bytes, expected_tag: str | None) -> str:
            if key == layout.current_key(MODEL):
                Busy.writes += 1
                super().compare_and_swap(key, b"rival write %d" % Busy.writes, expected_tag)
            return super().compare_and_swap(key, data, expected_tag)

    store = Busy(Path(file_store_uri.removeprefix("file://")))
    verdict = passed_verdict(store, tmp_path / "work")
    decision = deploy.promote(store, verdict, SKIPPED, deployer=deployer, policy={}, attempts=3)
    assert decision.record.outcome == deploy.CONFLICT and not decision.deployed
    assert decision.record.reason == (f"{store.object_uri(layout.current_key(MODEL))} kept changing: gave up after"
                                      " 3 compare-and-swap attempts; nothing changed")
    assert decision.record.deployed_at is None and Busy.writes == 3
    assert store.read_bytes(layout.current_key(MODEL)) == b"rival write 3"
    assert history(store, deployer) == ["conflict", "promoted"]  # newest first


def test_a_refusal_records_the_failed_check_its_caller_names(file_store_uri: str, tmp_path: Path) -> None:
    """build_record: the failed check a caller gives is recorded as given; without one, the verdict's."""
    store = open_store(file_store_uri)
    verdict = passed_verdict(store, tmp_path / "work", github_policy(source_uri=SOURCE, source_tag="v15"))
    smoke = deploy.SmokeResult("not-run", "verification did not pass")
    named = deploy.build_record(verdict, smoke, outcome=deploy.REFUSED, policy={}, flow_run_id=None,
                                reason="refused by the operator", failed_check="operator")
    assert (named.failed_check, named.reason) == ("operator", "refused by the operator")
    assert deploy.build_record(verdict, smoke, outcome=deploy.REFUSED, policy={},
                               flow_run_id=None).failed_check == "source-tag"


def test_versioned_bucket_pins_the_verified_version(s3_versioned_store_uri: str, tmp_path: Path,
                                                    deployer: deploy.Deployer) -> None:
    store = open_store(s3_versioned_store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    record = promote(store, verdict, deployer).record
    assert record.object["version_id"] == verdict.model.stored.version_id  # type: ignore[union-attr]
    assert record.object["version_id"] not in (None, "null")


def test_history_is_a_hash_chain(store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    store = open_store(store_uri)
    first = promote(store, passed_verdict(store, tmp_path / "a"), deployer, run="first")
    refused = deploy.record_refusal(store, passed_verdict(store, tmp_path / "b", github_policy(
        source_uri=SOURCE, source_tag="v15")), SKIPPED, deployer=deployer, policy={}, flow_run_id="r")
    second = promote(store, passed_verdict(store, tmp_path / "c"), deployer, run="second")
    assert [d.record.sequence for d in (first, refused, second)] == [0, 1, 2]
    assert refused.record.previous == deploy.records.record_digest(store.read_bytes(first.history_key))
    assert second.record.previous == deploy.records.record_digest(store.read_bytes(refused.history_key))
    assert current(store, deployer) == second.record
    assert history(store, deployer) == ["promoted", "refused", "promoted"]


def test_retried_promotion_is_applied_once(file_store_uri: str, tmp_path: Path,
                                           deployer: deploy.Deployer) -> None:
    """A task retry after current.json was written finds its own decision."""
    store = open_store(file_store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    first = promote(store, verdict, deployer)
    again = promote(store, verdict, deployer)
    assert again.record == first.record
    assert current(store, deployer) == first.record
    assert history(store, deployer) == ["promoted"]


class RacingStore:
    """A real store whose first read of current.json lets another deploy act in between:
    the interleaving of a lost compare-and-swap race, made deterministic."""

    def __init__(self, store: ArtifactStore, rival: Any) -> None:
        self._store = store
        self._rival = rival

    def read_with_tag(self, key: str) -> Any:
        found = self._store.read_with_tag(key)
        if self._rival is not None and key.endswith("current.json"):
            rival, self._rival = self._rival, None
            rival()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_newer_decision_in_place_wins(store_uri: str, tmp_path: Path, deployer: deploy.Deployer) -> None:
    """Ours got sequence 0; while we read current.json a later decision (1) is promoted."""
    store = open_store(store_uri)
    ours = passed_verdict(store, tmp_path / "a")
    newer = passed_verdict(store, tmp_path / "b")
    racing = RacingStore(store, lambda: promote(store, newer, deployer, run="newer"))
    decision = promote(racing, ours, deployer, run="ours")  # type: ignore[arg-type]
    assert decision.record.outcome == deploy.CONFLICT and not decision.deployed
    uri = store.object_uri(layout.current_key(MODEL))
    winner = current(store, deployer)
    assert winner is not None and winner.flow_run_id == "newer" and winner.sequence == 1
    assert decision.record.reason == (
        f"{uri} holds a newer deployment (#1, {winner.digest}) than this one (#0); nothing changed;"
        " re-run the deploy to replace it"
    )
    assert history(store, deployer) == ["conflict", "promoted", "promoted"]
    with pytest.raises(ConflictError) as caught:
        deploy.raise_for_outcome(ours, SKIPPED, decision)
    assert str(caught.value) == decision.record.reason


def test_a_lost_swap_against_an_older_decision_is_retried(store_uri: str, tmp_path: Path,
                                                          deployer: deploy.Deployer) -> None:
    """An older decision (#0) swaps in while we (#1) read: our compare-and-swap fails, we retry and win."""
    store = open_store(store_uri)
    older = passed_verdict(store, tmp_path / "a")
    record = deploy.build_record(older, SKIPPED, outcome=deploy.PROMOTED, policy={}, flow_run_id="older")
    key, signed = deploy.append_record(store, record, deployer.signer, deployer.trusted)
    ours = passed_verdict(store, tmp_path / "b")
    racing = RacingStore(store, lambda: deploy.swap_current(store, signed, key, deployer))
    decision = promote(racing, ours, deployer, run="ours")  # type: ignore[arg-type]
    assert decision.deployed and decision.record.sequence == 1
    assert current(store, deployer) == decision.record


def test_object_changed_after_verification_is_refused(s3_store_uri: str, s3_client: Any, tmp_path: Path,
                                                      deployer: deploy.Deployer) -> None:
    store = open_store(s3_store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    bucket = s3_store_uri.removeprefix("s3://").split("/")[0]
    swapped = b"swapped after verification"
    put = s3_client.put_object(Bucket=bucket, Key=f"prefix/{verdict.model_key}", Body=swapped)
    decision = promote(store, verdict, deployer)
    assert decision.record.outcome == deploy.REFUSED
    assert decision.record.failed_check == deploy.STORED_OBJECT
    downloaded = verdict.model.stored  # type: ignore[union-attr]
    assert decision.record.reason == (
        f"{store.object_uri(verdict.model_key)} changed after it was verified (etag {downloaded.etag},"
        f" {downloaded.size} bytes when downloaded, etag {put['ETag']}, {len(swapped)} bytes now):"
        " nothing deployed; re-run the deploy to verify what the store holds now"
    )
    assert store.read_with_tag(layout.current_key(MODEL)) is None
    assert history(store, deployer) == ["refused"]


def test_object_deleted_after_verification_is_restored_from_the_verified_file(
    store_uri: str, tmp_path: Path, deployer: deploy.Deployer
) -> None:
    store = open_store(store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    _delete(store, verdict.model_key)
    decision = promote(store, verdict, deployer)
    assert decision.deployed
    restored = tmp_path / "restored"
    assert store.download(verdict.model_key, restored).sha256 == verdict.model.sha256  # type: ignore[union-attr]


def test_a_deleted_object_is_not_restored_from_a_copy_changed_since_verification(
    store_uri: str, tmp_path: Path, deployer: deploy.Deployer
) -> None:
    """The object vanished and the verified local file was changed since: those bytes are not the
    verified ones, so nothing is stored under the model's key, recorded or deployed."""
    store = open_store(store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    _delete(store, verdict.model_key)
    assert verdict.model is not None
    verdict.model.path.write_bytes(b"changed after verification")
    with pytest.raises(InputError) as caught:
        promote(store, verdict, deployer)
    assert str(caught.value) == (
        f"{verdict.model.path}: its sha256 is {hashlib.sha256(b'changed after verification').hexdigest()},"
        f" not the {verdict.model.sha256} expected; nothing was stored")
    assert store.head(verdict.model_key) is None and store.read_with_tag(layout.current_key(MODEL)) is None
    assert history(store, deployer) == []


def test_refusal_is_recorded_and_current_untouched(file_store_uri: str, tmp_path: Path,
                                                   deployer: deploy.Deployer) -> None:
    store = open_store(file_store_uri)
    verdict = passed_verdict(store, tmp_path / "work", github_policy(source_uri=SOURCE, source_tag="v15"))
    smoke = deploy.smoke_load(verdict.model.path if verdict.model else None, verified=verdict.passed)
    decision = deploy.record_refusal(store, verdict, smoke, deployer=deployer, policy={}, flow_run_id="r")
    assert decision.record.outcome == deploy.REFUSED and decision.record.failed_check == "source-tag"
    assert decision.record.smoke_load["status"] == "not-run"
    assert decision.record.deployed_at is None
    assert store.read_with_tag(layout.current_key(MODEL)) is None
    assert history(store, deployer) == ["refused"]


@pytest.mark.parametrize("junk", [b"junk", b"{}", b"[" * 5000])
def test_history_skips_a_damaged_record_and_chains_after_it(file_store_uri: str, tmp_path: Path,
                                                            deployer: deploy.Deployer, junk: bytes) -> None:
    store = open_store(file_store_uri)
    promote(store, passed_verdict(store, tmp_path / "a"), deployer)
    store.put_bytes(layout.history_key(MODEL, 1), junk)
    store.put_bytes(layout.history_prefix(MODEL) + "not-a-sequence.json", b"junk")
    second = promote(store, passed_verdict(store, tmp_path / "b"), deployer)
    assert second.record.sequence == 2
    assert second.record.previous == deploy.records.record_digest(junk)
    assert history(store, deployer) == ["promoted", "promoted"]


def _delete(store: ArtifactStore, key: str) -> None:
    if store.uri.startswith("file://"):
        Path(store.object_uri(key).removeprefix("file://")).unlink()
        return
    import boto3

    bucket, _, prefix = store.uri.removeprefix("s3://").partition("/")
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).delete_object(
        Bucket=bucket, Key=f"{prefix}/{key}"
    )


@pytest.mark.parametrize("content", [b"{hand-edited", b"{}", b'{"format": 5}'])
def test_an_unreadable_current_json_never_blocks_a_deploy(file_store_uri: str, tmp_path: Path,
                                                         deployer: deploy.Deployer, content: bytes) -> None:
    """An edited or damaged current.json cannot be trusted, so it cannot win either: the next
    verified promotion replaces it (by compare-and-swap on its tag)."""
    store = open_store(file_store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    store.compare_and_swap(layout.current_key(MODEL), content, None)
    decision = promote(store, verdict, deployer)
    assert decision.deployed
    assert current(store, deployer) == decision.record


def test_a_forged_newer_record_cannot_block_deploys(file_store_uri: str, tmp_path: Path,
                                                    deployer: deploy.Deployer) -> None:
    """A record claiming sequence 10**9, signed by a key no one trusts, is replaced, not obeyed."""
    store = open_store(file_store_uri)
    verdict = passed_verdict(store, tmp_path / "work")
    generate_key_pair(tmp_path / "evil.pem", tmp_path / "evil.pub.pem")
    evil = KeySigner(load_private_key(tmp_path / "evil.pem"))
    record = deploy.build_record(verdict, SKIPPED, outcome=deploy.PROMOTED, policy={}, flow_run_id=None)
    import dataclasses

    store.compare_and_swap(layout.current_key(MODEL),
                           dataclasses.replace(record, sequence=10**9).sign(evil), None)
    decision = promote(store, verdict, deployer)
    assert decision.deployed and current(store, deployer) == decision.record


def test_a_record_dated_in_the_future_does_not_block_deploys(file_store_uri: str, tmp_path: Path,
                                                            deployer: deploy.Deployer) -> None:
    """A validly signed record decided 'in 2999' (a host whose clock runs ahead) is older by
    sequence than the next decision: order comes from the chain, never from clocks."""
    import dataclasses

    store = open_store(file_store_uri)
    first = promote(store, passed_verdict(store, tmp_path / "a"), deployer)
    future = dataclasses.replace(first.record, decided_at="2999-01-01T00:00:00.000000+00:00")
    _, tag = store.read_with_tag(layout.current_key(MODEL))  # type: ignore[misc]
    store.compare_and_swap(layout.current_key(MODEL), future.sign(deployer.signer), tag)
    second = promote(store, passed_verdict(store, tmp_path / "b"), deployer)
    assert second.deployed and second.record.sequence == 1
    assert current(store, deployer) == second.record


def test_evidence_from_a_second_signer_is_added_not_lost(file_store_uri: str, tmp_path: Path) -> None:
    """Re-attesting the same bytes with another key adds a piece of evidence; a policy that
    trusts only the new key deploys it (the old piece stays, and fails evidence-kind or signature)."""
    from slsa_models.provenance.attest import attest
    from slsa_models.verify import LocalBuilderPolicy, Policy

    store = open_store(file_store_uri)
    model = tmp_path / "model.bin"
    model.write_bytes(b"the same bytes")
    key = publish_model(store, MODEL, model).key
    trusted = []
    for name in ("old", "new"):
        generate_key_pair(tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem")
        bundle = attest([(f"{MODEL}/model.bin", layout.parse_model_key(key)[1])],
                        signer=KeySigner(load_private_key(tmp_path / f"{name}.pem")),
                        builder_id="https://ci.example.com/b", external_parameters={"model_name": MODEL})
        publish_provenance(store, key, bundle.encode())
        trusted.append(TrustedKey.from_file(tmp_path / f"{name}.pub.pem", name=name,
                                            builder_id="https://ci.example.com/b"))
    pieces = [obj.key for obj in store.list_objects(key + ".")]
    assert len(pieces) == 2
    (tmp_path / "work").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, Policy(LocalBuilderPolicy((trusted[1],)))).run(tmp_path / "work")
    assert verdict.passed
    assert [report.passed for report in verdict.reports if report is not None] == [False, True]
