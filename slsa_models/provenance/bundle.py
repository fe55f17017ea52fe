"""Key-signed provenance as a Sigstore bundle v0.3 with a public-key hint.

The layout is the one the OpenSSF model-signing format uses for keys:
``verificationMaterial.publicKey.hint`` (hex SHA-256 of the public key PEM), no
transparency-log entries, and the DSSE envelope. It is validated through
sigstore's own bundle model before it is written.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.provenance.dsse import sign_envelope
from slsa_models.provenance.keys import key_hint

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def key_signed_bundle(key: ec.EllipticCurvePrivateKey, statement: dict[str, Any]) -> str:
    """Sign ``statement`` and return the bundle as one line of JSON (an .intoto.jsonl line)."""
    from sigstore_models.bundle.v1 import Bundle

    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_hint(key.public_key())}, "tlogEntries": []},
        "dsseEnvelope": sign_envelope(key, statement),
    }
    Bundle.from_dict(document)  # raises if sigstore's model would not accept it
    return json.dumps(document, separators=(",", ":")) + "\n"
