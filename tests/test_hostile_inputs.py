"""Hostile and broken local inputs (issue 11, cases 1-5): each ends in one line and exit 2,
never a hang, a traceback or a written file.

Cases that could hang when broken (FIFOs) run the CLI in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from slsa_models.cli import main
from slsa_models.errors import InputError, ProvenanceError
from slsa_models.provenance.keys import public_key_from_pem
from slsa_models.untrusted import loads_json, read_regular_file
from slsa_models.verify import load_provenance
from slsa_models.verify.keys import TrustedKey

VECTORS = Path(__file__).parent / "vectors"
REAL = VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl"
BINARY = VECTORS / "binary-linux-amd64"
SOURCE = "github.com/slsa-framework/example-package"
BUILDER = "https://ci.example.com/builders/gpu-box"
CLI = [sys.executable, "-m", "slsa_models.cli"]
# a public key on secp112r1 (made with `openssl ecparam -name secp112r1 -genkey`)
SECP112R1_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MDIwEAYHKoZIzj0CAQYFK4EEAAYDHgAEVRw1TsAqPzt/7wnUlqNUpTdAfSXlGOE7\n"
    "6VmJUA==\n"
    "-----END PUBLIC KEY-----\n"
)
NOT_P256 = "not an ECDSA P-256 key (the local builder signs with P-256 only)"


def refused(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    """Run the CLI in-process; assert exit 2, empty stdout and one stderr line; return the message."""
    code = main(args)
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1 and err.endswith("\n")
    return err[len("error: "):-1]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    keys = tmp_path / "keys"
    assert main(["keygen", "--private-key", str(keys / "k.pem"), "--public-key", str(keys / "k.pub")]) == 0
    return keys / "k.pem", keys / "k.pub"


# -- case 1: deeply nested JSON ---------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deeply_nested_provenance_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             depth: int) -> None:
    path = tmp_path / "nested.intoto.jsonl"
    path.write_bytes(b"[" * depth + b"]" * depth)
    message = refused(capsys, ["verify-artifact", str(BINARY), "--provenance-path", str(path),
                               "--source-uri", SOURCE])
    assert message == f"{path}: JSON nested more than 64 levels deep; refusing to read it"
    assert listing(tmp_path) == ["nested.intoto.jsonl"]


def test_deeply_nested_provenance_bytes_are_a_provenance_error() -> None:
    nested = b'{"mediaType": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"}"
    with pytest.raises(ProvenanceError) as raised:
        load_provenance(nested)
    assert str(raised.value) == "provenance: JSON nested more than 64 levels deep; refusing to read it"
    assert raised.value.exit_code == 2


def test_json_within_the_depth_limit_parses() -> None:
    assert loads_json(b"[" * 64 + b"]" * 64, "x") == eval("[" * 64 + "]" * 64)  # noqa: S307
    with pytest.raises(InputError) as raised:
        loads_json('{"a": [{"b": []}]}', "x", max_depth=3)
    assert str(raised.value) == "x: JSON nested more than 3 levels deep; refusing to read it"


# -- case 2: non-regular files, bounded reads ----------------------------------------------


def test_a_fifo_as_provenance_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "p.intoto.jsonl"
    os.mkfifo(fifo)
    result = run_cli("verify-artifact", str(BINARY), "--provenance-path", str(fifo), "--source-uri", SOURCE)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {fifo}: not a regular file (a FIFO); give the provenance file itself\n"


def test_a_fifo_as_public_key_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "k.pub"
    os.mkfifo(fifo)
    result = run_cli("verify-artifact", str(BINARY), "--provenance-path", str(REAL),
                     "--public-key", str(fifo), "--builder-id", BUILDER)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {fifo}: not a regular file (a FIFO); give the key file itself\n"


def test_a_fifo_as_signing_key_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "k.pem"
    os.mkfifo(fifo)
    out = tmp_path / "p.intoto.jsonl"
    result = run_cli("attest", "--key", str(fifo), "--builder-id", BUILDER, str(BINARY), "-o", str(out))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {fifo}: not a regular file (a FIFO); give the key file itself\n"
    assert listing(tmp_path) == ["k.pem"]


def test_a_fifo_as_trusted_root_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "root.json"
    os.mkfifo(fifo)
    result = run_cli("verify-artifact", str(BINARY), "--provenance-path", str(REAL), "--source-uri", SOURCE,
                     "--trusted-root", str(fifo))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {fifo}: not a regular file (a FIFO); give the trusted root file itself\n"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_as_public_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = refused(capsys, ["verify-artifact", str(BINARY), "--provenance-path", str(REAL),
                               "--public-key", "/dev/zero", "--builder-id", BUILDER])
    assert message == "/dev/zero: not a regular file (a character device); give the key file itself"


def test_a_huge_key_file_is_refused_unread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "k.pub"
    with open(huge, "wb") as stream:
        stream.truncate(2**30)  # sparse
    message = refused(capsys, ["verify-artifact", str(BINARY), "--provenance-path", str(REAL),
                               "--public-key", str(huge), "--builder-id", BUILDER])
    assert message == f"{huge}: 1024.0 MiB is larger than the 65536-byte limit for a key file"


def test_read_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    assert read_regular_file(path, max_bytes=5, what="thing") == b"12345"
    with pytest.raises(InputError) as raised:
        read_regular_file(path, max_bytes=4, what="thing")
    assert str(raised.value) == f"{path}: 5 bytes is larger than the 4-byte limit for a thing"
    with pytest.raises(InputError) as raised:
        read_regular_file(tmp_path, max_bytes=4, what="thing")
    assert str(raised.value) == f"{tmp_path}: is a directory, not a thing"
    with pytest.raises(InputError) as raised:
        read_regular_file(tmp_path / "nope", max_bytes=4, what="thing")
    assert str(raised.value) == f"{tmp_path / 'nope'}: no such thing"


# -- case 3: unsupported key material ------------------------------------------------------


def test_a_secp112r1_public_key_flag_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pub = tmp_path / "k.pub"
    pub.write_text(SECP112R1_PEM)
    message = refused(capsys, ["verify-artifact", str(BINARY), "--provenance-path", str(REAL),
                               "--public-key", str(pub), "--builder-id", BUILDER])
    assert message == f"{pub}: {NOT_P256}"
    assert listing(tmp_path) == ["k.pub"]


def test_a_secp112r1_public_key_as_policy_pem_is_refused() -> None:
    """What a policy's public-key-pem goes through (its public-key file: the flag's path above)."""
    with pytest.raises(InputError) as raised:
        public_key_from_pem(SECP112R1_PEM, "public-key-pem")
    assert str(raised.value) == f"public-key-pem: {NOT_P256}"


def test_an_expiry_past_year_9999_in_utc_is_refused(key_pair: tuple[Path, Path]) -> None:
    """A policy's ``expires`` becomes this TrustedKey field (the policy file prefixes its table)."""
    moment = datetime.fromisoformat("9999-12-31T23:00:00-05:00")
    with pytest.raises(InputError) as raised:
        TrustedKey.from_file(key_pair[1], name="k", builder_id=BUILDER, expires=moment)
    assert str(raised.value) == (
        "public key 'k': expiry 9999-12-31T23:00:00-05:00 is out of range: in UTC it falls "
        "outside the years 1 to 9999; give an earlier date"
    )


