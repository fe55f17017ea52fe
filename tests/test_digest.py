"""Digest and subjects: byte-identical to the sha256sum binary, memory flat."""

from __future__ import annotations

import base64
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from slsa_models.digest import (
    CHUNK_SIZE,
    normalize_sha256,
    sha256_file,
    subject_line,
    subjects_base64,
    subjects_for_files,
)
from slsa_models.errors import InputError


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    sizes = {"empty.bin": 0, "one.bin": 1, "chunk.bin": CHUNK_SIZE, "odd.bin": 3 * CHUNK_SIZE + 17}
    paths = []
    for index, (name, size) in enumerate(sizes.items()):
        path = tmp_path / name
        path.write_bytes(bytes((index + i) % 251 for i in range(size)))
        paths.append(path)
    return paths


def sha256sum(*args: str, cwd: Path) -> str:
    return subprocess.run(["sha256sum", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_subjects_match_sha256sum_binary(files: list[Path]) -> None:
    names = [p.name for p in files]
    cwd = files[0].parent
    expected = sha256sum(*names, cwd=cwd)
    assert subjects_for_files([cwd / n for n in names]) == sha256sum(*[str(cwd / n) for n in names], cwd=cwd)
    assert "".join(subject_line(sha256_file(p), p.name) for p in files) == expected


def test_cli_digest_is_byte_identical_to_sha256sum(files: list[Path]) -> None:
    names = [p.name for p in files]
    cli = [sys.executable, "-m", "slsa_models.cli", "digest"]
    out = subprocess.run([*cli, *names], cwd=files[0].parent, check=True, capture_output=True)
    assert out.stdout.decode() == sha256sum(*names, cwd=files[0].parent)

    encoded = subprocess.run([*cli, "--base64", *names], cwd=files[0].parent, check=True, capture_output=True)
    line = encoded.stdout.decode()
    assert line.endswith("\n") and line.count("\n") == 1, "base64 subjects must be one line"
    assert base64.b64decode(line.strip(), validate=True).decode() == out.stdout.decode()


def test_base64_has_no_line_breaks_for_many_subjects() -> None:
    subjects = "".join(subject_line("ab" * 32, f"model-{i}.bin") for i in range(50))
    encoded = subjects_base64(subjects)
    assert "\n" not in encoded and len(encoded) > 76
    assert base64.b64decode(encoded) == subjects.encode()


def test_memory_stays_flat_for_a_large_file(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as out:
        out.truncate(64 * CHUNK_SIZE)  # sparse: 64 MiB of zeros, written instantly
    tracemalloc.start()
    digest = sha256_file(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert digest == sha256sum(big.name, cwd=tmp_path).split()[0]
    assert peak < 4 * CHUNK_SIZE, f"peak {peak} bytes: the file was not streamed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("sha256:" + "AB" * 32, "ab" * 32), ("cd" * 32, "cd" * 32)],
)
def test_normalize_sha256(value: str, expected: str) -> None:
    assert normalize_sha256(value) == expected


@pytest.mark.parametrize("value", ["sha256:abc", "sha512:" + "a" * 64, "z" * 64, ""])
def test_normalize_sha256_rejects(value: str) -> None:
    with pytest.raises(InputError) as error:
        normalize_sha256(value)
    assert str(error.value) == f"not a SHA-256 digest: {value!r} (expected sha256:<64 hex digits>)"


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "slsa_models.cli", "digest", str(tmp_path / "nope.bin")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path / 'nope.bin'}: no such file\n"
    assert result.stdout == ""


def test_subject_name_with_newline_is_refused() -> None:
    with pytest.raises(InputError) as error:
        subject_line("ab" * 32, "evil\nname")
    assert str(error.value) == "subject name cannot contain a newline or backslash: 'evil\\nname'"
