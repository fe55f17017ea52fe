"""An artifact to verify: a display name and its SHA-256."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from slsa_models.digest import CHUNK_SIZE, normalize_sha256, open_input, sha256_file


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    sha256: str  # lowercase hex
    sha512: str | None = None  # lowercase hex, when asked for (GitHub attestations' --digest-alg)

    @classmethod
    def from_path(
        cls, path: str | os.PathLike[str], on_progress: Callable[[int], None] | None = None
    ) -> Artifact:
        """Hash a file, streamed; named as given (slsa-verifier prints the argument)."""
        return cls(name=os.fspath(path), sha256=sha256_file(path, on_progress))

    @classmethod
    def from_path_both(cls, path: str | os.PathLike[str],
                       on_progress: Callable[[int], None] | None = None) -> Artifact:
        """Hash a file once for both SHA-256 and SHA-512 (streamed)."""
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        with open_input(path, buffering=0) as stream:
            while read := stream.readinto(buffer):  # type: ignore[attr-defined]
                sha256.update(view[:read])
                sha512.update(view[:read])
                if on_progress is not None:
                    on_progress(read)
        return cls(name=os.fspath(path), sha256=sha256.hexdigest(), sha512=sha512.hexdigest())

    def digest(self, algorithm: str) -> str | None:
        """The hex digest for ``sha256`` or ``sha512`` (None when not computed)."""
        return self.sha256 if algorithm == "sha256" else self.sha512 if algorithm == "sha512" else None

    @classmethod
    def from_digest(cls, digest: str, name: str | None = None) -> Artifact:
        """An artifact known only by ``sha256:HEX`` (or bare HEX)."""
        hex_digest = normalize_sha256(digest)
        return cls(name=name or f"sha256:{hex_digest}", sha256=hex_digest)
