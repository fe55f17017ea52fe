"""Artifact store throughput and memory on a big file, against the raw costs.

    .venv/bin/python benchmarks/bench_store.py [--mib 256] [--part-mib 16]

Prints, for the file store and for S3 (moto's server in a child process on
127.0.0.1), put and download time as a ratio of one plain SHA-256 pass over the
file (a plain read/write copy is printed too: hash + copy is the floor for a
local put or download that hashes), and the peak Python heap during each operation (tracemalloc) as a ratio of
the file size and of the part size. Flat memory means the peak tracks the part
size, not the file size.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from slsa_models.digest import sha256_file
from slsa_models.store import open_store
from slsa_models.store.base import ArtifactStore

MIB = 2**20


def _measure(action: Callable[[], object]) -> tuple[float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak


def _write_file(path: Path, mib: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as sink:
        for index in range(mib):
            sink.write(index.to_bytes(8, "big") + block[8:])


def _plain_copy(source: Path, dest: Path) -> None:
    with open(source, "rb") as reader, open(dest, "wb") as writer:
        while chunk := reader.read(MIB):
            writer.write(chunk)


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto server did not start")


def _bench(name: str, store: ArtifactStore, source: Path, work: Path, hash_seconds: float,
           size: int, part: int) -> None:
    key = f"models/bench/sha256-{'0' * 64}/{name}.bin"
    digest = sha256_file(source)
    put_s, put_peak = _measure(lambda: store.put_file(key, source, sha256=digest))
    dest = work / f"{name}.download"
    get_s, get_peak = _measure(lambda: store.download(key, dest))
    assert sha256_file(dest) == digest
    dest.unlink()
    for label, seconds, peak in (("put_file", put_s, put_peak), ("download", get_s, get_peak)):
        print(
            f"{name:5} {label:8}  {seconds:6.2f} s  {size / MIB / seconds:7.1f} MiB/s"
            f"  time/sha256-pass {seconds / hash_seconds:5.2f}"
            f"  peak heap {peak / MIB:6.1f} MiB = {peak / size:5.3f} x file, {peak / part:4.2f} x part"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="file size in MiB")
    parser.add_argument("--part-mib", type=int, default=16, help="S3 part size (and threshold) in MiB")
    args = parser.parse_args()
    size, part = args.mib * MIB, args.part_mib * MIB
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "model.bin"
        _write_file(source, args.mib)
        hash_seconds, _ = _measure(lambda: sha256_file(source))
        copy_seconds, _ = _measure(lambda: _plain_copy(source, work / "copy.bin"))
        (work / "copy.bin").unlink()
        print(
            f"file {args.mib} MiB; one sha256 pass {hash_seconds:.2f} s"
            f" ({size / MIB / hash_seconds:.0f} MiB/s); plain 1 MiB read/write copy {copy_seconds:.2f} s"
            f" (floor for hash+copy: {hash_seconds + copy_seconds:.2f} s)"
        )

        (work / "store").mkdir()
        _bench("file", open_store(str(work / "store")), source, work, hash_seconds, size, part)

        server, endpoint = _start_moto()
        try:
            import boto3

            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
            store = open_store("s3://bench/p", endpoint_url=endpoint,
                               multipart_threshold=part, part_size=part)
            _bench("s3", store, source, work, hash_seconds, size, part)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
