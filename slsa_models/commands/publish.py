"""``slsa-models publish``: put a model file and its provenance into the store, write-once."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from slsa_models.commands import argtypes
from slsa_models.progress import progress_bar, total_size
from slsa_models.settings import default_store_uri

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "The model goes to models/<name>/sha256-<hex>/<file> and the provenance next to it as "
        "<file>.intoto.jsonl. Publishing identical bytes again does nothing; different bytes at "
        "an existing key are refused. On a terminal a progress bar shows the hashing and the "
        "upload. Example: slsa-models publish --store s3://models/prod "
        "--model-name digits-cnn tensorflow_model.keras tensorflow_model.keras.intoto.jsonl"
    )
    parser.add_argument("model", metavar="MODEL", help="the model file, or a model folder (stored file by file "
                        "under its manifest's digest: models/<name>/sha256-<hex>/<folder>.manifest)")
    parser.add_argument("provenance", nargs="?", metavar="PROVENANCE_FILE", help="its provenance")
    parser.add_argument("--store", default=None,
                        help="s3://bucket/prefix or file:///dir (default $SLSA_MODELS_STORE or .slsa-models/store)")
    argtypes.add_ignore_paths(parser)
    parser.add_argument("--model-name", required=True, metavar="N",
                        help="the model's name in the store (required: the name binds the model to its evidence)")


def run(args: argparse.Namespace) -> int:
    from slsa_models.manifest import digest_path
    from slsa_models.publishing import publish_digested, publish_provenance
    from slsa_models.store import open_store
    from slsa_models.store import layout

    layout.validate_model_name(args.model_name)
    store = open_store(args.store or default_store_uri())
    name = Path(args.model).name
    size = total_size([args.model])
    with progress_bar(size, f"hashing {name}") as on_progress:
        digest = digest_path(args.model, args.ignore_paths, on_progress=on_progress)
    with progress_bar(size, f"uploading {name}") as on_progress:
        model = publish_digested(store, args.model_name, args.model, digest, on_progress=on_progress)
    log.info("stored %s (sha256:%s, %d bytes)", model.uri, model.sha256, model.size)
    result = {"model": model.uri, "sha256": model.sha256}
    if args.provenance:
        result["provenance"] = publish_provenance(store, model.key, args.provenance).uri
        log.info("stored %s", result["provenance"])
    print(json.dumps(result))
    return 0
