# a key and a small CA for the generated vectors (public parts are kept as test vectors)
import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
def save(key, name):
    Path(name + ".pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    Path(name + ".pub.pem").write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
def cert(cn, key, issuer, ikey, ca):
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), critical=False))
    u = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False)
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **u), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **u), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return b.sign(ikey, hashes.SHA256())
signer, root, inter = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
save(signer, "signer")
pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
r = cert("vectors-root", root, "vectors-root", root, True)
i = cert("vectors-intermediate", inter, "vectors-root", root, True)
l = cert("vectors-signer", signer, "vectors-intermediate", inter, False)
Path("root-ca.pem").write_bytes(pem(r)); Path("int-ca.pem").write_bytes(pem(i)); Path("signer-cert.pem").write_bytes(pem(l))
