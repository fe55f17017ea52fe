"""Smoke-load: load verified bytes with their format's safe loader and predict once.

Runs only on bytes whose verification passed. The one pickle format,
``pytorch_full_model.pth``, is loaded only with ``allow_pickle``; without it,
and for files that are not one of the seven formats, the smoke test is skipped
with the reason, and the model may still be deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slsa_models import formats
from slsa_models.errors import InputError, SlsaModelsError
from slsa_models.untrusted import loads_json, read_regular_file

PASSED = "passed"
SKIPPED = "skipped"
FAILED = "failed"
NOT_RUN = "not-run"
SMOKE_BATCH = 2  # inputs in the one prediction


@dataclass(frozen=True)
class SmokeResult:
    status: str  # passed | skipped | failed | not-run
    detail: str

    @property
    def blocks_deploy(self) -> bool:
        return self.status == FAILED

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


def smoke_load(path: Path | None, *, verified: bool, allow_pickle: bool = False) -> SmokeResult:
    """Load ``path`` (named after its format) and predict on a small batch.

    ``verified`` must say whether the bytes passed verification: nothing else is loaded.
    """
    if not verified or path is None:
        return SmokeResult(NOT_RUN, "verification did not pass: nothing is loaded before it does")
    if Path(path).is_dir():
        return smoke_folder(Path(path))
    name = Path(path).name
    fmt = formats.FORMATS.get(name)
    if fmt is None:
        return SmokeResult(
            SKIPPED,
            f"{name} is not one of the seven model formats ({', '.join(formats.FORMAT_NAMES)});"
            " deployed without loading it",
        )
    if fmt.is_pickle and not allow_pickle:
        return SmokeResult(
            SKIPPED,
            f"{name} is a pickle that can run code when loaded; deployed without loading it"
            " (opt in with allow_pickle / --allow-pickle to smoke-load it after verification)",
        )
    try:
        model = formats.load_model(path, name, allow_pickle=allow_pickle)
        scores = formats.predict(model, name, _inputs())
    except SlsaModelsError as error:
        return SmokeResult(FAILED, str(error))
    except Exception as error:  # a model that loads but cannot predict: the frameworks raise anything
        return SmokeResult(FAILED, f"{name}: prediction failed: {_one_line(error)}")
    problem = _check_scores(scores)
    if problem:
        return SmokeResult(FAILED, f"{name}: {problem}")
    return SmokeResult(
        PASSED,
        f"loaded with the safe loader of {name}; predicted classes"
        f" {scores.argmax(axis=1).tolist()} for {SMOKE_BATCH} inputs of shape (8, 8)",
    )


MAX_CONFIG_BYTES = 4 * 2**20


def smoke_folder(folder: Path) -> SmokeResult:
    """A verified folder: a TensorFlow SavedModel loads; otherwise ``config.json`` parses
    (a Hugging Face checkpoint) and every ``*.safetensors`` file's header parses and its
    tensors load, one at a time; a folder with none of these is deployed without loading."""
    try:
        if (folder / "saved_model.pb").is_file():
            import tensorflow as tf

            tf.saved_model.load(str(folder))
            return SmokeResult(PASSED, f"{folder.name}: loaded as a TensorFlow SavedModel")
        done = []
        if (folder / "config.json").is_file():
            config = loads_json(read_regular_file(folder / "config.json", max_bytes=MAX_CONFIG_BYTES,
                                                  what="config.json"), f"{folder.name}/config.json")
            if not isinstance(config, dict):
                return SmokeResult(FAILED, f"{folder.name}/config.json: not a JSON object")
            done.append("config.json parses")
        shards = sorted(path for path in folder.rglob("*.safetensors") if path.is_file())
        tensors = sum(_load_safetensors(shard, folder) for shard in shards)
        if shards:
            done.append(f"{tensors} tensors of {len(shards)} safetensors files load")
    except SlsaModelsError as error:
        return SmokeResult(FAILED, str(error))
    except Exception as error:  # the frameworks raise anything on a broken model
        return SmokeResult(FAILED, f"{folder.name}: loading failed: {_one_line(error)}")
    if not done:
        return SmokeResult(SKIPPED, f"{folder.name}: no SavedModel, config.json or safetensors file: "
                           "deployed without loading it")
    return SmokeResult(PASSED, f"{folder.name}: " + "; ".join(done))


def _load_safetensors(path: Path, folder: Path) -> int:
    """Parse one safetensors file's header and load each tensor (numpy, no code runs)."""
    from safetensors import safe_open

    name = path.relative_to(folder).as_posix()
    try:
        with safe_open(str(path), framework="numpy") as tensors:
            keys = list(tensors.keys())
            for key in keys:
                tensors.get_tensor(key)
    except Exception as error:  # SafetensorError: a header or data that is not safetensors
        raise InputError(f"{folder.name}/{name}: not a loadable safetensors file: {_one_line(error)}") from None
    return len(keys)


def _inputs() -> Any:
    import numpy as np

    # fixed, not data: a smoke test checks the model runs, not how well it predicts
    return np.linspace(0.0, 1.0, SMOKE_BATCH * 64, dtype=np.float32).reshape(SMOKE_BATCH, 8, 8)


def _check_scores(scores: Any) -> str | None:
    import numpy as np

    if getattr(scores, "ndim", 0) != 2 or scores.shape[0] != SMOKE_BATCH or scores.shape[1] < 1:
        return f"expected scores of shape ({SMOKE_BATCH}, classes), got {getattr(scores, 'shape', None)}"
    if not np.isfinite(scores).all():
        return "the prediction holds NaN or infinite scores"
    return None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
