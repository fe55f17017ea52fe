"""A user's training code, as a team would bring it: tiny safetensors models, no slsa-models import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def train_file(output_dir: Path, scale: float = 1.0) -> Path:
    """Writes one safetensors file and returns its path."""
    path = output_dir / "weights.safetensors"
    save_file({"dense.weight": np.full((4, 3), scale, dtype=np.float32)}, str(path))
    return path


def train_checkpoint(output_dir: Path, shards: int = 3) -> str:
    """Writes a Hugging Face-style checkpoint folder (config, tokenizer, N shards); returns its name."""
    folder = output_dir / "checkpoint"
    folder.mkdir()
    write_checkpoint(folder, shards)
    return "checkpoint"


def write_checkpoint(folder: Path, shards: int = 3, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    (folder / "config.json").write_text(json.dumps({"model_type": "tiny", "hidden_size": 8}))
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"vocab": {"a": 0}}}))
    index = {}
    for number in range(1, shards + 1):
        name = f"model-{number:05d}-of-{shards:05d}.safetensors"
        tensor = f"layers.{number}.weight"
        save_file({tensor: rng.standard_normal((8, 8)).astype(np.float32)}, str(folder / name))
        index[tensor] = name
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": index}))


def train_nothing(output_dir: Path) -> None:
    """A broken trainer: writes nothing."""


def train_escaping(output_dir: Path) -> str:
    """A broken trainer: returns a path outside its output folder."""
    return "/etc/hostname"


def train_crashing(output_dir: Path) -> None:
    raise RuntimeError("CUDA out of memory")
