"""``slsa-models publish``: put a model file and its provenance into the store, write-once."""

from __future__ import annotations

import argparse
import json

from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.settings import DEFAULT_MODEL_NAME, default_store_uri
from slsa_models.store import open_store


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "The model goes to models/<name>/sha256-<hex>/<file> and the provenance next to it as "
        "<file>.intoto.jsonl. Publishing identical bytes again does nothing; different bytes at "
        "an existing key are refused. Example: slsa-models publish --store s3://models/prod "
        "--model-name digits-cnn tensorflow_model.keras tensorflow_model.keras.intoto.jsonl"
    )
    parser.add_argument("model", metavar="MODEL_FILE", help="the model file")
    parser.add_argument("provenance", nargs="?", metavar="PROVENANCE_FILE", help="its provenance")
    parser.add_argument("--store", default=None, help="s3://bucket/prefix or file:///dir")
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="default %(default)s")


def run(args: argparse.Namespace) -> int:
    store = open_store(args.store or default_store_uri())
    model = publish_model(store, args.model_name, args.model)
    result = {"model": model.uri, "sha256": model.sha256}
    if args.provenance:
        result["provenance"] = publish_provenance(store, model.key, args.provenance).uri
    print(json.dumps(result))
    return 0
