"""The seven model formats: what each is, how to save it, how to load it safely.

A format's name is also the file name it is saved under. Loading never runs
code from the file unless the caller opts in: Keras files load with
``safe_mode=True``, PyTorch state_dicts with ``weights_only=True``, TorchScript
with ``torch.jit.load`` (no Python pickle), safetensors with the
``safetensors`` package (a JSON header and raw tensors: nothing to execute),
and the one pickle format,
``pytorch_full_model.pth``, only with ``allow_pickle=True``.

TensorFlow, Keras, PyTorch and NumPy are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slsa_models.errors import InputError
from slsa_models.training import DEFAULT_ARCHITECTURE, build_architecture

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ModelFormat:
    """One serialization format; ``name`` is also the saved file's name."""

    name: str
    framework: str  # "tensorflow" | "torch"
    is_pickle: bool  # loading it can run arbitrary Python code
    needs_architecture: bool  # holds weights only; loading builds the architecture first
    description: str


_FORMATS = (
    ModelFormat(
        "tensorflow_model.keras", "tensorflow", False, False,
        "Keras 3 native archive (config and weights); loaded with safe_mode",
    ),
    ModelFormat(
        "tensorflow_hdf5_model.h5", "tensorflow", False, False,
        "legacy Keras HDF5 full model (config and weights); loaded with safe_mode",
    ),
    ModelFormat(
        "tensorflow_hdf5.weights.h5", "tensorflow", False, True,
        "Keras HDF5 weights only; loaded into the registered architecture",
    ),
    ModelFormat(
        "pytorch_model.pth", "torch", False, True,
        "PyTorch state_dict; loaded with weights_only=True into the registered architecture",
    ),
    ModelFormat(
        "pytorch_full_model.pth", "torch", True, False,
        "whole pickled PyTorch module; loads only with allow_pickle=True after verification",
    ),
    ModelFormat(
        "pytorch_jitted_model.pt", "torch", False, False,
        "TorchScript archive; loaded with torch.jit.load, no Python pickle",
    ),
    ModelFormat(
        "model.safetensors", "torch", False, True,
        "PyTorch state_dict in safetensors (a JSON header and raw tensors, no code); loaded into "
        "the registered architecture",
    ),
)
FORMATS: dict[str, ModelFormat] = {fmt.name: fmt for fmt in _FORMATS}
FORMAT_NAMES: tuple[str, ...] = tuple(FORMATS)
DEFAULT_FORMAT = "tensorflow_model.keras"

_MAX_REASON = 300  # characters of a framework's error kept in ours
_MODEL_KINDS = {"tensorflow": "Keras model", "torch": "PyTorch nn.Module"}
# Keras picks its reader by file name, so a Keras file must keep its suffix.
_KERAS_SUFFIXES = {
    "tensorflow_model.keras": ".keras",
    "tensorflow_hdf5_model.h5": ".h5",
    "tensorflow_hdf5.weights.h5": ".weights.h5",
}
_UNPICKLED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_UNPICKLER_ERROR = re.compile(r"WeightsUnpickler error:\s*(\S[^\n]*)")


def get_format(name: str) -> ModelFormat:
    """The format called ``name``, or InputError listing the seven."""
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown model format {name!r}: choose one of {', '.join(FORMAT_NAMES)}"
        ) from None


# ---------------------------------------------------------------- saving


