"""``slsa-models verify-artifact``: slsa-verifier's verify-artifact, offline, plus --json.

Flags, meaning, output lines (on stderr) and exit codes follow slsa-verifier:
0 when every artifact passed, 1 when a check failed, 2 when the input could
not be used (printed as one ``error: ...`` line by the CLI dispatcher).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from slsa_models.errors import InputError

if TYPE_CHECKING:  # the verifier (and sigstore) load only when the command runs
    from slsa_models.verify import Artifact, LoadedProvenance, Policy, Report

PASSED = "PASSED: SLSA verification passed"
FAILED = "FAILED: SLSA verification failed"
PROGRESS_MIN_BYTES = 64 * 1024 * 1024  # smaller files hash in well under a second

EPILOG = """\
examples:
  # the artifact, its provenance, the repository it must come from
  slsa-models verify-artifact model.keras \\
      --provenance-path model.keras.intoto.jsonl \\
      --source-uri github.com/acme/models --source-tag v1.4.0

  # several artifacts against one provenance; any release of major version 1
  slsa-models verify-artifact a.bin b.bin --provenance-path multiple.intoto.jsonl \\
      --source-uri github.com/acme/models --source-versioned-tag v1

  # by digest, without the file; the whole report as JSON on stdout
  slsa-models verify-artifact --digest sha256:376e7e01...06caa \\
      --provenance-path model.intoto.jsonl --source-uri github.com/acme/models --json

  # a model from a local builder: its key-signed provenance, its public key and builder id
  slsa-models verify-artifact model.keras --provenance-path model.keras.intoto.jsonl \\
      --public-key builder.pub.pem --builder-id https://ci.example.com/builders/gpu-box

  # everything the deployment trusts in one file (GitHub builders and local keys)
  slsa-models verify-artifact model.keras --provenance-path model.keras.intoto.jsonl \\
      --policy policy.toml

  # a pinned builder, a branch and the inputs of a workflow_dispatch run
  slsa-models verify-artifact model.pth --provenance-path model.pth.intoto.jsonl \\
      --source-uri github.com/acme/models --source-branch main \\
      --builder-id https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0 \\
      --build-workflow-input epochs=5 --build-workflow-input note=a=b

Verification is offline, against sigstore-python's bundled public-good trust
root (or --trusted-root). Key-signed provenance (slsa-models attest, the train
flow outside GitHub) needs --public-key and --builder-id: it is accepted when a
given key verifies the signature, the bundle's key hint names that key, the
statement is SLSA v1, builder.id is exactly --builder-id and a subject matches;
--source-uri, when given, must match the git checkout the build records. A
local build records no ref or workflow inputs: --source-tag,
--source-versioned-tag, --source-branch and --build-workflow-input are refused
with key-signed provenance rather than silently skipped.

--policy FILE replaces the policy flags (--source-uri, --source-tag,
--source-versioned-tag, --source-branch, --builder-id, --build-workflow-input,
--public-key, --trusted-root); combining them is refused. The file format is
documented in examples/policies/ (one example per provenance kind).

Exit status: 0 all artifacts passed; 1 a check failed (the FAILED line names
it); 2 unusable input (bad flag, unreadable or malformed provenance or policy,
missing artifact, no trusted key for key-signed provenance).
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Verify SLSA provenance for artifacts, as `slsa-verifier verify-artifact` does:\n"
        "the Sigstore signature, certificate and transparency-log proofs (offline),\n"
        "the builder, the source repository and ref, and each artifact's SHA-256."
    )
    parser.epilog = EPILOG
    parser.add_argument("artifacts", nargs="*", metavar="ARTIFACT",
                        help="artifact files to verify (hashed while read)")
    parser.add_argument("--provenance-path", required=True, metavar="PATH",
                        help="path to the provenance (.intoto.jsonl Sigstore bundle)")
    parser.add_argument("--source-uri", metavar="URI",
                        help="expected source repository, e.g. github.com/some/repo (required)")
    tag = parser.add_mutually_exclusive_group()
    tag.add_argument("--source-tag", metavar="TAG",
                     help="[optional] expected tag the artifact was built from")
    tag.add_argument("--source-versioned-tag", metavar="VERSION",
                     help="[optional] expected version the artifact was built from; semantic-"
                          "version match: the major always, minor and patch only if given")
    parser.add_argument("--source-branch", metavar="BRANCH",
                        help="[optional] expected branch the artifact was built from")
    parser.add_argument("--builder-id", metavar="ID",
                        help="[optional] the builder that must have signed: NAME, NAME@vX.Y.Z "
                             "or NAME@refs/tags/vX.Y.Z (default: the slsa-github-generator builders)")
    parser.add_argument("--build-workflow-input", action="append", default=[], metavar="KEY=VALUE",
                        help="[optional] an input of the workflow_dispatch run; repeat for "
                             "several (the value may contain '=')")
    parser.add_argument("--digest", action="append", default=[], metavar="sha256:HEX",
                        help="an artifact given by its SHA-256 instead of a file; repeatable")
    parser.add_argument("--trusted-root", metavar="FILE",
                        help="a Sigstore trusted root JSON (default: the public-good instance)")
    parser.add_argument("--public-key", action="append", default=[], metavar="PUB",
                        help="a PEM public key (ECDSA P-256) trusted for key-signed provenance; "
                             "repeatable; needs --builder-id")
    parser.add_argument("--policy", metavar="FILE",
                        help="a TOML policy file saying what to trust, instead of the policy flags")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--print-provenance", action="store_true",
                        help="[optional] print the verified provenance statement to stdout")
    output.add_argument("--json", action="store_true",
                        help="print the whole report (every check, expected and actual) to stdout")


