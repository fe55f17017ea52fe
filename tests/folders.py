"""Small model folders for tests: files written from a mapping, and their digests."""

from __future__ import annotations

import hashlib
from pathlib import Path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    """Write each relative path's bytes under ``root`` (made as needed); ``root``."""
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
