"""``slsa-models verify-artifact``: slsa-verifier's verify-artifact, offline, plus --json.

Flags, meaning, output lines (on stderr) and exit codes follow slsa-verifier:
0 when every artifact passed, 1 when a check failed, 2 when the input could
not be used (printed as one ``error: ...`` line by the CLI dispatcher).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from slsa_models.commands import argtypes
from slsa_models.errors import InputError
from slsa_models.flags import add_policy_arguments, options_from_args
from slsa_models.progress import progress_bar, total_size

if TYPE_CHECKING:  # the verifier (and sigstore) load only when the command runs
    from slsa_models.manifest import Manifest
    from slsa_models.verify import Artifact, Policy, Report

log = logging.getLogger(__name__)

PASSED = "PASSED: SLSA verification passed"
FAILED = "FAILED: SLSA verification failed"

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
--source-versioned-tag, --source-branch, --build-workflow-input and
--trusted-root are refused with --public-key rather than silently skipped.
Without --public-key, the flags trust GitHub builds of --source-uri: provenance
from slsa-github-generator and GitHub artifact attestations, each held to
every rule given. Like slsa-verifier, this verifies artifacts, not model names.

--policy FILE replaces the policy flags (--source-uri, --source-tag,
--source-versioned-tag, --source-branch, --builder-id, --build-workflow-input,
--public-key, --trusted-root); combining them is refused. The file format
(version = 2: one table per kind of evidence) is documented in
examples/policies/ (one example per kind, and a combined one).

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
                        help="artifact files to verify (hashed while read), or one model folder with "
                        "--model-name")
    parser.add_argument("--model-name", metavar="N",
                        help="for a model folder: its files are the subjects N/<path>, and the folder must "
                        "hold exactly the files the provenance names (none changed, missing, added, "
                        "renamed or swapped: check model-files)")
    argtypes.add_ignore_paths(parser)
    parser.add_argument("--provenance-path", required=True, metavar="PATH",
                        help="path to the provenance (.intoto.jsonl Sigstore bundle)")
    parser.add_argument("--digest", action="append", default=[], metavar="sha256:HEX",
                        help="an artifact given by its SHA-256 instead of a file; repeatable")
    add_policy_arguments(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--print-provenance", action="store_true",
                        help="[optional] print the verified provenance statement to stdout")
    output.add_argument("--json", action="store_true",
                        help="print the whole report (every check, expected and actual) to stdout")


def _artifacts(args: argparse.Namespace) -> tuple[list[Artifact], Manifest | None]:
    """The artifacts to verify, and the manifest of the one model folder among them, if any."""
    from slsa_models.manifest import Manifest, digest_path
    from slsa_models.verify import Artifact

    artifacts, folder = [], None
    folders = [path for path in args.artifacts if Path(path).is_dir()]
    if folders and (len(folders) > 1 or len(args.artifacts) > 1 or not args.model_name):
        raise InputError("a model folder is verified alone, with --model-name N: its files are the "
                         "subjects N/<path>")
    if args.ignore_paths and not folders:
        raise InputError("--ignore-paths applies to a model folder, not a file")
    for path in args.artifacts:
        with progress_bar(total_size([path]), f"hashing {Path(path).name}") as on_progress:
            digest = digest_path(path, args.ignore_paths, on_progress=on_progress)
        if isinstance(digest, Manifest):
            folder = digest
            artifacts += [Artifact(entry.path, entry.sha256) for entry in digest.files]
        else:
            artifacts.append(Artifact(os.fspath(path), digest))
    artifacts += [Artifact.from_digest(digest) for digest in args.digest]
    if not artifacts:
        raise InputError("no artifact to verify: give at least one ARTIFACT file or --digest sha256:HEX")
    return artifacts, folder


def print_outcome(report: Report, stream: object = None) -> None:
    """slsa-verifier's lines: per artifact, then the verdict naming the first failed check."""
    err = stream or sys.stderr
    for result in report.artifacts:
        if result.passed:
            # A local build knows its commit only when it ran in a git checkout.
            commit = f" at commit {report.commit}" if report.commit else ""
            if report.builder_id is not None:
                print(f'Verified build using builder "{report.builder_id}"{commit}', file=err)
            else:  # an OMS signature names a signer, not a builder
                print(f'Verified signature by "{report.signer_key}"', file=err)
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


def build_policy(args: argparse.Namespace) -> Policy:
    """The Policy from --policy FILE, or from the flags (never both)."""
    from slsa_models.verify import policy_from_options

    return policy_from_options(**options_from_args(args))


def run(args: argparse.Namespace) -> int:
    from slsa_models.verify import load_provenance, verify_loaded
    from slsa_models.verify.api import require_check

    policy = build_policy(args)
    provenance = load_provenance(Path(args.provenance_path))  # unusable input fails before hashing
    artifacts, folder = _artifacts(args)
    report = verify_loaded(provenance, artifacts, policy)
    if folder is not None:  # the folder holds exactly the files the provenance names
        from slsa_models.verify.names import check_model_files, signed_files
        from slsa_models.verify.report import folder_report

        signed = signed_files(report.subjects, args.model_name, report.kind)
        report = folder_report(report, [], check_model_files(signed, folder.digests()))
    report = require_check(report, policy)
    for check in report.checks:  # -v: every check, expected and actual
        log.info("%s %s", "pass" if check.passed else "FAIL", check.message)
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
