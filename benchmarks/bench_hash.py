"""Artifact hashing throughput: slsa_models.digest against `openssl dgst -sha256`.

Writes a 1 GiB file of random-looking bytes (or uses --file), then hashes it
alternately with ``Artifact.from_path`` (which streams through
``slsa_models.digest.sha256_file``) and with ``openssl dgst -sha256`` in a
subprocess, several rounds each, and prints the best throughput of each,
their ratio (target >= 0.95x) and this process's peak RSS before and after
hashing (it should stay flat: the file is streamed, never read whole).

The page cache is warm for both after the first round, so this compares the
hashing loops, not the disk.

    python benchmarks/bench_hash.py [--size-mib 1024] [--rounds 3] [--file PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def write_file(path: Path, size: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as stream:
        for index in range(size >> 20):
            # vary each MiB cheaply so no layer can deduplicate or compress it
            stream.write(index.to_bytes(8, "little") + block[8:])


def time_ours(path: Path) -> tuple[float, str]:
    from slsa_models.verify import Artifact

    start = time.perf_counter()
    digest = Artifact.from_path(path).sha256
    return time.perf_counter() - start, digest


def time_openssl(openssl: str, path: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([openssl, "dgst", "-sha256", "-r", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - start, out.split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", type=Path, help="hash this file instead of a generated one")
    args = parser.parse_args()
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit("openssl is not on PATH")

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "artifact.bin"
        if args.file is None:
            write_file(path, args.size_mib << 20)
        size = path.stat().st_size
        import slsa_models.verify  # noqa: F401  (imports out of the measured region)

        rss_before = peak_rss_mib()
        ours, theirs = [], []
        for _ in range(args.rounds):
            seconds, our_digest = time_ours(path)
            ours.append(seconds)
            seconds, their_digest = time_openssl(openssl, path)
            theirs.append(seconds)
            assert our_digest == their_digest, (our_digest, their_digest)
        rss_after = peak_rss_mib()

    mib = size / 2**20
    best_ours, best_theirs = mib / min(ours), mib / min(theirs)
    ratio = best_ours / best_theirs
    print(f"file: {mib:.0f} MiB, {args.rounds} rounds each, interleaved, best round")
    print(f"  slsa-models (Artifact.from_path)  {best_ours:8.1f} MiB/s")
    print(f"  openssl dgst -sha256              {best_theirs:8.1f} MiB/s")
    print(f"ratio ours / openssl: {ratio:.3f}x (target >= 0.95x: "
          f"{'met' if ratio >= 0.95 else 'NOT met'})")
    print(f"peak RSS: {rss_before:.1f} MiB before hashing, {rss_after:.1f} MiB after "
          f"({rss_after - rss_before:+.1f} MiB)")


if __name__ == "__main__":
    main()
