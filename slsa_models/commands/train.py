"""``python -m flows.train``: run the train flow once, in-process, and print where the model went.

    python -m flows.train --model-format pytorch_model.pth --epochs 3 --seed 7 \\
        --store s3://my-bucket/models --subjects-file subjects.txt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from slsa_models import formats, verbosity
from slsa_models.cli import ArgumentParser
from slsa_models.commands import argtypes
from slsa_models.settings import DEFAULT_MODEL_NAME


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m flows.train",
        description="Train a model on the bundled digits data, save it in one of seven formats, "
        "and store it at its content-addressed key. Runs in Prefect's ephemeral mode unless "
        "PREFECT_API_URL points at a server.",
        epilog="Formats: " + ", ".join(formats.FORMAT_NAMES),
    )
    parser.add_argument(
        "--model-format", default=formats.DEFAULT_FORMAT, type=argtypes.format_name, metavar="FORMAT",
        help=f"file format, also the file name (default {formats.DEFAULT_FORMAT})",
    )
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="name in the store (default %(default)s)")
    parser.add_argument(
        "--store", default=None,
        help="s3://bucket/prefix or file:///dir (default $SLSA_MODELS_STORE or .slsa-models/store)",
    )
    parser.add_argument("--epochs", type=argtypes.positive_epochs, default=2, help="training epochs (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    own = parser.add_argument_group(
        "your own model",
        "Instead of the example digits CNN: your training code, or a model made elsewhere. "
        "A folder is stored file by file and each file becomes a subject <model>/<path>.",
    )
    source = own.add_mutually_exclusive_group()
    source.add_argument("--trainer", metavar="MODULE:FUNCTION",
                        help="your training entry point, called as FUNCTION(output_dir, **trainer_args); "
                        "it writes a model file or folder and returns its path")
    source.add_argument("--model-path", metavar="PATH",
                        help="store and attest this model file or folder, made elsewhere (no training)")
    own.add_argument("--trainer-args", type=argtypes.json_object, default=None, metavar="JSON",
                     help='keyword arguments for the trainer, a JSON object (e.g. \'{"epochs": 3}\')')
    argtypes.add_ignore_paths(own)
    parser.add_argument(
        "--subjects-file", type=Path,
        help="also write the sha256sum-format subject line here (for the SLSA generator)",
    )
    signing = parser.add_argument_group(
        "provenance (local builder)",
        "Outside GitHub Actions the model is attested with SLSA v1 provenance signed by a key "
        "and stored next to it as <file>.intoto.jsonl.",
    )
    signing.add_argument(
        "--private-key", "--signing-key", dest="signing_key", help="PEM private key (ECDSA P-256); default: a development key "
        "created under .slsa-models/keys (with a warning)",
    )
    signing.add_argument(
        "--builder-id", help="builder.id to record (default $SLSA_MODELS_BUILDER_ID or "
        "local://slsa-models/dev-builder)",
    )
    signing.add_argument(
        "--oms-sign", action="store_true",
        help="also sign an OpenSSF model signing (OMS) signature of the model with the same key and "
        "store it as more evidence (model_signing verify accepts it; the deploy's [oms] kind checks it)")
    signing.add_argument(
        "--attest", action=argparse.BooleanOptionalAction, default=None,
        help="sign provenance (default: yes, except in GitHub Actions where the SLSA generator signs)",
    )
    parser.add_argument("--json", action="store_true", help="print the run's metadata as JSON")
    verbosity.add_arguments(parser)
    return verbosity.parse_args(parser, argv)




def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with verbosity.applied(args.verbosity):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    parameters = {
        "model_format": args.model_format,
        "model_name": args.model_name,
        "store": args.store,
        "epochs": args.epochs,
        "seed": args.seed,
        "attest": args.attest,
        "signing_key": args.signing_key,
        "builder_id": args.builder_id,
        "trainer": args.trainer,
        "trainer_args": args.trainer_args,
        "model_path": str(Path(args.model_path).resolve()) if args.model_path else None,
        "ignore_paths": args.ignore_paths,
        "oms_sign": args.oms_sign,
    }
    from flows._cli import run_flow
    from flows.train import train_flow

    code, metadata = run_flow(train_flow, parameters)
    if code != 0:
        return code
    if args.subjects_file:
        args.subjects_file.write_text(metadata["subject"], encoding="utf-8")
    if args.json:
        print(json.dumps(metadata, indent=2))
    else:
        print(f"model:    {metadata['uri']}")
        print(f"digest:   sha256:{metadata['sha256']}" + (f" ({metadata['files']} files)" if metadata["files"] > 1 else ""))
        if metadata["accuracy"] is not None:
            print(f"accuracy: {metadata['accuracy']:.4f} on held-out digits")
        print(f"provenance: {metadata['provenance_uri'] or 'none (the SLSA generator signs it in GitHub Actions)'}")
    return 0
