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
from slsa_models.errors import SlsaModelsError

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
