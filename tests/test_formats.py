"""The seven formats: saved under their own name, loaded back safely, same predictions."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from slsa_models.errors import InputError
from slsa_models.formats import (
    DEFAULT_FORMAT,
    FORMAT_NAMES,
    get_format,
    load_model,
    predict,
    save_model,
)
from slsa_models.training import FRAMEWORKS, TrainResult, train

SIX = (
    "tensorflow_model.keras",
    "tensorflow_hdf5_model.h5",
    "tensorflow_hdf5.weights.h5",
    "pytorch_model.pth",
    "pytorch_full_model.pth",
    "pytorch_jitted_model.pt",
    "model.safetensors",  # the seventh: the seed's six keep their names and behaviour
)
REFUSE_PICKLE = (
    "refusing to load pytorch_full_model.pth: it is a pickle that can run code; "
    "pass allow_pickle=True only after its provenance is verified"
)


@pytest.fixture(scope="module")
def trained() -> dict[str, TrainResult]:
    """One tiny (1 epoch) model per framework, shared by the whole module."""
    return {framework: train(framework, epochs=1, seed=0) for framework in FRAMEWORKS}


def _result(trained: dict[str, TrainResult], format_name: str) -> TrainResult:
    return trained[get_format(format_name).framework]


def test_the_seven_formats() -> None:
    assert FORMAT_NAMES == SIX
    assert DEFAULT_FORMAT == "tensorflow_model.keras"
    assert [get_format(n).framework for n in SIX] == ["tensorflow"] * 3 + ["torch"] * 4
    assert [n for n in SIX if get_format(n).is_pickle] == ["pytorch_full_model.pth"]
    assert [n for n in SIX if get_format(n).needs_architecture] == [
        "tensorflow_hdf5.weights.h5",
        "pytorch_model.pth",
        "model.safetensors",
    ]


def test_safetensors_holds_only_tensors(trained: dict[str, TrainResult], tmp_path: Path) -> None:
    """The file is a JSON header and raw tensor bytes: no pickle opcode anywhere to run."""
    import json
    import struct

    saved = save_model(trained["torch"].model, "model.safetensors", tmp_path)
    data = saved.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    assert set(header) - {"__metadata__"} == set(trained["torch"].model.state_dict())
    assert b"\x80\x04" not in data[:8 + length]  # no pickle protocol marker in the header


@pytest.mark.parametrize("format_name", SIX)
def test_round_trip_gives_the_same_predictions(
    trained: dict[str, TrainResult], format_name: str, tmp_path: Path
) -> None:
    result = _result(trained, format_name)
    path = save_model(result.model, format_name, tmp_path / "out")
    assert path == tmp_path / "out" / format_name
    assert sorted(p.name for p in path.parent.iterdir()) == [format_name]  # no scratch left
    loaded = load_model(path, format_name, allow_pickle=get_format(format_name).is_pickle)
    assert loaded is not result.model
    expected = predict(result.model, format_name, result.sample_inputs)
    actual = predict(loaded, format_name, result.sample_inputs)
    assert actual.shape == (len(result.sample_inputs), 10)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)


def test_keras_predictions_run_the_model_for_inference() -> None:
    """predict() (the deploy's smoke test, serving) runs a Keras model in inference mode: a Dropout
    layer passes everything through, so the scores are repeatable and are the model's own inference
    output (in training mode 90% of the inputs to Dense would be dropped at random)."""
    import keras

    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dropout(0.9),
                              keras.layers.Dense(10)])
    inputs = np.linspace(0.1, 1.0, 4 * 64, dtype=np.float32).reshape(4, 8, 8)
    expected = np.asarray(keras.ops.convert_to_numpy(model(inputs, training=False)))
    for _ in range(2):
        np.testing.assert_allclose(predict(model, "tensorflow_model.keras", inputs), expected, rtol=0, atol=1e-6)


def test_saving_again_replaces_the_file(trained: dict[str, TrainResult], tmp_path: Path) -> None:
    model = trained["torch"].model
    first = save_model(model, "pytorch_model.pth", tmp_path)
    second = save_model(model, "pytorch_model.pth", tmp_path)
    assert first == second and [p.name for p in tmp_path.iterdir()] == ["pytorch_model.pth"]


def test_unknown_format_is_refused_and_nothing_written(
    trained: dict[str, TrainResult], tmp_path: Path
) -> None:
    message = (
        "unknown model format 'model.onnx': choose one of tensorflow_model.keras, "
        "tensorflow_hdf5_model.h5, tensorflow_hdf5.weights.h5, pytorch_model.pth, "
        "pytorch_full_model.pth, pytorch_jitted_model.pt, model.safetensors"
    )
    for call in (
        lambda: get_format("model.onnx"),
        lambda: save_model(trained["torch"].model, "model.onnx", tmp_path / "out"),
        lambda: load_model(tmp_path / "model.onnx", "model.onnx"),
        lambda: predict(trained["torch"].model, "model.onnx", trained["torch"].sample_inputs),
    ):
        with pytest.raises(InputError) as caught:
            call()
        assert str(caught.value) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("format_name", "other", "message"),
    [
        (
            "tensorflow_model.keras",
            "torch",
            "format tensorflow_model.keras saves a Keras model, "
            "got torch.nn.modules.container.Sequential",
        ),
        (
            "pytorch_jitted_model.pt",
            "tensorflow",
            "format pytorch_jitted_model.pt saves a PyTorch nn.Module, "
            "got keras.src.models.sequential.Sequential",
        ),
    ],
)
def test_model_of_the_other_framework_is_refused_and_nothing_written(
    trained: dict[str, TrainResult], tmp_path: Path, format_name: str, other: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        save_model(trained[other].model, format_name, tmp_path)
    assert str(caught.value) == message
    assert list(tmp_path.iterdir()) == []


def test_model_torchscript_cannot_compile_is_refused_and_nothing_written(tmp_path: Path) -> None:
    import torch

    class Unscriptable(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return sorted(x, key=lambda row: row.sum())[0]

    with pytest.raises(InputError) as caught:
        save_model(Unscriptable(), "pytorch_jitted_model.pt", tmp_path)
    line = Unscriptable.forward.__code__.co_firstlineno + 1  # the reason is TorchScript's (torch is pinned)
    assert str(caught.value) == ("cannot save pytorch_jitted_model.pt: TorchScript cannot compile the model"
                                 f" (Lambda aren't supported: File \"{__file__}\", line {line})")
    assert list(tmp_path.iterdir()) == []


def test_pickle_format_is_refused_without_opt_in(
    trained: dict[str, TrainResult], tmp_path: Path
) -> None:
    path = save_model(trained["torch"].model, "pytorch_full_model.pth", tmp_path)
    with pytest.raises(InputError) as caught:
        load_model(path, "pytorch_full_model.pth")
    assert str(caught.value) == REFUSE_PICKLE
    # Refused before touching the file system at all.
    with pytest.raises(InputError) as caught:
        load_model(tmp_path / "absent", "pytorch_full_model.pth")
    assert str(caught.value) == REFUSE_PICKLE
    assert load_model(path, "pytorch_full_model.pth", allow_pickle=True).training is False


class _MakesMarker:
    """Unpickling this calls os.mkdir(marker): harmless, but it is code running."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("force_unsafe", [False, True])
def test_state_dict_that_runs_code_is_refused_and_the_code_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force_unsafe: bool,
) -> None:
    """Also with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, which turns torch.load's weights-only default
    off for every call that does not ask for it explicitly."""
    import torch

    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model.pth"
    torch.save({"1.weight": _MakesMarker(marker)}, path)
    with pytest.raises(InputError) as caught:
        load_model(path, "pytorch_model.pth")
    assert str(caught.value) == (
        "refusing to load pytorch_model.pth: it references the Python object posix.mkdir, "
        "but a state_dict holds only tensors"
    )
    assert not marker.exists()
    # The payload is real: an unsafe load would have run it.
    torch.load(path, weights_only=False)
    assert marker.is_dir()


