"""Tests that kill mutants which survived scripts/mutation.py (mutmut) on the security core.

Each test states the behaviour a surviving mutant broke; the mutant is named in its docstring.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from slsa_models import __version__, deploy
from slsa_models.deploy import promotion
from slsa_models.deploy.records import RECORD_FORMAT, open_record, record_from_dict
from slsa_models.errors import CorruptRecordError, InputError, PolicyError, StoreLockedError
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.store import file as file_store
from slsa_models.store.file import FileStore, _lock_holder
from slsa_models.verify import TrustedKey, api
from slsa_models.verify.crypto import SignatureResult
from slsa_models.verify.local import recorded_repository
from slsa_models.verify.names import MODEL_NAME, check_model_name, named_models
from slsa_models.verify.policy import AttestationPolicy, GeneratorPolicy, Policy, normalize_source_uri
from slsa_models.verify.policy_file import load_policy
from slsa_models.verify.report import ArtifactResult, Check

HEX = "a" * 64


def _results(*subjects: str | None) -> list[ArtifactResult]:
    return [ArtifactResult(f"file{i}", HEX, True, subject) for i, subject in enumerate(subjects)]


def _provenance(inputs: object = None) -> SimpleNamespace:
    return SimpleNamespace(inputs_source=inputs)


# --- slsa_models/verify/names.py -------------------------------------------------------------


def test_a_subject_in_a_subdirectory_names_the_model_by_its_first_path_part() -> None:
    """names: rsplit instead of split binds <model>/dir/file to "<model>/dir"."""
    assert named_models(_provenance(), _results("iris/saved_model/variables.index")) == ("iris",)


def test_subjects_alone_name_the_model() -> None:
    """names: a subject with a slash not counted (only the parameter names a model)."""
    assert named_models(_provenance(), _results("iris/model.keras", "plain.bin", None)) == ("iris",)


def test_the_model_name_parameter_alone_names_the_model() -> None:
    """names: the build parameters ignored."""
    assert named_models(_provenance({"model_name": "iris"}), _results("model.keras")) == ("iris",)
    assert named_models(_provenance({"model-name": "iris"}), _results("model.keras")) == ("iris",)
    assert named_models(_provenance({"model_name": 7}), _results("model.keras")) == ()
    assert named_models(_provenance(["model_name"]), _results("model.keras")) == ()


def test_subjects_and_parameters_both_count_in_order_without_repeats() -> None:
    """names: the parameter replacing (not adding to) the names from subjects."""
    provenance = _provenance({"model_name": "digits", "model-name": "iris"})
    assert named_models(provenance, _results("iris/a.bin", "iris/b.bin")) == ("iris", "digits")


def test_model_name_check_lines() -> None:
    """names: the exact expected/actual/detail of each outcome of the model-name check."""
    assert check_model_name((), "iris", True) == Check(
        MODEL_NAME, True, "iris", "evidence naming no model", "accepted: the policy accepts unnamed evidence")
    assert check_model_name((), "iris", False) == Check(
        MODEL_NAME, False, "iris", "evidence naming no model",
        "the evidence names no model; only a policy with accept-unnamed = true takes it")
    assert check_model_name(("iris",), "iris", False) == Check(MODEL_NAME, True, "iris", "iris", "")
    assert check_model_name(("iris", "digits"), "iris", True) == Check(
        MODEL_NAME, False, "iris", "iris, digits", "the evidence was made for model 'digits'")


@pytest.mark.parametrize("accept_unnamed", [True, False])
def test_another_model_fails_whatever_accept_unnamed_says(accept_unnamed: bool) -> None:
    assert not check_model_name(("digits",), "iris", accept_unnamed).passed


# --- slsa_models/verify/local.py -------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    "git+ssh://git@github.com/acme/models.git",  # killed "git+" not removed before the ssh form
    "git+https://github.com/acme/models.git/",
    "ssh://git@github.com/acme/models",
    "git@github.com:acme/models.git",
    "https://github.com/acme/models",
])
def test_a_recorded_github_repository_in_each_form(uri: str) -> None:
    assert recorded_repository(uri) == "git+https://github.com/acme/models"


@pytest.mark.parametrize("uri", [None, "", "https://gitlab.com/acme/models", "git+ssh://git@gitlab.com/a/b"])
def test_a_recorded_repository_not_on_github_is_none(uri: str | None) -> None:
    assert recorded_repository(uri) is None


# --- slsa_models/deploy/records.py -----------------------------------------------------------


def _record(**change: object) -> dict[str, object]:
    return {"outcome": "promoted", "model_name": "iris", "digest": "sha256:" + HEX, "file_name": "model.keras",
            "object": {"key": "models/iris/sha256-" + HEX + "/model.keras", "uri": "s3://b/models/iris"},
            "evidence": [{"location": "s3://b/p.intoto.jsonl", "sha256": "b" * 64}, {"location": "none"}],
            "verification": [], "smoke_load": {}, "policy": {"kinds": ["generator"]}, "decision_id": "d",
            "decided_at": "2026-01-01T00:00:00+00:00", "sequence": 3, "previous": None,
            "flow_run_id": None, "deployed_at": None, "reason": None, "failed_check": None,
            "format": RECORD_FORMAT, **change}


def test_the_signed_statement_is_the_whole_slsa_verification_summary() -> None:
    """records: "verifiedLevels" renamed (and any other field of the VSA changed) went unnoticed."""
    values = _record()
    record = record_from_dict(values)
    policy_digest = hashlib.sha256(json.dumps(values["policy"], sort_keys=True).encode()).hexdigest()
    assert record.statement() == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "iris/model.keras", "digest": {"sha256": HEX}}],
        "predicateType": "https://slsa.dev/verification_summary/v1",
        "predicate": {
            "verifier": {"id": "https://github.com/slsa-models/slsa-models/deploy",
                         "version": {"slsa-models": __version__}},
            "timeVerified": "2026-01-01T00:00:00+00:00",
            "resourceUri": "s3://b/models/iris",
            "policy": {"uri": "slsa-models:policy", "digest": {"sha256": policy_digest}},
            "inputAttestations": [{"uri": "s3://b/p.intoto.jsonl", "digest": {"sha256": "b" * 64}}],
            "verificationResult": "PASSED",
            "verifiedLevels": [],
            "slsaVersion": "1.0",
            "slsaModels": record.to_dict(),
        },
    }
    refused = record_from_dict(_record(outcome="refused", digest=None, object={}))
    predicate = refused.statement()["predicate"]
    assert (refused.statement()["subject"], predicate["verificationResult"], predicate["resourceUri"]) == (
        [], "FAILED", "model:iris")


@pytest.mark.parametrize(("change", "message"), [
    ({"evidence": [{"location": "x"}, 5]}, "evidence[1]: expected an object with a location string"),
    ({"evidence": [{"location": 1}]}, "evidence[0]: expected an object with a location string"),
    ({"verification": [{}]}, "verification[0]: expected a report with a list of named checks"),
    ({"verification": [{"checks": [{"name": 1}]}]},
     "verification[0]: expected a report with a list of named checks"),
    ({"smoke_load": {"status": "ok"}}, "smoke_load: expected status and detail strings"),
])
def test_nested_shapes_of_a_record_are_named_exactly(change: dict[str, object], message: str) -> None:
    """records: the ValueError of a nested shape without its message."""
    with pytest.raises(ValueError) as caught:
        record_from_dict(_record(**change))
    assert str(caught.value) == message


def test_bytes_that_are_not_a_signed_record_name_the_reason(tmp_path: Path) -> None:
    """records: the reason of a CorruptRecordError dropped from its line."""
    generate_key_pair(tmp_path / "d.pem", tmp_path / "d.pub.pem")
    deployers = (TrustedKey("d", load_private_key(tmp_path / "d.pem").public_key()),)
    with pytest.raises(CorruptRecordError) as caught:
        open_record(b"", deployers, "current.json")
    assert str(caught.value) == ("current.json is not a signed deployment record (provenance: empty file; "
                                 "expected a Sigstore bundle (.intoto.jsonl)); fix or remove it")


NESTED_70: list[object] = []
for _ in range(70):
    NESTED_70 = [NESTED_70]


def test_a_policy_has_one_digest_whatever_its_key_order() -> None:
    """records: the policy digest of the VSA taken without sort_keys (one policy, two digests)."""
    first = record_from_dict(_record(policy={"kinds": ["generator"], "accept_unnamed": False}))
    again = record_from_dict(_record(policy={"accept_unnamed": False, "kinds": ["generator"]}))
    assert first.statement()["predicate"]["policy"] == again.statement()["predicate"]["policy"]


@pytest.mark.parametrize(("statement", "reason"), [
    ({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://slsa.dev/provenance/v1",
      "predicate": {"slsaModels": {}}},
     "not a https://slsa.dev/verification_summary/v1 statement"),
    ({"predicateType": "https://slsa.dev/verification_summary/v1", "predicate": {"deep": NESTED_70}},
     "current.json: JSON nested more than 64 levels deep; refusing to read it"),
])
def test_a_signed_statement_that_is_no_record_names_why(tmp_path: Path, statement: dict[str, object],
                                                        reason: str) -> None:
    """records: parse_statement's reasons (not a VSA; too deep, naming the file) lost from its line."""
    from slsa_models.provenance.bundle import key_signed_bundle

    generate_key_pair(tmp_path / "d.pem", tmp_path / "d.pub.pem")
    key = load_private_key(tmp_path / "d.pem")
    data = key_signed_bundle(key, statement).encode()
    with pytest.raises(CorruptRecordError) as caught:
        open_record(data, (TrustedKey("d", key.public_key()),), "current.json")
    assert str(caught.value) == f"current.json is not a deployment record ({reason}); fix or remove it"


