"""Verify OMS signatures: who signed (key, certificate chain, Sigstore), then the files.

``verify_model(path, signature, policy)`` is ``model_signing verify`` (the
CLI's ``verify-signature``): it hashes the model file or folder as the signed
manifest describes it (files or shards) and compares. ``verify_oms`` is the
gate's verifier (``verify.api.KIND_VERIFIERS``): the model's files arrive as
Artifacts (relative path, SHA-256) already hashed.

Checks, in order (names are stable):

* key kind: ``signature`` (a trusted key verifies the DSSE signature), ``key-hint``
* certificate kind: ``certificate-chain`` (to a trusted root at the certificate's
  notBefore, as model_signing), ``certificate-usage`` (digital signature or code
  signing), ``signature``
* Sigstore kind: sigstore-python's steps (``verify.crypto``: certificate-chain,
  certificate-sct, certificate-issuer, transparency-log, signature,
  log-entry-binding) and ``cert-identity``
* ``statement``: an in-toto statement with an OMS manifest, consistent with its root digest
* ``model-files``: exactly the signed files (changed, missing, added, renamed or swapped
  files are named); in the gate, ``model-file`` per artifact too.

The cryptography is ``cryptography``'s (ECDSA, X.509 path validation) and
sigstore-python's; only DSSE's pre-authentication encoding is built here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from slsa_models.errors import InputError, ProvenanceError, StatementError
from slsa_models.kinds import KIND_OMS
from slsa_models.oms.format import (
    FILES,
    PAYLOAD_TYPE,
    SIGNER_CERTIFICATE,
    SIGNER_KEY,
    SIGNER_SIGSTORE,
    OMSBundle,
    SignedManifest,
    parse_bundle,
    parse_manifest,
)
from slsa_models.oms.trust import CURVES, OMSKey, key_hash
from slsa_models.untrusted import read_regular_file
from slsa_models.verify.bundle import MAX_PROVENANCE_BYTES, one_line
from slsa_models.verify.policy import OMSPolicy
from slsa_models.verify.names import MODEL_FILES
from slsa_models.verify.report import ArtifactResult, Check, Report

if TYPE_CHECKING:  # imported where certificates are used: slow to import
    from cryptography import x509

log = logging.getLogger(__name__)
SIGNER = "signer"
SIGNATURE = "signature"
KEY_HINT = "key-hint"
CERTIFICATE_CHAIN = "certificate-chain"
CERTIFICATE_USAGE = "certificate-usage"
CERTIFICATE_IDENTITY = "cert-identity"
STATEMENT = "statement"
MODEL_FILE = "model-file"
STATEMENT_EXPECTED = "an in-toto statement with an OMS manifest (https://model_signing/signature/v1.0)"
SIGNER_NAMES = {SIGNER_KEY: "a public key", SIGNER_CERTIFICATE: "a certificate chain",
                SIGNER_SIGSTORE: "a Sigstore identity"}


# -- signatures --------------------------------------------------------------------------

def pae(payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding of an in-toto payload."""
    return b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def pae_compat(payload: bytes) -> bytes:
    """What model_signing v0.2 signed instead (its bug, kept by model_signing for
    compatibility): ``DSSEV1`` and the payload's Python ``bytes`` repr."""
    return f"DSSEV1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} {payload!s}".encode()


def _ecdsa_ok(key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes,
              algorithm: hashes.HashAlgorithm) -> bool:
    try:
        key.verify(signature, message, ec.ECDSA(algorithm))
    except (InvalidSignature, ValueError):  # a forged or malformed signature: not signed by this key
        return False
    return True


def signs(key: ec.EllipticCurvePublicKey, bundle: OMSBundle, *, compat_sha256: bool = False) -> bool:
    """Whether ``key`` signed the envelope (the current encoding, or v0.2's)."""
    if bundle.payload_type != PAYLOAD_TYPE:
        return False
    algorithm = key_hash(key)
    for signature in bundle.signatures:
        if _ecdsa_ok(key, signature, pae(bundle.payload), algorithm):
            return True
        compat = hashes.SHA256() if compat_sha256 else algorithm
        if _ecdsa_ok(key, signature, pae_compat(bundle.payload), compat):
            return True
    return False


