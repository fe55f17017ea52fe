"""Train flow: train (ours or yours) -> serialize -> digest -> store -> attest; returns metadata.

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
from slsa_models.errors import InputError
from slsa_models.manifest import Manifest
from slsa_models.provenance.signers import default_builder_id, should_attest
from slsa_models.settings import DEFAULT_MODEL_NAME, default_store_uri
from slsa_models.store import layout
from slsa_models.verify.names import subject_name
from tasks.attest import attest_model, oms_sign_model
from tasks.digest import digest_model
from tasks.report import publish_train_report
from tasks.serialize import serialize_model
from tasks.store import check_store, store_model, store_provenance
from tasks.train import run_user_trainer, train_model

FormatName = Literal[formats.FORMAT_NAMES]  # a drop-down of the seven names in the Prefect UI


def _run_name() -> str:
    """``train-<model>-<format, trainer or model-path>``, in the Prefect UI."""
    parameters = flow_run.parameters
    made_by = parameters.get("trainer") or ("model-path" if parameters.get("model_path")
                                            else parameters.get("model_format", formats.DEFAULT_FORMAT))
    return f"train-{parameters.get('model_name', DEFAULT_MODEL_NAME)}-{made_by}"


@flow(name="train-model", flow_run_name=_run_name, log_prints=True)
def train_flow(
    model_format: FormatName = formats.DEFAULT_FORMAT,  # type: ignore[valid-type]
    model_name: str = DEFAULT_MODEL_NAME,
    store: str | None = None,
    epochs: Annotated[int, Field(gt=0)] = 2,
    seed: int = 0,
    attest: bool | None = None,
    signing_key: str | None = None,
    builder_id: str | None = None,
    trainer: str | None = None,
    trainer_args: dict[str, Any] | None = None,
    model_path: str | None = None,
    ignore_paths: list[str] | None = None,
    oms_sign: bool = False,
) -> dict[str, Any]:
    """Make a model, store it under its SHA-256 and attest it.

    The model comes from the example (the digits CNN, saved in ``model_format``),
    from ``trainer`` (``package.module:function``, called with an output folder and
    ``trainer_args``; it writes a file or a folder) or from ``model_path`` (a file or
    folder made elsewhere). A folder is stored file by file under its manifest's
    digest. Outside GitHub Actions (or when ``attest`` is true) the local builder then
    signs SLSA provenance naming every file and stores it next to the model; in GitHub
    Actions the SLSA generator does that in its own job. ``oms_sign`` also stores an
    OpenSSF model signing signature of the model (with the same key) as more evidence.
    """
    started_on = datetime.now(timezone.utc)
    if trainer and model_path:
        raise InputError("give a trainer or a model path, not both")
    layout.validate_model_name(model_name)
    parameters: dict[str, Any] = {"model_name": model_name}
    if model_path:
        parameters["model_path"] = Path(model_path).name
    elif trainer:
        parameters |= {"trainer": trainer, "trainer_args": trainer_args or {}}
    else:
        parameters |= {"model_format": model_format, "epochs": epochs, "seed": seed}
    store_uri = check_store(store or default_store_uri(), model_name)  # fail before training

    with tempfile.TemporaryDirectory(prefix="slsa-models-train-") as workdir:
        trained = None
        if model_path:
            path = Path(model_path)
        elif trainer:
            path = run_user_trainer(trainer, Path(workdir), trainer_args or {})
        else:
            fmt = formats.get_format(model_format)
            trained = train_model(fmt.framework, training.DEFAULT_ARCHITECTURE, epochs, seed)
            path = serialize_model(trained, fmt.name, Path(workdir))
        digest = digest_model(path, ignore_paths or ())
        stored = store_model(store_uri, model_name, path, digest)
        oms = oms_sign_model(path, model_name, signing_key=signing_key, ignore_paths=ignore_paths or []) \
            if oms_sign else None

    subjects = ([(subject_name(model_name, entry.path), entry.sha256) for entry in digest.files]
                if isinstance(digest, Manifest) else [(subject_name(model_name, path.name), digest)])
    provenance_uri = None
    if should_attest(attest):
        bundle = attest_model(subjects, signing_key=signing_key, builder_id=builder_id or default_builder_id(),
                              parameters=parameters, started_on=started_on)
        provenance_uri = store_provenance(store_uri, stored.key, bundle).uri
    oms_uri = store_provenance(store_uri, stored.key, oms).uri if oms is not None else None

    metadata = {
        "model_name": model_name,
        "model_format": trained and model_format,
        "framework": trained and trained.framework,
        "architecture": trained and trained.architecture,
        "epochs": trained and epochs,
        "seed": trained and seed,
        "accuracy": trained and trained.accuracy,
        "trainer": trainer,
        "sha256": layout.parse_model_key(stored.key)[1],
        "size": stored.size,
        "file_name": path.name,
        "files": len(subjects),
        "key": stored.key,
        "uri": stored.uri,
        "store": store_uri,
        "subject": "".join(subject_line(digest_hex, name) for name, digest_hex in subjects),
        "provenance_uri": provenance_uri,
        "oms_signature_uri": oms_uri,
        "flow_run_id": str(flow_run.id) if flow_run.id else None,
    }
    publish_train_report(metadata)
    return metadata


if __name__ == "__main__":
    from slsa_models.commands.train import main

    sys.exit(main())
