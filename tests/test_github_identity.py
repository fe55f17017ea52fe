"""Reading the GitHub Actions claims out of a Fulcio certificate (slsa_models.verify.github).

Fulcio has written the claims two ways: raw-bytes extensions 1.1-1.6 (deprecated, still
issued) and DER UTF8String extensions from 1.8 on. Certificates here are made with
``cryptography`` for the shapes the real vectors do not have: only the old issuer, a SAN
that is not a URI, an extension we do not know.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from slsa_models.verify.github import identity_from_certificate, oidc_issuer

FULCIO = "1.3.6.1.4.1.57264.1."
ISSUER = "https://token.actions.githubusercontent.com"


def der_utf8(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 128
    return bytes([0x0C, len(data)]) + data


def certificate(extensions: dict[str, bytes], san: x509.GeneralName | None = None) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(minutes=10)))
    for oid, value in extensions.items():
        builder = builder.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value),
                                        critical=False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    return builder.sign(key, hashes.SHA256())


def test_the_old_raw_extensions_are_read_as_text() -> None:
    cert = certificate({FULCIO + "1": ISSUER.encode(), FULCIO + "2": b"push", FULCIO + "3": b"a" * 40,
                        FULCIO + "5": b"acme/models", FULCIO + "6": b"refs/heads/main"})
    identity = identity_from_certificate(cert)
    assert (identity.oidc_issuer, identity.trigger, identity.commit, identity.repository, identity.ref) == \
        (ISSUER, "push", "a" * 40, "acme/models", "refs/heads/main")
    assert oidc_issuer(cert) == ISSUER  # only the old issuer extension: read from it


def test_the_new_issuer_wins_over_the_old_one() -> None:
    cert = certificate({FULCIO + "1": b"https://old.example", FULCIO + "8": der_utf8(ISSUER)})
    assert oidc_issuer(cert) == ISSUER
    assert identity_from_certificate(cert).oidc_issuer == ISSUER


def test_bytes_that_are_not_their_encoding_read_as_absent() -> None:
    cert = certificate({FULCIO + "1": b"\xff\xfe", FULCIO + "8": b"not DER", FULCIO + "12": der_utf8("x")[:-1]})
    identity = identity_from_certificate(cert)
    assert (identity.issuer_v1, identity.issuer, identity.source_repository_uri) == (None, None, None)
    assert oidc_issuer(cert) is None


def test_no_issuer_at_all() -> None:
    assert oidc_issuer(certificate({})) is None


def test_a_san_that_is_not_a_uri_and_an_extension_we_do_not_know() -> None:
    cert = certificate({"1.2.3.4.5": b"anything", FULCIO + "12": der_utf8("https://github.com/acme/models")},
                       san=x509.RFC822Name("release@example.com"))
    identity = identity_from_certificate(cert)
    assert (identity.san_uri, identity.signer, identity.repository) == (None, None, "acme/models")
