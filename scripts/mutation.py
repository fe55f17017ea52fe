#!/usr/bin/env python3
"""Mutation testing of the security core with mutmut (a tool to find weak tests, not a CI step).

    .venv/bin/python scripts/mutation.py                  # every module below, one after the other
    .venv/bin/python scripts/mutation.py verify/names deploy/gate
    .venv/bin/python scripts/mutation.py --report         # the table of the last runs, nothing run
    .venv/bin/python scripts/mutation.py --list           # the modules, their tests and functions

mutmut (3.x, in the dev extra: ``pip install -e '.[dev]'``) changes one
expression of a function at a time and runs the tests that reached that
function; a mutant no test fails on is a weak test or an equivalent mutant.

Each module is run in a snapshot of the work tree of its own
(``.mutation/work/<module>/``, gitignored): mutmut copies that snapshot into
``mutants/`` and mutates the copy, so neither the sources nor a concurrent
test run see a mutant. Only the module's relevant test files run (``-x -q
-p no:cacheprovider``, 60 s per test by pytest-timeout, and mutmut's CPU
wall-clock budget per mutant: 15 x (the covering tests' time + 10 s): at 4 x,
every "timeout" here was a survivor that ran slower in its worker); a test that
already fails on the snapshot is deselected and named in the output. The
stores are limited to their write-once and compare-and-swap functions.

Results: ``.mutation/results/<module>.json`` (counts, and the diff of each
surviving mutant) and ``.mutation/results/summary.txt``. Kill rate = killed /
mutants; "no tests" means no selected test reached the function. A "timeout"
is not a kill: here it was either a survivor or a forked worker that hung
(fork after the stats run's threads), so check each by hand:
``cd .mutation/work/<module> && mutmut apply <name> && pytest <its tests>``,
then restore the file from the repository.
Runs under ``nice -n 10`` with 2 workers by default (``--jobs``). A whole run
is hours on 2 cores (about 5,600 mutants; one that survives runs every test
reaching its function): ``--sample N`` runs N mutants per module, drawn with a
fixed seed (``--seed``) from the in-scope ones. ``--survivors`` runs only the
survivors of each module's last run again (after new tests), and keeps that
run's figures ("at first": killed before the new tests).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".mutation"
WORK = OUT / "work"
RESULTS = OUT / "results"
KILLS = "tests/test_mutation_kills.py"  # added to every selection when it exists

PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--timeout=60", "-p", "mutmut_guard"]

# A pytest plugin written into each snapshot. While mutmut collects which tests reach which
# function (MUTANT_UNDER_TEST=stats), a test's subprocess that imports the mutated tree
# (PYTHONPATH=the repository) would record its hits without mutmut's config in its cwd and
# fail: subprocesses run the original code then. With a mutant under test they inherit it,
# so a mutant is killed by the CLI tests too.
GUARD = """\
import os
import subprocess

_init = subprocess.Popen.__init__


def _popen_init(self, *args, **kwargs):
    env = kwargs.get("env")
    env = os.environ if env is None else env
    if env.get("MUTANT_UNDER_TEST") == "stats":
        kwargs["env"] = {k: v for k, v in env.items() if k != "MUTANT_UNDER_TEST"}
    _init(self, *args, **kwargs)


