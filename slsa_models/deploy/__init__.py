"""The deploy gate: promote a stored model only when its evidence verifies.

The deploy flow (``flows/deploy.py``) runs the ``Gate``'s steps as Prefect tasks::

    find -> fetch_evidence -> fetch_model -> verify -> smoke_load
         -> promote | record_refusal -> raise_for_outcome

The same ``Gate`` serves ``slsa_models.serving``, ``slsa-models pull`` and the
benchmarks. Nothing here imports Prefect or a framework.
"""

from slsa_models.deploy import trust
from slsa_models.deploy.candidate import find_model, model_objects
from slsa_models.deploy.deployer import Deployer, deployer_for
from slsa_models.deploy.gate import MODEL_DIGEST, FetchedModel, Gate, Verdict, with_checks
from slsa_models.deploy.history import (
    Current,
    append_record,
    read_current,
    read_history,
    require_current,
)
from slsa_models.deploy.outcome import raise_for_outcome
from slsa_models.deploy.policy import policy_to_dict
from slsa_models.deploy.promotion import (
    STORED_OBJECT,
    TRUST_PARAMETERS,
    Decision,
    build_record,
    pin_verified_object,
    promote,
    record_refusal,
    record_run_refusal,
    swap_current,
)
from slsa_models.deploy.provenance import FetchedProvenance, fetch_evidence
from slsa_models.deploy.records import (
    CONFLICT,
    PROMOTED,
    RECORD_FORMAT,
    REFUSED,
    DeploymentRecord,
    SignedRecord,
    open_record,
)
from slsa_models.deploy.smoke import SmokeResult, smoke_load
from slsa_models.errors import CorruptRecordError, ObjectChanged, UntrustedRecordError

__all__ = [
    "CONFLICT",
    "MODEL_DIGEST",
    "PROMOTED",
    "RECORD_FORMAT",
    "REFUSED",
    "STORED_OBJECT",
    "TRUST_PARAMETERS",
    "CorruptRecordError",
    "Current",
    "Decision",
    "Deployer",
    "DeploymentRecord",
    "FetchedModel",
    "FetchedProvenance",
    "Gate",
    "ObjectChanged",
    "SignedRecord",
    "SmokeResult",
    "UntrustedRecordError",
    "Verdict",
    "append_record",
    "build_record",
    "deployer_for",
    "fetch_evidence",
    "find_model",
    "model_objects",
    "open_record",
    "pin_verified_object",
    "policy_to_dict",
    "promote",
    "raise_for_outcome",
    "read_current",
    "read_history",
    "record_refusal",
    "record_run_refusal",
    "require_current",
    "smoke_load",
    "swap_current",
    "trust",
    "with_checks",
]
