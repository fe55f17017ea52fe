"""Tests that kill mutants which survived scripts/mutation.py (mutmut) on the security core.

Each test states the behaviour a surviving mutant broke; the mutant is named in its docstring.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from slsa_models.verify.local import recorded_repository
from slsa_models.verify.names import MODEL_NAME, check_model_name, named_models
from slsa_models.verify.report import ArtifactResult, Check

HEX = "a" * 64


def _results(*subjects: str | None) -> list[ArtifactResult]:
    return [ArtifactResult(f"file{i}", HEX, True, subject) for i, subject in enumerate(subjects)]


def _provenance(inputs: object = None) -> SimpleNamespace:
    return SimpleNamespace(inputs_source=inputs)


# --- slsa_models/verify/names.py -------------------------------------------------------------


def test_a_subject_in_a_subdirectory_names_the_model_by_its_first_path_part() -> None:
    """names: rsplit instead of split binds <model>/dir/file to "<model>/dir"."""
    assert named_models(_provenance(), _results("iris/saved_model/variables.index")) == ("iris",)


def test_subjects_alone_name_the_model() -> None:
    """names: a subject with a slash not counted (only the parameter names a model)."""
    assert named_models(_provenance(), _results("iris/model.keras", "plain.bin", None)) == ("iris",)


def test_the_model_name_parameter_alone_names_the_model() -> None:
    """names: the build parameters ignored."""
    assert named_models(_provenance({"model_name": "iris"}), _results("model.keras")) == ("iris",)
    assert named_models(_provenance({"model-name": "iris"}), _results("model.keras")) == ("iris",)
    assert named_models(_provenance({"model_name": 7}), _results("model.keras")) == ()
    assert named_models(_provenance(["model_name"]), _results("model.keras")) == ()


def test_subjects_and_parameters_both_count_in_order_without_repeats() -> None:
    """names: the parameter replacing (not adding to) the names from subjects."""
    provenance = _provenance({"model_name": "digits", "model-name": "iris"})
    assert named_models(provenance, _results("iris/a.bin", "iris/b.bin")) == ("iris", "digits")


def test_model_name_check_lines() -> None:
    """names: the exact expected/actual/detail of each outcome of the model-name check."""
    assert check_model_name((), "iris", True) == Check(
        MODEL_NAME, True, "iris", "evidence naming no model", "accepted: the policy accepts unnamed evidence")
    assert check_model_name((), "iris", False) == Check(
        MODEL_NAME, False, "iris", "evidence naming no model",
        "the evidence names no model; only a policy with accept-unnamed = true takes it")
    assert check_model_name(("iris",), "iris", False) == Check(MODEL_NAME, True, "iris", "iris", "")
    assert check_model_name(("iris", "digits"), "iris", True) == Check(
        MODEL_NAME, False, "iris", "iris, digits", "the evidence was made for model 'digits'")


@pytest.mark.parametrize("accept_unnamed", [True, False])
def test_another_model_fails_whatever_accept_unnamed_says(accept_unnamed: bool) -> None:
    assert not check_model_name(("digits",), "iris", accept_unnamed).passed


# --- slsa_models/verify/local.py -------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    "git+ssh://git@github.com/acme/models.git",  # killed "git+" not removed before the ssh form
    "git+https://github.com/acme/models.git/",
    "ssh://git@github.com/acme/models",
    "git@github.com:acme/models.git",
    "https://github.com/acme/models",
])
def test_a_recorded_github_repository_in_each_form(uri: str) -> None:
    assert recorded_repository(uri) == "git+https://github.com/acme/models"


@pytest.mark.parametrize("uri", [None, "", "https://gitlab.com/acme/models", "git+ssh://git@gitlab.com/a/b"])
def test_a_recorded_repository_not_on_github_is_none(uri: str | None) -> None:
    assert recorded_repository(uri) is None