subprocess.Popen.__init__ = _popen_init
"""
TIMEOUT_MULTIPLIER = 15.0  # mutmut's default: a survivor in a forked worker takes up to 10x its
TIMEOUT_CONSTANT = 10.0  # tests' time in the stats run here (2 workers, nice, a loaded machine)

VERIFY_TESTS = [
    "tests/test_verify_vectors.py",
    "tests/test_verify_mutations.py",
    "tests/test_verify_checks.py",
    "tests/test_verify_keys.py",
    "tests/test_verify_input.py",
    "tests/test_policy_rules.py",
    "tests/test_check_lines.py",
]
DEPLOY_TESTS = [
    "tests/test_deploy_history.py",
    "tests/test_deploy_gate.py",
    "tests/test_deploy_promote.py",
    "tests/test_hostile_records.py",
    "tests/test_serving.py",
]

OMS_TESTS = [
    "tests/test_oms_check_lines.py",
    "tests/test_oms_report_details.py",
    "tests/test_oms_vectors.py",
    "tests/test_oms_policy.py",
    "tests/test_oms_hostile.py",
    "tests/test_oms_versions.py",
    "tests/test_oms_gate.py",
    "tests/test_oms_interop.py",
]


@dataclass(frozen=True)
class Target:
    path: str  # the module, relative to the repository
    tests: list[str]  # the relevant test files
    functions: list[str] = field(default_factory=list)  # mangled-name globs; empty: every function


TARGETS: dict[str, Target] = {
    "verify/names": Target(
        "slsa_models/verify/names.py",
        [*VERIFY_TESTS, "tests/test_deploy_gate.py", "tests/test_serving.py"],
    ),
    "verify/options": Target(
        "slsa_models/verify/options.py",
        ["tests/test_policy_rules.py", "tests/test_policy_file.py", "tests/test_cli_verify.py"],
    ),
    "verify/local": Target(
        "slsa_models/verify/local.py",
        ["tests/test_verify_local.py", *VERIFY_TESTS, "tests/test_hostile_inputs.py"]
    ),
    "verify/api": Target(
        "slsa_models/verify/api.py",
        [*VERIFY_TESTS, "tests/test_verify_api_details.py", "tests/test_hostile_inputs.py", "tests/test_cli_verify.py",
         "tests/test_oms_policy.py", "tests/test_attestation_shapes.py", "tests/test_deploy_gate.py"],
    ),
    "verify/policy": Target(
        "slsa_models/verify/policy.py",
        [*VERIFY_TESTS, "tests/test_policy_errors.py", "tests/test_policy_file.py", "tests/test_hostile_inputs.py",
         "tests/test_oms_policy.py"],
    ),
    "verify/policy_file": Target(
        "slsa_models/verify/policy_file.py",
        ["tests/test_policy_file.py", "tests/test_policy_file_lines.py", "tests/test_policy_rules.py",
         "tests/test_hostile_inputs.py", "tests/test_oms_policy.py"],
    ),
    "verify/checks": Target("slsa_models/verify/checks.py", VERIFY_TESTS),
    "verify/github": Target(  # GitHub artifact attestations: gh attestation verify's rules
        "slsa_models/verify/github.py",
        [*VERIFY_TESTS, "tests/test_verify_attestation.py", "tests/test_attestation_shapes.py",
         "tests/test_github_identity.py"],
    ),
    "oms/verify": Target("slsa_models/oms/verify.py", OMS_TESTS),
    "manifest": Target(  # a folder's manifest and how a folder differs from the signed files
        "slsa_models/manifest.py",
        ["tests/test_manifest.py", "tests/test_folder_models.py", "tests/test_oms_gate.py",
         "tests/test_oms_vectors.py"],
    ),
    "deploy/gate": Target(  # with the folder models' tests: the gate fetches and judges folders too
        "slsa_models/deploy/gate.py", [*DEPLOY_TESTS, "tests/test_folder_models.py", "tests/test_oms_gate.py",
                                      "tests/test_github_api.py"]
    ),
    "deploy/promotion": Target("slsa_models/deploy/promotion.py", DEPLOY_TESTS),
    "deploy/records": Target("slsa_models/deploy/records.py", DEPLOY_TESTS),
    "deploy/history": Target("slsa_models/deploy/history.py", DEPLOY_TESTS),
    "store/file": Target(
        "slsa_models/store/file.py",
        ["tests/test_store_file.py", "tests/test_hostile_store.py"],
        functions=[
            "*.xǁFileStoreǁput_file*",
            "*.xǁFileStoreǁput_bytes*",
            "*.xǁFileStoreǁ_link*",
            "*.xǁFileStoreǁread_with_tag*",
            "*.xǁFileStoreǁcompare_and_swap*",
            "*.xǁFileStoreǁ_locked*",
            "*.xǁFileStoreǁ_wait_for_lock*",
            "*.x__same_inode*",
            "*.x__lock_holder*",
        ],
    ),
    "store/s3": Target(
        "slsa_models/store/s3.py",  # test_behaviours: the races between head and put, the multipart memory
        ["tests/test_store_s3.py", "tests/test_store_file.py", "tests/test_hostile_store.py",
         "tests/test_behaviours.py", "tests/test_store_s3_parallel.py"],
        functions=[
            "*.xǁS3Storeǁput_file*",
            "*.xǁS3Storeǁput_bytes*",
            "*.xǁS3Storeǁ_write_once*",
            "*.xǁS3Storeǁ_put_object*",
            "*.xǁS3Storeǁ_put_multipart*",
            "*.xǁS3Storeǁread_with_tag*",
            "*.xǁS3Storeǁcompare_and_swap*",
        ],
    ),
    "formats": Target(
        "slsa_models/formats.py",
        ["tests/test_formats.py", "tests/test_serving.py", "tests/test_hostile_inputs.py"],
    ),
    "serving": Target("slsa_models/serving.py", ["tests/test_serving.py"]),
    "untrusted": Target(  # the bounded reads and the JSON guard every verifier reads through
        "slsa_models/untrusted.py",
        ["tests/test_untrusted.py", "tests/test_hostile_inputs.py", "tests/test_verify_input.py",
         "tests/test_verify_keys.py", "tests/test_policy_file.py"],
    ),
}

KILLED = {"killed"}
COLUMNS = ("killed", "survived", "timeout", "no tests", "other")


def snapshot(key: str) -> Path:
    """A fresh copy of the work tree (tracked and untracked, not ignored files) for one module."""
    work = WORK / key.replace("/", "_")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / os.fsdecode(name)
        if not source.is_file() or source.is_symlink():
            continue  # deleted in the work tree, or a link
        target = work / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return work


def selected_tests(target: Target, work: Path) -> list[str]:
    tests = [t for t in target.tests if (work / t).is_file()]
    if (work / KILLS).is_file():
        tests.append(KILLS)
    return tests


def failing_tests(work: Path, tests: list[str]) -> list[str]:
    """Tests that fail on the unmutated snapshot (others' work in progress): deselected."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--timeout=120", *tests],
        cwd=work, capture_output=True, text=True,
    )
    return re.findall(r"^(?:FAILED|ERROR) (\S+)", run.stdout, re.MULTILINE)


