"""``slsa-models digest``: sha256sum-format subjects, or their base64 for the generator."""

from __future__ import annotations

import argparse
import sys

from slsa_models.commands import argtypes
from slsa_models.digest import subjects_base64


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Output is byte-identical to `sha256sum FILE...`. With --base64 it is the value "
        "slsa-github-generator expects in its `base64-subjects` input."
    )
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="files or model folders (with --model-name) to digest")
    parser.add_argument(
        "--base64", action="store_true", help="print the subjects base64-encoded, on one line"
    )
    parser.add_argument(
        "--model-name", metavar="N",
        help="name each subject <N>/<file name> (a folder's files <N>/<relative path>), binding the "
        "files to model N (the gate checks it)"
    )
    argtypes.add_ignore_paths(parser)


def run(args: argparse.Namespace) -> int:
    from slsa_models.digest import subject_line
    from slsa_models.manifest import model_subjects
    from slsa_models.progress import progress_bar, total_size

    with progress_bar(total_size(args.files), "hashing") as on_progress:
        pairs = model_subjects(args.files, args.model_name, args.ignore_paths, on_progress=on_progress)
    subjects = "".join(subject_line(digest, name) for name, digest in pairs)
    sys.stdout.write(subjects_base64(subjects) + "\n" if args.base64 else subjects)
    return 0