@dataclass
class SignerResult:
    checks: list[Check]
    signer: str | None = None  # who signed, for the report (once verified)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def _wrong_signer(bundle: OMSBundle, policy: OMSPolicy) -> SignerResult:
    trusted = " or ".join(SIGNER_NAMES[name] for name in policy.signers)
    actual = {SIGNER_KEY: "signed with a key", SIGNER_CERTIFICATE: "signed with a certificate chain",
              SIGNER_SIGSTORE: "signed with Sigstore"}[bundle.signer]
    need = {SIGNER_KEY: "a public key (--public_key, or public-key in [oms])",
            SIGNER_CERTIFICATE: "a certificate chain (--certificate_chain, or certificate-chain in [oms])",
            SIGNER_SIGSTORE: "an identity and identity provider (--identity, --identity_provider)"}
    return SignerResult([Check(SIGNER, False, f"a signature by {trusted}", actual,
                               f"this signature is checked with {need[bundle.signer]}")])


def _verify_key(bundle: OMSBundle, keys: Sequence[OMSKey]) -> SignerResult:
    names = ", ".join(key.name for key in keys)
    expected = f"a DSSE signature by a trusted key ({names})"
    ordered = sorted(keys, key=lambda key: key.hint != bundle.key_hint)
    signer = next((key for key in ordered if signs(key.public_key, bundle)), None)
    if signer is None:
        return SignerResult([Check(SIGNATURE, False, expected, "no trusted key verifies it",
                                   "signed with another key, or the signed manifest was changed")])
    checks = [Check(SIGNATURE, True, expected, f"signed by {signer.name} (key hint {signer.hint[:16]})")]
    if bundle.key_hint is None:
        checks.append(Check(KEY_HINT, True, signer.hint, "(none)",
                            "a pre-1.0 signature names no key; the signature alone identifies it"))
    else:
        ok = bundle.key_hint == signer.hint
        checks.append(Check(KEY_HINT, ok, signer.hint, bundle.key_hint,
                            "" if ok else "the signature's key hint names another key than the one that signed"))
    return SignerResult(checks, f"key {signer.name}")


def _subject(certificate: x509.Certificate) -> str:
    try:
        return certificate.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unreadable subject)"


def _verify_certificate(bundle: OMSBundle, roots: Sequence[x509.Certificate]) -> SignerResult:
    from cryptography import x509
    from cryptography.x509 import ExtendedKeyUsage, ExtensionNotFound, KeyUsage
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store

    expected = f"a signing certificate chaining to a trusted root ({len(roots)} given)"
    try:
        leaf = x509.load_der_x509_certificate(bundle.chain[0])
        intermediates = [x509.load_der_x509_certificate(der) for der in bundle.chain[1:]]
    except ValueError as error:
        return SignerResult([Check(CERTIFICATE_CHAIN, False, expected, "unreadable certificate",
                                   one_line(error))])
    moment = leaf.not_valid_before_utc  # model_signing's rule: valid when it was issued
    try:
        verifier = (PolicyBuilder().store(Store(list(roots))).time(moment)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                        ee_policy=ExtensionPolicy.permit_all())
                    .build_client_verifier())
        chain = verifier.verify(leaf, intermediates).chain
    except Exception as error:  # noqa: BLE001 - VerificationError, and what a hostile chain provokes
        return SignerResult([Check(CERTIFICATE_CHAIN, False, expected, _subject(leaf), one_line(error))])
    anchor = chain[-1]
    if anchor.subject != anchor.issuer:  # OpenSSL's rule (model_signing): the anchor is a root
        return SignerResult([Check(CERTIFICATE_CHAIN, False, expected, f"a chain ending at {_subject(anchor)}",
                                   "the trusted certificate it chains to is not a root (self-signed) "
                                   "certificate; give the root with --certificate_chain")])
    checks = [Check(CERTIFICATE_CHAIN, True, expected,
                    f"{_subject(leaf)} via {' -> '.join(_subject(cert) for cert in chain[1:])}")]
    usable = False
    with contextlib.suppress(ExtensionNotFound):
        usable = leaf.extensions.get_extension_for_class(KeyUsage).value.digital_signature
    if not usable:
        with contextlib.suppress(ExtensionNotFound):
            usable = ExtendedKeyUsageOID.CODE_SIGNING in leaf.extensions.get_extension_for_class(
                ExtendedKeyUsage).value
    checks.append(Check(CERTIFICATE_USAGE, usable, "key usage digital signature, or code signing",
                        "allowed" if usable else "neither",
                        "" if usable else "the signing certificate cannot be used for signing"))
    if not usable:
        return SignerResult(checks)
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        checks.append(Check(SIGNATURE, False, "an ECDSA signature (P-256, P-384 or P-521)",
                            type(key).__name__, "model signing uses ECDSA keys only"))
        return SignerResult(checks)
    ok = signs(key, bundle, compat_sha256=True)
    checks.append(Check(SIGNATURE, ok, "a DSSE signature by the certificate's key",
                        "valid" if ok else "invalid",
                        "" if ok else "the signed manifest was changed, or another key signed it"))
    return SignerResult(checks, f"certificate {_subject(leaf)}")


