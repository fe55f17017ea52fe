"""Folder hashing: slsa_models.manifest against model_signing and two-at-a-time openssl, one run.

Makes a folder of 6 x 192 MiB shards plus a config.json (or uses --folder), then in
alternating rounds hashes it with:

- ours: ``build_manifest`` (every file's SHA-256, files hashed on all cores);
- model_signing 1.1.1: ``model_signing.hashing.Config().hash`` (its default: SHA-256 per file);
- the two-core limit: ``openssl dgst -sha256`` over the files, two processes at a time;
- the machine's SHA-256 capacity: hashlib over the same number of bytes already in memory,
  two threads, no file read at all (no hasher of files can beat it).

Each is run in a fresh child process (so imports and memory are its own), the best of
``--rounds`` is kept, and the ratios are printed (targets: ours <= 0.75x model_signing,
ours <= 1.3x the two-core limit). Peak memory of ours is measured in the child for the
full folder and for one with shards a quarter the size: it must not grow with the size.

    python benchmarks/bench_folder.py [--shards 6] [--shard-mib 192] [--rounds 3] [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
kind, folder = sys.argv[1], sys.argv[2]
if kind == "ours":
    from slsa_models.manifest import build_manifest as run
else:
    import model_signing
    run = model_signing.hashing.Config().hash
start = time.perf_counter()
run(folder)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_folder(folder: Path, shards: int, shard_mib: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)
    for number in range(1, shards + 1):
        with open(folder / f"model-{number:05d}-of-{shards:05d}.safetensors", "wb") as stream:
            for index in range(shard_mib):  # vary each MiB so nothing can deduplicate it
                stream.write((number * 100_000 + index).to_bytes(8, "little") + block[8:])
    (folder / "config.json").write_text('{"model_type": "benchmark"}\n')


def child(kind: str, folder: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(folder)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def two_core_openssl(folder: Path) -> float:
    files = sorted(str(path) for path in folder.iterdir() if path.is_file())
    start = time.perf_counter()
    subprocess.run(["xargs", "-P2", "-n1", "openssl", "dgst", "-sha256"], input="\n".join(files),
                   text=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def sha256_capacity(size: int, threads: int = 2) -> float:
    """Seconds for ``threads`` threads to SHA-256 ``size`` bytes held in memory (hashlib frees
    the GIL): the floor under any file hasher on this machine."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    block = memoryview(os.urandom(8 << 20))
    share = size // threads

    def hash_share(_: int) -> None:
        digest = hashlib.sha256()
        for _ in range(share // len(block)):
            digest.update(block)
        digest.update(block[: share % len(block)])

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(hash_share, range(threads)))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--shard-mib", type=int, default=192)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="an existing folder to hash instead")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-folder-"))
    try:
        folder = args.folder or scratch / "model"
        if args.folder is None:
            make_folder(folder, args.shards, args.shard_mib)
        small = scratch / "small"
        make_folder(small, args.shards, max(1, args.shard_mib // 4))
        size = sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
        best = {"ours": float("inf"), "model_signing": float("inf"), "openssl x2": float("inf"),
                "sha256 capacity": float("inf")}
        peak = 0.0
        for _ in range(args.rounds):
            ours = child("ours", folder)
            best["ours"] = min(best["ours"], ours["seconds"])
            peak = max(peak, ours["peak_rss_mib"])
            best["model_signing"] = min(best["model_signing"], child("model_signing", folder)["seconds"])
            best["openssl x2"] = min(best["openssl x2"], two_core_openssl(folder))
            best["sha256 capacity"] = min(best["sha256 capacity"], sha256_capacity(size))
        small_peak = child("ours", small)["peak_rss_mib"]
        print(f"folder: {len(list(folder.iterdir()))} files, {size / 2**20:.0f} MiB; best of {args.rounds} rounds")
        for name, seconds in best.items():
            print(f"  {name:<14} {seconds:6.2f} s  {size / 2**20 / seconds:7.0f} MiB/s")
        print(f"ours / model_signing: {best['ours'] / best['model_signing']:.2f}x (target <= 0.75x)")
        print(f"ours / two-core openssl: {best['ours'] / best['openssl x2']:.2f}x (target <= 1.3x)")
        print(f"model_signing / SHA-256 capacity: {best['model_signing'] / best['sha256 capacity']:.2f}x "
              f"(0.75x model_signing is {0.75 * best['model_signing'] / best['sha256 capacity']:.2f}x the capacity:"
              " below 1.00x, no hasher can reach it)")
        print(f"peak RSS of ours: {peak:.0f} MiB for the folder, {small_peak:.0f} MiB with shards 1/4 the size")
        print(f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
