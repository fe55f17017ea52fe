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
from typing import TYPE_CHECKING

from slsa_models.verify.report import ArtifactResult, Check, Report
from slsa_models.verify.statement import Provenance

if TYPE_CHECKING:
    from slsa_models.manifest import FileDifference
    from slsa_models.verify.policy import Policy

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


MODEL_FILES = "model-files"


def signed_files(subjects: Sequence[tuple[str, str]], model_name: str,
                 kind: str | None = None) -> dict[str, str]:
    """The files of model ``model_name`` that verified subjects bind: relative path -> hex.

    A folder's subjects are named ``<model>/<relative path>``; subjects of other models
    are not this model's files. Two subjects naming one path with different digests bind
    neither (the folder check then reports the file), never the last one read.
    An OMS signature (``kind`` ``oms``) names its files by relative path with no
    ``<model>/`` prefix (a one-file model's by its file name): every subject is a file.
    """
    from slsa_models.kinds import KIND_OMS

    prefix = "" if kind == KIND_OMS else model_name + "/"
    files: dict[str, str] = {}
    clashing: set[str] = set()
    for name, digest in subjects:
        if not name.startswith(prefix):
            continue
        path = name[len(prefix):]
        if files.setdefault(path, digest) != digest:
            clashing.add(path)
    return {path: digest for path, digest in files.items() if path not in clashing}


def compared_files(report: Report, policy: Policy, files: Mapping[str, str]) -> dict[str, str]:
    """The folder's files (relative path -> hex) the evidence is held to: all of them, except,
    for an OMS signature, those its verification left out (the ``[oms]`` policy's
    ``ignore-paths`` and ``ignore-unsigned-files``, and the paths the signer left out)."""
    from slsa_models.kinds import KIND_OMS

    rules = policy.for_kind(KIND_OMS) if report.kind == KIND_OMS else None
    if rules is None:
        return dict(files)
    from slsa_models.oms.verify import files_compared

    return files_compared(report, rules, files)  # type: ignore[arg-type]


def check_model_files(signed: Mapping[str, str], actual: Mapping[str, str]) -> Check:
    """The folder holds exactly the signed files: none changed, missing, added, renamed or swapped."""
    from slsa_models.manifest import compare_files

    return files_check(len(signed), len(actual), compare_files(signed, actual))


def files_check(signed: int, found: int, differences: Sequence[FileDifference]) -> Check:
    """``model-files`` from the differences between ``signed`` and ``found`` files (each named)."""
    from slsa_models.manifest import describe

    expected = f"the {signed} signed file{'s' if signed != 1 else ''}"
    if not differences:
        return Check(MODEL_FILES, True, expected, f"{found} file{'s' if found != 1 else ''}, each as signed")
    kinds = sorted({difference.kind for difference in differences})
    return Check(MODEL_FILES, False, expected, f"{len(differences)} differing ({', '.join(kinds)})",
                 describe(differences))
