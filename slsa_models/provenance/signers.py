"""Who signs the provenance: a key the team holds, or Sigstore where ambient OIDC exists."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, key_hint, load_private_key
from slsa_models.settings import state_dir

log = logging.getLogger(__name__)

DEV_BUILDER_ID = "local://slsa-models/dev-builder"


class Signer(Protocol):
    description: str

    def sign(self, statement: dict[str, Any]) -> str:
        """Return the signed bundle as one JSON line."""


@dataclass
class KeySigner:
    key: ec.EllipticCurvePrivateKey
    description: str = "key"

    def sign(self, statement: dict[str, Any]) -> str:
        return key_signed_bundle(self.key, statement)


@dataclass
class SigstoreSigner:
    """Keyless signing through sigstore-python with the ambient OIDC token (GitHub Actions).

    Cannot run here (it needs GitHub's OIDC endpoint and Sigstore's public servers).
    """

    description: str = "sigstore (ambient OIDC)"

    def sign(self, statement: dict[str, Any]) -> str:  # pragma: no cover - needs the internet
        from sigstore.dsse import Statement
        from sigstore.oidc import IdentityToken, detect_credential
        from sigstore.sign import SigningContext

        token = detect_credential()
        if token is None:
            from slsa_models.errors import InputError

            raise InputError("no ambient OIDC credential: run in GitHub Actions with id-token: write")
        context = SigningContext.production()
        payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
        with context.signer(IdentityToken(token)) as signer:
            return signer.sign_dsse(Statement(payload)).to_json() + "\n"


def default_builder_id(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("SLSA_MODELS_BUILDER_ID") or DEV_BUILDER_ID


def should_attest(requested: bool | None, environ: Mapping[str, str] = os.environ) -> bool:
    """Attest unless told otherwise, except in GitHub Actions, where the SLSA generator signs."""
    if requested is not None:
        return requested
    return environ.get("GITHUB_ACTIONS") != "true"


def ambient_oidc_available(environ: Mapping[str, str] = os.environ) -> bool:
    """GitHub Actions exposes these two variables only to jobs with ``id-token: write``."""
    return bool(environ.get("ACTIONS_ID_TOKEN_REQUEST_URL") and environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))


def dev_key_paths() -> tuple[Path, Path]:
    keys = state_dir() / "keys"
    return keys / "dev-signing-key.pem", keys / "dev-signing-key.pub.pem"


def dev_signing_key() -> ec.EllipticCurvePrivateKey:
    """The development key in the state directory, created on first use. Not for production."""
    private, public = dev_key_paths()
    if not private.exists():
        hint = generate_key_pair(private, public)
        log.warning("created a DEVELOPMENT signing key %s (public key %s, hint %s): "
                    "use --signing-key with a key you manage for real models", private, public, hint[:16])
    else:
        log.warning("signing with the DEVELOPMENT key %s: use --signing-key for real models", private)
    return load_private_key(private)


def select_signer(
    signing_key: Path | None = None, *, environ: Mapping[str, str] = os.environ
) -> Signer:
    """An explicit key wins; else Sigstore when ambient OIDC exists; else the development key."""
    if signing_key is not None:
        key = load_private_key(signing_key)
        return KeySigner(key, description=f"key {signing_key} (hint {key_hint(key.public_key())[:16]})")
    if ambient_oidc_available(environ):
        return SigstoreSigner()
    return KeySigner(dev_signing_key(), description="development key")