def write_config(work: Path, target: Target, tests: list[str], deselect: list[str]) -> None:
    top = sorted(
        {p.name for p in work.iterdir() if p.name not in {"slsa_models", "tests", "mutants"}}
        | {"mutmut_guard.py"}
    )
    args = PYTEST_ARGS + [f"--deselect={t}" for t in deselect]
    lines = [
        "[mutmut]",
        "source_paths = slsa_models",
        f"only_mutate = {target.path}",
        "also_copy =",
        *(f"    {name}" for name in top),
        "pytest_add_cli_args =",
        *(f"    {a}" for a in args),
        "pytest_add_cli_args_test_selection =",
        *(f"    {t}" for t in tests),
        f"timeout_multiplier = {TIMEOUT_MULTIPLIER}",
        f"timeout_constant = {TIMEOUT_CONSTANT}",
        "use_git_change_detection = false",
        # each worker forks from a server that never ran a test: forked from the process that ran
        # the stats (boto3, moto, Prefect threads), a worker could wait forever on a lock some
        # other thread held at the fork
        "process_isolation = forkserver",
        "",
    ]
    (work / "setup.cfg").write_text("\n".join(lines))
    (work / "mutmut_guard.py").write_text(GUARD)


def mutmut() -> list[str]:
    exe = Path(sys.executable).with_name("mutmut")
    if not exe.exists():
        sys.exit("mutmut is not installed: pip install -e '.[dev]' (or pip install 'mutmut>=3.8,<4')")
    return [str(exe)]


