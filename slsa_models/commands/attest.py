"""``slsa-models attest``: sign SLSA v1 provenance for artifacts with a key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slsa_models.digest import sha256_file
from slsa_models.provenance.attest import attest
from slsa_models.provenance.keys import PASSWORD_ENV, load_private_key
from slsa_models.provenance.signers import KeySigner


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Writes a Sigstore bundle (v0.3, public-key hint, no transparency log) holding a DSSE "
        "envelope over an in-toto Statement v1 with a SLSA v1 predicate. Lower assurance than "
        "SLSA Build L3 from the GitHub generator: whoever holds the key can sign. "
        f"An encrypted key's password comes from {PASSWORD_ENV}. Example: slsa-models attest "
        "--key builder.pem --builder-id https://ci.example.com/builder model.keras "
        "-o model.keras.intoto.jsonl"
    )
    parser.add_argument("artifacts", nargs="+", metavar="ARTIFACT", help="files to attest")
    parser.add_argument("--key", type=Path, required=True, help="PEM private key (ECDSA P-256)")
    parser.add_argument("--builder-id", required=True, help="builder.id to record; verifiers pin it")
    parser.add_argument("-o", "--output", type=Path, help="write here (default: standard output)")


def run(args: argparse.Namespace) -> int:
    signer = KeySigner(load_private_key(args.key))
    subjects = [(Path(p).name, sha256_file(p)) for p in args.artifacts]
    bundle = attest(
        subjects,
        signer=signer,
        builder_id=args.builder_id,
        external_parameters={"artifacts": [name for name, _ in subjects], "command": "slsa-models attest"},
    )
    if args.output:
        args.output.write_text(bundle, encoding="utf-8")
        print(f"wrote {args.output} for {len(subjects)} artifact(s)", file=sys.stderr)
    else:
        sys.stdout.write(bundle)
    return 0
