"""Names are bound: the evidence must be for the model being deployed.

A model's evidence names it in two places, both covered by the signature:
its subjects are named ``<model>/<file>`` (the train flow, ``slsa-models
attest --model-name`` and the GitHub workflow write them so), and the build's
parameters or workflow inputs carry ``model_name``. Evidence naming another
model fails ``model-name``; evidence naming none passes only where the policy
says ``accept_unnamed`` (e.g. provenance from someone else's workflow). The
drop-in verifiers do not apply this rule: they verify artifacts, not names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slsa_models.verify.report import ArtifactResult, Check
from slsa_models.verify.statement import Provenance

MODEL_NAME = "model-name"
MODEL_NAME_PARAMETERS = ("model_name", "model-name")


def subject_name(model_name: str, file_name: str) -> str:
    """The subject name that binds ``file_name`` to ``model_name``."""
    return f"{model_name}/{file_name}"


def named_models(provenance: Provenance, results: Sequence[ArtifactResult]) -> tuple[str, ...]:
    """The models the evidence names: the first path part of each matched subject, and the
    ``model_name`` parameter or input."""
    names = [result.subject.split("/", 1)[0] for result in results
             if result.subject and "/" in result.subject]
    parameters = provenance.inputs_source
    if isinstance(parameters, Mapping):
        names += [value for key in MODEL_NAME_PARAMETERS
                  if isinstance(value := parameters.get(key), str)]
    return tuple(dict.fromkeys(names))


def check_model_name(named: Sequence[str], model_name: str, accept_unnamed: bool) -> Check:
    """The evidence names ``model_name`` and no other model (or none, where accepted)."""
    if not named:
        return Check(MODEL_NAME, accept_unnamed, model_name, "evidence naming no model",
                     "accepted: the policy accepts unnamed evidence" if accept_unnamed else
                     "the evidence names no model; only a policy with accept-unnamed = true takes it")
    others = [name for name in named if name != model_name]
    return Check(MODEL_NAME, not others, model_name, ", ".join(named),
                 f"the evidence was made for model {others[0]!r}" if others else "")
