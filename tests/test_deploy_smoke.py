"""Smoke-load: real models of the registered architecture, saved in the project's formats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slsa_models import formats
from slsa_models.deploy import smoke_load


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from slsa_models.training import DEFAULT_ARCHITECTURE, build_architecture

    root = tmp_path_factory.mktemp("formats")
    model = build_architecture("torch", DEFAULT_ARCHITECTURE)
    return {
        name: formats.save_model(model, name, root / name.split(".")[0])
        for name in ("pytorch_model.pth", "pytorch_full_model.pth", "pytorch_jitted_model.pt",
                     "model.safetensors")
    }


@pytest.mark.parametrize("name", ["pytorch_model.pth", "pytorch_jitted_model.pt", "model.safetensors"])
def test_safe_formats_load_and_predict(saved: dict[str, Path], name: str) -> None:
    result = smoke_load(saved[name], verified=True)
    assert result.status == "passed" and not result.blocks_deploy
    assert re.fullmatch(re.escape(f"loaded with the safe loader of {name}; predicted classes ")
                        + r"\[[0-9], [0-9]\]" + re.escape(" for 2 inputs of shape (8, 8)"), result.detail)


def test_keras_archive_loads_and_predicts(tmp_path: Path) -> None:
    from slsa_models.training import DEFAULT_ARCHITECTURE, build_architecture

    path = formats.save_model(build_architecture("tensorflow", DEFAULT_ARCHITECTURE),
                              "tensorflow_model.keras", tmp_path)
    assert smoke_load(path, verified=True).status == "passed"


def test_pickle_is_skipped_without_the_opt_in(saved: dict[str, Path]) -> None:
    result = smoke_load(saved["pytorch_full_model.pth"], verified=True)
    assert result.status == "skipped" and not result.blocks_deploy
    assert result.detail == (
        "pytorch_full_model.pth is a pickle that can run code when loaded; deployed without loading it"
        " (opt in with allow_pickle / --allow-pickle to smoke-load it after verification)"
    )
    assert smoke_load(saved["pytorch_full_model.pth"], verified=True, allow_pickle=True).status == "passed"


def test_nothing_is_loaded_before_verification_passed(saved: dict[str, Path]) -> None:
    result = smoke_load(saved["pytorch_full_model.pth"], verified=False, allow_pickle=True)
    assert (result.status, result.detail) == (
        "not-run", "verification did not pass: nothing is loaded before it does"
    )
    assert smoke_load(None, verified=True).status == "not-run"


def test_a_file_of_no_known_format_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx")
    result = smoke_load(path, verified=True)
    assert result.status == "skipped"
    assert result.detail == (
        "model.onnx is not one of the seven model formats (tensorflow_model.keras, tensorflow_hdf5_model.h5,"
        " tensorflow_hdf5.weights.h5, pytorch_model.pth, pytorch_full_model.pth, pytorch_jitted_model.pt,"
        " model.safetensors); deployed without loading it"
    )


def test_bytes_that_do_not_load_fail_the_smoke_test(tmp_path: Path) -> None:
    path = tmp_path / "pytorch_model.pth"
    path.write_bytes(b"not a torch file")
    result = smoke_load(path, verified=True)
    assert result.status == "failed" and result.blocks_deploy
    # the reason in parentheses is torch's unpickler's
    assert re.fullmatch(re.escape(f"cannot load pytorch_model.pth from {path}: not a weights-only file (")
                        + r"[^()\n]+\)", result.detail), result.detail


def test_the_gate_skips_a_pickle_unless_told(saved: dict[str, Path], file_store_uri: str) -> None:
    """Gate's own default: a verified pickle is deployed without loading it; allow_pickle=True loads it."""
    from datetime import datetime, timezone

    from slsa_models import deploy
    from slsa_models.store import StoredObject, open_store
    from tests.policies import github_policy

    path = saved["pytorch_full_model.pth"]
    model = deploy.FetchedModel(path, StoredObject("k", "file:///k", "0" * 64, path.stat().st_size))
    verdict = deploy.Verdict("d", "m", "k", datetime.now(timezone.utc), (), model, (), None)  # passed
    store, policy = open_store(file_store_uri), github_policy(source_uri="github.com/acme/models")
    assert deploy.Gate(store, "m", policy).smoke_load(verdict).status == "skipped"
    assert deploy.Gate(store, "m", policy, allow_pickle=True).smoke_load(verdict).status == "passed"