# --- slsa_models/deploy/gate.py --------------------------------------------------------------


def test_the_gate_fetches_evidence_from_its_provenance_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """gate: fetch_evidence called without the gate's provenance URL (the evidence looked up beside
    the model instead of where the deployment said)."""
    calls = []
    monkeypatch.setattr("slsa_models.deploy.gate.fetch_evidence", lambda *args, **_: calls.append(args) or ())
    gate = deploy.Gate(object(), "iris", None, provenance_url="https://example.test/p.intoto.jsonl")  # type: ignore[arg-type]
    candidate = SimpleNamespace(key="models/iris/sha256-" + HEX + "/model.keras")
    assert gate.fetch_evidence(candidate) == ()  # type: ignore[arg-type]
    assert calls == [(gate.store, candidate.key, "https://example.test/p.intoto.jsonl")]


def test_the_gate_downloads_the_version_it_was_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """gate: run() dropping version_id (the bytes verified are not the version pinned)."""
    gate = deploy.Gate(object(), "iris", None)  # type: ignore[arg-type]
    fetched = []
    monkeypatch.setattr(gate, "fetch_evidence", lambda candidate: (SimpleNamespace(usable=True),))
    monkeypatch.setattr(gate, "fetch_model", lambda *args, **kwargs: fetched.append((args, kwargs)) or "model")
    monkeypatch.setattr(gate, "verify", lambda candidate, evidence, model: ("verdict", model))
    monkeypatch.setattr(gate, "smoke_load", lambda verdict: "smoke")
    candidate = SimpleNamespace(key="k")
    progress = object()
    assert gate.run(tmp_path, candidate=candidate, version_id="v7", durable=True,  # type: ignore[arg-type]
                    progress=progress) == (("verdict", "model"), "smoke")  # type: ignore[arg-type]
    [(args, kwargs)] = fetched
    assert (args, kwargs["version_id"], kwargs["durable"]) == ((candidate, tmp_path), "v7", True)
    assert kwargs["progress"] is progress  # gate: run() dropping the progress callback (no UI progress)


