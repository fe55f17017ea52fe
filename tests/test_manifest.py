"""slsa_models.manifest on its own: what ignore-paths leaves out, the size bounds, files
that are also folders, several paths at once, the threads that hash and the bytes reported
as hashed. (The folder rules end to end: test_folder_models.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from slsa_models import manifest
from slsa_models.errors import InputError
from slsa_models.manifest import Manifest, build_manifest, digest_path, hash_files, list_files, model_subjects
from tests.folders import sha, write_folder


def test_an_ignored_folder_leaves_out_what_is_under_it_not_its_namesakes(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "m", {"runs/a.txt": b"a", "runs/deep/b.txt": b"b", "runs2/c.txt": b"c",
                                  "runs.txt": b"d", "weights.bin": b"w"})
    assert list_files(root, ["runs"]) == ["runs.txt", "runs2/c.txt", "weights.bin"]
    assert list_files(root, ["runs/deep"]) == ["runs.txt", "runs/a.txt", "runs2/c.txt", "weights.bin"]


def test_more_files_than_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_folder(tmp_path / "m", {"a": b"", "b": b"", "c": b""})
    monkeypatch.setattr(manifest, "MAX_FILES", 2)
    with pytest.raises(InputError) as raised:
        list_files(root)
    assert str(raised.value) == f"{root}: more than 2 files"
    with pytest.raises(InputError) as raised:
        Manifest.parse("".join(f"{sha(b'')}  {name}\n" for name in "abc").encode())
    assert str(raised.value) == "not a model manifest: more than 2 files"


@pytest.mark.parametrize(("paths", "both"), [
    (["a/b", "a/b/c"], "a/b"),     # a file at the second level that is also a folder
    (["a", "a/b/c/d"], "a"),
    (["x/y/z", "x/y/z/w/v"], "x/y/z"),
])
def test_a_path_that_is_a_file_and_a_folder_is_refused(paths: list[str], both: str) -> None:
    with pytest.raises(InputError) as raised:
        Manifest.parse("".join(f"{sha(b'')}  {path}\n" for path in sorted(paths)).encode())
    assert str(raised.value) == f"a manifest cannot list {both!r} both as a file and as a folder"


def test_files_and_folders_given_together_are_all_subjects(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "m", {"config.json": b"{}", "sub/w.bin": b"w"})
    extra = tmp_path / "tokenizer.json"
    extra.write_bytes(b"t")
    assert model_subjects([extra, root], "demo") == [
        ("demo/tokenizer.json", sha(b"t")), ("demo/config.json", sha(b"{}")), ("demo/sub/w.bin", sha(b"w"))]
    assert model_subjects([root, extra], "demo")[-1] == ("demo/tokenizer.json", sha(b"t"))


def _record_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    real = manifest.sha256_file

    def recorded(path: Path, on_progress: object = None) -> str:
        names.append(threading.current_thread().name)
        return real(path, on_progress)  # type: ignore[arg-type]

    monkeypatch.setattr(manifest, "sha256_file", recorded)
    return names


def test_one_worker_hashes_in_the_calling_thread_more_in_a_pool(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_folder(tmp_path / "m", {"a": b"a", "b": b"b", "c": b"c"})
    names = _record_threads(monkeypatch)
    caller = threading.current_thread().name
    assert build_manifest(root, workers=1).digests() == {"a": sha(b"a"), "b": sha(b"b"), "c": sha(b"c")}
    assert names == [caller] * 3
    names.clear()
    assert hash_files(root, ["a"], workers=4) == {"a": sha(b"a")}  # one file: no pool for it
    assert names == [caller]
    names.clear()
    assert hash_files(root, ["a", "b", "c"], workers=2) == {"a": sha(b"a"), "b": sha(b"b"), "c": sha(b"c")}
    assert len(names) == 3 and all(name.startswith("hash") for name in names), names


def test_workers_default_to_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(manifest.os, "cpu_count", lambda: 64)
    assert manifest.default_workers() == 3  # the affinity, not the machine's 64 cores
    monkeypatch.setattr(manifest.os, "sched_getaffinity", lambda pid: set(range(48)))
    assert manifest.default_workers() == 32
    monkeypatch.delattr(manifest.os, "sched_getaffinity")
    assert manifest.default_workers() == 32
    monkeypatch.setattr(manifest.os, "cpu_count", lambda: None)
    assert manifest.default_workers() == 1


def test_every_byte_hashed_is_reported_once(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "m", {"a": b"x" * 1000, "sub/b": b"y" * 24})
    calls = [(lambda report: digest_path(root, on_progress=report), 1024),
             (lambda report: digest_path(root / "a", on_progress=report), 1000),
             (lambda report: model_subjects([root / "a"], "demo", on_progress=report), 1000),
             (lambda report: model_subjects([root], "demo", on_progress=report), 1024),
             (lambda report: hash_files(root, ["a", "sub/b"], workers=1, on_progress=report), 1024)]
    for call, total in calls:
        seen: list[int] = []
        call(seen.append)
        assert sum(seen) == total, seen
