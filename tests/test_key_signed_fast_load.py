"""Key-signed provenance is read without sigstore_models' pydantic models when it has one
of the two common shapes (a small deploy's fixed cost), and to exactly the same values.

Every other shape goes through the models, which decide and word the errors as before.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slsa_models.errors import ProvenanceError
from slsa_models.provenance.attest import attest
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.verify import bundle as bundle_module
from slsa_models.verify.bundle import KIND_KEY_SIGNED, load_provenance


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    keys = tmp_path_factory.mktemp("keys")
    generate_key_pair(keys / "k.pem", keys / "k.pub.pem")
    line = attest([("m/model.bin", "ab" * 32)], signer=KeySigner(load_private_key(keys / "k.pem")),
                  builder_id="https://ci.example.com/b", external_parameters={"model_name": "m"})
    return line.encode()


def _through_models(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What load_provenance gives with the models alone (the shortcut off)."""
    with monkeypatch.context() as patch:
        patch.setattr(bundle_module, "_plain_key_signed", lambda _document: None)
        return load_provenance(raw)


def test_local_builder_bundle_and_bare_envelope(signed: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(signed)
    assert document["verificationMaterial"].keys() == {"publicKey", "tlogEntries"}
    bare = json.dumps(document["dsseEnvelope"]).encode()
    for raw in (signed, bare):
        assert bundle_module._plain_key_signed(json.loads(raw)) is not None
        fast, slow = load_provenance(raw), _through_models(raw, monkeypatch)
        assert fast.kind == slow.kind == KIND_KEY_SIGNED
        assert fast.bundle == slow.bundle
    assert load_provenance(signed).bundle.hint == document["verificationMaterial"]["publicKey"]["hint"]
    assert load_provenance(bare).bundle.hint is None


def _mutations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def changed(change: Any) -> dict[str, Any]:
        mutated = copy.deepcopy(document)
        change(mutated)
        return mutated

    envelope = "dsseEnvelope"
    payload = document[envelope]["payload"]
    return [
        ("extra top-level key", changed(lambda d: d.update(extra=1))),
        ("snake-case alias", changed(lambda d: d.update(verificationMaterial={
            "public_key": d["verificationMaterial"]["publicKey"], "tlogEntries": []}))),
        ("log entries", changed(lambda d: d["verificationMaterial"].update(tlogEntries=[{}]))),
        ("null hint", changed(lambda d: d["verificationMaterial"]["publicKey"].update(hint=None))),
        ("unknown media type", changed(lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle+json;version=9"))),
        ("payload with a line break", changed(lambda d: d[envelope].update(payload=payload[:8] + "\n" + payload[8:]))),
        ("payload not base64", changed(lambda d: d[envelope].update(payload="%%%"))),
        ("payload not a string", changed(lambda d: d[envelope].update(payload=5))),
        ("no signatures", changed(lambda d: d[envelope].update(signatures=[]))),
        ("null key id", changed(lambda d: d[envelope]["signatures"][0].update(keyid=None))),
        ("key id", changed(lambda d: d[envelope]["signatures"][0].update(keyid="k1"))),
        ("signature not a string", changed(lambda d: d[envelope]["signatures"][0].update(sig=[1]))),
        ("signature with extra field", changed(lambda d: d[envelope]["signatures"][0].update(extra="x"))),
        ("envelope with extra field", changed(lambda d: d[envelope].update(extra="x"))),
        ("non-ASCII base64", changed(lambda d: d[envelope].update(payload="é" + payload))),
        ("base64 without its padding", changed(lambda d: d[envelope].update(payload=payload.rstrip("=") + "A"))),
    ]


def test_every_other_shape_is_judged_by_the_models(signed: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same kind and values, or the same one-line error, with and without the shortcut."""
    for name, mutated in _mutations(json.loads(signed)):
        raw = json.dumps(mutated).encode()
        outcomes = []
        for load in (load_provenance, lambda r: _through_models(r, monkeypatch)):
            try:
                loaded = load(raw)
                outcomes.append((loaded.kind, loaded.bundle))
            except ProvenanceError as error:
                outcomes.append(("error", str(error)))
        assert outcomes[0] == outcomes[1], name
    keyed = _mutations(json.loads(signed))[10][1]  # a key id the shortcut reads itself
    assert bundle_module._plain_key_signed(keyed) is not None


def test_loading_key_signed_provenance_imports_no_models(signed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.bin.intoto.jsonl"
    path.write_bytes(signed)
    code = (
        "import sys\n"
        "from slsa_models.verify import load_provenance\n"
        f"loaded = load_provenance({str(path)!r})\n"
        "print(loaded.kind, sorted(name for name in sys.modules"
        " if name.split('.')[0] in {'sigstore', 'sigstore_models', 'pydantic'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == f"{KIND_KEY_SIGNED} []"
