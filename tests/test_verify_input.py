"""Unusable provenance input: a typed error with one clear line, exit 2 from the CLI,
nothing on stdout, memory bounded for huge files."""

from __future__ import annotations

import base64
import json
import os
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slsa_models.cli import main
from slsa_models.errors import ProvenanceError
from slsa_models.verify import Artifact, verify_artifacts
from tests.policies import github_policy

VECTORS = Path(__file__).parent / "vectors"
REAL = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
BINARY = VECTORS / "binary-linux-amd64"
SOURCE = "github.com/slsa-framework/example-package"
ARTIFACT = Artifact.from_digest("376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa")


def real() -> dict[str, Any]:
    return json.loads(REAL.read_bytes())


def as_bytes(doc: object) -> bytes:
    return json.dumps(doc).encode()


def edited(change: Callable[[dict[str, Any]], object]) -> bytes:
    doc = real()
    change(doc)
    return as_bytes(doc)


def material(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["verificationMaterial"]


def entry(doc: dict[str, Any]) -> dict[str, Any]:
    return material(doc)["tlogEntries"][0]


def key_signed(doc: dict[str, Any]) -> None:
    material(doc).pop("certificate")
    material(doc)["publicKey"] = {"hint": "local-builder"}


def blob_bundle(doc: dict[str, Any]) -> None:
    doc.pop("dsseEnvelope")
    doc["messageSignature"] = {"messageDigest": {"algorithm": "SHA2_256", "digest": ""},
                               "signature": ""}


NOT_A_BUNDLE = ("neither a Sigstore bundle (no mediaType) nor a DSSE envelope; "
                "expected the .intoto.jsonl file the SLSA generator wrote")
INVALID = "not a valid Sigstore bundle: "

# name -> (file content, exact message after "<path>: ", or a prefix ending in ": ")
CASES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty file; expected a Sigstore bundle (.intoto.jsonl)"),
    "blank lines": (b"\n \n\t\n", "empty file; expected a Sigstore bundle (.intoto.jsonl)"),
    "truncated in half": (REAL.read_bytes()[: REAL.stat().st_size // 2],
                          f"truncated JSON (the file ends after {REAL.stat().st_size // 2} bytes); "
                          "it is incomplete"),
    "truncated by one byte": (REAL.read_bytes()[:-1],
                              f"truncated JSON (the file ends after {REAL.stat().st_size - 1} bytes); "
                              "it is incomplete"),
    "two JSON lines": (REAL.read_bytes() + b"\n" + REAL.read_bytes() + b"\n",
                       "2 lines of JSON; expected exactly one provenance bundle in the file "
                       "(split it, one bundle per file)"),
    "three JSON lines": (b"{}\n{}\n{}",
                         "3 lines of JSON; expected exactly one provenance bundle in the file "
                         "(split it, one bundle per file)"),
    "not JSON": (b"hello world\n", "not JSON (Expecting value at line 1 column 1); "
                                   "expected a Sigstore bundle (.intoto.jsonl)"),
    "YAML": (b"mediaType: application/vnd.dev.sigstore.bundle.v0.3+json\n",
             "not JSON (Expecting value at line 1 column 1); expected a Sigstore bundle (.intoto.jsonl)"),
    "the artifact instead": (BINARY.read_bytes(),
                             "not UTF-8 text; expected a JSON Sigstore bundle"),
    "a JSON list": (b"[1, 2]", "a JSON list, not a Sigstore bundle object"),
    "a JSON string": (b'"bundle"', "a JSON str, not a Sigstore bundle object"),
    "a JSON object of something else": (b'{"name": "model"}', NOT_A_BUNDLE),
    "an in-toto statement": (base64.b64decode(real()["dsseEnvelope"]["payload"]), NOT_A_BUNDLE),
    "another media type": (edited(lambda d: d.update(mediaType="application/vnd.in-toto+json")),
                           "media type 'application/vnd.in-toto+json' is not a Sigstore bundle; "
                           "expected 'application/vnd.dev.sigstore.bundle.v0.3+json'"),
    "a JSON media type": (edited(lambda d: d.update(mediaType="application/json")),
                          "media type 'application/json' is not a Sigstore bundle; "
                          "expected 'application/vnd.dev.sigstore.bundle.v0.3+json'"),
    "a future bundle version": (
        edited(lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v0.4+json")),
        "unsupported Sigstore bundle media type 'application/vnd.dev.sigstore.bundle.v0.4+json'; "
        "supported: bundle versions 0.1 to 0.3"),
    "a media type that is a number": (edited(lambda d: d.update(mediaType=3)),
                                      "media type 3 is not a Sigstore bundle; "
                                      "expected 'application/vnd.dev.sigstore.bundle.v0.3+json'"),
    "a bundle signing a blob": (edited(blob_bundle), "the bundle signs a blob (messageSignature), "
                                                     "not a DSSE provenance envelope"),
    "a DSSE envelope without signatures": (
        as_bytes({"payloadType": "application/vnd.in-toto+json", "payload": "", "signatures": []}),
        "DSSE envelope without signatures"),
    "a certificate that is not DER": (
        edited(lambda d: material(d)["certificate"].update(
            rawBytes=base64.b64encode(b"not a certificate").decode())), INVALID),
    "a certificate that is not base64": (
        edited(lambda d: material(d)["certificate"].update(rawBytes="%%%")), INVALID),
    "no log entry": (edited(lambda d: material(d).update(tlogEntries=[])), INVALID),
    "two log entries": (edited(lambda d: material(d)["tlogEntries"].append(entry(d))), INVALID),
    "no inclusion promise": (edited(lambda d: entry(d).pop("inclusionPromise")), INVALID),
    "no inclusion proof": (edited(lambda d: entry(d).pop("inclusionProof")), INVALID),
    "a proof index past the tree": (
        edited(lambda d: entry(d)["inclusionProof"].update(logIndex="52393919")), INVALID),
    "no certificate": (edited(lambda d: material(d).pop("certificate")), INVALID),
    "a payload that is not base64": (
        edited(lambda d: d["dsseEnvelope"].update(payload="not base64!")), INVALID),
}

INVALID_REASONS = {
    "no log entry": "expected exactly one log entry in bundle",
    "two log entries": "expected exactly one log entry in bundle",
    "no inclusion promise": "bundle must contain an inclusion promise or signed timestamp(s)",
    "no inclusion proof": "inclusionProof",
    "a proof index past the tree": "logIndex 52393919 must be less than treeSize 52393919",
    "no certificate": "or certificate must be set",
    "a payload that is not base64": "dsseEnvelope.payload",
}


def check_message(message: str, path: Path, expected: str, name: str) -> None:
    assert "\n" not in message and len(message) < 400
    if expected == INVALID:
        # the reason after INVALID is sigstore's (or pydantic's)
        assert re.fullmatch(re.escape(f"{path}: {INVALID}") + r"[^\n]+", message), message
        assert INVALID_REASONS.get(name, "") in message
    else:
        assert message == f"{path}: {expected}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_unusable_provenance_is_a_provenance_error(tmp_path: Path, name: str) -> None:
    content, expected = CASES[name]
    path = tmp_path / "provenance.intoto.jsonl"
    path.write_bytes(content)
    with pytest.raises(ProvenanceError) as raised:
        verify_artifacts(path, [ARTIFACT], github_policy(source_uri=SOURCE))
    check_message(str(raised.value), path, expected, name)
    assert raised.value.exit_code == 2


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_cli_prints_one_error_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    content, expected = CASES[name]
    path = tmp_path / "provenance.intoto.jsonl"
    path.write_bytes(content)
    code = main(["verify-artifact", str(BINARY), "--provenance-path", str(path),
                 "--source-uri", SOURCE])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1
    check_message(err[len("error: "):-1], path, expected, name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["provenance.intoto.jsonl"]  # nothing written


# Usable input of a kind the policy does not trust: a FAILED verdict (exit 1), not an error.
KEY_SIGNED: dict[str, bytes] = {
    "a key-signed bundle": edited(key_signed),
    "a key-signed DSSE envelope": as_bytes(
        {**real()["dsseEnvelope"], "signatures": [{"keyid": "k", "sig": "AAAA"}]}),
}
UNTRUSTED_KIND = (
    "evidence-kind: expected slsa-github-generator or github-attestation, got key-signed "
    "provenance (a local builder) (the policy does not trust local-builder evidence (add a "
    "[local-builder.NAME] table to trust it))")


@pytest.mark.parametrize("name", sorted(KEY_SIGNED))
def test_key_signed_input_under_a_github_policy_fails_its_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / "provenance.intoto.jsonl"
    path.write_bytes(KEY_SIGNED[name])
    report = verify_artifacts(path, [ARTIFACT], github_policy(source_uri=SOURCE))
    assert [c.message for c in report.checks] == [UNTRUSTED_KIND]
    assert (report.passed, report.kind, report.builder_id) == (False, "local-builder", None)
    code = main(["verify-artifact", str(BINARY), "--provenance-path", str(path),
                 "--source-uri", SOURCE])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == f"FAILED: SLSA verification failed: {UNTRUSTED_KIND}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["provenance.intoto.jsonl"]


def test_a_trailing_newline_and_pretty_printing_are_fine(tmp_path: Path) -> None:
    for content in (REAL.read_bytes() + b"\n", json.dumps(real(), indent=2).encode() + b"\n\n"):
        path = tmp_path / "p.intoto.jsonl"
        path.write_bytes(content)
        assert verify_artifacts(path, [ARTIFACT], github_policy(source_uri=SOURCE)).passed


def test_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    policy = github_policy(source_uri=SOURCE)
    with pytest.raises(ProvenanceError) as raised:
        verify_artifacts(tmp_path / "nope.jsonl", [ARTIFACT], policy)
    assert str(raised.value) == f"{tmp_path / 'nope.jsonl'}: no such provenance file"
    with pytest.raises(ProvenanceError) as raised:
        verify_artifacts(tmp_path, [ARTIFACT], policy)
    assert str(raised.value) == f"{tmp_path}: is a directory, not a provenance file"


def test_a_200_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "model.keras.intoto.jsonl"
    with open(huge, "wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: instant, no disk used
    tracemalloc.start()
    try:
        with pytest.raises(ProvenanceError) as raised:
            verify_artifacts(huge, [ARTIFACT], github_policy(source_uri=SOURCE))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == (
        f"{huge}: 200.0 MiB is larger than the 16 MiB limit for a provenance file; "
        "is this the artifact instead of its .intoto.jsonl?"
    )
    assert peak < 1024 * 1024


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_stream_is_not_read() -> None:
    with pytest.raises(ProvenanceError) as raised:
        verify_artifacts(Path("/dev/zero"), [ARTIFACT], github_policy(source_uri=SOURCE))
    assert str(raised.value) == (
        "/dev/zero: not a regular file (a character device); give the provenance file itself"
    )


def test_too_many_bytes_in_memory_are_refused() -> None:
    with pytest.raises(ProvenanceError) as raised:
        verify_artifacts(b" " * (16 * 1024 * 1024 + 1), [ARTIFACT], github_policy(source_uri=SOURCE))
    assert str(raised.value) == "provenance: more than the 16 MiB limit for a provenance file"


def test_the_limit_is_checked_against_the_file_size(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from slsa_models.verify import bundle

    path = tmp_path / "p.jsonl"
    path.write_bytes(REAL.read_bytes())
    monkeypatch.setattr(bundle, "MAX_PROVENANCE_BYTES", REAL.stat().st_size - 1)
    size = REAL.stat().st_size
    with pytest.raises(ProvenanceError) as raised:
        bundle.read_provenance(path)
    assert str(raised.value) == (f"{path}: {size} bytes is larger than the {size - 1}-byte limit for a "
                                 "provenance file; is this the artifact instead of its .intoto.jsonl?")
    monkeypatch.setattr(bundle, "MAX_PROVENANCE_BYTES", REAL.stat().st_size)
    assert bundle.read_provenance(path) == REAL.read_bytes()