def save_model(model: Any, format_name: str, directory: Path) -> Path:
    """Save ``model`` as ``directory/<format_name>`` and return that path.

    The file appears only once it is complete: it is written in a scratch
    directory next to it and moved into place.
    """
    fmt = get_format(format_name)
    _check_model_type(model, fmt)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / fmt.name
    scratch = Path(tempfile.mkdtemp(prefix=".saving-", dir=directory))
    try:
        written = scratch / fmt.name
        with _quiet_framework_warnings():
            _SAVERS[fmt.name](model, written)
        os.replace(written, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _check_model_type(model: Any, fmt: ModelFormat) -> None:
    if fmt.framework == "tensorflow":
        import keras

        expected: type = keras.Model
    else:
        import torch

        expected = torch.nn.Module
    if not isinstance(model, expected):
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
        raise InputError(f"format {fmt.name} saves a {_MODEL_KINDS[fmt.framework]}, got {kind}")


def _save_keras(model: Any, path: Path) -> None:
    model.save(path)


def _save_keras_weights(model: Any, path: Path) -> None:
    model.save_weights(path)


def _save_state_dict(model: Any, path: Path) -> None:
    import torch

    torch.save(model.state_dict(), path)


def _save_pickled_module(model: Any, path: Path) -> None:
    import torch

    torch.save(model, path)


def _save_torchscript(model: Any, path: Path) -> None:
    import torch

    try:
        scripted = torch.jit.script(model)
    except Exception as exc:  # TorchScript's compiler raises several types
        raise InputError(
            f"cannot save pytorch_jitted_model.pt: TorchScript cannot compile the model "
            f"({_reason(exc)})"
        ) from exc
    torch.jit.save(scripted, str(path))


def _save_safetensors(model: Any, path: Path) -> None:
    from safetensors.torch import save_file

    # contiguous copies: safetensors refuses views that share storage
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(path))


_SAVERS: dict[str, Callable[[Any, Path], None]] = {
    "tensorflow_model.keras": _save_keras,
    "tensorflow_hdf5_model.h5": _save_keras,
    "tensorflow_hdf5.weights.h5": _save_keras_weights,
    "pytorch_model.pth": _save_state_dict,
    "pytorch_full_model.pth": _save_pickled_module,
    "pytorch_jitted_model.pt": _save_torchscript,
    "model.safetensors": _save_safetensors,
}


# ---------------------------------------------------------------- loading


def load_model(
    path: Path,
    format_name: str,
    *,
    architecture: str = DEFAULT_ARCHITECTURE,
    allow_pickle: bool = False,
) -> Any:
    """Load a model file saved as ``format_name`` without running code from it.

    ``architecture`` is used by the weights-only formats. ``allow_pickle``
    must be True for ``pytorch_full_model.pth``; pass it only for bytes whose
    provenance has been verified.
    """
    fmt = get_format(format_name)
    if fmt.is_pickle and not allow_pickle:
        raise InputError(
            f"refusing to load {fmt.name}: it is a pickle that can run code; "
            "pass allow_pickle=True only after its provenance is verified"
        )
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    suffix = _KERAS_SUFFIXES.get(fmt.name)
    if suffix is not None and not path.name.endswith(suffix):
        raise InputError(
            f"cannot load {fmt.name} from {path}: Keras needs the file name to end in {suffix!r}"
        )
    with _quiet_framework_warnings():
        return _LOADERS[fmt.name](path, fmt, architecture)


def _load_keras(path: Path, fmt: ModelFormat, architecture: str) -> Any:
    import zipfile

    import keras

    if fmt.name == "tensorflow_model.keras" and not zipfile.is_zipfile(path):
        raise InputError(f"cannot load {fmt.name} from {path}: not a Keras archive (not a zip file)")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras and h5py raise many types for a bad file
        if "safe_mode" in str(exc):
            raise InputError(
                f"refusing to load {fmt.name}: Keras safe mode blocked Python code in it "
                f"({_reason(exc)})"
            ) from exc
        raise _cannot_load(fmt, path, exc) from exc


def _load_keras_weights(path: Path, fmt: ModelFormat, architecture: str) -> Any:
    model = build_architecture("tensorflow", architecture)
    try:
        model.load_weights(path)
    except OSError as exc:  # h5py: not an HDF5 file
        raise _cannot_load(fmt, path, exc) from exc
    except Exception as exc:
        raise _cannot_load(fmt, path, exc, architecture) from exc
    return model


def _load_state_dict(path: Path, fmt: ModelFormat, architecture: str) -> Any:
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _weights_only_error(fmt, path, exc) from exc
    except Exception as exc:
        raise _cannot_load(fmt, path, exc) from exc
    if not isinstance(state, Mapping):
        raise InputError(
            f"cannot load {fmt.name} from {path}: expected a state_dict, got {type(state).__name__}"
        )
    return _into_architecture(state, path, fmt, architecture)


