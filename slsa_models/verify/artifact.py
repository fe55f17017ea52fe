"""An artifact to verify: a display name and its SHA-256."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from slsa_models.digest import normalize_sha256, sha256_file


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    sha256: str  # lowercase hex

    @classmethod
    def from_path(
        cls, path: str | os.PathLike[str], on_progress: Callable[[int], None] | None = None
    ) -> Artifact:
        """Hash a file, streamed; named as given (slsa-verifier prints the argument)."""
        return cls(name=os.fspath(path), sha256=sha256_file(path, on_progress))

    @classmethod
    def from_digest(cls, digest: str, name: str | None = None) -> Artifact:
        """An artifact known only by ``sha256:HEX`` (or bare HEX)."""
        hex_digest = normalize_sha256(digest)
        return cls(name=name or f"sha256:{hex_digest}", sha256=hex_digest)
