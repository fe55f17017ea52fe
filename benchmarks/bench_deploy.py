"""Gated deploy of a big model from S3, against the floor of download + `openssl dgst -sha256`.

    .venv/bin/python benchmarks/bench_deploy.py [--mib 1024] [--small-mib 64] [--rounds 2]
                                                [--server moto|seaweedfs]

One run, one S3 server (moto's server in a child process on 127.0.0.1 by
default; ``--server seaweedfs`` uses ``weed mini`` through the stack's
launcher), one stored object of ``--mib`` MiB with real key-signed SLSA
provenance from the local builder (a key made for the run), so the gated
deploy passes for real. Every contender runs in its own child process, in
alternating order, and reports its own peak RSS:

- ``gated``: the ``Gate`` exactly as the flow's tasks call it, minus Prefect's
  orchestration: find the model, fetch its evidence from the store, download
  it hashing while downloading, verify (signature, key, builder, subject
  digest, model name, model digest), smoke-load (skipped: the file is no model
  format), promote (pin the object, sign and append the deployment record,
  compare-and-swap current.json). ``sign-record`` is the time spent signing
  the record (a deploy's fixed cost added by signed records).
- ``floor``: the fastest plain boto3 download of the same object to a file
  (``get_object`` streamed in 1 MiB chunks, and on SeaweedFS also
  ``download_file``, s3transfer's concurrent ranged GETs; the better per
  round), plus ``openssl dgst -sha256`` of the downloaded file (timed here).

It prints the best time of each over the rounds, the ratio gated / floor
(target <= 1.3x), the gated step breakdown, and the peak RSS (VmHWM) of each
child for the big and the ``--small-mib`` object (flat: independent of size).
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_store import _start_moto, _write_file  # same directory: the moto launcher and file maker

MIB = 2**20
MODEL = "bench"
FILE_NAME = "model.bin"
BUILDER = "https://ci.example.com/builders/bench"
HERE = Path(__file__).resolve()


# -- children ------------------------------------------------------------------------------


def child_gated(args: argparse.Namespace) -> dict[str, Any]:
    from slsa_models import deploy
    from slsa_models.store import open_store
    from slsa_models.verify import policy_from_options

    steps: dict[str, float] = {}

    def timed(name: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = action()
        steps[name] = time.perf_counter() - started
        return result

    started = time.perf_counter()
    policy = policy_from_options(public_key=[args.public_key], builder_id=BUILDER)
    gate = deploy.Gate(open_store(args.store), MODEL, policy)
    deployer = deploy.deployer_for(policy)
    candidate = timed("find", lambda: gate.find(args.digest))
    evidence = timed("fetch-evidence", lambda: gate.fetch_evidence(candidate))
    # As tasks/fetch.py: a scratch download, no fsync.
    model = timed("download+hash", lambda: gate.fetch_model(candidate, Path(args.workdir)))
    verdict = timed("verify", lambda: gate.verify(candidate, evidence, model))
    if not verdict.passed:
        raise SystemExit(f"verification failed: {verdict.reason}")
    smoke = timed("smoke-load", lambda: gate.smoke_load(verdict))
    decision = timed("promote", lambda: deploy.promote(gate.store, verdict, smoke, deployer=deployer,
                                                       policy=deploy.policy_to_dict(policy)))
    assert decision.deployed, decision.record.reason
    timed("sign-record", lambda: decision.record.sign(deployer.signer))
    return {"seconds": time.perf_counter() - started - steps["sign-record"], "steps": steps}


def child_floor(args: argparse.Namespace) -> dict[str, Any]:
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    bucket, _, prefix = args.store.removeprefix("s3://").partition("/")
    key = f"{prefix}/models/{MODEL}/sha256-{args.digest.removeprefix('sha256:')}/{FILE_NAME}"
    dest = Path(args.workdir) / FILE_NAME
    started = time.perf_counter()
    if args.how == "download_file":
        client.download_file(bucket, key, str(dest))
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
    done = subprocess.run(argv, capture_output=True, text=True,
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


def measure(store_uri: str, source: Path, work: Path, rounds: int, floors: tuple[str, ...]) -> dict[str, Any]:
    digest, public = store_signed_model(store_uri, source, work)
    best: dict[str, Any] = {}
    for index in range(rounds):
        order = ["gated", "floor"] if index % 2 == 0 else ["floor", "gated"]
        for kind in order:
            scratch = work / f"{kind}-{index}"
            if kind == "gated":
                result = run_child("gated", store_uri, digest, public, scratch)
                print(f"    round {index}: gated {result['seconds']:.2f} s (RSS {result['peak_rss'] / MIB:.0f} MiB)")
            else:
                downloads = {how: run_child("floor", store_uri, digest, public, scratch / how, how)
                             for how in floors}
                how, result = min(downloads.items(), key=lambda item: item[1]["seconds"])
                print(f"    round {index}: " + ", ".join(
                    f"{name} {r['seconds']:.2f} s (RSS {r['peak_rss'] / MIB:.0f} MiB)" for name, r in downloads.items()))
                hashing = openssl_seconds(scratch / how / FILE_NAME)
                result = {**result, "download": result["seconds"], "openssl": hashing,
                          "seconds": result["seconds"] + hashing}
            shutil.rmtree(scratch, ignore_errors=True)
            if kind not in best or result["seconds"] < best[kind]["seconds"]:
                best[kind] = result
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="model size in MiB (default 1024)")
    parser.add_argument("--small-mib", type=int, default=64, help="a small model, to show RSS is flat")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per contender (best is kept)")
    parser.add_argument("--server", choices=("moto", "seaweedfs"), default="moto")
    parser.add_argument("--child", choices=("gated", "floor"), help=argparse.SUPPRESS)
    for hidden in ("--store", "--digest", "--public-key", "--workdir", "--how"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_gated if args.child == "gated" else child_floor)(args)
        print(json.dumps({**result, "peak_rss": peak_rss()}))
        return

    # moto reads the whole object for every ranged GET, so s3transfer's concurrent download_file
    # takes minutes there (about 90 s for 1 GiB): it is no floor on moto, only on a real server.
    floors = ("get_object",) if args.server == "moto" else ("download_file", "get_object")
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        work = Path(tmp)
        with s3_server(args.server, work) as endpoint:
            print(f"S3 server: {args.server} at {endpoint}; {args.rounds} round(s), best kept")
            for mib, bucket_prefix in ((args.small_mib, "small"), (args.mib, "big")):
                source = work / FILE_NAME
                _write_file(source, mib)
                best = measure(f"s3://bench/{bucket_prefix}", source, work / bucket_prefix, args.rounds, floors)
                source.unlink()
                gated, floor = best["gated"], best["floor"]
                rate = mib / gated["seconds"]
                print(f"\n{mib} MiB model")
                print(f"  floor  {floor['seconds']:7.2f} s = boto3 {floor['download']:.2f} s"
                      f" + openssl dgst -sha256 {floor['openssl']:.2f} s"
                      f"   peak RSS {floor['peak_rss'] / MIB:6.1f} MiB (download process)")
                print(f"  gated  {gated['seconds']:7.2f} s ({rate:.0f} MiB/s)"
                      f"   peak RSS {gated['peak_rss'] / MIB:6.1f} MiB")
                print("         " + ", ".join(f"{name} {seconds * 1000:.1f} ms" if seconds < 0.1 else f"{name} {seconds:.2f} s" for name, seconds in gated["steps"].items()))
                print(f"  ratio gated / floor: {gated['seconds'] / floor['seconds']:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
