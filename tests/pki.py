"""Test X.509 certificates for OMS certificate-kind signatures: CAs and signing leaves with the
key usages model_signing accepts or refuses (shared by the interop and report-line tests)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOT_BEFORE = datetime(2020, 1, 1, tzinfo=timezone.utc)
NOT_AFTER = datetime(2040, 1, 1, tzinfo=timezone.utc)
_FLAGS = ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "key_cert_sign",
          "crl_sign", "encipher_only", "decipher_only")


def certificate(name: str, key: Any, issuer: tuple[str, Any] | None, *, ca: bool, serial: int | None = None,
                usage: str = "both") -> x509.Certificate:
    """A certificate named CN=``name`` (no subject when empty), signed by ``issuer`` (its name and
    key; self-signed when None), valid 2020-2040. ``usage`` of a leaf: both (digital signature
    and code signing), key-usage or code-signing (one of them), none (neither extension),
    other (a key usage without digital signature)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]) if name else x509.Name([])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]) if issuer else subject
    signer = issuer[1] if issuer else key
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
               .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                              critical=False))
    flags = dict.fromkeys(_FLAGS, False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=False, **{
            **flags, "key_cert_sign": True, "crl_sign": True}), critical=True)
    else:
        if usage in ("both", "key-usage", "other"):
            builder = builder.add_extension(x509.KeyUsage(digital_signature=usage != "other", **flags),
                                            critical=True)
        if usage in ("both", "code-signing"):
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                                            critical=False)
    return builder.sign(signer, hashes.SHA256())
