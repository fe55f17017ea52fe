"""Seed inputs per target: the real vectors, plus evidence of the kinds they lack.

Real files: slsa-github-generator v2.1.0 bundles (``tests/vectors``), a GitHub
artifact attestation and two OpenSSF model-signing signatures
(``fuzz/seeds``, see its NOTICE). Made here, because no real vector exists:
key-signed bundles and bare DSSE envelopes (signed by ``FUZZ_KEY``), a legacy
DSSE envelope, deployment records, and the example policy files.
"""

from __future__ import annotations

import base64
import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
SEEDS = ROOT / "fuzz" / "seeds"
POLICIES = ROOT / "examples" / "policies"

GENERATOR_SHA256 = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
ATTESTATION_SHA256 = "afa27b44d43b02a9fea41d13cedc2e4016cfcf87c5dbf990e593669aa8ce286d"
FUZZ_BUILDER_ID = "https://ci.example.com/builders/fuzz"
# A fixed key, so a saved crash input reproduces; it signs nothing outside fuzzing.
FUZZ_KEY = ec.derive_private_key(0x5EED_F022_0B57_AC1E, ec.SECP256R1())


def real_bundles() -> list[bytes]:
    """Every real provenance file: generator bundles, an attestation, OMS signatures."""
    files = sorted(VECTORS.glob("*.intoto.jsonl")) + sorted(SEEDS.glob("*.json")) + sorted(SEEDS.glob("*.sig"))
    return [path.read_bytes() for path in files]


def local_statement(sha256: str = GENERATOR_SHA256) -> dict[str, Any]:
    """A local builder's SLSA v1 statement, as ``slsa-models attest`` writes it."""
    from slsa_models.provenance.statement import build_statement

    moment = datetime(2025, 1, 1, tzinfo=UTC)
    return build_statement(
        [("model.keras", sha256)], builder_id=FUZZ_BUILDER_ID,
        external_parameters={"epochs": 5, "model-format": "model.keras"},
        internal_parameters={"host": "fuzz"},
        resolved_dependencies=[{"uri": "git+https://github.com/acme/models",
                                "digest": {"gitCommit": "0" * 40}}],
        invocation_id="fuzz-1", started_on=moment, finished_on=moment,
    )


def key_signed(statement: dict[str, Any] | bytes) -> bytes:
    """A key-signed bundle over ``statement`` (a dict, or payload bytes as they are)."""
    from cryptography.hazmat.primitives import hashes

    from slsa_models.provenance.bundle import BUNDLE_MEDIA_TYPE
    from slsa_models.provenance.dsse import INTOTO_PAYLOAD_TYPE, pae
    from slsa_models.provenance.keys import key_hint

    payload = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
    signature = FUZZ_KEY.sign(pae(INTOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_hint(FUZZ_KEY.public_key())}, "tlogEntries": []},
        "dsseEnvelope": {"payload": base64.b64encode(payload).decode(), "payloadType": INTOTO_PAYLOAD_TYPE,
                         "signatures": [{"sig": base64.b64encode(signature).decode()}]},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def payloads() -> list[bytes]:
    """The signed statements inside the real bundles, and a local builder's."""
    found = []
    for raw in real_bundles():
        envelope = json.loads(raw).get("dsseEnvelope")
        if isinstance(envelope, dict):
            found.append(base64.b64decode(envelope["payload"]))
    return found + [json.dumps(local_statement()).encode()]


