"""Attest step: the local builder signs SLSA v1 provenance for the stored model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.runtime import flow_run

from slsa_models.provenance.attest import attest
from slsa_models.provenance.signers import select_signer
from tasks.policy import IN_MEMORY


@task(name="attest", **IN_MEMORY)
def attest_model(
    subjects: list[tuple[str, str]],
    *,
    signing_key: str | None,
    builder_id: str,
    parameters: dict[str, Any],
    started_on: datetime,
) -> bytes:
    signer = select_signer(Path(signing_key) if signing_key else None)
    shown = subjects[0][0] if len(subjects) == 1 else f"{len(subjects)} files"
    print(f"signing provenance for {shown} with the {signer.description}")
    bundle = attest(
        subjects,
        signer=signer,
        builder_id=builder_id,
        external_parameters=parameters,
        invocation_id=str(flow_run.id) if flow_run.id else None,
        started_on=started_on,
    )
    return bundle.encode("utf-8")


@task(name="oms-sign", **IN_MEMORY)
def oms_sign_model(path: Path, model_name: str, *, signing_key: str | None,
                   ignore_paths: list[str]) -> bytes:
    """An OpenSSF model signing (OMS) signature of the model file or folder, with the same key as
    the provenance (Sigstore keyless where ambient OIDC exists): ``model_signing verify`` and the
    gate's ``[oms]`` kind accept it. Its subject names the model."""
    from slsa_models.oms.sign import model_payload, sign_model, sign_payload_sigstore
    from slsa_models.provenance.signers import KeySigner

    signer = select_signer(Path(signing_key) if signing_key else None)
    print(f"signing an OMS signature for {path.name} with the {signer.description}")
    if isinstance(signer, KeySigner):
        return sign_model(path, signer.key, model_name=model_name, ignore_paths=ignore_paths)
    return sign_payload_sigstore(model_payload(path, model_name=model_name, ignore_paths=ignore_paths))
