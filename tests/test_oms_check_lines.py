"""Every line an OMS verification reports, pinned: for each scenario, the verdict, the signer,
every check line (PASS or FAIL, name, expected, found, reason), each artifact's result and
subject, the signed subjects and the model the signature names.

The scenarios cover each branch of oms/verify.py for the three signer kinds (a key, a
certificate chain, a Sigstore identity of a test instance), the statement, the files of a
folder or one file (files and shard manifests, ignored paths, the signature inside the
folder) through ``verify_model`` (``model_signing verify``) and the gate's ``verify_oms``.
Keys and certificates are fixed (derived from constants), so key hints and subjects are
the same in every run. The lines live in tests/golden/oms_check_lines.json;
SLSA_MODELS_UPDATE_GOLDEN=1 writes the file anew: read the diff before committing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from slsa_models.errors import SlsaModelsError
from slsa_models.oms.format import FILES, PAYLOAD_TYPE, build_statement, parse_bundle
from slsa_models.oms.sign import model_payload, sign_payload
from slsa_models.oms.trust import OMSKey, key_hint
from slsa_models.oms.verify import pae, pae_compat, verify_model, verify_oms
from slsa_models.verify import Artifact
from slsa_models.verify.policy import OMSPolicy
from slsa_models.verify.report import Report
from tests.attestations import GITHUB_ISSUER, SigstoreInstance, Workflow
from tests.folders import sha, write_folder
from tests.pki import certificate

GOLDEN = Path(__file__).parent / "golden" / "oms_check_lines.json"
FOLDER = {"a.bin": b"aaa", "sub/b.bin": b"bb", ".gitattributes": b"*.bin filter=lfs\n"}
WORKFLOW = Workflow()


def fixed_key(number: int, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(number, curve or ec.SECP256R1())


def public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def chain_bundle(payload: bytes, chain: list[x509.Certificate], signature: bytes) -> bytes:
    """A certificate-kind signature file over ``payload`` with any chain and signature bytes."""
    return json.dumps({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"x509CertificateChain": {"certificates": [
            {"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}
            for c in chain]}, "tlogEntries": []},
        "dsseEnvelope": {"payload": base64.b64encode(payload).decode(), "payloadType": PAYLOAD_TYPE,
                         "signatures": [{"sig": base64.b64encode(signature).decode()}]},
    }).encode()


def edited(bundle: bytes, change: Callable[[dict[str, Any]], Any]) -> bytes:
    document = json.loads(bundle)
    change(document)
    return json.dumps(document).encode()


@dataclass
class World:
    """The fixed keys and certificates, a test Sigstore instance, and a folder to work in."""

    root: Path
    release: ec.EllipticCurvePrivateKey = field(default_factory=lambda: fixed_key(1001))
    other: ec.EllipticCurvePrivateKey = field(default_factory=lambda: fixed_key(1002))
    p384: ec.EllipticCurvePrivateKey = field(default_factory=lambda: fixed_key(1003, ec.SECP384R1()))
    root_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: fixed_key(2001))
    int_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: fixed_key(2002))
    sigstore: SigstoreInstance = field(default_factory=SigstoreInstance)

    def __post_init__(self) -> None:
        self.root_ca = certificate("oms-root", self.root_key, None, ca=True, serial=1)
        self.int_ca = certificate("oms-intermediate", self.int_key, ("oms-root", self.root_key), ca=True, serial=2)
        self.trusted_root = self.sigstore.trusted_root(self.root / "trusted_root.json")

    def key(self, *names: str) -> OMSPolicy:
        keys = {"release": self.release, "other": self.other, "p384": self.p384}
        return OMSPolicy(public_keys=tuple(OMSKey(name, public_pem(keys[name])) for name in names))

    def leaf(self, key: Any = None, *, usage: str = "both", name: str = "release-team",
             issuer: str = "intermediate") -> list[x509.Certificate]:
        """A signing certificate for ``key`` (default the release key) and its chain."""
        if issuer == "root":
            return [certificate(name, key or self.release, ("oms-root", self.root_key), ca=False, serial=4,
                                usage=usage)]
        return [certificate(name, key or self.release, ("oms-intermediate", self.int_key), ca=False, serial=3,
                            usage=usage), self.int_ca]

    def chain(self, *certificates: x509.Certificate) -> OMSPolicy:
        return OMSPolicy(certificate_chain=certificates or (self.root_ca,))

    def identity(self, identity: str = WORKFLOW.signer, issuer: str = GITHUB_ISSUER,
                 trusted_root: Path | None = None) -> OMSPolicy:
        return OMSPolicy(identity=identity, identity_provider=issuer, trusted_root=trusted_root or self.trusted_root)

    def sigstore_signature(self, payload: bytes, sans: list[x509.GeneralName] | None = None) -> bytes:
        return json.dumps(self.sigstore.attest({}, WORKFLOW, payload=payload, sans=sans)).encode()

    def folder(self, files: dict[str, bytes] | None = None) -> Path:
        return write_folder(self.root / "work" / "m", FOLDER if files is None else files)

    def file(self) -> Path:
        path = self.root / "work" / "model.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
        return path


@dataclass
class Outcome:
    report: Report | None
    signature: bytes | None = None  # the signature file (verify_model), to check provenance_sha256
    error: str | None = None


def model(sign: Callable[[World, bytes], bytes], policy: Callable[[World], OMSPolicy], *,
          target: str = "folder", payload: Callable[[World, Path], bytes] | None = None,
          after: Callable[[Path], Any] = lambda path: None, signature_inside: bool = False,
          **options: Any) -> Callable[[World], Outcome]:
    """verify_model on the folder (or one file) signed by ``sign`` over its payload (default
    every file, as model_signing signs it), changed by ``after`` before verifying."""
    def scenario(world: World) -> Outcome:
        path = world.folder() if target == "folder" else world.file()
        inside = path / "model.sig" if signature_inside else world.root / "work" / "model.sig"
        statement = payload(world, path) if payload else model_payload(
            path, signature_path=inside if signature_inside else None)
        signature = sign(world, statement)
        inside.write_bytes(signature)
        after(path)
        try:
            return Outcome(verify_model(path, inside, policy(world), **options), signature)
        except SlsaModelsError as error:
            return Outcome(None, signature, str(error))
    return scenario


def gate(sign: Callable[[World, bytes], bytes], policy: Callable[[World], OMSPolicy],
         artifacts: dict[str, bytes], payload: Callable[[World, Path], bytes] | None = None,
         target: str = "folder") -> Callable[[World], Outcome]:
    """verify_oms (the gate's verifier) with ``artifacts`` (name -> bytes) as the model's files."""
    def scenario(world: World) -> Outcome:
        path = world.folder() if target == "folder" else world.file()
        statement = payload(world, path) if payload else model_payload(path)
        signature = sign(world, statement)
        bundle = parse_bundle("model.sig", signature)
        found = [Artifact(name, sha(data)) for name, data in artifacts.items()]
        return Outcome(verify_oms(bundle, "f" * 64, found, policy(world)))
    return scenario


# -- signers -----------------------------------------------------------------------------

def by_key(name: str = "release") -> Callable[[World, bytes], bytes]:
    return lambda world, payload: sign_payload(payload, getattr(world, name))


def by_certificate(**leaf: Any) -> Callable[[World, bytes], bytes]:
    def sign(world: World, payload: bytes) -> bytes:
        chain = world.leaf(**leaf)
        return sign_payload(payload, leaf.get("key") or world.release, certificate=chain[0], chain=chain[1:])
    return sign


def by_sigstore(sans: list[x509.GeneralName] | None = None) -> Callable[[World, bytes], bytes]:
    return lambda world, payload: world.sigstore_signature(payload, sans)


def v02(name: str = "release", curve_hash: hashes.HashAlgorithm | None = None,
        certificate: bool = False) -> Callable[[World, bytes], bytes]:
    """model_signing v0.2's encoding (DSSEV1 and the payload's bytes repr)."""
    def sign(world: World, payload: bytes) -> bytes:
        key = getattr(world, name)
        signature = key.sign(pae_compat(payload), ec.ECDSA(curve_hash or hashes.SHA256()))
        if certificate:
            return chain_bundle(payload, world.leaf(key), signature)
        return edited(sign_payload(payload, key), lambda d: d["dsseEnvelope"]["signatures"].__setitem__(
            0, {"sig": base64.b64encode(signature).decode()}))
    return sign


def then(sign: Callable[[World, bytes], bytes], change: Callable[[dict[str, Any]], Any]) -> Callable[[World, bytes], bytes]:
    return lambda world, payload: edited(sign(world, payload), change)


def hint(value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(document: dict[str, Any]) -> None:
        if value is None:
            document["verificationMaterial"]["publicKey"].pop("hint")
        else:
            document["verificationMaterial"]["publicKey"]["hint"] = value
    return change


def rsa_chain(world: World, payload: bytes) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return chain_bundle(payload, world.leaf(key), b"\x30\x06\x02\x01\x01\x02\x01\x01")


def unreadable_chain(world: World, payload: bytes) -> bytes:
    return edited(by_certificate()(world, payload), lambda d: d["verificationMaterial"][
        "x509CertificateChain"]["certificates"][0].__setitem__("rawBytes", base64.b64encode(b"not DER").decode()))


# -- payloads ----------------------------------------------------------------------------

def files_payload(resources: dict[str, bytes], name: str = "m", **options: Any) -> Callable[[World, Path], bytes]:
    return lambda world, path: build_statement(name, FILES, {p: sha(d) for p, d in resources.items()}, **options)


def shards_of(size: int) -> Callable[[World, Path], bytes]:
    return lambda world, path: model_payload(path, shard_size=size)


def not_oms(world: World, path: Path) -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [],
                       "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}).encode()


def v02_digests(world: World, path: Path) -> bytes:
    """model_signing v0.2's statement: one subject per file, predicate Digests/v0.1."""
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": p, "digest": {"sha256": sha(d)}} for p, d in sorted(FOLDER.items())
                                   if p != ".gitattributes"],
                       "predicateType": "https://model_signing/Digests/v0.1", "predicate": {}}).encode()