@functools.cache
def seeds(target: str) -> tuple[bytes, ...]:
    """The seed inputs of ``target`` (a name in ``fuzz.targets.TARGETS``)."""
    if target in ("provenance", "verify"):
        bundles = real_bundles()
        signed = key_signed(local_statement())
        envelope = json.loads(signed)["dsseEnvelope"]
        legacy = json.loads(bundles[0])
        certificate = legacy["verificationMaterial"]["certificate"]["rawBytes"]
        legacy_envelope = dict(legacy["dsseEnvelope"])
        legacy_envelope["signatures"] = [dict(legacy_envelope["signatures"][0], cert=certificate)]
        extra = [signed, json.dumps(envelope).encode(), json.dumps(legacy_envelope).encode()]
        return tuple(bundles + extra)
    if target in ("statement", "local-statement"):
        return tuple(payloads())
    if target == "policy":
        return tuple(path.read_bytes() for path in sorted(POLICIES.glob("*.toml"))) + (_inline_key_policy(),)
    if target == "record":
        return tuple(json.dumps(record).encode() for record in _records())
    if target == "manifest":
        digest = "0" * 64
        return (f"{digest}  config.json\n{digest}  model-00001-of-00002.safetensors\n"
                f"{digest}  sub/tokenizer.json\n".encode(), f"{digest}  model.safetensors\n".encode())
    raise KeyError(target)


def _inline_key_policy() -> bytes:
    """Every table of a version 2 policy file, a key inline and a key in a file."""
    from slsa_models.provenance.keys import public_pem

    pem = '"""\n' + public_pem(FUZZ_KEY.public_key()).decode() + '"""'
    generator = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
    lines = [
        "version = 2", 'require = ["slsa-github-generator", "local-builder"]', "accept-unnamed = false",
        "[slsa-github-generator]", 'source-uri = "github.com/acme/models"',
        f'builder-id = "{generator}generator_generic_slsa3.yml@v2.1.0"',
        'source-versioned-tag = "v1"', 'source-branch = "main"', 'triggers = ["push", "release"]',
        "[slsa-github-generator.build-workflow-inputs]", 'epochs = "5"',
        "[github-attestation]", 'source-uri = "github.com/acme/models"', 'source-tag = "v1.4.0"',
        "[local-builder.gpu-box]", f'builder-id = "{FUZZ_BUILDER_ID}"', f"public-key-pem = {pem}",
        "expires = 2030-01-01T00:00:00Z", 'source-uri = "github.com/acme/models"',
        "[local-builder.file]", 'builder-id = "https://ci.example.com/builders/other"',
        'public-key = "local-builder.pub.pem"', "expires = 2030-01-01",
        "[deployer.stack]", 'public-key = "local-builder.pub.pem"',
    ]
    return ("\n".join(lines) + "\n").encode()


def _records() -> list[dict[str, Any]]:
    """The statements of current.json and history records of each outcome."""
    from slsa_models.deploy.records import record_from_dict

    base: dict[str, Any] = {
        "format": "slsa-models/deployment-record/v2", "outcome": "promoted", "model_name": "digits-cnn",
        "digest": f"sha256:{GENERATOR_SHA256}", "file_name": "model.keras",
        "object": {"key": f"models/digits-cnn/{GENERATOR_SHA256}/model.keras",
                   "uri": f"s3://bucket/models/digits-cnn/{GENERATOR_SHA256}/model.keras",
                   "size": 1234, "version_id": "v1", "etag": '"abc"'},
        "evidence": [{"location": "s3://bucket/p.intoto.jsonl", "sha256": "0" * 64, "kind": "local-builder",
                      "passed": True}],
        "verification": [{"passed": True, "kind": "local-builder", "checks": [
            {"name": "signature", "passed": True, "expected": "a key", "actual": "fuzz", "detail": ""}],
            "artifacts": []}],
        "smoke_load": {"status": "passed", "detail": ""},
        "policy": {"local-builder": {"keys": ["fuzz"]}},
        "decision_id": "d-1", "decided_at": "2025-01-01T00:00:00.000000+00:00", "sequence": 1,
        "previous": f"sha256:{'1' * 64}", "flow_run_id": "run-1",
        "deployed_at": "2025-01-01T00:00:01.000000+00:00", "reason": None, "failed_check": None,
    }
    refused = dict(base, outcome="refused", verification=[], evidence=[], deployed_at=None, sequence=0,
                   previous=None, reason="signature: no trusted key verifies it", failed_check="signature")
    conflict = dict(base, outcome="conflict", digest=None, file_name=None, object={}, sequence=2)
    return [record_from_dict(record).statement() for record in (base, refused, conflict)]
