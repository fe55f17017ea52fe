"""What an OMS verifier trusts: public keys (ECDSA P-256/384/521, as model_signing
supports) and certificate roots (PEM), read bounded, refused in one line."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError
from slsa_models.untrusted import read_regular_file

if TYPE_CHECKING:  # x509 is imported where certificates are used: it is slow to import
    from cryptography import x509

CURVES = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512}
MAX_PEM_BYTES = 4 * 2**20


def key_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    """The hash an ECDSA key signs OMS payloads with (model_signing: by curve size)."""
    return CURVES[key.curve.name]()


def key_hint(key: ec.EllipticCurvePublicKey) -> str:
    """model_signing's key hint: hex SHA-256 of the public key's PEM (SubjectPublicKeyInfo)."""
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def require_ec(key: object, label: str) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        raise InputError(f"{label}: not an ECDSA public key on P-256, P-384 or P-521 "
                         "(the curves OpenSSF model signing supports)")
    return key


@dataclass(frozen=True)
class OMSKey:
    """A public key trusted to sign OMS signatures."""

    name: str
    public_key: ec.EllipticCurvePublicKey
    hint: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("a trusted OMS key needs a name")
        key = self.public_key
        if isinstance(key, bytes | str):
            key = public_key_from_pem(key, f"public key {self.name!r}")
        object.__setattr__(self, "public_key", require_ec(key, f"public key {self.name!r}"))
        object.__setattr__(self, "hint", key_hint(self.public_key))

    def __str__(self) -> str:  # how records and reports show it (deterministic: no object address)
        return f"{self.name} (key hint {self.hint})"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "hint": self.hint}

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], name: str | None = None) -> OMSKey:
        data = read_regular_file(path, max_bytes=MAX_PEM_BYTES, what="public key file")
        return cls(name or os.fspath(path), public_key_from_pem(data, os.fspath(path)))


@dataclass(frozen=True)
class TrustedCertificate:
    """A root certificate trusted for OMS certificate-kind signatures; shown by subject and
    SHA-256 fingerprint (two roots may share a subject)."""

    certificate: x509.Certificate

    def __post_init__(self) -> None:
        from cryptography import x509

        if not isinstance(self.certificate, x509.Certificate):
            raise InputError(f"a trusted certificate: expected x509.Certificate, got "
                             f"{type(self.certificate).__name__}")

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def __str__(self) -> str:
        try:
            subject = self.certificate.subject.rfc4514_string()
        except ValueError:
            subject = "(unreadable subject)"
        return f"{subject} (sha256 {self.fingerprint})"


def public_key_from_pem(data: bytes | str, label: str) -> ec.EllipticCurvePublicKey:
    pem = data.encode() if isinstance(data, str) else bytes(data)
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(f"{label}: not a PEM public key") from None
    return require_ec(key, label)


def load_private_key(path: str | os.PathLike[str], password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    data = read_regular_file(path, max_bytes=MAX_PEM_BYTES, what="private key file")
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        raise InputError(f"{os.fspath(path)}: the private key is encrypted: give its password"
                         if not password else f"{os.fspath(path)}: the private key is not encrypted, "
                         "but a password was given") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(f"{os.fspath(path)}: not a PEM private key, or the password is wrong") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in CURVES:
        raise InputError(f"{os.fspath(path)}: not an ECDSA private key on P-256, P-384 or P-521")
    return key


def load_certificates(paths: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...],
                      what: str = "certificate file") -> tuple[x509.Certificate, ...]:
    """Every PEM certificate in the files (one file may hold several)."""
    from cryptography import x509

    certificates: list[x509.Certificate] = []
    for path in paths:
        data = read_regular_file(path, max_bytes=MAX_PEM_BYTES, what=what)
        try:
            found = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise InputError(f"{os.fspath(path)}: not a PEM certificate file") from None
        certificates += found
    return tuple(certificates)


def system_roots() -> tuple[x509.Certificate, ...]:
    """certifi's roots: model_signing's default when no --certificate_chain is given."""
    import warnings

    import certifi

    with warnings.catch_warnings():  # a few of certifi's roots have a non-positive serial number
        warnings.simplefilter("ignore")
        return load_certificates([certifi.where()], "certifi bundle")
