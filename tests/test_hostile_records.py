"""Hostile and broken inputs to the gate's own parsers: artifacts that are not files, policy files
nested 2,000 levels, deployment records of the wrong shape. One line, the documented exit code,
nothing written (issue: hostile and broken inputs, cases 1, 2 and 8)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.deploy.records import RECORD_FORMAT, record_from_dict
from slsa_models.errors import CorruptRecordError, InputError, UntrustedRecordError
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.verify import TrustedKey, load_policy


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slsa_models.cli", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("command", [["digest"], ["verify-artifact", "--provenance-path", "x.jsonl",
                                                  "--source-uri", "github.com/a/b"]])
def test_an_artifact_that_is_a_fifo_is_refused_at_once(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "model.pth"
    os.mkfifo(fifo)
    provenance = Path(__file__).parent / "vectors" / "binary-linux-amd64-push-v14.intoto.jsonl"
    args = [part if part != "x.jsonl" else str(provenance) for part in command]
    done = _cli(*args, str(fifo))
    assert done.returncode == 2
    assert done.stderr == f"error: {fifo}: not a regular file (a FIFO); give the file itself\n"


def test_a_policy_nested_2000_levels_is_an_input_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("version = 2\nx = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(InputError) as caught:
        load_policy(policy)
    assert str(caught.value) == f"{policy}: nested too deeply; is this a policy file?"
    done = _cli("verify-artifact", "--digest", "sha256:" + "a" * 64, "--provenance-path", str(policy),
                "--policy", str(policy))
    assert done.returncode == 2
    assert done.stderr == f"error: {policy}: nested too deeply; is this a policy file?\n"


def _valid() -> dict[str, object]:
    return {"outcome": "promoted", "model_name": "m", "digest": "sha256:" + "a" * 64, "file_name": "f",
            "object": {"key": "models/m/sha256-" + "a" * 64 + "/f"}, "evidence": [], "verification": [],
            "smoke_load": {}, "policy": {}, "decision_id": "d", "decided_at": "2026-01-01T00:00:00+00:00",
            "sequence": 0, "previous": None, "flow_run_id": None, "deployed_at": None, "reason": None,
            "failed_check": None, "format": RECORD_FORMAT}


@pytest.mark.parametrize(("change", "message"), [
    ({"digest": None, "outcome": "refused"}, None),  # a refusal of nothing downloaded: valid
    ({"digest": 5}, "digest: expected str or NoneType, got int"),
    ({"object": []}, "object: expected dict, got list"),
    ({"object": {"key": 5}}, "object.key: expected a string"),
    ({"sequence": "1"}, "sequence: expected int, got str"),
    ({"sequence": True}, "sequence: expected int, got bool"),
    ({"outcome": "deployed"}, "outcome 'deployed' is not one of promoted, refused, conflict"),
    ({"digest": "sha256:abc"}, "not a SHA-256 digest: 'sha256:abc' (expected sha256:<64 hex digits>)"),
    ({"format": "slsa-models/deployment-record/v1"}, "not a slsa-models/deployment-record/v2 document"),
])
def test_record_fields_are_type_checked(change: dict[str, object], message: str | None) -> None:
    document = {**_valid(), **change}
    if message is None:
        assert record_from_dict(document).digest is None
        return
    with pytest.raises((ValueError, InputError)) as caught:
        record_from_dict(document)
    assert str(caught.value) == message


def test_a_signed_record_of_the_wrong_shape_is_corrupt_not_a_crash(deployer: tuple[KeySigner, TrustedKey]) -> None:
    """Even a record signed by the trusted deployer is parsed defensively (object {}, digest 5)."""
    signer, trusted = deployer
    data = signer.sign(_statement({**_valid(), "object": {}, "digest": 5})).encode()
    with pytest.raises(CorruptRecordError) as caught:
        deploy.open_record(data, (trusted,), "current.json")
    assert str(caught.value) == ("current.json is not a deployment record (digest: expected str or "
                                 "NoneType, got int); fix or remove it")
    nested = json.loads(data)
    nested["dsseEnvelope"]["payload"] = base64.b64encode(b"[" * 3000 + b"]" * 3000).decode()
    with pytest.raises(UntrustedRecordError):  # no longer signed: never parsed as a record
        deploy.open_record(json.dumps(nested).encode(), (trusted,), "here")


SECP112R1_PEM = """-----BEGIN PUBLIC KEY-----
MDIwEAYHKoZIzj0CAQYFK4EEAAYDHgAEaU1KZLzB9IprXCLtQlfCJTsZr43Kq5Ik6sMeEg==
-----END PUBLIC KEY-----"""


@pytest.mark.parametrize(("entry", "message"), [
    (f'public-key-pem = """{SECP112R1_PEM}"""\n',
     "[local-builder.box] public-key-pem: not an ECDSA P-256 key (the local builder signs with P-256 only)"),
    ('public-key = "k.pub.pem"\nexpires = 9999-12-31T23:00:00-05:00\n',
     "[local-builder.box] public key 'box': expiry 9999-12-31T23:00:00-05:00 is out of range: in UTC it "
     "falls outside the years 1 to 9999; give an earlier date"),
])
def test_unsupported_key_material_in_a_policy_file_is_one_line(tmp_path: Path, entry: str, message: str) -> None:
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    policy = tmp_path / "policy.toml"
    policy.write_text(f'version = 2\n[local-builder.box]\nbuilder-id = "https://ci.example.com/b"\n{entry}')
    with pytest.raises(InputError) as caught:
        load_policy(policy)
    assert str(caught.value) == f"{policy}: {message}"


@pytest.fixture(scope="module")
def deployer(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeySigner, TrustedKey]:
    folder = tmp_path_factory.mktemp("deployer")
    generate_key_pair(folder / "d.pem", folder / "d.pub.pem")
    key = load_private_key(folder / "d.pem")
    return KeySigner(key), TrustedKey("d", key.public_key())


def _statement(record: object) -> dict[str, object]:
    return {"_type": "https://in-toto.io/Statement/v1", "subject": [],
            "predicateType": "https://slsa.dev/verification_summary/v1", "predicate": {"slsaModels": record}}


@pytest.mark.parametrize(("statement", "reason"), [
    ([1], "not a https://slsa.dev/verification_summary/v1 statement"),
    (_statement({**_valid(), "verification": [1]}), "verification[0]: expected a report with a list of named checks"),
    (_statement({**_valid(), "verification": [{"checks": [{"name": 1}]}]}),
     "verification[0]: expected a report with a list of named checks"),
    (_statement({**_valid(), "digest": "sha256:" + "x" * 300}),
     ("not a SHA-256 digest: 'sha256:" + "x" * 300)[:200]),
])
def test_a_signed_record_of_any_wrong_shape_is_one_line(deployer: tuple[KeySigner, TrustedKey], statement: object,
                                                        reason: str) -> None:
    signer, trusted = deployer
    with pytest.raises(CorruptRecordError) as caught:
        deploy.open_record(signer.sign(statement).encode(), (trusted,), "current.json")  # type: ignore[arg-type]
    assert str(caught.value) == f"current.json is not a deployment record ({reason}); fix or remove it"


def test_a_record_that_is_other_evidence_is_corrupt(deployer: tuple[KeySigner, TrustedKey]) -> None:
    vector = (Path(__file__).parent / "vectors" / "binary-linux-amd64-push-v14.intoto.jsonl").read_bytes()
    with pytest.raises(CorruptRecordError) as caught:
        deploy.open_record(vector, (deployer[1],), "current.json")
    assert str(caught.value) == ("current.json is not a signed deployment record (sigstore-bundle); "
                                 "fix or remove it")


def test_an_opened_record_carries_its_bytes_digest_and_signer(deployer: tuple[KeySigner, TrustedKey],
                                                              tmp_path: Path) -> None:
    import hashlib

    from slsa_models.deploy.records import record_digest

    signer, trusted = deployer
    data = signer.sign(_statement(_valid())).encode()
    generate_key_pair(tmp_path / "o.pem", tmp_path / "o.pub.pem")
    other = TrustedKey("other", load_private_key(tmp_path / "o.pem").public_key())
    opened = deploy.open_record(data, (other, trusted), "current.json")
    assert (opened.data, opened.signer, opened.record.model_name) == (data, "d", "m")
    assert opened.digest == record_digest(data) == "sha256:" + hashlib.sha256(data).hexdigest()
    with pytest.raises(UntrustedRecordError) as caught:
        deploy.open_record(data, (other, TrustedKey("o2", other.public_key)), "current.json")
    assert str(caught.value) == ("current.json is not signed by a trusted deployer (other, o2): edited by hand "
                                 "or written by another deployer; nothing loaded")


def test_record_times_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from datetime import datetime, timezone

    from slsa_models.deploy.records import iso

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert iso(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.000006+00:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_records_object_names_every_field_of_the_stored_object() -> None:
    from datetime import datetime, timezone

    from slsa_models.deploy.records import object_dict
    from slsa_models.store import StoredObject

    stored = StoredObject(key="models/m/f", uri="s3://b/models/m/f", sha256="a" * 64, size=7, etag="e",
                          last_modified=datetime(2026, 1, 1, tzinfo=timezone.utc), version_id="v1")
    assert object_dict(stored) == {"key": "models/m/f", "uri": "s3://b/models/m/f", "size": 7,
                                   "version_id": "v1", "etag": "e"}
