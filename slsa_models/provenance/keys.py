"""ECDSA P-256 key pairs for the local builder, through ``cryptography``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError
from slsa_models.untrusted import read_regular_file

PASSWORD_ENV = "SLSA_MODELS_KEY_PASSWORD"
MAX_KEY_BYTES = 64 * 1024  # a P-256 key's PEM is a few hundred bytes
_NOT_P256 = "{label}: not an ECDSA P-256 key (the local builder signs with P-256 only)"


def generate_key_pair(private_path: Path, public_path: Path, *, password: bytes | None = None) -> str:
    """Write a new key pair (private key mode 0600, never overwritten); return the key hint.

    On any failure nothing is left behind.
    """
    private_path, public_path = Path(private_path), Path(public_path)
    same = os.path.realpath(private_path) == os.path.realpath(public_path)
    if same or _same_file(private_path, public_path):
        raise InputError(
            f"{private_path}: the private and the public key cannot be the same file; give two paths"
        )
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise InputError(f"{path} already exists: refusing to overwrite a key")
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem(key.public_key()), 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return key_hint(key.public_key())


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _write_new(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_new_file(path, data, mode=mode, exists=f"{path} already exists: refusing to overwrite a key")


def write_new_file(path: Path, data: bytes, *, mode: int = 0o644, exists: str | None = None) -> None:
    """Create ``path`` (never replacing anything, not even a dangling link) holding ``data``;
    InputError ``exists`` (or a default line) when something is there already."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise InputError(exists or f"{path} already exists") from None
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as error:  # e.g. the disk is full: nothing half-written is left
        path.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise


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
    from_env = not password and password_from_env() is not None
    password = password or password_from_env()
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password:
            where = f" ({PASSWORD_ENV} is set): unset it" if from_env else ": give none"
            raise InputError(
                f"{path}: the private key is not encrypted, but a password was given{where}"
            ) from None
        raise InputError(
            f"{path}: the private key is encrypted: set {PASSWORD_ENV} to its password"
        ) from None
    except ValueError:
        raise InputError(f"{path}: not a PEM private key, or the password is wrong") from None
    except UnsupportedAlgorithm:
        raise InputError(_NOT_P256.format(label=path)) from None
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
    except UnsupportedAlgorithm:
        raise InputError(_NOT_P256.format(label=label)) from None
    return _require_p256(key, label)


def _read_key_file(path: Path) -> bytes:
    return read_regular_file(path, max_bytes=MAX_KEY_BYTES, what="key file")


def _require_p256(key: object, label: str | Path):  # type: ignore[no-untyped-def]
    curve = getattr(key, "curve", None)
    if not isinstance(curve, ec.SECP256R1):
        raise InputError(_NOT_P256.format(label=label))
    return key
