"""Hashing a model the way an OMS manifest describes it: whole files, or file shards.

Files use slsa_models.manifest (parallel SHA-256, regular files only). Shards
(model_signing's ``shards`` serialization) are byte ranges ``[start, end)`` of
``shard_size`` bytes (the last one shorter), each hashed on its own, several at
a time; memory stays flat (one 1 MiB buffer per worker).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slsa_models.errors import InputError
from slsa_models.manifest import default_workers, list_files
from slsa_models.untrusted import open_regular_file

CHUNK = 1 << 20


def in_flight(jobs: int) -> int:
    """How many files (or shards) to hash at once: the cores plus four, as concurrent.futures'
    default (and model_signing): the files then finish together instead of the last one
    alone on one core, and on a shared machine the hashing keeps its share of the cores.
    Each holds one 1 MiB buffer."""
    return max(1, min(jobs, default_workers() + 4))


def shard_ranges(size: int, shard_size: int) -> list[tuple[int, int]]:
    """model_signing's shards of a file of ``size`` bytes: none for an empty file."""
    return [(start, min(start + shard_size, size)) for start in range(0, size, shard_size)]


def _hash_range(path: Path, start: int, end: int, on_progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    fd = open_regular_file(path, what="model file")
    try:
        buffer = bytearray(min(CHUNK, max(1, end - start)))
        view = memoryview(buffer)
        offset = start
        while offset < end:
            read = os.preadv(fd, [view[:min(len(buffer), end - offset)]], offset)
            if read == 0:
                raise InputError(f"{path}: the file shrank while it was hashed")
            digest.update(view[:read])
            offset += read
            if on_progress is not None:
                on_progress(read)
    finally:
        os.close(fd)
    return digest.hexdigest()


def hash_shards(root: str | os.PathLike[str], paths: Sequence[str], shard_size: int, *,
                workers: int | None = None, on_progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """``path:start:end`` -> hex SHA-256 of that byte range, for every shard of ``paths``."""
    top = Path(root)
    jobs = []
    for path in paths:
        full = top / path if path != "." else top
        jobs += [(path, full, start, end) for start, end in shard_ranges(os.stat(full).st_size, shard_size)]
    count = min(workers or in_flight(len(jobs)), max(1, len(jobs)))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="shard") as pool:
        digests = pool.map(lambda job: _hash_range(job[1], job[2], job[3], on_progress), jobs)
        return {f"{path}:{start}:{end}": digest
                for (path, _, start, end), digest in zip(jobs, digests, strict=True)}


def list_model_files(root: str | os.PathLike[str], ignore_paths: Sequence[str], *,
                     ignore_git_paths: bool = True, allow_symlinks: bool = False) -> list[str]:
    """``manifest.list_files``: regular files only; with ``allow_symlinks`` a symlink to a
    regular file counts as that file (model_signing's --allow_symlinks)."""
    return list_files(root, ignore_paths, ignore_git_paths=ignore_git_paths, allow_symlinks=allow_symlinks)