# --- slsa_models/deploy/promotion.py ---------------------------------------------------------


def _deployer(tmp_path: Path) -> deploy.Deployer:
    generate_key_pair(tmp_path / "d.pem", tmp_path / "d.pub.pem")
    key = load_private_key(tmp_path / "d.pem")
    return deploy.Deployer(KeySigner(key, description="deployer d"), (TrustedKey("d", key.public_key()),))


def test_a_run_refusal_is_recorded_with_nothing_verified(tmp_path: Path) -> None:
    """promotion: record_run_refusal's smoke_load dropped or its "detail" renamed (no deploy test ran it)."""
    store, deployer = FileStore(tmp_path), _deployer(tmp_path)
    decision = deploy.record_run_refusal(store, "iris", None, "trust parameters in the run",
                                         failed_check=deploy.TRUST_PARAMETERS, deployer=deployer)
    assert not decision.deployed
    [record] = deploy.read_history(store, "iris", deployer.trusted)
    assert record == decision.record
    assert (record.outcome, record.smoke_load, record.reason, record.failed_check, record.sequence) == (
        "refused", {"status": "skipped", "detail": "nothing verified"}, "trust parameters in the run",
        deploy.TRUST_PARAMETERS, 0)


def test_a_retried_refusal_is_not_appended_twice(tmp_path: Path) -> None:
    """promotion: _append not passing the trusted deployers (a retried task's decision appended again)."""
    store, deployer = FileStore(tmp_path), _deployer(tmp_path)
    first = deploy.record_run_refusal(store, "iris", None, "refused", failed_check="x", deployer=deployer)
    again = promotion._append(store, first.record, deployer)
    assert (again.history_key, again.record) == (first.history_key, first.record)
    assert len(deploy.read_history(store, "iris", deployer.trusted)) == 1