# mutmut's exit codes (mutmut.stats.status_by_exit_code; importing mutmut needs its config in the cwd)
STATUS_BY_EXIT_CODE = {
    1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
    36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault",
    37: "caught by type check", None: "not checked",
}


def results_of(work: Path, target: Target) -> dict[str, str]:
    """mutant name -> status, from mutmut's metadata of the module."""
    meta = work / "mutants" / (target.path + ".meta")
    exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: STATUS_BY_EXIT_CODE.get(code, "suspicious") for name, code in exit_codes.items()}


def in_scope(name: str, target: Target) -> bool:
    return not target.functions or any(fnmatch.fnmatch(name, p) for p in target.functions)


def mutant_names(work: Path, target: Target) -> list[str]:
    """Every mutant of the module in scope, as mutmut names them (its mutated source, made in-process)."""
    here = os.getcwd()
    os.chdir(work)  # mutmut reads its config from the cwd
    try:
        from mutmut.mutation.file_mutation import mutate_file_contents  # noqa: PLC0415 (dev extra)

        mutated = mutate_file_contents(target.path, (work / target.path).read_text())
    finally:
        os.chdir(here)
    module = target.path.removesuffix(".py").replace("/", ".")
    found = dict.fromkeys(mutated.mutant_names)
    return [f"{module}.{name}" for name in found if in_scope(f"{module}.{name}", target)]


