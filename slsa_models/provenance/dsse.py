"""DSSE envelopes over in-toto statements, signed with ECDSA P-256 / SHA-256.

The signature itself is ``cryptography``'s; this module only builds the
pre-authentication encoding (PAE) that DSSE v1 defines.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 SP LEN(type) SP type SP LEN(body) SP body."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_envelope(key: ec.EllipticCurvePrivateKey, statement: dict[str, Any]) -> dict[str, Any]:
    """A DSSE envelope (JSON form, base64 fields) with one signature over ``statement``."""
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    signature = key.sign(pae(INTOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    return {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": INTOTO_PAYLOAD_TYPE,
        "signatures": [{"sig": base64.b64encode(signature).decode()}],
    }


def signature_is_valid(
    key: ec.EllipticCurvePublicKey, payload_type: str, payload: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` by ``key`` covers the PAE of the envelope; False for a payload
    type that is not valid UTF-8 (a lone surrogate): nothing can have signed it."""
    try:
        message = pae(payload_type, payload)
    except UnicodeEncodeError:
        return False
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