@contextlib.contextmanager
def _trusted_root_file(path: Path | None) -> Iterator[Path | None]:
    """A Sigstore TrustedRoot file for ``verify.crypto``: the file itself, or the trusted root
    inside a ClientTrustConfig (model_signing's --trust_config), written to a temporary file."""
    if path is None:
        yield None
        return
    data = read_regular_file(path, max_bytes=16 * 2**20, what="trust configuration")
    try:
        document = json.loads(data)
    except ValueError:
        raise InputError(f"{path}: not JSON; expected a Sigstore trust configuration") from None
    media = document.get("mediaType", "") if isinstance(document, dict) else ""
    if not (isinstance(media, str) and "clienttrustconfig" in media.lower()):
        yield path
        return
    root = document.get("trustedRoot")
    if not isinstance(root, dict):
        raise InputError(f"{path}: a client trust configuration without a trustedRoot")
    with tempfile.TemporaryDirectory(prefix="oms-root-") as folder:
        target = Path(folder) / "trusted_root.json"
        target.write_text(json.dumps(root), encoding="utf-8")
        yield target


def _verify_sigstore(bundle: OMSBundle, policy: OMSPolicy) -> SignerResult:
    from sigstore.verify.policy import Identity

    from slsa_models.verify.crypto import verify_bundle

    assert policy.identity is not None and policy.identity_provider is not None
    with _trusted_root_file(policy.trusted_root) as root:
        result = verify_bundle(bundle.sigstore_bundle, root, policy.identity_provider)
    checks = list(result.checks)
    if not result.passed:
        return SignerResult(checks)
    certificate = bundle.sigstore_bundle.signing_certificate
    try:
        Identity(identity=policy.identity, issuer=policy.identity_provider).verify(certificate)
        checks.append(Check(CERTIFICATE_IDENTITY, True, policy.identity, policy.identity))
    except Exception as error:  # noqa: BLE001 - sigstore's VerificationError
        # the SANs are in "found", in a stable order (sigstore prints them as a set)
        checks.append(Check(CERTIFICATE_IDENTITY, False, policy.identity, _sans(certificate),
                            one_line(error).split("; actual SANs:")[0]))
        return SignerResult(checks)
    return SignerResult(checks, f"{policy.identity} ({policy.identity_provider})")


def _sans(certificate: x509.Certificate) -> str:
    from cryptography import x509

    try:  # Sigstore's chain check has required the extension: this is for a malformed one
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        values = [str(value) for value in names.get_values_for_type(x509.RFC822Name)]
        values += [str(value) for value in names.get_values_for_type(x509.UniformResourceIdentifier)]
    except Exception:  # noqa: BLE001 - missing or malformed
        values = []
    return ", ".join(values) or "no email or URI subject alternative name"


def verify_signer(bundle: OMSBundle, policy: OMSPolicy) -> SignerResult:
    """Who signed, judged by the policy; never raises for a bad signature."""
    if bundle.signer not in policy.signers:
        return _wrong_signer(bundle, policy)
    if bundle.signer == SIGNER_KEY:
        return _verify_key(bundle, policy.public_keys)
    if bundle.signer == SIGNER_CERTIFICATE:
        return _verify_certificate(bundle, [trusted.certificate for trusted in policy.certificate_chain])
    return _verify_sigstore(bundle, policy)


