#!/usr/bin/env python3
"""A coverage-guided fuzzing campaign (atheris) over the parsers of untrusted input.

    python scripts/fuzz.py                          # every target, 60 s each
    python scripts/fuzz.py --target policy --seconds 300
    python scripts/fuzz.py --target verify --runs 20000 --findings fuzz/findings

Each target runs in its own process (libFuzzer ends the process when it is
done), seeded with the real vectors (``fuzz.corpus``) and mutated both by
libFuzzer and by the JSON/TOML-aware mutator (``fuzz.mutate``). An outcome
other than a verdict or a typed one-line SlsaModelsError is a finding: the
input is saved under ``--findings`` as ``TARGET-<sha1>.bin`` with its
traceback next to it (``.txt``), one file per distinct place it failed, and
the campaign goes on. A hang (``--timeout``) or memory blow-up ends the
target's run with libFuzzer's own ``timeout-*``/``oom-*`` file there. Prints,
per target, how many inputs ran and what was found; exits 1 on any finding.
Without atheris installed, the same targets run under the structure-aware
mutator alone (no coverage guidance).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fuzz.mutate import MAX_SIZE as MAX_LEN  # noqa: E402 (after the path is set)


def target_names() -> tuple[str, ...]:
    """The targets' names. Imported here, not at the top: the worker must import
    slsa_models inside atheris's instrumentation, or nothing guides the campaign."""
    from fuzz.targets import TARGETS

    return tuple(TARGETS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="all", help="a target's name, or all (default)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=int, help="time per target (default: 60)")
    budget.add_argument("--runs", type=int, help="inputs per target")
    parser.add_argument("--findings", type=Path, default=ROOT / "fuzz" / "findings",
                        help="where crash inputs and tracebacks go (default: fuzz/findings)")
    parser.add_argument("--corpus", type=Path, help="keep each target's evolved corpus in DIR/TARGET")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take (a hang)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs is None and args.seconds is None:
        args.seconds = 60
    if args.worker:
        args.findings.mkdir(parents=True, exist_ok=True)
        return worker(args)
    names = target_names()
    if args.target != "all" and args.target not in names:
        parser.error(f"--target: {args.target!r} is not one of: all, {', '.join(names)}")
    names = names if args.target == "all" else (args.target,)
    args.findings.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in names:
        total += campaign(name, args)
    print(f"done: {len(names)} target(s), {total} finding(s); inputs in {args.findings}")
    return 1 if total else 0


def campaign(name: str, args: argparse.Namespace) -> int:
    """Run one target in a worker process; print inputs run and findings. Returns the findings."""
    before = set(args.findings.iterdir())
    command = [sys.executable, __file__, "--worker", "--target", name, "--findings", str(args.findings),
               "--timeout", str(args.timeout)]
    command += ["--runs", str(args.runs)] if args.runs is not None else ["--seconds", str(args.seconds)]
    if args.corpus is not None:
        command += ["--corpus", str(args.corpus)]
    started = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", check=False)
    elapsed = time.monotonic() - started
    runs = _inputs_run(done.stdout)
    new = sorted(path for path in set(args.findings.iterdir()) - before if path.suffix != ".txt")
    status = "ok" if done.returncode == 0 and not new else f"exit {done.returncode}"
    print(f"{name}: {runs} inputs in {elapsed:.0f} s, {len(new)} finding(s) ({status})")
    for path in new:
        note = path.with_suffix(".txt")
        first = note.read_text().splitlines()[0] if note.exists() else path.name.split("-")[0]
        print(f"  {path.name}: {first}")
    if done.returncode not in (0,) and not new:
        print("  worker output (tail):\n    " + "\n    ".join(done.stdout.splitlines()[-15:]))
        return 1
    return len(new)


def _inputs_run(output: str) -> int:
    """The number of inputs the worker reports (libFuzzer's last ``#N`` or ``Done N runs``)."""
    counts = [int(n) for n in re.findall(r"^(?:#|Done |ran )(\d+)", output, re.MULTILINE)]
    return max(counts, default=0)


class Recorder:
    """Runs inputs through one target; saves each distinct finding once."""

    def __init__(self, name: str, findings: Path) -> None:
        from fuzz import targets

        self.name, self.findings, self.run = name, findings, targets.run
        self.seen: set[str] = set()

    def __call__(self, data: bytes) -> None:
        try:
            self.run(self.name, data)
        except Exception as error:  # noqa: BLE001 - any other outcome is the finding
            self.save(data, error)

    def save(self, data: bytes, error: BaseException) -> None:
        frames = traceback.extract_tb(error.__traceback__)
        where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)
                      if "slsa_models" in f.filename), None)
        where = where or (f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?")
        signature = f"{type(error).__name__} at {where}"
        if signature in self.seen:
            return
        self.seen.add(signature)
        digest = hashlib.sha1(data).hexdigest()[:12]
        (self.findings / f"{self.name}-{digest}.bin").write_bytes(data)
        text = "".join(traceback.format_exception(error))
        (self.findings / f"{self.name}-{digest}.txt").write_text(f"{signature}: {error!s:.300}\n\n{text}")
        print(f"FINDING {self.name}: {signature}: {error!s:.200}", flush=True)


def worker(args: argparse.Namespace) -> int:
    try:
        import atheris
    except ImportError:
        return plain_worker(args)
    with atheris.instrument_imports(include=["slsa_models", "fuzz", "tomllib"]):
        from fuzz import corpus, mutate, targets

    recorder = Recorder(args.target, args.findings)
    seeds = corpus.seeds(args.target)
    for seed in seeds:  # warm the caches (certificates, policies) outside the timed inputs
        recorder(seed)
    seed_dir = Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-seeds-"))
    for index, seed in enumerate(seeds):
        (seed_dir / f"seed-{index}").write_bytes(seed)
    corpora = [str(seed_dir)]
    if args.corpus is not None:
        kept = args.corpus / args.target
        kept.mkdir(parents=True, exist_ok=True)
        corpora.insert(0, str(kept))  # libFuzzer writes new inputs to the first directory

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < 0.5:
            return atheris.Mutate(data, max_size)
        if rng.random() < 0.3:  # restart from a seed now and then: mutations compound
            data = rng.choice(seeds)
        return mutate.mutate(data, rng, rng.choice((1, 1, 2, 3)), max_size)

    budget = f"-runs={args.runs}" if args.runs is not None else f"-max_total_time={args.seconds}"
    argv = [sys.argv[0], budget, f"-timeout={args.timeout}", f"-max_len={MAX_LEN}", "-rss_limit_mb=3072",
            f"-artifact_prefix={args.findings}{os.sep}{args.target}-", "-print_final_stats=1", *corpora]
    atheris.Setup(argv, recorder, custom_mutator=custom_mutator)
    _ = targets  # imported inside the instrumentation block
    atheris.Fuzz()
    return 0


def plain_worker(args: argparse.Namespace) -> int:
    """No atheris: the structure-aware mutator alone, for the same budget."""
    from fuzz import corpus, mutate

    recorder = Recorder(args.target, args.findings)
    seeds = corpus.seeds(args.target)
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    deadline = time.monotonic() + (args.seconds or 0)
    runs = 0
    while (runs < args.runs) if args.runs is not None else (time.monotonic() < deadline):
        recorder(mutate.mutate(rng.choice(seeds), rng, rng.choice((1, 1, 2, 3)), MAX_LEN))
        runs += 1
    print(f"ran {runs} inputs (atheris not installed: no coverage guidance)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
