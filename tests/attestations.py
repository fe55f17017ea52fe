"""A test Sigstore instance that makes GitHub artifact attestations of any shape.

GitHub's signers cannot run here, so the tests sign their own: a Fulcio-like CA
issues a certificate carrying GitHub's OIDC claims as Fulcio's extensions
(1.3.6.1.4.1.57264.1.*) with an embedded SCT from a test CT log; the DSSE
envelope holds an in-toto statement shaped like actions/attest-build-provenance's
(buildType https://actions.github.io/buildtypes/workflow/v1); the bundle carries
a Rekor-style ``dsse/0.0.1`` entry (inclusion proof, signed checkpoint, SET) of a
test log, and/or an RFC 3161 timestamp of a test TSA. ``trusted_root`` writes the
matching Sigstore trusted root: with ``tlog=False`` and ``ct=False`` it has the
shape of GitHub's own instance (private repositories): a CA and a TSA only.

Everything here is standard encoding (X.509 with ``cryptography``, DER by hand
for RFC 3161 and the SCT list, RFC 8785 for the SET); sigstore-python verifies the
result exactly as it verifies real bundles.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SLSA_V1 = "https://slsa.dev/provenance/v1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
IN_TOTO = "application/vnd.in-toto+json"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
FULCIO = "1.3.6.1.4.1.57264.1."
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
SIGNED_AT = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


# --- DER, as much as RFC 3161 and the SCT list need --------------------------------------------

def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _set(*items: bytes) -> bytes:
    return _tlv(0x31, b"".join(sorted(items)))  # DER: SET OF in sorted order


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _utf8(value: str) -> bytes:
    return _tlv(0x0C, value.encode())


def _explicit(number: int, inner: bytes) -> bytes:
    return _tlv(0xA0 + number, inner)


SHA256_ALG = _seq(_oid("2.16.840.1.101.3.4.2.1"))
ECDSA_SHA256 = _seq(_oid("1.2.840.10045.4.3.2"))
TST_INFO = "1.2.840.113549.1.9.16.1.4"


# --- keys and certificates ---------------------------------------------------------------------

def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_id(key: ec.EllipticCurvePrivateKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _ca(name: str, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "slsa-models tests"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime(2020, 1, 1, tzinfo=timezone.utc))
            .not_valid_after(datetime(2040, 1, 1, tzinfo=timezone.utc))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- what GitHub's OIDC token says ---------------------------------------------------------------

@dataclass(frozen=True)
class Workflow:
    """The build a certificate describes. ``signer_*`` is the workflow that signed: by default
    the caller (``workflow`` in ``repository``); a reusable workflow elsewhere otherwise."""

    repository: str = "acme/models"
    workflow: str = ".github/workflows/train.yml"
    ref: str = "refs/heads/main"
    commit: str = "1" * 40
    signer_repository: str | None = None
    signer_workflow: str | None = None
    signer_ref: str | None = None
    signer_commit: str | None = None
    runner: str = "github-hosted"
    trigger: str = "workflow_dispatch"
    issuer: str = GITHUB_ISSUER
    repository_id: str = "1001"
    owner_id: str = "2002"
    run: str = "77/attempts/1"
    host: str = "github.com"
    builder_id: str | None = None  # runDetails.builder.id; default the signer workflow
    omit_claims: tuple[str, ...] = ()  # Fulcio extension numbers the certificate leaves out

    def url(self, path: str) -> str:
        return f"https://{self.host}/{path}"

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    @property
    def build_config(self) -> str:
        return self.url(f"{self.repository}/{self.workflow}@{self.ref}")

    @property
    def signer(self) -> str:
        if self.signer_repository is None:
            return self.build_config
        return self.url(f"{self.signer_repository}/{self.signer_workflow}@{self.signer_ref}")

    def claims(self) -> dict[str, str]:
        """Fulcio's extension number -> value (the v1 raw extensions and the v2 ones), but
        those ``omit_claims`` leaves out."""
        run = self.url(f"{self.repository}/actions/runs/{self.run}")
        claims = {
            "1": self.issuer, "2": self.trigger, "3": self.commit, "4": "train", "5": self.repository, "6": self.ref,
            "8": self.issuer, "9": self.signer, "10": self.signer_commit or self.commit,
            "11": self.runner, "12": self.url(self.repository), "13": self.commit, "14": self.ref,
            "15": self.repository_id, "16": self.url(self.owner), "17": self.owner_id,
            "18": self.build_config, "19": self.commit, "20": self.trigger, "21": run,
            "22": "public",
        }
        return {number: value for number, value in claims.items() if number not in self.omit_claims}

    def predicate(self) -> dict[str, Any]:
        """actions/attest-build-provenance's predicate for this build."""
        return {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {
                    "ref": self.ref, "repository": self.url(self.repository), "path": self.workflow}},
                "internalParameters": {"github": {
                    "event_name": self.trigger, "repository_id": self.repository_id,
                    "repository_owner_id": self.owner_id, "runner_environment": self.runner}},
                "resolvedDependencies": [{"uri": f"git+{self.url(self.repository)}@{self.ref}",
                                          "digest": {"gitCommit": self.commit}}],
            },
            "runDetails": {
                "builder": {"id": self.builder_id or self.signer},
                "metadata": {"invocationId": self.url(f"{self.repository}/actions/runs/{self.run}")},
            },
        }