def read_manifest(bundle: OMSBundle, checks: list[Check]) -> SignedManifest | None:
    """The verified payload's manifest, with a ``statement`` check either way."""
    try:
        manifest = parse_manifest(bundle.payload_type, bundle.payload)
    except StatementError as error:
        checks.append(Check(STATEMENT, False, STATEMENT_EXPECTED, "unsupported", str(error)))
        return None
    checks.append(Check(STATEMENT, True, STATEMENT_EXPECTED,
                        f"{manifest.method} manifest of {len(manifest.resources)} "
                        f"{'file' if manifest.method == FILES else 'shard'}"
                        f"{'s' if len(manifest.resources) != 1 else ''} ({manifest.predicate_type})"))
    return manifest


# -- files -------------------------------------------------------------------------------

def _shard_summary(resources: Mapping[str, str]) -> dict[str, str]:
    """Shards by file, each file as one digest over its shards (for naming differences)."""
    from slsa_models.oms.format import split_shard

    files: dict[str, list[str]] = {}
    for name in sorted(resources, key=lambda n: split_shard(n)):
        path, start, end = split_shard(name)
        files.setdefault(path, []).append(f"{start}:{end}:{resources[name]}")
    return {path: hashlib.sha256("\n".join(parts).encode()).hexdigest() for path, parts in files.items()}


def check_files(manifest: SignedManifest, actual: Mapping[str, str]) -> Check:
    """``model-files``: the files hashed equal the signed ones (names each difference)."""
    from slsa_models.manifest import compare_files
    from slsa_models.verify.names import files_check

    shards = manifest.method != FILES
    signed = _shard_summary(manifest.resources) if shards else dict(manifest.resources)
    found = _shard_summary(actual) if shards else dict(actual)
    differences = compare_files(signed, found)
    if shards:
        differences = [d if d.kind != "changed" else type(d)(d.kind, d.path, "its shards differ from "
                                                                            "the signed ones")
                       for d in differences]
    if manifest.is_single_file or "." in found:
        differences = [type(d)(d.kind, "the model file" if d.path == "." else d.path, d.detail)
                       for d in differences]
    return files_check(len(signed), len(found), differences)