# --- slsa_models/verify/policy.py ------------------------------------------------------------


@pytest.mark.parametrize("uri", ["github.com/o/r@v1", "github.com/o@x/r", "git+https://github.com/o/r@main"])
def test_a_source_uri_with_an_at_sign_is_refused(uri: str) -> None:
    """policy: normalize_source_uri's "@" test weakened (a ref or user in the URI accepted)."""
    with pytest.raises(PolicyError) as caught:
        normalize_source_uri(uri)
    assert str(caught.value) == (f"source URI {uri!r} is not a GitHub repository; "
                                 "expected github.com/OWNER/REPO (or https://github.com/OWNER/REPO)")


def test_a_signer_workflow_with_a_scheme_is_refused_in_one_line() -> None:
    """policy: the signer workflow's refusal message changed."""
    with pytest.raises(PolicyError) as caught:
        AttestationPolicy("github.com/o/r", signer_workflow="https://github.com/o/r/.github/workflows/b.yml")
    assert str(caught.value) == ("signer workflow 'https://github.com/o/r/.github/workflows/b.yml': expected "
                                 "[HOST/]OWNER/REPO/PATH/TO/WORKFLOW.yml, without a scheme")


def test_no_trusted_kind_passed_names_the_kinds() -> None:
    """policy: combine()'s reason listing the kinds with another separator."""
    policy = Policy(GeneratorPolicy("github.com/o/r"), AttestationPolicy("github.com/o/r"))
    assert policy.combine(["local-builder"]) == (
        "no evidence passed any trusted kind (slsa-github-generator, github-attestation)")
    assert policy.combine(["github-attestation"]) is None


# --- slsa_models/verify/policy_file.py -------------------------------------------------------


def test_a_key_path_with_spaces_is_usable(tmp_path: Path) -> None:
    """policy_file: the control-character test of a path taking in the space (" " <= 32)."""
    (tmp_path / "my keys").mkdir()
    generate_key_pair(tmp_path / "my keys" / "b.pem", tmp_path / "my keys" / "b.pub.pem")
    policy = tmp_path / "policy.toml"
    policy.write_text('version = 2\n[local-builder.box]\nbuilder-id = "https://example.test/b"\n'
                      'public-key = "my keys/b.pub.pem"\n')
    [key] = load_policy(policy).kinds[0].keys
    assert key.public_key == load_private_key(tmp_path / "my keys" / "b.pem").public_key()


