"""``slsa-models keygen``: an ECDSA P-256 key pair for the local builder."""

from __future__ import annotations

import argparse
from pathlib import Path

from slsa_models.provenance.keys import PASSWORD_ENV, generate_key_pair, password_from_env


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        f"The private key is written with mode 0600, encrypted when {PASSWORD_ENV} is set. "
        "Existing files are never overwritten, and the two paths must differ. Example: slsa-models keygen "
        "--private-key builder.pem --public-key builder.pub.pem"
    )
    parser.add_argument("--private-key", type=Path, required=True, metavar="KEY", help="private key to write")
    parser.add_argument("--public-key", type=Path, required=True, metavar="PUB", help="public key to write")


def run(args: argparse.Namespace) -> int:
    hint = generate_key_pair(args.private_key, args.public_key, password=password_from_env())
    print(f"wrote {args.private_key} (private, 0600) and {args.public_key}; key hint {hint}")
    return 0
