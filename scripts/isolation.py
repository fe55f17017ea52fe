#!/usr/bin/env python3
"""Run tests one at a time, each alone in its own pytest process: a test that passes
only after another one (a fixture, a cache, a logging handler it left behind) fails here.

    .venv/bin/python scripts/isolation.py --sample 80          # 80 tests drawn at random (seed printed)
    .venv/bin/python scripts/isolation.py --sample 80 --seed 7 # the same 80 again
    .venv/bin/python scripts/isolation.py --all --jobs 2       # every test (hours on 2 cores)
    .venv/bin/python scripts/isolation.py -k "deploy and not stack" --all

Each test runs as ``pytest -p no:randomly -p no:cacheprovider NODEID`` with a time
limit (``--timeout``, 600 s: some tests start a Prefect server or a stack of their
own when they run alone). Prints one line per test that did not pass, with the tail
of its output, then a summary; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collect(keyword: str | None) -> list[str]:
    """The node ids pytest collects (with ``-k keyword``)."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"]
    if keyword:
        command += ["-k", keyword]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 5):
        sys.exit(f"error: collecting the tests failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return [line for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]


def run_alone(node: str, timeout: int) -> tuple[str, bool, float, str]:
    """(node, passed, seconds, tail of the output)."""
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", node]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return node, False, time.monotonic() - started, f"did not finish in {timeout} s"
    # 0: passed; a skip alone is a pass too (it says why in -ra's summary).
    output = (done.stdout + done.stderr).strip().splitlines()
    return node, done.returncode == 0, time.monotonic() - started, "\n    ".join(output[-12:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--sample", type=int, metavar="N", help="run N tests drawn at random")
    which.add_argument("--all", action="store_true", help="run every collected test")
    parser.add_argument("--seed", type=int, help="the draw's seed (default: random, printed)")
    parser.add_argument("-k", dest="keyword", help="only tests pytest's -k selects")
    parser.add_argument("--jobs", type=int, default=1, help="tests run at the same time (default 1)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one test may take alone")
    args = parser.parse_args()
    nodes = collect(args.keyword)
    if not nodes:
        print("error: no tests collected", file=sys.stderr)
        return 1
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    if args.sample is not None:
        nodes = sorted(random.Random(seed).sample(nodes, min(args.sample, len(nodes))))
        print(f"{len(nodes)} tests drawn with --seed {seed}", flush=True)
    failed: list[str] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for done, (node, passed, seconds, tail) in enumerate(
                pool.map(lambda node: run_alone(node, args.timeout), nodes), 1):
            if not passed:
                failed.append(node)
                print(f"FAILED alone ({seconds:.0f} s): {node}\n    {tail}", flush=True)
            elif done % 10 == 0:
                print(f"{done}/{len(nodes)} run, {len(failed)} failed", flush=True)
    print(f"done: {len(nodes)} tests each alone in {time.monotonic() - started:.0f} s, {len(failed)} failed")
    for node in failed:
        print(f"  {node}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