def test_a_policy_nested_too_deeply_says_so(tmp_path: Path) -> None:
    """policy_file: the RecursionError's message dropped (the test of it is not in its selection)."""
    policy = tmp_path / "policy.toml"
    policy.write_text("version = 2\nx = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(InputError) as caught:
        load_policy(policy)
    assert str(caught.value) == f"{policy}: nested too deeply; is this a policy file?"


# --- slsa_models/store/file.py ---------------------------------------------------------------


def test_the_holder_of_a_lock_without_a_note_is_an_unknown_process(tmp_path: Path) -> None:
    """file: _lock_holder's fallback for an empty or unreadable lock file changed."""
    lock = tmp_path / ".x.lock"
    lock.write_bytes(b"")
    for flags in (os.O_RDONLY, os.O_WRONLY):  # empty; unreadable (pread fails)
        fd = os.open(lock, flags)
        try:
            assert _lock_holder(fd) == "unknown process"
        finally:
            os.close(fd)


def test_the_holder_of_a_lock_is_shown_in_one_short_line(tmp_path: Path) -> None:
    """file: _lock_holder's cut at 120 characters, whitespace folded."""
    lock = tmp_path / ".x.lock"
    lock.write_bytes(b"pid 12\n on  host " + b"x" * 300)
    fd = os.open(lock, os.O_RDONLY)
    try:
        assert _lock_holder(fd) == ("pid 12 on host " + "x" * 300)[:120]
    finally:
        os.close(fd)


def test_a_lock_file_removed_or_replaced_is_no_longer_the_one_held(tmp_path: Path) -> None:
    """file: _same_inode, which makes a writer that locked a lock file someone removed take
    the lock again on the new one."""
    from slsa_models.store.file import _same_inode

    lock = tmp_path / ".x.lock"
    lock.write_bytes(b"")
    fd = os.open(lock, os.O_RDONLY)
    try:
        assert _same_inode(fd, lock)
        lock.unlink()
        assert not _same_inode(fd, lock)
        lock.write_bytes(b"")
        assert not _same_inode(fd, lock)
    finally:
        os.close(fd)


def test_a_writer_waiting_for_a_lock_polls_it_often(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """file: _wait_for_lock sleeping 1 s between tries (a lock released at once still costs a second)."""
    slept: list[float] = []
    monkeypatch.setattr(file_store, "time", SimpleNamespace(
        monotonic=time.monotonic, sleep=lambda seconds: slept.append(seconds) or time.sleep(seconds)))
    lock = tmp_path / ".x.lock"
    holder = os.open(lock, os.O_RDWR | os.O_CREAT)
    waiter = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(StoreLockedError):
            FileStore(tmp_path)._wait_for_lock(waiter, lock, "file:///x", time.monotonic() + 0.05)
    finally:
        os.close(waiter)
        os.close(holder)
    assert slept and max(slept) <= 0.05


def test_two_files_put_in_one_directory(tmp_path: Path) -> None:
    """file: put_file's mkdir without exist_ok (a second file beside the first refused)."""
    store = FileStore(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode())
        stored = store.put_file(f"models/iris/{name}.bin", tmp_path / name)
        assert stored.sha256 == hashlib.sha256(name.encode()).hexdigest()
    assert store.read_bytes("models/iris/b.bin") == b"b"


# --- slsa_models/verify/api.py ---------------------------------------------------------------

VECTOR = Path(__file__).parent / "vectors" / "binary-linux-amd64-push-v14.intoto.jsonl"


def _signatures(monkeypatch: pytest.MonkeyPatch, *results: SignatureResult) -> None:
    """_verify_signature answers ``results`` in turn (the signature checks themselves are tested elsewhere)."""
    answers = iter(results)
    monkeypatch.setattr(api, "_verify_signature", lambda loaded, signing: next(answers))


def test_a_signed_payload_that_is_not_slsa_provenance_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    """api: the statement check's actual value ("unsupported") or the payload of the report changed."""
    signed = Check("signature", True, "a valid signature", "valid")
    _signatures(monkeypatch, SignatureResult([signed], "application/vnd.in-toto+json", b"{}"))
    loaded = SimpleNamespace(document={}, sha256="c" * 64)
    report = api._verify_sigstore(loaded, [], Policy(GeneratorPolicy("github.com/o/r")))  # type: ignore[arg-type]
    assert (report.passed, report.kind, report.payload, report.provenance_sha256) == (
        False, "sigstore-bundle", b"{}", "c" * 64)
    assert report.checks == [signed, Check("statement", False, "an in-toto statement with SLSA provenance",
                                           "unsupported", "unsupported in-toto statement type None")]


def test_a_kind_with_its_own_root_verifies_the_signature_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """api: the report of a signature that fails under the statement's own kind's root and issuer
    (verified first with another kind's) built without the provenance (no test reached it)."""
    envelope = json.loads(VECTOR.read_text().splitlines()[0])["dsseEnvelope"]
    first = SignatureResult([Check("signature", True, "x", "valid")], envelope["payloadType"],
                            base64.b64decode(envelope["payload"]))
    failed = Check("signature", False, "a certificate issued by the generator's issuer", "another issuer")
    _signatures(monkeypatch, first, SignatureResult([failed]))
    loaded = SimpleNamespace(document={}, sha256="c" * 64)  # no envelope to peek at: the first kind's root
    policy = Policy(AttestationPolicy("github.com/o/r"), GeneratorPolicy("github.com/o/r"))
    report = api._verify_sigstore(loaded, [], policy)  # type: ignore[arg-type]
    assert (report.passed, report.checks, report.kind, report.provenance_sha256, report.builder_id) == (
        False, [failed], "slsa-github-generator", "c" * 64, None)


# --- slsa_models/formats.py ------------------------------------------------------------------


def test_keras_weights_of_another_architecture_name_keras_reason(tmp_path: Path) -> None:
    """formats: _load_keras_weights's refusal built without the framework's error (reason "None")."""
    import keras

    from slsa_models.formats import load_model, save_model

    dense = keras.Sequential([keras.Input(shape=(8, 8)), keras.layers.Dense(3)])
    path = save_model(dense, "tensorflow_hdf5.weights.h5", tmp_path)
    with pytest.raises(InputError) as caught:
        load_model(path, "tensorflow_hdf5.weights.h5")
    assert str(caught.value) == (f"cannot load tensorflow_hdf5.weights.h5 from {path}: it does not match "
                                 "architecture 'digits-cnn' (A total of 2 objects could not be loaded.)")
