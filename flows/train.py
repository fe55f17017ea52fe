"""Train flow: train -> serialize -> digest -> store, returning JSON-serializable metadata.

Run locally in Prefect's ephemeral mode::

    python -m flows.train --model-format pytorch_model.pth --store file:///tmp/models
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from slsa_models import formats, training
from slsa_models.digest import subject_line
from slsa_models.provenance.signers import default_builder_id, should_attest
from slsa_models.settings import DEFAULT_MODEL_NAME, default_store_uri
from slsa_models.store import layout
from slsa_models.verify.names import subject_name
from tasks.attest import attest_model
from tasks.digest import digest_model
from tasks.report import publish_train_report
from tasks.serialize import serialize_model
from tasks.store import check_store, store_model, store_provenance
from tasks.train import train_model

FormatName = Literal[formats.FORMAT_NAMES]  # a drop-down of the seven names in the Prefect UI


@flow(name="train-model", flow_run_name="train-{model_name}-{model_format}", log_prints=True)
def train_flow(
    model_format: FormatName = formats.DEFAULT_FORMAT,  # type: ignore[valid-type]
    model_name: str = DEFAULT_MODEL_NAME,
    store: str | None = None,
    epochs: Annotated[int, Field(gt=0)] = 2,
    seed: int = 0,
    attest: bool | None = None,
    signing_key: str | None = None,
    builder_id: str | None = None,
) -> dict[str, Any]:
    """Train a model, save it in ``model_format`` and store it under its SHA-256.

    Outside GitHub Actions (or when ``attest`` is true) the local builder then signs
    SLSA provenance for it and stores it next to the model; in GitHub Actions the
    SLSA generator does that in its own job.
    """
    started_on = datetime.now(timezone.utc)
    parameters = {"model_format": model_format, "model_name": model_name, "epochs": epochs, "seed": seed}
    fmt = formats.get_format(model_format)
    layout.validate_model_name(model_name)
    store_uri = check_store(store or default_store_uri(), model_name)  # fail before training

    with tempfile.TemporaryDirectory(prefix="slsa-models-train-") as workdir:
        trained = train_model(fmt.framework, training.DEFAULT_ARCHITECTURE, epochs, seed)
        path = serialize_model(trained, fmt.name, Path(workdir))
        sha256 = digest_model(path)
        stored = store_model(store_uri, model_name, path, sha256)

    provenance_uri = None
    if should_attest(attest):
        bundle = attest_model(
            subject_name(model_name, path.name), sha256, signing_key=signing_key, builder_id=builder_id or default_builder_id(),
            parameters=parameters, started_on=started_on,
        )
        provenance_uri = store_provenance(store_uri, stored.key, bundle).uri

    metadata = {
        "model_name": model_name,
        "model_format": fmt.name,
        "framework": fmt.framework,
        "architecture": trained.architecture,
        "epochs": epochs,
        "seed": seed,
        "accuracy": trained.accuracy,
        "sha256": sha256,
        "size": stored.size,
        "file_name": path.name,
        "key": stored.key,
        "uri": stored.uri,
        "store": store_uri,
        "subject": subject_line(sha256, subject_name(model_name, path.name)),
        "provenance_uri": provenance_uri,
        "flow_run_id": str(flow_run.id) if flow_run.id else None,
    }
    publish_train_report(metadata)
    return metadata


if __name__ == "__main__":
    from slsa_models.commands.train import main

    sys.exit(main())