# --- the instance --------------------------------------------------------------------------------

@dataclass
class SigstoreInstance:
    """Keys of a Fulcio CA, a CT log, a Rekor log and a TSA (made once per instance)."""

    name: str = "test"  # the CA is "<name> fulcio": two instances' CAs differ by name
    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    ct_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    rekor_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    tsa_root_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)
    tsa_key: ec.EllipticCurvePrivateKey = field(default_factory=_key)

    def __post_init__(self) -> None:
        self.ca = _ca(f"{self.name} fulcio", self.ca_key)
        self.tsa_root = _ca("test tsa root", self.tsa_root_key)
        self.tsa = (x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test tsa")]))
                    .issuer_name(self.tsa_root.subject).public_key(self.tsa_key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(datetime(2020, 1, 1, tzinfo=timezone.utc))
                    .not_valid_after(datetime(2040, 1, 1, tzinfo=timezone.utc))
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                    .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                   critical=True)
                    .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                        self.tsa_root_key.public_key()), critical=False)
                    .sign(self.tsa_root_key, hashes.SHA256()))

    # -- the trusted root --

    def trusted_root(self, path: Path, *, tlog: bool = True, ct: bool = True, tsa: bool = True) -> Path:
        """The instance's Sigstore trusted root; without tlog and ct: GitHub's instance's shape."""
        start = {"start": "2020-01-01T00:00:00Z"}

        def log(key: ec.EllipticCurvePrivateKey, url: str) -> dict[str, Any]:
            return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": _b64(_spki(key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                  "validFor": start},
                    "logId": {"keyId": _b64(_key_id(key))}}

        def chain(*certs: x509.Certificate) -> dict[str, Any]:
            return {"certificates": [{"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}
                                     for cert in certs]}

        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.rekor_key, "https://rekor.test")] if tlog else [],
            "certificateAuthorities": [{"subject": {"organization": "slsa-models tests",
                                                    "commonName": f"{self.name} fulcio"},
                                        "uri": "https://fulcio.test", "certChain": chain(self.ca),
                                        "validFor": start}],
            "ctlogs": [log(self.ct_key, "https://ct.test")] if ct else [],
            "timestampAuthorities": [{"subject": {"organization": "slsa-models tests",
                                                  "commonName": "test tsa"},
                                      "uri": "https://tsa.test", "certChain": chain(self.tsa, self.tsa_root),
                                      "validFor": start}] if tsa else [],
        }
        path.write_text(json.dumps(root, indent=1))
        return path

    # -- the certificate --

    def certificate(self, workflow: Workflow, key: ec.EllipticCurvePrivateKey, *, sct: bool = True,
                    sans: list[x509.GeneralName] | None = None) -> x509.Certificate:
        """Fulcio's certificate for ``workflow``; ``sans`` replaces its SAN (the signer's URI),
        ``[]`` leaves the extension out."""
        sans = [x509.UniformResourceIdentifier(workflow.signer)] if sans is None else sans
        builder = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(self.ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(SIGNED_AT - timedelta(minutes=1))
                   .not_valid_after(SIGNED_AT + timedelta(minutes=9))
                   .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                                  critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=True)
        for suffix, value in workflow.claims().items():
            raw = value.encode() if int(suffix) < 8 else _utf8(value)
            builder = builder.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(FULCIO + suffix), raw), critical=False)
        if not sct:
            return builder.sign(self.ca_key, hashes.SHA256())
        precert = builder.sign(self.ca_key, hashes.SHA256())
        sct_list = self._sct(precert.tbs_certificate_bytes)
        final = builder.add_extension(x509.UnrecognizedExtension(SCT_OID, _octets(sct_list)), critical=False) \
            .sign(self.ca_key, hashes.SHA256())
        assert final.tbs_precertificate_bytes == precert.tbs_certificate_bytes
        return final

    def _sct(self, tbs: bytes) -> bytes:
        """RFC 6962 SignedCertificateTimestampList with one precert SCT of the test CT log."""
        millis = int(SIGNED_AT.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(self.ca.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
        entry = issuer_key_hash + len(tbs).to_bytes(3, "big") + tbs
        signed = struct.pack("!BBQH", 0, 0, millis, 1) + entry + struct.pack("!H", 0)
        signature = _sign(self.ct_key, signed)
        sct = (bytes([0]) + _key_id(self.ct_key) + struct.pack("!Q", millis) + struct.pack("!H", 0)
               + bytes([4, 3]) + struct.pack("!H", len(signature)) + signature)
        return struct.pack("!H", len(sct) + 2) + struct.pack("!H", len(sct)) + sct

    # -- the bundle --

    def attest(self, subjects: dict[str, dict[str, str]], workflow: Workflow = Workflow(), *,
               tlog: bool = True, timestamp: bool = False, sct: bool = True,
               predicate_type: str = SLSA_V1, payload: bytes | None = None,
               sans: list[x509.GeneralName] | None = None) -> dict[str, Any]:
        """A Sigstore bundle v0.3 attesting ``subjects`` (name -> {algorithm: hex}): with a log
        entry (``tlog``), an RFC 3161 timestamp (``timestamp``), a certificate with an SCT.
        ``payload`` signs that in-toto statement instead (an OMS manifest, say)."""
        if payload is None:
            statement = {"_type": STATEMENT_V1,
                         "subject": [{"name": name, "digest": digest} for name, digest in subjects.items()],
                         "predicateType": predicate_type, "predicate": workflow.predicate()}
            payload = json.dumps(statement, separators=(",", ":")).encode()
        key = _key()
        certificate = self.certificate(workflow, key, sct=sct, sans=sans)
        pae = b"DSSEv1 %d %s %d %s" % (len(IN_TOTO), IN_TOTO.encode(), len(payload), payload)
        signature = _sign(key, pae)
        material: dict[str, Any] = {
            "certificate": {"rawBytes": _b64(certificate.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [self._entry(payload, signature, certificate)] if tlog else [],
        }
        if timestamp:
            material["timestampVerificationData"] = {"rfc3161Timestamps": [
                {"signedTimestamp": _b64(self._timestamp_response(signature))}]}
        return {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": material,
                "dsseEnvelope": {"payload": _b64(payload), "payloadType": IN_TOTO,
                                 "signatures": [{"sig": _b64(signature)}]}}

    def _entry(self, payload: bytes, signature: bytes, certificate: x509.Certificate) -> dict[str, Any]:
        """A dsse/0.0.1 entry, alone in a one-leaf log: inclusion proof, checkpoint and SET."""
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        body = rfc8785.dumps({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(payload + signature).hexdigest()},
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": _b64(signature), "verifier": _b64(pem)}]}})
        root = hashlib.sha256(b"\x00" + body).digest()
        log_id = _key_id(self.rekor_key)
        integrated = int(SIGNED_AT.timestamp())
        note = f"rekor.test - 1\n1\n{_b64(root)}\n"
        checkpoint = f"{note}\n\u2014 rekor.test {_b64(log_id[:4] + _sign(self.rekor_key, note.encode()))}\n"
        promise = rfc8785.dumps({"body": _b64(body), "integratedTime": integrated,
                                 "logID": log_id.hex(), "logIndex": 0})
        return {"logIndex": "0", "logId": {"keyId": _b64(log_id)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": str(integrated),
                "inclusionPromise": {"signedEntryTimestamp": _b64(_sign(self.rekor_key, promise))},
                "inclusionProof": {"logIndex": "0", "rootHash": _b64(root), "treeSize": "1", "hashes": [],
                                   "checkpoint": {"envelope": checkpoint}},
                "canonicalizedBody": _b64(body)}

    def _timestamp_response(self, signature: bytes) -> bytes:
        """An RFC 3161 TimeStampResp over the signature, signed by the test TSA."""
        tst_info = _seq(
            _int(1), _oid("1.3.6.1.4.1.57264.2"),
            _seq(SHA256_ALG, _octets(hashlib.sha256(signature).digest())),
            _int(4242), _tlv(0x18, SIGNED_AT.strftime("%Y%m%d%H%M%SZ").encode()),
        )
        tsa_der = self.tsa.public_bytes(serialization.Encoding.DER)
        attributes = [
            _seq(_oid("1.2.840.113549.1.9.3"), _set(_oid(TST_INFO))),
            _seq(_oid("1.2.840.113549.1.9.4"), _set(_octets(hashlib.sha256(tst_info).digest()))),
            _seq(_oid("1.2.840.113549.1.9.16.2.47"),
                 _set(_seq(_seq(_seq(_octets(hashlib.sha256(tsa_der).digest())))))),
        ]
        signed_attributes = _set(*attributes)
        signer_info = _seq(
            _int(1), _seq(self.tsa.issuer.public_bytes(), _int(self.tsa.serial_number)), SHA256_ALG,
            _tlv(0xA0, _strip(signed_attributes)),
            ECDSA_SHA256, _octets(_sign(self.tsa_key, signed_attributes)),
        )
        signed_data = _seq(
            _int(3), _set(SHA256_ALG), _seq(_oid(TST_INFO), _explicit(0, _octets(tst_info))),
            _tlv(0xA0, tsa_der), _set(signer_info),
        )
        token = _seq(_oid("1.2.840.113549.1.7.2"), _explicit(0, signed_data))
        return _seq(_seq(_int(0)), token)


def _strip(der: bytes) -> bytes:
    """The contents of a DER element (its tag and length removed)."""
    first = der[1]
    return der[2 + (first & 0x7F):] if first & 0x80 else der[2:]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_bundle(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle) + "\n")
    return path


def make_deployer(directory: Path) -> Any:
    """A deployer with a key made here, trusting itself (serving checks records with it)."""
    from slsa_models import deploy
    from slsa_models.provenance.keys import generate_key_pair, load_private_key
    from slsa_models.provenance.signers import KeySigner
    from slsa_models.verify import TrustedKey

    generate_key_pair(directory / "deployer.pem", directory / "deployer.pub.pem")
    key = load_private_key(directory / "deployer.pem")
    return deploy.Deployer(KeySigner(key), (TrustedKey("deployer", key.public_key()),))