def parse_workflow_inputs(values: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise InputError(f"--build-workflow-input {value!r}: expected KEY=VALUE")
        inputs[key] = text
    return inputs


@contextmanager
def _progress(path: str) -> Iterator[Callable[[int], None] | None]:
    """A tqdm bar on stderr for big files when stderr is a terminal, else nothing."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"hashing {path}",
              file=sys.stderr, leave=False) as bar:
        yield bar.update


def _artifacts(args: argparse.Namespace) -> list[Artifact]:
    from slsa_models.verify import Artifact

    artifacts = []
    for path in args.artifacts:
        with _progress(path) as on_progress:
            artifacts.append(Artifact.from_path(path, on_progress))
    artifacts += [Artifact.from_digest(digest) for digest in args.digest]
    if not artifacts:
        raise InputError("no artifact to verify: give at least one ARTIFACT file or --digest sha256:HEX")
    return artifacts


def print_outcome(report: Report, stream: object = None) -> None:
    """slsa-verifier's lines: per artifact, then the verdict naming the first failed check."""
    err = stream or sys.stderr
    for result in report.artifacts:
        if result.passed:
            # A local build knows its commit only when it ran in a git checkout.
            commit = f" at commit {report.commit}" if report.commit else ""
            print(f'Verified build using builder "{report.builder_id}"{commit}', file=err)
            print(f"Verifying artifact {result.name}: PASSED\n", file=err)
        else:
            failure = report.first_failure(result.name)
            reason = failure.message if failure else "not verified"
            print(f"Verifying artifact {result.name}: FAILED: {reason}\n", file=err)
    if report.passed:
        print(PASSED, file=err)
    else:
        failure = report.first_failure()
        print(f"{FAILED}: {failure.message if failure else 'no artifact passed'}", file=err)


# Flags about a GitHub build's ref and run: a local build records none of them.
GITHUB_ONLY_FLAGS = (
    ("source_tag", "--source-tag"), ("source_versioned_tag", "--source-versioned-tag"),
    ("source_branch", "--source-branch"), ("build_workflow_input", "--build-workflow-input"),
)


def build_policy(args: argparse.Namespace) -> Policy:
    """The Policy from --policy FILE, or from the flags (never both)."""
    from slsa_models.verify import policy_from_options

    return policy_from_options(
        policy_file=args.policy,
        source_uri=args.source_uri,
        source_tag=args.source_tag,
        source_versioned_tag=args.source_versioned_tag,
        source_branch=args.source_branch,
        builder_id=args.builder_id,
        build_workflow_inputs=parse_workflow_inputs(args.build_workflow_input),
        public_keys=args.public_key,
        trusted_root=args.trusted_root,
    )


def _refuse_github_flags(args: argparse.Namespace, provenance: LoadedProvenance) -> None:
    """A flag that cannot be checked on key-signed provenance is an error, not a silent pass."""
    from slsa_models.verify.bundle import KIND_KEY_SIGNED

    if args.policy or provenance.kind != KIND_KEY_SIGNED:
        return
    given = [flag for attr, flag in GITHUB_ONLY_FLAGS if getattr(args, attr)]
    if given:
        raise InputError(f"{given[0]} cannot be checked on key-signed provenance: a local build "
                         "records its git commit, not a ref or workflow inputs")


def run(args: argparse.Namespace) -> int:
    from slsa_models.verify import load_provenance, verify_loaded

    policy = build_policy(args)
    provenance = load_provenance(Path(args.provenance_path))  # unusable input fails before hashing
    _refuse_github_flags(args, provenance)
    report = verify_loaded(provenance, _artifacts(args), policy)
    print_outcome(report)
    if args.json:
        _write_stdout(json.dumps(report.to_dict(), indent=2) + "\n")
    elif args.print_provenance and report.passed and report.payload is not None:
        _write_stdout(report.payload.decode("utf-8", errors="replace") + "\n")
    return 0 if report.passed else 1


def _write_stdout(text: str) -> None:
    """Write to stdout; a reader that went away (``| head``) is not an error of ours."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
