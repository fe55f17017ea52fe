"""``slsa-models digest``: sha256sum-format subjects, or their base64 for the generator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slsa_models.digest import subjects_base64, subjects_for_files


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Output is byte-identical to `sha256sum FILE...`. With --base64 it is the value "
        "slsa-github-generator expects in its `base64-subjects` input."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="files to digest")
    parser.add_argument(
        "--base64", action="store_true", help="print the subjects base64-encoded, on one line"
    )
    parser.add_argument(
        "--model-name", metavar="N",
        help="name each subject <N>/<file name>, binding the files to model N (the gate checks it)"
    )


def run(args: argparse.Namespace) -> int:
    if args.model_name:
        from slsa_models.digest import sha256_file, subject_line
        from slsa_models.store.layout import validate_model_name
        from slsa_models.verify.names import subject_name

        validate_model_name(args.model_name)
        subjects = "".join(subject_line(sha256_file(path), subject_name(args.model_name, Path(path).name))
                           for path in args.files)
    else:
        subjects = subjects_for_files(args.files)
    sys.stdout.write(subjects_base64(subjects) + "\n" if args.base64 else subjects)
    return 0
