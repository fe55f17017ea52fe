"""The deploy gate: promote a stored model only when its provenance verifies.

The deploy flow (``flows/deploy.py``) runs these steps as Prefect tasks::

    find_model -> fetch_provenance -> download_model -> verify_candidate
               -> smoke_load -> promote | record_refusal -> raise_for_outcome

Each works on a plain ArtifactStore, so the same steps serve tests, scripts
and ``slsa_models.serving``. Nothing here imports Prefect or a framework.
"""

from slsa_models.deploy.candidate import find_model, model_objects
from slsa_models.deploy.gate import (
    MODEL_DIGEST,
    FetchedModel,
    Verdict,
    download_model,
    verify_candidate,
    verify_model,
)
from slsa_models.deploy.history import append_record, read_current, read_history, require_current
from slsa_models.deploy.outcome import raise_for_outcome
from slsa_models.deploy.policy import policy_to_dict
from slsa_models.deploy.promotion import (
    STORED_OBJECT,
    Decision,
    ObjectChanged,
    pin_verified_object,
    promote,
    record_refusal,
    swap_current,
)
from slsa_models.deploy.provenance import FetchedProvenance, fetch_provenance
from slsa_models.deploy.records import (
    CONFLICT,
    PROMOTED,
    RECORD_FORMAT,
    REFUSED,
    CorruptRecordError,
    DeploymentRecord,
)
from slsa_models.deploy.smoke import SmokeResult, smoke_load

__all__ = [
    "CONFLICT",
    "MODEL_DIGEST",
    "PROMOTED",
    "RECORD_FORMAT",
    "REFUSED",
    "STORED_OBJECT",
    "CorruptRecordError",
    "Decision",
    "DeploymentRecord",
    "FetchedModel",
    "FetchedProvenance",
    "ObjectChanged",
    "SmokeResult",
    "Verdict",
    "append_record",
    "download_model",
    "fetch_provenance",
    "find_model",
    "model_objects",
    "pin_verified_object",
    "policy_to_dict",
    "promote",
    "raise_for_outcome",
    "read_current",
    "read_history",
    "record_refusal",
    "require_current",
    "smoke_load",
    "swap_current",
    "verify_candidate",
    "verify_model",
]
