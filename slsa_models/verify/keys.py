"""Public keys a policy trusts for key-signed provenance (the local builder).

A ``TrustedKey`` is one policy entry: a P-256 public key, the builder id it
may sign for, optionally the repository its builds must come from and the
moment the policy stops trusting it. The key hint (hex SHA-256 of the public
key's PEM, the OpenSSF model-signing convention) only helps pick the key; the
signature is what proves it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError
from slsa_models.provenance.keys import key_hint, load_public_key, public_key_from_pem
from slsa_models.provenance.statement import rfc3339


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One trusted public key. ``public_key`` may be given as PEM (bytes or str).

    ``builder_id`` is the exact ``runDetails.builder.id`` this key may sign for
    (None: the Policy's ``builder_id``); ``source_uri``, when set, is the
    GitHub repository its builds must record; ``expires`` (timezone-aware) is
    when the policy stops trusting the key.
    """

    name: str
    public_key: ec.EllipticCurvePublicKey
    builder_id: str | None = None
    expires: datetime | None = None
    source_uri: str | None = None
    hint: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("a trusted key needs a name")
        key = self.public_key
        if isinstance(key, bytes | str):
            key = public_key_from_pem(key, f"public key {self.name!r}")
        elif not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise InputError(f"public key {self.name!r}: not an ECDSA P-256 public key")
        object.__setattr__(self, "public_key", key)
        object.__setattr__(self, "hint", key_hint(key))
        if self.builder_id is not None and (not isinstance(self.builder_id, str)
                                            or not self.builder_id.strip()):
            raise InputError(f"public key {self.name!r}: the builder id is empty")
        if self.expires is not None and (not isinstance(self.expires, datetime)
                                         or self.expires.utcoffset() is None):
            raise InputError(
                f"public key {self.name!r}: expiry {self.expires!r} has no time zone; "
                "give a timezone-aware datetime"
            )
        if self.expires is not None:
            object.__setattr__(self, "expires", _in_utc(self.expires, self.name))
        if self.source_uri is not None:
            from slsa_models.verify.policy import normalize_source_uri

            normalize_source_uri(self.source_uri)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str | None = None,
                  **options: Any) -> TrustedKey:
        """Load a PEM public key file; ``options`` are the other fields."""
        key = load_public_key(Path(path))
        return cls(name=name or os.fspath(path), public_key=key, **options)

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hint": self.hint,
            "builder_id": self.builder_id,
            "expires": rfc3339(self.expires) if self.expires else None,
            "source_uri": self.source_uri,
        }

    def __str__(self) -> str:
        return f"{self.name} (key hint {self.hint[:16]})"


def _in_utc(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC; InputError when UTC cannot hold it (past year 9999, before year 1)."""
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise InputError(
            f"public key {name!r}: expiry {moment.isoformat()} is out of range: in UTC it falls"
            " outside the years 1 to 9999; give an earlier date"
        ) from None