def resolve_ignore_paths(model_path: Path, paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """model_signing's --ignore-paths: relative to the working directory (or absolute);
    those outside the model are dropped, as model_signing does."""
    root = model_path.resolve()
    resolved = []
    for given in paths:
        candidate = Path(given).resolve()  # a relative path: from the working directory
        try:
            relative = candidate.relative_to(root).as_posix()
        except ValueError:
            if not Path(given).is_absolute() and (model_path / given).exists():
                log.warning("--ignore-paths %s names nothing inside %s (paths are relative to the "
                            "working directory, as in model_signing): did you mean %s?",
                            os.fspath(given), os.fspath(model_path), os.fspath(model_path / given))
            continue
        if relative != ".":  # the folder itself
            resolved.append(relative)
    return resolved


def _signed_ignore_paths(manifest: SignedManifest) -> list[str]:
    """The paths the signer left out (they are signed); any that could name something outside
    the folder, or the whole folder, are not honoured (ignoring less is the safe side)."""
    from slsa_models.manifest import validate_relative_path

    kept = []
    for path in manifest.ignore_paths:
        try:  # "/x" is not "x": model_signing drops an absolute path, so does this
            kept.append(validate_relative_path(path.rstrip("/")))
        except InputError:
            continue
    return kept


def hash_model(model_path: Path, manifest: SignedManifest, ignore_paths: Sequence[str], *,
               ignore_git_paths: bool, allow_symlinks: bool, ignore_unsigned_files: bool,
               workers: int | None) -> dict[str, str]:
    """The model's resources as the manifest names them: path (``.`` for a file) -> hex, or
    ``path:start:end`` -> hex for a shard manifest."""
    from slsa_models.digest import sha256_file
    from slsa_models.manifest import hash_files
    from slsa_models.oms.format import split_shard
    from slsa_models.oms.hashing import hash_shards, in_flight, list_model_files

    if not allow_symlinks and model_path.is_symlink():
        raise InputError(f"{model_path}: is a symlink (give --allow_symlinks to follow it)")
    if not model_path.exists():
        raise InputError(f"{model_path}: no such model file or folder")
    is_dir = model_path.is_dir()
    shards = manifest.method != FILES
    if not is_dir:
        if shards:
            return hash_shards(model_path, ["."], manifest.shard_size or 1, workers=workers)
        return {".": sha256_file(model_path)}
    ignore = list(ignore_paths) + _signed_ignore_paths(manifest)
    paths = list_model_files(model_path, ignore, ignore_git_paths=ignore_git_paths,
                             allow_symlinks=allow_symlinks)
    if ignore_unsigned_files:
        signed = {split_shard(name)[0] if shards else name for name in manifest.resources}
        paths = [path for path in paths if path in signed]
    if shards:
        return hash_shards(model_path, paths, manifest.shard_size or 1, workers=workers)
    return hash_files(model_path, paths, workers=workers or in_flight(len(paths)))


# -- reports -----------------------------------------------------------------------------

def _report(bundle_sha256: str, checks: list[Check], artifacts: list[ArtifactResult],
            signer: str | None, payload: bytes | None = None,
            subjects: tuple[tuple[str, str], ...] = (), named: tuple[str, ...] = ()) -> Report:
    return Report(passed=all(check.passed for check in checks) and all(a.passed for a in artifacts),
                  checks=checks, artifacts=artifacts, builder_id=None, source_uri=None, commit=None,
                  provenance_sha256=bundle_sha256, kind=KIND_OMS, payload=payload, signer_key=signer,
                  named_models=named, subjects=subjects)


def load_signature(path: str | os.PathLike[str]) -> tuple[OMSBundle, str]:
    """Read (bounded) and parse an OMS signature file: (bundle, hex SHA-256 of the file)."""
    raw = read_regular_file(path, max_bytes=MAX_PROVENANCE_BYTES, what="signature file",
                            error=ProvenanceError)
    return parse_bundle(os.fspath(path), raw), hashlib.sha256(raw).hexdigest()


def verify_model(model_path: str | os.PathLike[str], signature_path: str | os.PathLike[str],
                 policy: OMSPolicy, *, ignore_paths: Sequence[str] = (), ignore_git_paths: bool = True,
                 allow_symlinks: bool = False, workers: int | None = None) -> Report:
    """``model_signing verify``: the signature, then the model file or folder against it.

    ``ignore_paths`` are relative to the model (see ``resolve_ignore_paths`` for the CLI's
    meaning); the policy's ``ignore_paths`` and ``ignore_unsigned_files`` apply too, and so
    do the paths the signer left out, and the signature file itself when it is inside.
    """
    path = Path(model_path)
    bundle, sha256 = load_signature(signature_path)
    result = verify_signer(bundle, policy)
    checks = list(result.checks)
    if not result.passed:
        return _report(sha256, checks, [], None)
    manifest = read_manifest(bundle, checks)
    if manifest is None:
        return _report(sha256, checks, [], None, bundle.payload)
    ignore = list(ignore_paths) + list(policy.ignore_paths)
    ignore += resolve_ignore_paths(path, [Path(signature_path).absolute()])  # nothing for a one-file model
    actual = hash_model(path, manifest, ignore, ignore_git_paths=ignore_git_paths,
                        allow_symlinks=allow_symlinks, ignore_unsigned_files=policy.ignore_unsigned_files,
                        workers=workers)
    checks.append(check_files(manifest, actual))
    files = manifest.method == FILES
    artifacts = [ArtifactResult(name if name != "." else path.name, digest,
                                manifest.resources.get(name) == digest, name)
                 for name, digest in sorted(actual.items())] if files else []
    subjects = tuple((name if name != "." else path.name, digest)
                     for name, digest in sorted(manifest.resources.items())) if files else ()
    named = (manifest.model_name,) if manifest.predicate_type != "https://model_signing/Digests/v0.1" else ()
    return _report(sha256, checks, artifacts, result.signer, bundle.payload, subjects, named)


def verify_oms(bundle: OMSBundle, sha256: str, artifacts: Sequence[Any], policy: OMSPolicy) -> Report:
    """The gate's verifier: ``artifacts`` are the model's files (Artifact: relative path, or the
    file name for a one-file model, and SHA-256). Subjects of the report are (path, hex) of the
    signed files, with no ``<model>/`` prefix (a one-file model's ``.`` becomes its file name)."""
    result = verify_signer(bundle, policy)
    checks = list(result.checks)
    if not result.passed:
        return _report(sha256, checks, _results(checks, artifacts, {}), None)
    manifest = read_manifest(bundle, checks)
    if manifest is None:
        return _report(sha256, checks, _results(checks, artifacts, {}), None, bundle.payload)
    signed = _signed_files(manifest, artifacts, checks)
    if signed is None:
        return _report(sha256, checks, _results(checks, artifacts, {}), result.signer, bundle.payload)
    out = _left_out([artifact.name for artifact in artifacts], policy, manifest, signed)
    actual = {artifact.name: artifact.sha256 for artifact in artifacts if artifact.name not in out}
    checks.append(check_files(dataclasses.replace(manifest, method=FILES, resources=signed), actual))
    for artifact in artifacts:
        if artifact.name in actual:
            want = signed.get(artifact.name)
            checks.append(Check(MODEL_FILE, want == artifact.sha256,
                                f"sha256:{want}" if want else "a signed file",
                                f"sha256:{artifact.sha256}", "" if want == artifact.sha256 else
                                ("not signed" if want is None else "differs from the signed file"),
                                artifact=artifact.name))
    named = (manifest.model_name,) if manifest.predicate_type != "https://model_signing/Digests/v0.1" else ()
    return _report(sha256, checks, _results(checks, artifacts, signed), result.signer, bundle.payload,
                   tuple(sorted(signed.items())), named)


def _left_out(paths: Iterable[str], policy: OMSPolicy, manifest: SignedManifest,
              signed: Mapping[str, str]) -> set[str]:
    """The paths an OMS verification leaves out: under the policy's or the signer's ignored
    paths, and, with ``ignore_unsigned_files``, every path the signature does not list."""
    from slsa_models.manifest import is_ignored

    ignore = list(policy.ignore_paths) + _signed_ignore_paths(manifest)
    return {path for path in paths
            if is_ignored(path, ignore) or (policy.ignore_unsigned_files and path not in signed)}


def files_compared(report: Report, policy: OMSPolicy, files: Mapping[str, str]) -> dict[str, str]:
    """``files`` (relative path -> hex) without those the OMS verification behind ``report``
    left out (see ``_left_out``): what the gate compares with the signed files, so a file the
    policy or the signer leaves out is not reported as added."""
    if report.payload is None:
        return dict(files)
    try:
        manifest = parse_manifest(PAYLOAD_TYPE, report.payload)
    except StatementError:
        return dict(files)
    out = _left_out(files, policy, manifest, dict(report.subjects))
    return {path: digest for path, digest in files.items() if path not in out}


def _signed_files(manifest: SignedManifest, artifacts: Sequence[Any], checks: list[Check]) -> dict[str, str] | None:
    """The signed files as path -> hex SHA-256. A shard manifest binds files only when each is
    one shard from byte 0 (its digest is then the file's SHA-256); a one-file manifest binds
    the one artifact's name. Otherwise a failed check and None."""
    from slsa_models.oms.format import split_shard

    files: dict[str, str] = {}
    for name, digest in manifest.resources.items():
        path, start = (name, 0) if manifest.method == FILES else split_shard(name)[:2]
        if start != 0 or path in files:
            checks.append(Check(MODEL_FILES, False, "files hashed whole",
                                f"a shard manifest (shard size {manifest.shard_size})",
                                "files in several shards can only be checked against their bytes: "
                                "verify with slsa-models verify-signature"))
            return None
        files[path] = digest
    if list(files) != ["."]:
        return files
    if len(artifacts) != 1:
        checks.append(Check(MODEL_FILES, False, "one model file (the signature signs a single file)",
                            f"{len(artifacts)} files"))
        return None
    return {artifacts[0].name: files["."]}


def _results(checks: list[Check], artifacts: Sequence[Any], signed: Mapping[str, str]) -> list[ArtifactResult]:
    shared_ok = all(check.passed for check in checks if check.artifact is None)
    results = []
    for artifact in artifacts:
        # a file with no check of its own was left out: it stands with the shared checks (a
        # signed file left out fails model-files as missing)
        passed = shared_ok and all(check.passed for check in checks if check.artifact == artifact.name)
        results.append(ArtifactResult(artifact.name, artifact.sha256, passed,
                                      artifact.name if artifact.name in signed else None))
    return results