def test_whole_pickled_module_passed_off_as_state_dict_is_refused(
    trained: dict[str, TrainResult], tmp_path: Path
) -> None:
    pickled = save_model(trained["torch"].model, "pytorch_full_model.pth", tmp_path / "a")
    renamed = tmp_path / "pytorch_model.pth"
    shutil.copyfile(pickled, renamed)
    with pytest.raises(InputError) as caught:
        load_model(renamed, "pytorch_model.pth")
    assert str(caught.value) == (
        "refusing to load pytorch_model.pth: it references the Python object "
        "torch.nn.modules.container.Sequential, but a state_dict holds only tensors"
    )


@pytest.mark.parametrize("format_name", ["tensorflow_model.keras", "tensorflow_hdf5_model.h5"])
def test_keras_lambda_layer_is_refused_by_safe_mode(format_name: str, tmp_path: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input(shape=(8, 8)), keras.layers.Lambda(lambda x: x * 2)])
    path = save_model(model, format_name, tmp_path)
    with pytest.raises(InputError) as caught:
        load_model(path, format_name)
    message = str(caught.value)
    # the reason in parentheses is Keras's
    assert re.fullmatch(re.escape(f"refusing to load {format_name}: Keras safe mode blocked Python code in it (")
                        + r"[^\n]+\)", message), message
    assert "`Lambda` layer" in message and "\n" not in message


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    import keras
    import torch

    from safetensors.torch import save_file

    torch_path = tmp_path / "pytorch_model.pth"
    torch.save({"weight": torch.zeros(3)}, torch_path)
    save_file({"weight": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    for name in ("pytorch_model.pth", "model.safetensors"):
        with pytest.raises(InputError) as caught:
            load_model(tmp_path / name, name)
        assert str(caught.value) == (
            f"cannot load {name} from {tmp_path / name}: it does not match architecture "
            "'digits-cnn' (Error(s) in loading state_dict for Sequential: Missing key(s) in "
            'state_dict: "1.weight", "1.bias", "5.weight", "5.bias".)'
        )
    dense = keras.Sequential([keras.Input(shape=(8, 8)), keras.layers.Dense(3)])
    keras_path = save_model(dense, "tensorflow_hdf5.weights.h5", tmp_path)
    with pytest.raises(InputError) as caught:
        load_model(keras_path, "tensorflow_hdf5.weights.h5")
    # the reason in parentheses is Keras's
    assert re.fullmatch(re.escape(f"cannot load tensorflow_hdf5.weights.h5 from {keras_path}: "
                                  "it does not match architecture 'digits-cnn' (") + r"[^\n]+\)",
                        str(caught.value)), str(caught.value)


def test_state_dict_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "pytorch_model.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(InputError) as caught:
        load_model(path, "pytorch_model.pth")
    assert str(caught.value) == (
        f"cannot load pytorch_model.pth from {path}: expected a state_dict, got list"
    )


def test_unknown_architecture_is_refused(trained: dict[str, TrainResult], tmp_path: Path) -> None:
    path = save_model(trained["torch"].model, "pytorch_model.pth", tmp_path)
    with pytest.raises(InputError) as caught:
        load_model(path, "pytorch_model.pth", architecture="resnet")
    assert str(caught.value) == "unknown architecture 'resnet': choose one of digits-cnn"


@pytest.mark.parametrize(
    ("format_name", "reason"),
    [
        ("tensorflow_model.keras", "not a Keras archive (not a zip file)"),
        ("tensorflow_hdf5_model.h5", "Unable to synchronously open file (file signature not found)"),
        (
            "tensorflow_hdf5.weights.h5",
            "Unable to synchronously open file (file signature not found)",
        ),
        ("pytorch_model.pth", "not a weights-only file (Unsupported operand 110)"),
        ("pytorch_full_model.pth", "invalid load key, 'n'."),
        (
            "pytorch_jitted_model.pt",
            "PytorchStreamReader failed reading zip archive: failed finding central directory.",
        ),
        ("model.safetensors", "Error while deserializing header: header too large"),
    ],
)
def test_damaged_file_is_refused_in_one_line(
    format_name: str, reason: str, tmp_path: Path
) -> None:
    path = tmp_path / format_name
    path.write_bytes(b"not a model\n" * 8)
    with pytest.raises(InputError) as caught:
        load_model(path, format_name, allow_pickle=True)
    assert str(caught.value) == f"cannot load {format_name} from {path}: {reason}"


@pytest.mark.parametrize("format_name", SIX)
def test_missing_file_is_refused(format_name: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_model(tmp_path / format_name, format_name, allow_pickle=True)
    assert str(caught.value) == f"model file not found: {tmp_path / format_name}"


def test_keras_file_without_its_suffix_is_refused(
    trained: dict[str, TrainResult], tmp_path: Path
) -> None:
    saved = save_model(trained["tensorflow"].model, "tensorflow_model.keras", tmp_path)
    renamed = saved.rename(tmp_path / "model.bin")
    with pytest.raises(InputError) as caught:
        load_model(renamed, "tensorflow_model.keras")
    assert str(caught.value) == (
        f"cannot load tensorflow_model.keras from {renamed}: "
        "Keras needs the file name to end in '.keras'"
    )


def _saved_on_a_gpu(path: Path) -> None:
    """Rewrite a torch archive as if its tensors had been saved on ``cuda:0`` (the storages'
    device is a string in each pickle of the zip)."""
    import zipfile

    moved = path.with_name(f"{path.name}.gpu")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(moved, "w") as target:
        moves = 0
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".pkl"):
                moves += data.count(b"X\x03\x00\x00\x00cpu")
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            target.writestr(info, data)
    assert moves > 0
    moved.replace(path)


@pytest.mark.parametrize("format_name", ["pytorch_model.pth", "pytorch_full_model.pth", "pytorch_jitted_model.pt"])
def test_a_model_saved_on_a_gpu_loads_on_a_cpu_only_host(trained: dict[str, TrainResult], tmp_path: Path,
                                                         format_name: str) -> None:
    """Training on a GPU, serving on CPUs: the tensors are mapped to the CPU when loaded (torch
    refuses to load CUDA tensors where there is no CUDA)."""
    path = save_model(trained["torch"].model, format_name, tmp_path)
    _saved_on_a_gpu(path)
    inputs = np.zeros((2, 8, 8), dtype=np.float32)
    model = load_model(path, format_name, allow_pickle=format_name == "pytorch_full_model.pth")
    assert np.array_equal(predict(model, format_name, inputs), predict(trained["torch"].model, format_name, inputs))


def test_a_pickle_torch_refuses_for_another_reason_is_one_line(tmp_path: Path) -> None:
    """torch's weights-only loader refuses a DTensor global with no "WeightsUnpickler error" to quote
    when torch.distributed.tensor is not imported (so in a fresh interpreter: training here may
    import it): the line still says what the file is not."""
    import subprocess
    import sys

    path = tmp_path / "pytorch_model.pth"
    path.write_bytes(b"\x80\x02ctorch.distributed.tensor\nDTensor\n.")
    load = ("import sys\nfrom pathlib import Path\nfrom slsa_models.errors import InputError\n"
            "from slsa_models.formats import load_model\ntry:\n    load_model(Path(sys.argv[1]), 'pytorch_model.pth')\n"
            "except InputError as error:\n    print(error)\n")
    tree = str(Path(__file__).resolve().parents[1])  # the tree under test (a mutant's, when mutated)
    said = subprocess.run([sys.executable, "-c", load, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": tree})
    assert said.stdout == (f"cannot load pytorch_model.pth from {path}: not a weights-only file"
                           " (a pickle torch's weights-only loader refuses)\n"), said.stderr


def test_a_full_model_pickle_of_something_else_is_refused(tmp_path: Path) -> None:
    """pytorch_full_model.pth, allowed as a pickle after verification, must still hold a module."""
    import torch

    path = tmp_path / "pytorch_full_model.pth"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(InputError) as caught:
        load_model(path, "pytorch_full_model.pth", allow_pickle=True)
    assert str(caught.value) == f"cannot load pytorch_full_model.pth from {path}: expected a torch module, got dict"


@pytest.mark.parametrize(("message", "reason"), [
    ("", "ValueError"),  # nothing said: the error's type
    ("  \n\n", "ValueError"),
    ("bad header\nat byte 8", "bad header"),  # the first line
    ("Error(s) in loading:\n\n  Missing key: w\nmore", "Error(s) in loading: Missing key: w"),  # ":" announces the next
    ("refused:\ndetail", "refused: detail"),
    (". starts with a period", "."),
    ("nothing follows:", "nothing follows:"),
    ("First sentence. Second one.", "First sentence."),
    ("x" * 300, "x" * 300),
    ("x" * 400, "x" * 297 + "..."),
])
def test_a_frameworks_error_is_cut_to_one_line(message: str, reason: str) -> None:
    from slsa_models.formats import _reason

    assert _reason(ValueError(message)) == reason


class _ListsItsFolder:
    """Pickling this notes what the folder being saved into holds at that moment."""

    seen: list[str] = []

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __getstate__(self) -> dict:
        _ListsItsFolder.seen = sorted(os.listdir(self.folder))
        return {"folder": str(self.folder)}


def test_a_model_is_written_beside_its_target_then_moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file appears whole: it is written in a hidden scratch folder inside the target's folder
    (made with its parents; the same file system, so the move is a rename), never in $TMPDIR."""
    import tempfile

    import torch

    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    model.spy = _ListsItsFolder(tmp_path / "a" / "b")  # type: ignore[assignment]
    path = save_model(model, "pytorch_full_model.pth", tmp_path / "a" / "b")
    assert len(_ListsItsFolder.seen) == 1 and _ListsItsFolder.seen[0].startswith(".saving-")
    assert os.listdir(tmp_path / "a" / "b") == ["pytorch_full_model.pth"] and path == tmp_path / "a" / "b" / path.name
    assert os.listdir(elsewhere) == []


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "EOFError"),
    (b"\x80\x02N.", "Invalid magic number; corrupt file?"),  # a pickle, but of None: no torch file
])
def test_a_state_dict_file_that_is_no_torch_file_is_one_line(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "pytorch_model.pth"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        load_model(path, "pytorch_model.pth")
    assert str(caught.value) == f"cannot load pytorch_model.pth from {path}: {reason}"


def test_a_keras_model_compiled_with_a_custom_loss_loads(tmp_path: Path) -> None:
    """Served models are not compiled: a loss function saved by name that this process does not
    know (and safe mode would not deserialize) does not stop the load."""
    import keras

    def private_loss(y_true: object, y_pred: object) -> object:
        return keras.ops.mean(y_pred)

    model = keras.Sequential([keras.Input(shape=(8, 8)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile(loss=private_loss)
    path = save_model(model, "tensorflow_model.keras", tmp_path)
    inputs = np.zeros((1, 8, 8), dtype=np.float32)
    assert np.array_equal(predict(load_model(path, "tensorflow_model.keras"), "tensorflow_model.keras", inputs),
                          predict(model, "tensorflow_model.keras", inputs))


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_predict_takes_any_numeric_inputs(trained: dict[str, TrainResult], framework: str) -> None:
    """Lists or float64 arrays (what NumPy makes by default) are scored as float32."""
    format_name = "pytorch_model.pth" if framework == "torch" else "tensorflow_model.keras"
    model = trained[framework].model
    floats = np.linspace(0, 1, 2 * 64, dtype=np.float32).reshape(2, 8, 8)
    expected = predict(model, format_name, floats)
    assert predict(model, format_name, floats.astype(np.float64)).tolist() == expected.tolist()
    assert predict(model, format_name, floats.tolist()).tolist() == expected.tolist()