def _into_architecture(state: Mapping[str, Any], path: Path, fmt: ModelFormat, architecture: str) -> Any:
    """The registered architecture with ``state`` loaded (strictly), in eval mode."""
    model = build_architecture("torch", architecture)
    try:
        model.load_state_dict(state)
    except Exception as exc:
        raise _cannot_load(fmt, path, exc, architecture) from exc
    return model.eval()


def _load_pickled_module(path: Path, fmt: ModelFormat, architecture: str) -> Any:
    import torch

    try:
        model = torch.load(path, map_location="cpu", weights_only=False)  # opted in
    except Exception as exc:
        raise _cannot_load(fmt, path, exc) from exc
    if not isinstance(model, torch.nn.Module):
        raise InputError(
            f"cannot load {fmt.name} from {path}: expected a torch module, "
            f"got {type(model).__name__}"
        )
    return model.eval()


def _load_torchscript(path: Path, fmt: ModelFormat, architecture: str) -> Any:
    import torch

    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:
        raise _cannot_load(fmt, path, exc) from exc


def _load_safetensors(path: Path, fmt: ModelFormat, architecture: str) -> Any:
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))  # on the CPU: safetensors files name no device
    except Exception as exc:  # SafetensorError, OSError: a header or file that is not safetensors
        raise _cannot_load(fmt, path, exc) from exc
    return _into_architecture(state, path, fmt, architecture)


_LOADERS: dict[str, Callable[[Path, ModelFormat, str], Any]] = {
    "tensorflow_model.keras": _load_keras,
    "tensorflow_hdf5_model.h5": _load_keras,
    "tensorflow_hdf5.weights.h5": _load_keras_weights,
    "pytorch_model.pth": _load_state_dict,
    "pytorch_full_model.pth": _load_pickled_module,
    "pytorch_jitted_model.pt": _load_torchscript,
    "model.safetensors": _load_safetensors,
}


# ---------------------------------------------------------------- predicting


def predict(model: Any, format_name: str, inputs: Any) -> np.ndarray:
    """The model's class scores for ``inputs`` (shape ``(n, 8, 8)``) as a NumPy array.

    Keras models give probabilities, PyTorch models logits; the argmax is the
    predicted class either way.
    """
    import numpy as np

    fmt = get_format(format_name)
    batch = np.asarray(inputs, dtype=np.float32)
    if fmt.framework == "tensorflow":
        import keras

        with _quiet_framework_warnings():
            return np.asarray(keras.ops.convert_to_numpy(model(batch, training=False)))
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(batch)).numpy()


# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def _quiet_framework_warnings() -> Iterator[None]:
    """Silence two known warnings that say nothing about the model.

    TorchScript warns that it is deprecated (the format is part of the
    contract), and TensorFlow tensors trip NumPy 2's ``__array__(copy=...)``
    notice when Keras converts weights.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore",
            message=r"__array__ implementation doesn't accept a copy keyword",
            category=DeprecationWarning,
        )
        yield


def _reason(exc: BaseException) -> str:
    """The first sentence of a framework's error, in one line of bounded length.

    A first line ending in ":" announces details, so the next line is kept too.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0]
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[1]}"
    end = text.find(". ")
    if end >= 0:
        text = text[: end + 1]
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def _cannot_load(
    fmt: ModelFormat, path: Path, exc: BaseException, architecture: str | None = None
) -> InputError:
    if architecture is not None:
        return InputError(
            f"cannot load {fmt.name} from {path}: it does not match architecture "
            f"{architecture!r} ({_reason(exc)})"
        )
    return InputError(f"cannot load {fmt.name} from {path}: {_reason(exc)}")


def _weights_only_error(fmt: ModelFormat, path: Path, exc: BaseException) -> InputError:
    """Name what torch's weights-only unpickler refused, without its advice to bypass it."""
    text = str(exc)
    found = _UNPICKLED_GLOBAL.search(text)
    if found:
        return InputError(
            f"refusing to load {fmt.name}: it references the Python object {found.group(1)}, "
            "but a state_dict holds only tensors"
        )
    detail = _UNPICKLER_ERROR.search(text)
    reason = detail.group(1).strip() if detail else "a pickle torch's weights-only loader refuses"
    return InputError(f"cannot load {fmt.name} from {path}: not a weights-only file ({reason})")