def run_module(key: str, jobs: int, sample: int | None = None, seed: int = 12,
               again: dict | None = None) -> dict:
    """Run the module's mutants (all, a sample, or ``again``: the survivors of its last run)."""
    target = TARGETS[key]
    started = time.monotonic()
    work = snapshot(key)
    tests = selected_tests(target, work)
    print(f"== {key}: {target.path}, tests: {' '.join(Path(t).name for t in tests)}", flush=True)
    write_config(work, target, tests, [])
    names = mutant_names(work, target) if sample is not None else []
    patterns = target.functions
    if again is not None:
        patterns = [name.replace(".", "*", 1) for name in again["survivors"]]
        print(f"   again: the {len(patterns)} survivors of the last run", flush=True)
        if not patterns:
            return again
    elif sample is not None:
        chosen = sorted(random.Random(f"{seed}:{key}").sample(names, min(sample, len(names))))
        # "slsa_models*verify..." matches that one mutant only, and tells mutmut not to look
        # the name up in its map of tests (which has no entry for a function no test reaches)
        patterns = [name.replace(".", "*", 1) for name in chosen]
        print(f"   sample: {len(chosen)} of {len(names)} mutants (seed {seed})", flush=True)
    log = RESULTS / f"{key.replace('/', '_')}.log"
    command = ["nice", "-n", "10", *mutmut(), "run", f"--max-children={jobs}", *patterns]
    deselect: list[str] = []
    with log.open("w") as out:
        code = subprocess.run(command, cwd=work, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0 and re.search(r"Failed to run clean test|failed to collect stats", log.read_text()):
        # a test that fails without a mutant (others' work in progress): deselected, and again
        deselect = failing_tests(work, tests)
        for test in deselect:
            print(f"   deselected (fails without a mutant): {test}", flush=True)
        shutil.rmtree(work / "mutants", ignore_errors=True)
        write_config(work, target, tests, deselect)
        with log.open("w") as out:
            code = subprocess.run(command, cwd=work, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        print(f"   mutmut exited {code}: see {log.relative_to(ROOT)}", flush=True)
    statuses = {n: s for n, s in results_of(work, target).items()
                if any(fnmatch.fnmatch(n, p) for p in patterns) or not patterns}
    survivors = {}
    for name, status in sorted(statuses.items()):
        if status not in KILLED:
            shown = subprocess.run([*mutmut(), "show", name], cwd=work, capture_output=True, text=True)
            survivors[name] = {"status": status, "diff": shown.stdout}
    result = {
        "module": target.path,
        "tests": tests,
        "deselected": deselect,
        "functions": target.functions,
        "sample": sample,
        "seed": seed if sample is not None else None,
        "mutants": len(statuses),
        "counts": count(statuses),
        "killed_at_first": count(statuses)["killed"],
        "seconds": round(time.monotonic() - started),
        "survivors": survivors,
    }
    if again is not None:  # the earlier run's figures, with its survivors' new verdicts
        counts = dict(again["counts"])
        for name, old in again["survivors"].items():
            counts[old["status"] if old["status"] in counts else "other"] -= 1
            new = statuses.get(name, "not checked")
            counts[new if new in counts else "other"] += 1
        result.update(
            sample=again["sample"], seed=again["seed"], mutants=again["mutants"], counts=counts,
            killed_at_first=again.get("killed_at_first", again["counts"]["killed"]),
            seconds=again["seconds"] + result["seconds"],
        )
    (RESULTS / f"{key.replace('/', '_')}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def count(statuses: dict[str, str]) -> dict[str, int]:
    counts = dict.fromkeys(COLUMNS, 0)
    for status in statuses.values():
        counts[status if status in counts else "other"] += 1
    return counts


def table(results: list[dict]) -> str:
    head = f"{'module':34} {'mutants':>7} {'at first':>8} {'killed':>6} {'survived':>8} {'timeout':>7}" \
           f" {'no tests':>8} {'other':>5} {'kill rate':>9} {'time':>6}"
    rows = [head, "-" * len(head)]
    for r in results:
        c, n = r["counts"], r["mutants"]
        rate = c["killed"] / n if n else 1.0
        first = r.get("killed_at_first", c["killed"])
        rows.append(
            f"{r['module']:34} {n:7} {first:8} {c['killed']:6} {c['survived']:8} {c['timeout']:7}"
            f" {c['no tests']:8} {c['other']:5} {rate:9.1%} {r['seconds']:5}s"
        )
    return "\n".join(rows)


def survivors_text(results: list[dict]) -> str:
    parts = []
    for r in results:
        for name, s in r["survivors"].items():
            parts.append(f"--- {name} ({s['status']})\n{s['diff'].rstrip()}\n")
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"of: {' '.join(TARGETS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--sample", type=int, metavar="N", help="run N mutants per module (a seeded draw)")
    parser.add_argument("--seed", type=int, default=12, help="the seed of --sample (default 12)")
    parser.add_argument("--survivors", action="store_true",
                        help="run again only the survivors of each module's last run (after new tests)")
    parser.add_argument("--report", action="store_true", help="print the table of the last runs")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module {' '.join(unknown)}; known: {' '.join(TARGETS)}")
    keys = args.modules or list(TARGETS)
    if args.list:
        for key in keys:
            t = TARGETS[key]
            print(f"{key}: {t.path}\n  tests: {' '.join(t.tests)}\n  functions: {' '.join(t.functions) or 'all'}")
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for key in keys:
        if args.report:
            path = RESULTS / f"{key.replace('/', '_')}.json"
            if path.exists():
                results.append(json.loads(path.read_text()))
        else:
            last = RESULTS / f"{key.replace('/', '_')}.json"
            again = json.loads(last.read_text()) if args.survivors and last.exists() else None
            results.append(run_module(key, args.jobs, args.sample, args.seed, again))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    summary = table(results)
    if not args.report:
        (RESULTS / "summary.txt").write_text(summary + "\n\n" + survivors_text(results))
    print()
    print(summary)
    total = sum(r["mutants"] - r["counts"]["killed"] for r in results)
    print(f"\n{total} mutants not killed; their diffs: .mutation/results/<module>.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