def test_expiry_is_kept_in_utc(key_pair: tuple[Path, Path]) -> None:
    moment = datetime.fromisoformat("2030-12-31T23:00:00-05:00")
    key = TrustedKey.from_file(key_pair[1], name="k", expires=moment)
    assert key.expires == datetime.fromisoformat("2031-01-01T04:00:00+00:00")
    assert key.to_dict()["expires"] == "2031-01-01T04:00:00Z"


def test_a_password_for_an_unencrypted_key_is_named(key_pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "p.intoto.jsonl"
    result = run_cli("attest", "--key", str(key_pair[0]), "--builder-id", BUILDER, str(BINARY),
                     "-o", str(out), env={"SLSA_MODELS_KEY_PASSWORD": "secret"})
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {key_pair[0]}: the private key is not encrypted, but a password was given "
        "(SLSA_MODELS_KEY_PASSWORD is set): unset it\n"
    )
    assert not out.exists()


# -- case 4: keygen onto one path; attest -o over a file -----------------------------------------


@pytest.mark.parametrize("second", ["same.pem", "./same.pem", "sub/../same.pem"])
def test_keygen_refuses_one_path_for_both_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               second: str) -> None:
    (tmp_path / "sub").mkdir()
    first = tmp_path / "same.pem"
    message = refused(capsys, ["keygen", "--private-key", str(first), "--public-key", f"{tmp_path}/{second}"])
    assert message == f"{first}: the private and the public key cannot be the same file; give two paths"
    assert listing(tmp_path) == ["sub"]


def test_keygen_through_a_link_to_the_same_file_is_refused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    message = refused(capsys, ["keygen", "--private-key", str(tmp_path / "real/k.pem"),
                               "--public-key", str(tmp_path / "link/k.pem")])
    assert message == f"{tmp_path / 'real/k.pem'}: the private and the public key cannot be the same file; give two paths"
    assert listing(tmp_path / "real") == []


def test_attest_refuses_to_overwrite_unless_told(key_pair: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.intoto.jsonl"
    out.write_text("precious")
    args = ["attest", "--key", str(key_pair[0]), "--builder-id", BUILDER, str(BINARY), "-o", str(out)]
    message = refused(capsys, args)
    assert message == f"{out} already exists: refusing to overwrite it (add --overwrite to replace it)"
    assert out.read_text() == "precious"
    assert main([*args, "--overwrite"]) == 0
    assert load_provenance(out).kind == "key-signed"
    assert listing(tmp_path) == ["keys", "p.intoto.jsonl"]  # no temp file left


@pytest.mark.parametrize("which", ["key", "artifact"])
def test_attest_never_writes_over_its_inputs(key_pair: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str], which: str) -> None:
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"model")
    target = key_pair[0] if which == "key" else artifact
    before = target.read_bytes()
    message = refused(capsys, ["attest", "--key", str(key_pair[0]), "--builder-id", BUILDER,
                               str(artifact), "-o", str(target), "--overwrite"])
    assert message == f"{target}: the output cannot be {target}, an input of this command"
    assert target.read_bytes() == before


# -- case 5: a digest with a trailing newline ------------------------------------------------------


@pytest.mark.parametrize("suffix", ["\n", " ", "\r\n"])
def test_a_digest_with_trailing_whitespace_is_an_input_error(capsys: pytest.CaptureFixture[str],
                                                             suffix: str) -> None:
    digest = "sha256:376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa" + suffix
    message = refused(capsys, ["verify-artifact", "--digest", digest, "--provenance-path", str(REAL),
                               "--source-uri", SOURCE])
    assert message == f"not a SHA-256 digest: {digest!r} (expected sha256:<64 hex digits>)"