def shards_restated(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Callable[[World, Path], bytes]:
    """A 2-byte shard manifest of the folder with its resources changed (the root digest
    recomputed, so the manifest stays consistent)."""
    def payload(world: World, path: Path) -> bytes:
        statement = json.loads(model_payload(path, shard_size=2))
        resources = change(statement["predicate"]["resources"])
        statement["predicate"]["resources"] = resources
        statement["subject"][0]["digest"]["sha256"] = hashlib.sha256(
            b"".join(bytes.fromhex(resource["digest"]) for resource in resources)).hexdigest()
        return json.dumps(statement).encode()
    return payload


def unreadable_subject(world: World, payload: bytes) -> bytes:
    """A leaf whose subject is not valid UTF-8 (its signature no longer matches, either)."""
    leaf, intermediate = world.leaf()
    der = leaf.public_bytes(serialization.Encoding.DER).replace(b"release-team", b"\xff" * len("release-team"), 1)
    return chain_bundle(payload, [x509.load_der_x509_certificate(der), intermediate], b"\x30\x00")


def write(files: dict[str, bytes]) -> Callable[[Path], Any]:
    return lambda path: write_folder(path, files)


def remove(name: str) -> Callable[[Path], Any]:
    return lambda path: (path / name).unlink()


NO_EXTRA = {"a.bin": b"aaa", "sub/b.bin": b"bb"}

SCENARIOS: dict[str, Callable[[World], Outcome]] = {
    # the key kind
    "key: a folder passes": model(by_key(), lambda w: w.key("release")),
    "key: one file passes": model(by_key(), lambda w: w.key("release"), target="file"),
    "key: the second of two trusted keys signed": model(by_key(), lambda w: w.key("other", "release")),
    "key: another key signed": model(by_key("other"), lambda w: w.key("release")),
    "key: the hint names another trusted key": model(
        then(by_key(), hint(key_hint(fixed_key(1002).public_key()))), lambda w: w.key("other", "release")),
    "key: the hint names no trusted key": model(then(by_key(), hint("0" * 64)), lambda w: w.key("release")),
    "key: no hint (before 1.0)": model(then(by_key(), hint(None)), lambda w: w.key("release")),
    "key: the manifest changed after signing": model(
        then(by_key(), lambda d: d["dsseEnvelope"].__setitem__("payload", base64.b64encode(
            build_statement("m", FILES, {"a.bin": sha(b"aaa")})).decode())), lambda w: w.key("release")),
    "key: another payload type": model(
        then(by_key(), lambda d: d["dsseEnvelope"].__setitem__("payloadType", "application/json")),
        lambda w: w.key("release")),
    "key: v0.2's encoding, P-256": model(v02(), lambda w: w.key("release")),
    "key: v0.2's encoding, P-384 with SHA-384": model(v02("p384", hashes.SHA384()), lambda w: w.key("p384")),
    "key: v0.2's encoding, P-384 with SHA-256": model(v02("p384"), lambda w: w.key("p384")),
    "key: a P-384 key": model(by_key("p384"), lambda w: w.key("p384")),
    # which kinds the policy trusts
    "signer: a key signature, a certificate policy": model(by_key(), lambda w: w.chain()),
    "signer: a certificate signature, a key policy": model(by_certificate(), lambda w: w.key("release")),
    "signer: a Sigstore signature, a key and certificate policy": model(
        by_sigstore(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, certificate_chain=(w.root_ca,))),
    "signer: a key signature, a Sigstore policy": model(by_key(), lambda w: w.identity()),
    # the certificate kind
    "certificate: passes through an intermediate": model(by_certificate(), lambda w: w.chain()),
    "certificate: passes straight from the root": model(by_certificate(issuer="root"), lambda w: w.chain()),
    "certificate: an empty subject": model(by_certificate(name=""), lambda w: w.chain()),
    "certificate: code signing only": model(by_certificate(usage="code-signing"), lambda w: w.chain()),
    "certificate: digital signature only": model(by_certificate(usage="key-usage"), lambda w: w.chain()),
    "certificate: neither usage extension": model(by_certificate(usage="none"), lambda w: w.chain()),
    "certificate: a key usage without digital signature": model(by_certificate(usage="other"), lambda w: w.chain()),
    "certificate: an unreadable certificate": model(unreadable_chain, lambda w: w.chain()),
    "certificate: another root": model(by_certificate(), lambda w: w.chain(
        certificate("oms-root", fixed_key(2003), None, ca=True, serial=9))),
    "certificate: the trusted one is the intermediate": model(by_certificate(), lambda w: w.chain(w.int_ca)),
    "certificate: an RSA key": model(rsa_chain, lambda w: w.chain()),
    "certificate: an unreadable subject": model(unreadable_subject, lambda w: w.chain()),
    "certificate: another key signed": model(
        lambda w, p: chain_bundle(p, w.leaf(), w.other.sign(pae(p), ec.ECDSA(hashes.SHA256()))),
        lambda w: w.chain()),
    "certificate: v0.2's encoding, P-384 with SHA-256": model(v02("p384", certificate=True), lambda w: w.chain()),
    "certificate: a P-384 key": model(by_certificate(key=fixed_key(1003, ec.SECP384R1())), lambda w: w.chain()),
    # the Sigstore kind (a test instance: GitHub's OIDC cannot sign here)
    "sigstore: passes": model(by_sigstore(), lambda w: w.identity()),
    "sigstore: another identity": model(by_sigstore(), lambda w: w.identity("https://github.com/acme/other")),
    "sigstore: another issuer": model(by_sigstore(), lambda w: w.identity(issuer="https://accounts.google.com")),
    "sigstore: an email and a URI, another identity": model(
        by_sigstore([x509.RFC822Name("ml@example.com"), x509.UniformResourceIdentifier("https://example.com/ml")]),
        lambda w: w.identity("release@example.com")),
    "sigstore: only a DNS name, another identity": model(
        by_sigstore([x509.DNSName("example.com")]), lambda w: w.identity("release@example.com")),
    "sigstore: no subject alternative name": model(by_sigstore([]), lambda w: w.identity("release@example.com")),
    "sigstore: another instance's root": model(by_sigstore(), lambda w: w.identity(
        trusted_root=SigstoreInstance("other").trusted_root(w.root / "other_root.json"))),
    "sigstore: a trust configuration holding the root": model(by_sigstore(), lambda w: w.identity(
        trusted_root=trust_config(w))),
    # the statement
    "statement: not an OMS manifest": model(by_key(), lambda w: w.key("release"), payload=not_oms),
    "statement: one file's manifest": model(by_key(), lambda w: w.key("release"), target="file"),
    "statement: v0.2's digests": model(by_key(), lambda w: w.key("release"), payload=v02_digests),
    "statement: a manifest of one shard": model(by_key(), lambda w: w.key("release"), target="file",
                                                payload=shards_of(1024)),
    # the files (verify_model)
    "files: a file changed": model(by_key(), lambda w: w.key("release"), after=write({"a.bin": b"AAA"})),
    "files: a file added": model(by_key(), lambda w: w.key("release"), after=write({"c.bin": b"c"})),
    "files: a file removed": model(by_key(), lambda w: w.key("release"), after=remove("sub/b.bin")),
    "files: git files hashed when asked": model(by_key(), lambda w: w.key("release"), ignore_git_paths=False),
    "files: git files signed, hashed by default": model(
        by_key(), lambda w: w.key("release"), payload=lambda w, p: model_payload(p, ignore_git_paths=False)),
    "files: git files signed and hashed when asked": model(
        by_key(), lambda w: w.key("release"), payload=lambda w, p: model_payload(p, ignore_git_paths=False),
        ignore_git_paths=False),
    "files: the signer left out paths written two ways": model(
        by_key(), lambda w: w.key("release"), after=write({"cache/x.bin": b"x"}),
        payload=files_payload(NO_EXTRA, ignore_paths=("/elsewhere", "cache/"))),
    "files: an added file the policy leaves out": model(
        by_key(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, ignore_paths=("c.bin",)),
        after=write({"c.bin": b"c"})),
    "files: an added file, unsigned files left out": model(
        by_key(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, ignore_unsigned_files=True),
        after=write({"c.bin": b"c"})),
    "files: an added file, ignore_paths given": model(by_key(), lambda w: w.key("release"),
                                                      after=write({"c.bin": b"c"}), ignore_paths=["c.bin"]),
    "files: the signer left a folder out": model(
        by_key(), lambda w: w.key("release"), after=write({"cache/x.bin": b"x"}),
        payload=lambda w, p: model_payload(p, ignore_paths=["cache"])),
    "files: the signer left out an absolute path": model(
        by_key(), lambda w: w.key("release"), after=write({"cache/x.bin": b"x"}),
        payload=files_payload(NO_EXTRA, ignore_paths=("/cache",))),
    "files: the signature inside the folder": model(by_key(), lambda w: w.key("release"), signature_inside=True),
    "files: a shard manifest passes": model(by_key(), lambda w: w.key("release"), payload=shards_of(2)),
    "files: a shard manifest, a file changed": model(by_key(), lambda w: w.key("release"), payload=shards_of(2),
                                                     after=write({"a.bin": b"AAB"})),
    "files: a shard manifest, an added file left out": model(
        by_key(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, ignore_unsigned_files=True),
        payload=shards_of(2), after=write({"c.bin": b"c"})),
    "files: one file signed, a folder verified": model(
        by_key(), lambda w: w.key("release"), payload=lambda w, p: build_statement("m", FILES, {".": sha(b"x")})),
    "files: one file in shards, changed": model(by_key(), lambda w: w.key("release"), target="file",
                                                payload=shards_of(4), after=lambda p: p.write_bytes(b"weightz")),
    "files: a symlinked model": model(by_key(), lambda w: w.key("release"), target="file",
                                      after=lambda p: (p.rename(p.with_name("real.bin")),
                                                       p.symlink_to(p.with_name("real.bin")))),
    "files: a symlinked model allowed": model(by_key(), lambda w: w.key("release"), target="file",
                                              after=lambda p: (p.rename(p.with_name("real.bin")),
                                                               p.symlink_to(p.with_name("real.bin"))),
                                              allow_symlinks=True),
    "files: no model at all": model(by_key(), lambda w: w.key("release"), target="file",
                                    after=lambda p: p.unlink()),
    # the gate's verifier
    "gate: a folder passes": gate(by_key(), lambda w: w.key("release"), NO_EXTRA),
    "gate: a failed signer fails every file": gate(by_key("other"), lambda w: w.key("release"), NO_EXTRA),
    "gate: not an OMS manifest": gate(by_key(), lambda w: w.key("release"), NO_EXTRA, payload=not_oms),
    "gate: a file changed": gate(by_key(), lambda w: w.key("release"), {**NO_EXTRA, "a.bin": b"AAA"}),
    "gate: a file added": gate(by_key(), lambda w: w.key("release"), {**NO_EXTRA, "c.bin": b"c"}),
    "gate: a file missing": gate(by_key(), lambda w: w.key("release"), {"a.bin": b"aaa"}),
    "gate: an added file the policy leaves out": gate(
        by_key(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, ignore_paths=("c.bin",)),
        {**NO_EXTRA, "c.bin": b"c"}),
    "gate: an added file, unsigned files left out": gate(
        by_key(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, ignore_unsigned_files=True),
        {**NO_EXTRA, "c.bin": b"c"}),
    "gate: a signed file the policy leaves out": gate(
        by_key(), lambda w: OMSPolicy(public_keys=w.key("release").public_keys, ignore_paths=("a.bin",)),
        NO_EXTRA),
    "gate: one file, under its own name": gate(by_key(), lambda w: w.key("release"), {"model.bin": b"weights"},
                                               target="file"),
    "gate: one file, two artifacts": gate(by_key(), lambda w: w.key("release"),
                                          {"model.bin": b"weights", "extra.bin": b"x"}, target="file"),
    "gate: a shard manifest of whole files": gate(by_key(), lambda w: w.key("release"), NO_EXTRA,
                                                  payload=shards_of(1024)),
    "gate: a shard manifest of several shards a file": gate(by_key(), lambda w: w.key("release"), NO_EXTRA,
                                                            payload=shards_of(2)),
    "gate: a shard manifest naming a file's later shard first": gate(
        by_key(), lambda w: w.key("release"), NO_EXTRA, payload=shards_restated(lambda r: r[::-1])),
    "gate: a shard manifest without a file's first shard": gate(
        by_key(), lambda w: w.key("release"), NO_EXTRA,
        payload=shards_restated(lambda r: [x for x in r if x["name"] != "a.bin:0:2"])),
    "gate: a shard manifest of one file": gate(by_key(), lambda w: w.key("release"), {"model.bin": b"weights"},
                                               payload=shards_of(1024), target="file"),
    "gate: a shard manifest of one file, two artifacts": gate(
        by_key(), lambda w: w.key("release"), {"model.bin": b"weights", "extra.bin": b"x"},
        payload=shards_of(1024), target="file"),
    "gate: v0.2's digests name no model": gate(by_key(), lambda w: w.key("release"), NO_EXTRA, payload=v02_digests),
    "gate: a Sigstore signature": gate(by_sigstore(), lambda w: w.identity(), NO_EXTRA),
}


def trust_config(world: World) -> Path:
    path = world.root / "trust_config.json"
    path.write_text(json.dumps({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
                                "trustedRoot": json.loads(world.trusted_root.read_text())}))
    return path


def render(outcome: Outcome, root: Path) -> list[str]:
    """The outcome as lines: what users read, and what the gate and records use."""
    if outcome.report is None:
        return [f"error: {outcome.error}".replace(os.fspath(root), "<tmp>")]
    report = outcome.report
    lines = [f"{'PASSED' if report.passed else 'FAILED'} kind={report.kind} signer={report.signer_key}"]
    lines += [f"{'PASS' if check.passed else 'FAIL'} {check.message}" + (f" [{check.artifact}]" if check.artifact else "")
              for check in report.checks]
    lines += [f"artifact {a.name} sha256:{a.sha256} {'PASS' if a.passed else 'FAIL'} subject={a.subject}"
              for a in report.artifacts]
    lines += [f"subject {name} sha256:{digest}" for name, digest in report.subjects]
    lines.append(f"names {list(report.named_models)}")
    lines.append("payload none" if report.payload is None else f"payload sha256:{hashlib.sha256(report.payload).hexdigest()}")
    expected = hashlib.sha256(outcome.signature).hexdigest() if outcome.signature is not None else "f" * 64
    lines.append("provenance the signature file's" if report.provenance_sha256 == expected
                 else f"provenance {report.provenance_sha256}")
    assert all(type(check.passed) is bool for check in report.checks)
    assert all(type(a.passed) is bool for a in report.artifacts)
    return lines


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("oms-lines"))


def run(world: World, name: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    shutil.rmtree(world.root / "work", ignore_errors=True)  # each scenario starts from nothing
    with caplog.at_level(logging.WARNING, logger="slsa_models.oms"):
        lines = render(SCENARIOS[name](world), world.root)
    return lines + [f"log: {record.getMessage()}".replace(os.fspath(world.root), "<tmp>") for record in caplog.records]


def test_every_scenario_is_pinned(world: World, caplog: pytest.LogCaptureFixture) -> None:
    if os.environ.get("SLSA_MODELS_UPDATE_GOLDEN") == "1":
        pinned = {}
        for name in sorted(SCENARIOS):
            caplog.clear()
            pinned[name] = run(world, name, caplog)
        GOLDEN.write_text(json.dumps(pinned, indent=1) + "\n")
    assert sorted(json.loads(GOLDEN.read_text())) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_lines_of(world: World, name: str, caplog: pytest.LogCaptureFixture) -> None:
    assert run(world, name, caplog) == json.loads(GOLDEN.read_text())[name]
