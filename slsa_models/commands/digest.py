"""``slsa-models digest``: sha256sum-format subjects, or their base64 for the generator."""

from __future__ import annotations

import argparse
import sys

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


def run(args: argparse.Namespace) -> int:
    subjects = subjects_for_files(args.files)
    sys.stdout.write(subjects_base64(subjects) + "\n" if args.base64 else subjects)
    return 0
