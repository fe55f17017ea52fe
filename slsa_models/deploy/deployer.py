"""Who signs deployment records: the deployer's key, configured where the deploy runs.

``SLSA_MODELS_DEPLOYER_KEY`` names a PEM private key (``slsa-models keygen``;
``SLSA_MODELS_KEY_PASSWORD`` when encrypted). Without it the development
deployer key in the state directory is used (made on first use, with a
warning), as the local stack does. Serving trusts deployers through its
policy's ``[deployer.NAME]`` tables; the deploy itself also trusts its own key
when it reads ``current.json`` and history.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from slsa_models.provenance.keys import generate_key_pair, key_hint, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.settings import state_dir
from slsa_models.verify.keys import TrustedKey
from slsa_models.verify.policy import Policy

log = logging.getLogger(__name__)
DEPLOYER_KEY_ENV = "SLSA_MODELS_DEPLOYER_KEY"


def dev_deployer_key_paths() -> tuple[Path, Path]:
    keys = state_dir() / "keys"
    return keys / "dev-deployer-key.pem", keys / "dev-deployer-key.pub.pem"


@dataclass(frozen=True)
class Deployer:
    """The signer of this deploy's records and every key its reads trust."""

    signer: KeySigner
    trusted: tuple[TrustedKey, ...]


def deployer_for(policy: Policy | None, environ: Mapping[str, str] = os.environ) -> Deployer:
    """The configured deployer key (else the development one) plus the policy's deployers."""
    configured = environ.get(DEPLOYER_KEY_ENV)
    if configured:
        path = Path(configured)
    else:
        path, public = dev_deployer_key_paths()
        if not path.exists():
            hint = generate_key_pair(path, public)
            log.warning("created a DEVELOPMENT deployer key %s (hint %s): set %s for real deployments",
                        path, hint[:16], DEPLOYER_KEY_ENV)
    key = load_private_key(path)
    own = TrustedKey(name=f"deployer {path.name}", public_key=key.public_key())
    others = policy.deployers if policy is not None else ()
    trusted = tuple(k for k in others if k.hint != own.hint) + (own,)
    return Deployer(KeySigner(key, description=f"deployer key {path} (hint {key_hint(key.public_key())[:16]})"),
                    trusted)
