"""Tampered provenance: every mutation of a real vector FAILS, naming the right check.

Mutations are made programmatically from the real files in tests/vectors.
The expected check follows from what each part of a Sigstore bundle proves
and the order sigstore-python verifies them in (certificate chain at the
logged time, SCT, issuer, log proofs, DSSE signature, log entry bound to the
envelope): a changed payload breaks the signature, a changed log entry breaks
the log proofs, and so on. Mutations that break the bundle's structure
(undecodable certificate, missing proof) are unusable input instead and are
tested in test_verify_input.py.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slsa_models.errors import ProvenanceError
from slsa_models.verify import CHECK_NAMES, Artifact, Report, verify_artifacts
from tests.policies import github_policy

VECTORS = Path(__file__).parent / "vectors"
BINARY_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
POLICY = github_policy(source_uri="github.com/slsa-framework/example-package")
ARTIFACT = Artifact.from_digest(BINARY_SHA256)

Doc = dict[str, Any]


def load(name: str) -> Doc:
    return json.loads((VECTORS / f"binary-linux-amd64-{name}.intoto.jsonl").read_bytes())


def verify_doc(doc: Doc) -> Report:
    return verify_artifacts(json.dumps(doc).encode(), [ARTIFACT], POLICY)


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[index] ^= mask
    return bytes(changed)


def entry(doc: Doc) -> Doc:
    return doc["verificationMaterial"]["tlogEntries"][0]


def proof(doc: Doc) -> Doc:
    return entry(doc)["inclusionProof"]


def edit_b64(container: Doc, key: str, change: Callable[[bytes], bytes]) -> None:
    container[key] = b64(change(unb64(container[key])))


def edit_payload_text(old: bytes, new: bytes) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        payload = unb64(doc["dsseEnvelope"]["payload"])
        assert old in payload
        doc["dsseEnvelope"]["payload"] = b64(payload.replace(old, new, 1))
    return mutate


def edit_cert_text(old: bytes, new: bytes) -> Callable[[Doc], None]:
    """Change bytes inside a string of the certificate: the DER stays well-formed."""
    def mutate(doc: Doc) -> None:
        cert = doc["verificationMaterial"]["certificate"]
        der = unb64(cert["rawBytes"])
        assert old in der and len(old) == len(new)
        cert["rawBytes"] = b64(der.replace(old, new, 1))
    return mutate


def edit_checkpoint_line(index: int, change: Callable[[str], str]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        checkpoint = proof(doc)["checkpoint"]
        lines = checkpoint["envelope"].split("\n")
        lines[index] = change(lines[index])
        checkpoint["envelope"] = "\n".join(lines)
    return mutate


def flip_checkpoint_signature(doc: Doc) -> None:
    checkpoint = proof(doc)["checkpoint"]
    body, _, signature_line = checkpoint["envelope"].rstrip("\n").rpartition("\n")
    prefix, _, signature = signature_line.rpartition(" ")
    raw = unb64(signature)
    checkpoint["envelope"] = f"{body}\n{prefix} {b64(flip(raw, len(raw) - 5))}\n"


def add_to_int_field(container_of: Callable[[Doc], Doc], key: str, delta: int) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        container = container_of(doc)
        container[key] = str(int(container[key]) + delta)
    return mutate


def take_from(other: str, *path: str) -> Callable[[Doc], None]:
    """Replace doc[path] with the same part of another real vector."""
    def mutate(doc: Doc) -> None:
        source: Any = load(other)
        target: Any = doc
        for key in path[:-1]:
            source, target = source[key], target[key]
        target[path[-1]] = source[path[-1]]
    return mutate


def several(*mutations: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)
    return mutate


def payload_bytes(change: Callable[[bytes], bytes]) -> Callable[[Doc], None]:
    return lambda doc: edit_b64(doc["dsseEnvelope"], "payload", change)


def signature_bytes(change: Callable[[bytes], bytes]) -> Callable[[Doc], None]:
    return lambda doc: edit_b64(doc["dsseEnvelope"]["signatures"][0], "sig", change)


def cert_bytes(change: Callable[[bytes], bytes]) -> Callable[[Doc], None]:
    return lambda doc: edit_b64(doc["verificationMaterial"]["certificate"], "rawBytes", change)


def set_bytes(change: Callable[[bytes], bytes]) -> Callable[[Doc], None]:
    return lambda doc: edit_b64(entry(doc)["inclusionPromise"], "signedEntryTimestamp", change)


def body_bytes(change: Callable[[bytes], bytes]) -> Callable[[Doc], None]:
    return lambda doc: edit_b64(entry(doc), "canonicalizedBody", change)


def proof_hash(index: int) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        hashes = proof(doc)["hashes"]
        hashes[index] = b64(flip(unb64(hashes[index]), 7))
    return mutate


MUTATIONS: dict[str, tuple[Callable[[Doc], None], str]] = {
    # The DSSE payload: signed, so any change breaks the signature.
    "payload first byte": (payload_bytes(lambda p: flip(p, 0)), "signature"),
    "payload middle byte": (payload_bytes(lambda p: flip(p, len(p) // 2)), "signature"),
    "payload last byte": (payload_bytes(lambda p: flip(p, len(p) - 1)), "signature"),
    "payload subject digest": (edit_payload_text(BINARY_SHA256.encode(), b"0" * 64), "signature"),
    "payload builder version": (edit_payload_text(b"@refs/tags/v2.1.0", b"@refs/tags/v2.1.1"),
                                "signature"),
    "payload source ref": (edit_payload_text(b"refs/tags/v14", b"refs/tags/v15"), "signature"),
    "payload trailing space": (payload_bytes(lambda p: p + b" "), "signature"),
    "payload of another vector": (take_from("push-v14.2", "dsseEnvelope", "payload"), "signature"),
    "payload type": (lambda doc: doc["dsseEnvelope"].update(payloadType="application/json"),
                     "signature"),
    # The DSSE signature itself.
    "signature first byte": (signature_bytes(lambda s: flip(s, 0)), "signature"),
    "signature byte 10": (signature_bytes(lambda s: flip(s, 10)), "signature"),
    "signature middle byte": (signature_bytes(lambda s: flip(s, len(s) // 2)), "signature"),
    "signature last byte": (signature_bytes(lambda s: flip(s, len(s) - 1)), "signature"),
    "signature truncated": (signature_bytes(lambda s: s[:-1]), "signature"),
    "signature of another vector": (
        take_from("push-v14.2", "dsseEnvelope", "signatures"), "signature"),
    "two signatures": (
        lambda doc: doc["dsseEnvelope"]["signatures"].append(
            load("push-v14.2")["dsseEnvelope"]["signatures"][0]),
        "signature"),
    # The Fulcio certificate: any change to its signed part breaks the chain.
    "certificate SAN text": (edit_cert_text(b"slsa-github-generator/", b"slsa-github-generatoR/"),
                             "certificate-chain"),
    "certificate source repository text": (
        edit_cert_text(b"https://github.com/slsa-framework/example-package",
                       b"https://github.com/slsa-framework/example-packagf"),
        "certificate-chain"),
    "certificate issuer extension text": (
        edit_cert_text(b"token.actions", b"token.actionz"), "certificate-chain"),
    "certificate signature value": (cert_bytes(lambda c: flip(c, len(c) - 4)), "certificate-chain"),
    "certificate of a run 45 minutes later": (
        take_from("workflow_dispatch", "verificationMaterial", "certificate"), "certificate-chain"),
    # The Rekor entry: the SET signs logIndex, integratedTime, logID and the body;
    # the inclusion proof ties the body to the checkpoint.
    "log index +1": (add_to_int_field(entry, "logIndex", 1), "transparency-log"),
    "log index -1": (add_to_int_field(entry, "logIndex", -1), "transparency-log"),
    "integrated time +1s": (add_to_int_field(entry, "integratedTime", 1), "transparency-log"),
    "integrated time +60s": (add_to_int_field(entry, "integratedTime", 60), "transparency-log"),
    "log id": (lambda doc: entry(doc)["logId"].update(keyId=b64(b"\x01" * 32)), "transparency-log"),
    "body payload hash": (body_bytes(lambda b: b.replace(b'"value":"', b'"value":"0', 1)),
                          "transparency-log"),
    "body byte": (body_bytes(lambda b: flip(b, len(b) // 2)), "transparency-log"),
    "body of another vector": (
        lambda doc: entry(doc).update(canonicalizedBody=entry(load("push-v14.2"))["canonicalizedBody"]),
        "transparency-log"),
    # The inclusion proof.
    "proof hash first": (proof_hash(0), "transparency-log"),
    "proof hash 10": (proof_hash(10), "transparency-log"),
    "proof hash last": (proof_hash(-1), "transparency-log"),
    "proof hash removed": (lambda doc: proof(doc)["hashes"].pop(3), "transparency-log"),
    "proof root hash": (lambda doc: edit_b64(proof(doc), "rootHash", lambda h: flip(h, 0)),
                        "transparency-log"),
    "proof tree size +1": (add_to_int_field(proof, "treeSize", 1), "transparency-log"),
    "proof log index -1": (add_to_int_field(proof, "logIndex", -1), "transparency-log"),
    # The signed checkpoint.
    "checkpoint origin": (edit_checkpoint_line(0, lambda s: s.replace("rekor", "rekoR")),
                          "transparency-log"),
    "checkpoint tree size": (edit_checkpoint_line(1, lambda s: str(int(s) + 1)), "transparency-log"),
    "checkpoint root hash": (
        edit_checkpoint_line(2, lambda s: b64(flip(unb64(s), 3))), "transparency-log"),
    "checkpoint signature": (flip_checkpoint_signature, "transparency-log"),
    # The SET (inclusion promise).
    "SET first byte": (set_bytes(lambda s: flip(s, 0)), "transparency-log"),
    "SET middle byte": (set_bytes(lambda s: flip(s, len(s) // 2)), "transparency-log"),
    "SET last byte": (set_bytes(lambda s: flip(s, len(s) - 1)), "transparency-log"),
    "SET of another vector": (
        lambda doc: entry(doc)["inclusionPromise"].update(
            entry(load("push-v14.2"))["inclusionPromise"]),
        "transparency-log"),
    # Splices of real parts from different bundles.
    "envelope of another vector": (take_from("push-v14.2", "dsseEnvelope"), "signature"),
    "verification material of another vector": (
        take_from("push-v14.2", "verificationMaterial"), "signature"),
    "log entry of another vector": (
        lambda doc: doc["verificationMaterial"]["tlogEntries"].__setitem__(
            0, entry(load("workflow_dispatch"))),
        "certificate-chain"),  # our certificate had expired when that entry was logged
    "entry kind": (lambda doc: entry(doc)["kindVersion"].update(kind="hashedrekord"),
                   "log-entry-binding"),
}

# Certificate and envelope of push-v13.0.30 (valid at the same minute) inside
# push-v14.2's bundle: all signatures hold, but the log entry is another envelope's.
SPLICE_ENVELOPE_AND_CERT = several(
    take_from("push-v13.0.30", "dsseEnvelope"),
    take_from("push-v13.0.30", "verificationMaterial", "certificate"),
)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_mutated_bundle_fails_naming_the_check(name: str) -> None:
    mutate, expected = MUTATIONS[name]
    doc = load("push-v14")
    mutate(doc)
    assert doc != load("push-v14")
    report = verify_doc(doc)
    assert not report.passed
    failed = report.failed_checks()
    assert [c.name for c in failed] == [expected], [c.message for c in failed]
    assert {c.name for c in report.checks} <= set(CHECK_NAMES)
    assert failed[0].detail  # sigstore-python's reason is kept
    assert report.builder_id is None and report.payload is None  # nothing unverified leaks out
    assert [a.passed for a in report.artifacts] == [False]


def test_a_consistent_splice_fails_the_log_entry_binding() -> None:
    doc = load("push-v14.2")
    SPLICE_ENVELOPE_AND_CERT(doc)
    report = verify_doc(doc)
    assert [c.name for c in report.failed_checks()] == ["log-entry-binding"]
    passed = [c.name for c in report.checks if c.passed]
    assert passed == ["certificate-chain", "certificate-sct", "certificate-issuer",
                      "transparency-log", "signature"]


def test_a_certificate_valid_at_the_same_time_but_not_the_signer_fails_the_signature() -> None:
    doc = load("push-v13.0.30")
    take_from("push-v14.2", "verificationMaterial", "certificate")(doc)
    assert [c.name for c in verify_doc(doc).failed_checks()] == ["signature"]


def test_no_single_byte_change_of_the_certificate_passes() -> None:
    """Every 7th byte of the DER flipped: the bundle is refused or fails, never passes."""
    der = unb64(load("push-v14")["verificationMaterial"]["certificate"]["rawBytes"])
    outcomes = {"failed": 0, "unusable": 0}
    for index in range(0, len(der), 7):
        doc = load("push-v14")
        cert_bytes(lambda c, i=index: flip(c, i, 0x10))(doc)
        try:
            report = verify_doc(doc)
        except ProvenanceError as error:
            # the reason is the certificate parser's
            assert re.fullmatch(re.escape("provenance: not a valid Sigstore bundle: ") + r"[^\n]+", str(error)), error
            outcomes["unusable"] += 1
            continue
        assert not report.passed, f"byte {index} flipped and still passed"
        outcomes["failed"] += 1
    assert outcomes["failed"] > 0


def test_no_single_byte_change_of_the_payload_passes() -> None:
    payload = unb64(load("workflow_dispatch")["dsseEnvelope"]["payload"])
    for index in range(0, len(payload), 97):
        doc = load("workflow_dispatch")
        payload_bytes(lambda p, i=index: flip(p, i, 0x02))(doc)
        report = verify_doc(doc)
        assert [c.name for c in report.failed_checks()] == ["signature"], index


def test_an_issuer_other_than_github_actions_is_refused() -> None:
    from slsa_models.verify.bundle import load_provenance
    from slsa_models.verify.crypto import verify_bundle

    loaded = load_provenance(VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl")
    result = verify_bundle(loaded.bundle, issuer="https://accounts.google.com")
    assert [(c.name, c.passed) for c in result.checks] == [
        ("certificate-chain", True), ("certificate-sct", True), ("certificate-issuer", False)]
    issuer = result.checks[-1]
    assert (issuer.expected, issuer.actual) == (
        "https://accounts.google.com", "https://token.actions.githubusercontent.com")
