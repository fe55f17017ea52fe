"""ECDSA P-256 key pairs for the local builder, through ``cryptography``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError

PASSWORD_ENV = "SLSA_MODELS_KEY_PASSWORD"


def generate_key_pair(private_path: Path, public_path: Path, *, password: bytes | None = None) -> str:
    """Write a new key pair (private key mode 0600, never overwritten); return the key hint."""
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(f"{path} already exists: refusing to overwrite a key")
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(public_pem(key.public_key()))
    return key_hint(key.public_key())


def public_pem(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The OpenSSF model-signing key hint: hex SHA-256 of the public key's PEM."""
    return hashlib.sha256(public_pem(public_key)).hexdigest()


def password_from_env() -> bytes | None:
    value = os.environ.get(PASSWORD_ENV)
    return value.encode() if value else None


def load_private_key(path: Path, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=password or password_from_env())
    except TypeError:
        raise InputError(
            f"{path}: the private key is encrypted: set {PASSWORD_ENV} to its password"
        ) from None
    except ValueError:
        raise InputError(f"{path}: not a PEM private key, or the password is wrong") from None
    return _require_p256(key, path)


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    return public_key_from_pem(_read_key_file(path), str(path))


def public_key_from_pem(data: bytes | str, label: str) -> ec.EllipticCurvePublicKey:
    """An ECDSA P-256 public key from PEM text; InputError naming ``label`` otherwise."""
    pem = data.encode() if isinstance(data, str) else bytes(data)
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise InputError(f"{label}: not a PEM public key") from None
    return _require_p256(key, label)


def _read_key_file(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such key file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read key: {error.strerror}") from None


def _require_p256(key: object, label: str | Path):  # type: ignore[no-untyped-def]
    curve = getattr(key, "curve", None)
    if not isinstance(curve, ec.SECP256R1):
        raise InputError(f"{label}: not an ECDSA P-256 key (the local builder signs with P-256 only)")
    return key
