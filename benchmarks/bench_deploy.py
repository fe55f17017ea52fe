"""Gated deploy of a big model from S3 against plain boto3 downloads, and a small deploy's fixed cost.

    .venv/bin/python benchmarks/bench_deploy.py [--mib 1024] [--rounds 2] [--fixed-runs 3]
                                                [--server moto|seaweedfs]

One run, one S3 server (moto's server in a child process on 127.0.0.1 by
default; ``--server seaweedfs`` uses ``weed mini`` through the stack's
launcher), one stored object of ``--mib`` MiB with real key-signed SLSA
provenance from the local builder (a key made for the run), so the gated
deploy passes for real. Every contender runs in its own child process, in
alternating order, and reports its own peak RSS:

- ``gated``: ``Gate(...).run(...)`` exactly as serving, pull and the flow's
  tasks use it (find the model, fetch its evidence from the store, download it
  with concurrent ranged GETs hashing while downloading, verify: signature,
  key, builder, subject digest, model name, model digest; smoke-load: skipped,
  the file is no model format), then promote (pin the object, sign and append
  the deployment record, compare-and-swap current.json). Timed from the call of
  ``run`` (the store and policy are opened before, as the floor's client is),
  so lazy imports count.
- ``download_file``: boto3's ``download_file`` (s3transfer's concurrent ranged
  GETs) with ``TransferConfig(max_concurrency=...)`` set to the store's own
  concurrency; on SeaweedFS only (moto re-reads the whole object for every
  ranged GET, which takes minutes for 1 GiB).
- ``get_object``: one streamed GET in 1 MiB chunks (the floor on moto).
- ``openssl dgst -sha256`` of the downloaded file, timed here.
- ``fixed``: a fresh process's first ``Gate.run`` on a 4 KiB model, minus the
  time spent in ``download``: the fixed cost of a gated deploy (``--fixed-runs``,
  best kept).

It prints the best time of each over the rounds, the ratios with their targets
(gated <= 0.75x download_file + openssl, gated <= 1.15x download_file, fixed
cost <= 0.15 s), the gated step breakdown and each child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_store import _start_moto, _write_file  # same directory: the moto launcher and file maker

MIB = 2**20
MODEL = "bench"
FILE_NAME = "model.bin"
BUILDER = "https://ci.example.com/builders/bench"
HERE = Path(__file__).resolve()
TARGET_VS_OPENSSL = 0.75
TARGET_VS_DOWNLOAD = 1.15
TARGET_FIXED = 0.15


# -- children ------------------------------------------------------------------------------


def child_gated(args: argparse.Namespace) -> dict[str, Any]:
    from slsa_models import deploy
    from slsa_models.store import open_store
    from slsa_models.verify import policy_from_options

    policy = policy_from_options(public_key=[args.public_key], builder_id=BUILDER)
    store = open_store(args.store)
    gate = deploy.Gate(store, MODEL, policy)
    deployer = deploy.deployer_for(policy)
    steps: dict[str, float] = {}
    download = store.download

    def timed_download(*a: Any, **k: Any) -> Any:  # the download step inside Gate.run
        started = time.perf_counter()
        try:
            return download(*a, **k)
        finally:
            steps["download+hash"] = time.perf_counter() - started

    store.download = timed_download  # type: ignore[method-assign]
    started = time.perf_counter()
    verdict, smoke = gate.run(Path(args.workdir), digest=args.digest)  # as tasks/fetch.py: no fsync
    steps["run"] = time.perf_counter() - started
    if not verdict.passed:
        raise SystemExit(f"verification failed: {verdict.reason}")
    if args.how == "fixed":
        return {"seconds": steps["run"] - steps["download+hash"], "steps": steps}
    before = time.perf_counter()
    decision = deploy.promote(store, verdict, smoke, deployer=deployer, policy=deploy.policy_to_dict(policy))
    assert decision.deployed, decision.record.reason
    steps["promote"] = time.perf_counter() - before
    return {"seconds": time.perf_counter() - started, "steps": steps}


def child_floor(args: argparse.Namespace) -> dict[str, Any]:
    import boto3
    from boto3.s3.transfer import TransferConfig

    from slsa_models.store.s3 import DEFAULT_MAX_CONCURRENCY

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    bucket, _, prefix = args.store.removeprefix("s3://").partition("/")
    key = f"{prefix}/models/{MODEL}/sha256-{args.digest.removeprefix('sha256:')}/{FILE_NAME}"
    dest = Path(args.workdir) / FILE_NAME
    started = time.perf_counter()
    if args.how == "download_file":
        client.download_file(bucket, key, str(dest), Config=TransferConfig(max_concurrency=DEFAULT_MAX_CONCURRENCY))
    else:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with open(dest, "wb") as sink:
            shutil.copyfileobj(body, sink, MIB)
    return {"seconds": time.perf_counter() - started}


def peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM: reset at exec, unlike the
    ru_maxrss a parent gets from wait4, which starts at the parent's own size)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM in /proc/self/status: this benchmark needs Linux")


def run_child(kind: str, store: str, digest: str, public_key: Path, work: Path, how: str = "") -> dict[str, Any]:
    """Run one contender in a fresh process; its JSON result, with its peak RSS."""
    work.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(HERE), "--child", kind, "--store", store, "--digest", digest,
            "--public-key", str(public_key), "--workdir", str(work), "--how", how]
    # the deployer's development key (signing the records) lives in the child's scratch state
    done = subprocess.run(argv, check=False, capture_output=True, text=True,
                          env={**os.environ, "SLSA_MODELS_HOME": str(work / "state")})
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def openssl_seconds(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


# -- servers ---------------------------------------------------------------------------------


@contextmanager
def s3_server(kind: str, work: Path) -> Iterator[str]:
    """Yield an endpoint with a bucket ``bench``; AWS_* variables are set for this process and children."""
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    if kind == "moto":
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
        server, endpoint = _start_moto()
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        try:
            import boto3

            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
            yield endpoint
        finally:
            server.terminate()
            server.wait(timeout=30)
        return
    from slsa_models.stack import seaweedfs
    from slsa_models.stack.config import StackConfig
    from slsa_models.stack.process import free_ports

    config = StackConfig(home=work / "stack", checkout=HERE.parents[1], s3_port=free_ports("127.0.0.1", 1)[0],
                         bucket="bench")
    seaweedfs.start(config, dict(os.environ))
    try:
        seaweedfs.ensure_bucket(config)
        os.environ.update(seaweedfs.aws_environment(config))
        yield config.s3_endpoint
    finally:
        seaweedfs.service(config).stop()


# -- setup -----------------------------------------------------------------------------------


def store_signed_model(store_uri: str, path: Path, key_dir: Path) -> tuple[str, Path]:
    """Put the model and real key-signed provenance for it; (sha256:HEX, public key path)."""
    from slsa_models.provenance.attest import attest
    from slsa_models.provenance.keys import generate_key_pair, load_private_key
    from slsa_models.provenance.signers import KeySigner
    from slsa_models.publishing import publish_model, publish_provenance
    from slsa_models.store import open_store

    private, public = key_dir / "bench.pem", key_dir / "bench.pub.pem"
    if not public.exists():
        generate_key_pair(private, public)
    store = open_store(store_uri)
    stored = publish_model(store, MODEL, path)
    bundle = attest([(f"{MODEL}/{FILE_NAME}", stored.sha256)], signer=KeySigner(load_private_key(private)),
                    builder_id=BUILDER, external_parameters={"benchmark": True, "model_name": MODEL})
    publish_provenance(store, stored.key, bundle.encode())
    return f"sha256:{stored.sha256}", public


def best_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    return min(results, key=lambda result: result["seconds"])


def measure(store_uri: str, source: Path, work: Path, rounds: int, floors: tuple[str, ...],
            scratch_root: Path) -> dict[str, Any]:
    """Best result of each contender over ``rounds`` alternating rounds, downloading under ``scratch_root``."""
    work.mkdir(parents=True, exist_ok=True)
    digest, public = store_signed_model(store_uri, source, work)
    results: dict[str, list[dict[str, Any]]] = {}
    for index in range(rounds):
        order = ["gated", *floors] if index % 2 == 0 else [*floors, "gated"]
        for how in order:
            scratch = scratch_root / f"{how}-{index}"
            result = run_child("gated" if how == "gated" else "floor", store_uri, digest, public, scratch, how)
            line = f"    round {index}: {how} {result['seconds']:.2f} s (RSS {result['peak_rss'] / MIB:.0f} MiB)"
            if how != "gated":
                result["openssl"] = openssl_seconds(scratch / FILE_NAME)
                line += f", then openssl {result['openssl']:.2f} s"
            print(line, flush=True)
            shutil.rmtree(scratch, ignore_errors=True)
            results.setdefault(how, []).append(result)
    return {how: best_of(found) for how, found in results.items()}


def measure_fixed(store_uri: str, work: Path, runs: int) -> list[dict[str, Any]]:
    """``runs`` fresh processes' first Gate.run on a 4 KiB model, minus its download."""
    work.mkdir(parents=True, exist_ok=True)
    source = work / FILE_NAME
    source.write_bytes(os.urandom(4096))
    digest, public = store_signed_model(store_uri, source, work)
    found = []
    for index in range(runs):
        scratch = work / f"fixed-{index}"
        found.append(run_child("gated", store_uri, digest, public, scratch, "fixed"))
        shutil.rmtree(scratch, ignore_errors=True)
    return found


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="model size in MiB (default 1024)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per contender (best is kept)")
    parser.add_argument("--fixed-runs", type=int, default=3, help="fresh processes for the fixed cost")
    parser.add_argument("--server", choices=("moto", "seaweedfs"), default="moto")
    parser.add_argument("--scratch", type=Path, help="where the 1 GiB contenders download to (default: the"
                        " run's temporary directory; /dev/shm takes the disk's write costs out of the ratios)")
    parser.add_argument("--child", choices=("gated", "floor"), help=argparse.SUPPRESS)
    for hidden in ("--store", "--digest", "--public-key", "--workdir", "--how"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_gated if args.child == "gated" else child_floor)(args)
        print(json.dumps({**result, "peak_rss": peak_rss()}))
        return

    floors = ("get_object",) if args.server == "moto" else ("download_file",)
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        work = Path(tmp)
        with s3_server(args.server, work) as endpoint:
            print(f"S3 server: {args.server} at {endpoint}; {args.rounds} round(s), best kept", flush=True)
            fixed = measure_fixed("s3://bench/fixed", work / "fixed", args.fixed_runs)
            source = work / FILE_NAME
            _write_file(source, args.mib)
            with tempfile.TemporaryDirectory(prefix="bench-deploy-", dir=args.scratch) as scratch:
                print(f"downloads into {scratch}", flush=True)
                best = measure("s3://bench/big", source, work / "big", args.rounds, floors, Path(scratch))
            source.unlink()
    gated = best["gated"]
    print(f"\n{args.mib} MiB model")
    print(f"  gated   {gated['seconds']:7.2f} s ({args.mib / gated['seconds']:.0f} MiB/s)"
          f"   peak RSS {gated['peak_rss'] / MIB:6.1f} MiB")
    print("          " + ", ".join(f"{name} {_seconds(value)}" for name, value in gated["steps"].items()))
    for how in floors:
        floor = best[how]
        with_openssl = floor["seconds"] + floor["openssl"]
        print(f"  {how:13s} {floor['seconds']:7.2f} s, + openssl dgst -sha256 {floor['openssl']:.2f} s"
              f" = {with_openssl:.2f} s   peak RSS {floor['peak_rss'] / MIB:6.1f} MiB")
        ratio = gated["seconds"] / with_openssl
        print(f"  ratio gated / ({how} + openssl): {ratio:.2f}x (target <= {TARGET_VS_OPENSSL}x:"
              f" {'met' if ratio <= TARGET_VS_OPENSSL else 'NOT met'})")
        ratio = gated["seconds"] / floor["seconds"]
        target = TARGET_VS_DOWNLOAD if how == "download_file" else None
        verdict = f" (target <= {target}x: {'met' if ratio <= target else 'NOT met'})" if target else ""
        print(f"  ratio gated / {how}: {ratio:.2f}x{verdict}")
    cost = best_of(fixed)
    print(f"\nfixed cost of a gated deploy (4 KiB model, fresh process, Gate.run minus download),"
          f" best of {len(fixed)}: {_seconds(cost['seconds'])} (target <= {TARGET_FIXED} s:"
          f" {'met' if cost['seconds'] <= TARGET_FIXED else 'NOT met'});"
          f" all: {', '.join(_seconds(found['seconds']) for found in fixed)};"
          f" peak RSS {cost['peak_rss'] / MIB:.1f} MiB")
    print("          " + ", ".join(f"{name} {_seconds(value)}" for name, value in cost["steps"].items()))


if __name__ == "__main__":
    main()
