"""All cryptography for Sigstore bundles, through sigstore-python's Verifier.

``Verifier.verify_dsse`` runs, in this order: certificate chain to the
Fulcio root at the log's signing time, SCT, certificate profile and our
identity policy (the OIDC issuer), the Rekor inclusion proof, checkpoint and
SET, the signing time inside the certificate's validity, the DSSE signature,
and last that the log entry records this very envelope. It stops at the
first failure; this module names that step as one of our checks, so a
tampered bundle reports *which* part is wrong. Nothing is re-implemented.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from slsa_models.errors import InputError
from slsa_models.kinds import GITHUB_ACTIONS_ISSUER
from slsa_models.untrusted import amount, file_kind, loads_json
from slsa_models.verify.bundle import one_line
from slsa_models.verify.github import oidc_issuer
from slsa_models.verify.report import Check

MAX_TRUSTED_ROOT_BYTES = 16 * 2**20  # sigstore's public-good root is about 10 KiB
CERTIFICATE_CHAIN = "certificate-chain"
CERTIFICATE_SCT = "certificate-sct"
CERTIFICATE_ISSUER = "certificate-issuer"
TRANSPARENCY_LOG = "transparency-log"
SIGNATURE = "signature"
LOG_ENTRY_BINDING = "log-entry-binding"
SIGNED_TIMESTAMP = "signed-timestamp"

# Check names in the order sigstore-python performs the steps, with what each proves.
CRYPTO_CHECKS: tuple[tuple[str, str], ...] = (
    (CERTIFICATE_CHAIN, "a certificate chaining to the trusted Fulcio root at signing time"),
    (CERTIFICATE_SCT, "a valid signed certificate timestamp from a trusted CT log"),
    (CERTIFICATE_ISSUER, GITHUB_ACTIONS_ISSUER),
    (TRANSPARENCY_LOG, "a Rekor entry with valid inclusion proof, checkpoint and SET"),
    (SIGNATURE, "a valid DSSE signature by the certificate's key"),
    (LOG_ENTRY_BINDING, "a log entry recording this envelope's payload and signature"),
)

# sigstore-python 4.x failure messages (by prefix) -> the step that failed.
_MESSAGE_STEPS: tuple[tuple[str, str], ...] = (
    ("failed to verify SCT", CERTIFICATE_SCT),
    ("CTFE keys not found", CERTIFICATE_SCT),  # a trusted root without CT logs
    ("Key usage", CERTIFICATE_CHAIN),
    ("Extended usage", CERTIFICATE_CHAIN),
    ("invalid signing cert", CERTIFICATE_CHAIN),
    ("invalid log entry", TRANSPARENCY_LOG),
    ("not enough sources of verified time", TRANSPARENCY_LOG),
    ("Integrated time only supported", TRANSPARENCY_LOG),
    ("too many signed timestamp", TRANSPARENCY_LOG),
    ("duplicate timestamp", TRANSPARENCY_LOG),
    ("no Timestamp Authorities", TRANSPARENCY_LOG),
    ("DSSE:", SIGNATURE),
    ("cannot perform DSSE", SIGNATURE),
    ("invalid DSSE log entry", LOG_ENTRY_BINDING),
    ("log entry payload hash", LOG_ENTRY_BINDING),
    ("log entry signatures", LOG_ENTRY_BINDING),
    ("Unsupported DSSE log entry type", LOG_ENTRY_BINDING),
    ("expected SHA256 payload hash", LOG_ENTRY_BINDING),
)


@dataclass
class SignatureResult:
    checks: list[Check]
    payload_type: str | None = None
    payload: bytes | None = None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


class _IssuerPolicy:
    """A sigstore VerificationPolicy that requires the OIDC issuer and remembers what it saw,
    so an issuer mismatch is reported as such rather than guessed from a message."""

    def __init__(self, expected: str, fold_case: bool = False) -> None:
        self.expected = expected
        self.fold_case = fold_case
        self.actual: str | None = None
        self.failed = False

    def matches(self, actual: str | None) -> bool:
        if actual is None or not self.fold_case:
            return actual == self.expected
        return actual.casefold() == self.expected.casefold()

    def verify(self, cert: Any) -> None:
        from sigstore.errors import VerificationError

        self.actual = oidc_issuer(cert)
        if not self.matches(self.actual):
            self.failed = True
            raise VerificationError(
                f"certificate OIDC issuer is {self.actual!r}, expected {self.expected!r}"
            )


def _load_production_verifier() -> Any:
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier

    tuf_logger = logging.getLogger("sigstore._internal.tuf")
    level = tuf_logger.level
    tuf_logger.setLevel(logging.ERROR)  # silence "loaded in offline mode": that is the point
    try:
        return Verifier.production(offline=True)
    except Exception:
        # No writable cache directory: fall back to the root shipped inside sigstore-python.
        from importlib import resources

        embedded = resources.files("sigstore._store").joinpath(
            "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", "trusted_root.json"
        )
        with resources.as_file(embedded) as path:
            return Verifier(trusted_root=TrustedRoot.from_file(str(path)))
    finally:
        tuf_logger.setLevel(level)


@functools.lru_cache(maxsize=8)
def _verifier_for(path: str | None, _mtime_ns: int, _size: int) -> tuple[Any, ...]:
    """A Verifier per trusted root in the file: one JSON document, or JSON lines of them
    (``gh attestation trusted-root`` prints the public-good root and GitHub's so)."""
    if path is None:
        return (_load_production_verifier(),)
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot.v1 import TrustedRoot as TrustedRootMessage

    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_TRUSTED_ROOT_BYTES + 1)
        lines = [line for line in raw.splitlines() if line.strip()]
        documents = lines if len(lines) > 1 and all(_json_object(line) for line in lines) else [raw]
        return tuple(_verifier(TrustedRoot(TrustedRootMessage.from_json(document)))
                     for document in documents)
    except Exception as error:
        raise InputError(f"{path}: not a usable Sigstore trusted root: {one_line(error)}") from None


def _json_object(line: bytes) -> bool:
    try:
        return isinstance(loads_json(line, "trusted root"), dict)
    except Exception:  # noqa: BLE001 - not one JSON object per line: read the file whole
        return False


def _verifier(trusted_root: Any) -> Any:
    from sigstore.verify import Verifier

    if trusted_root._inner.tlogs:
        return Verifier(trusted_root=trusted_root)
    # No transparency log (GitHub's own instance): sigstore-python's constructor wants one
    # for online lookups it never makes offline; the rest of its state is this.
    verifier = Verifier.__new__(Verifier)
    verifier._fulcio_certificate_chain = trusted_root.get_fulcio_certs()
    verifier._trusted_root = trusted_root
    verifier._rekor = None
    return verifier


def _verifiers(trusted_root: Path | None) -> tuple[Any, ...]:
    if trusted_root is None:
        return _verifier_for(None, 0, 0)
    try:
        info = os.stat(trusted_root)
    except OSError as error:
        raise InputError(f"{trusted_root}: cannot read the trusted root: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):  # checked before sigstore opens it: a FIFO would block
        raise InputError(f"{trusted_root}: not a regular file ({file_kind(info.st_mode)});"
                         " give the trusted root file itself")
    if info.st_size > MAX_TRUSTED_ROOT_BYTES:
        raise InputError(f"{trusted_root}: {amount(info.st_size)} is larger than the"
                         f" {MAX_TRUSTED_ROOT_BYTES // 2**20} MiB limit for a trusted root")
    return _verifier_for(os.fspath(trusted_root), info.st_mtime_ns, info.st_size)


def get_verifier(trusted_root: Path | None = None, certificate: x509.Certificate | None = None) -> Any:
    """sigstore-python's Verifier: public-good offline by default, or from a TrustedRoot file.

    With several roots in the file (JSON lines), the one whose Fulcio CA issued
    ``certificate`` (as gh picks by the certificate's issuer), else the first.
    Cached per file (and its modification time), so repeated verifications
    in one process do not reload the root.
    """
    verifiers = _verifiers(trusted_root)
    if certificate is not None and len(verifiers) > 1:
        for verifier in verifiers:
            if any(ca.subject == certificate.issuer for ca in verifier._fulcio_certificate_chain):
                return verifier
    return verifiers[0]


def _failed_step(error: Exception, policy: _IssuerPolicy) -> str:
    from sigstore.errors import CertValidationError

    if policy.failed:
        return CERTIFICATE_ISSUER
    if isinstance(error, CertValidationError):
        return CERTIFICATE_CHAIN
    message = str(error)
    for prefix, step in _MESSAGE_STEPS:
        if message.startswith(prefix):
            return step
    return SIGNATURE  # unknown failure: never a pass; the detail carries sigstore's words


def _log_entry(bundle: Any) -> tuple[Any, Any]:
    """(log index, integrated time) for the report, read from sigstore-python's parsed
    entry. Display only: if its internals change, the report just says less."""
    inner = getattr(bundle.log_entry, "_inner", None)
    return getattr(inner, "log_index", None), getattr(inner, "integrated_time", None)


def _passed_actual(name: str, bundle: Any, policy: _IssuerPolicy) -> str:
    if name == CERTIFICATE_CHAIN:
        try:
            moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(_log_entry(bundle)[1])))
        except (TypeError, ValueError, OverflowError, OSError):
            return "valid at the signed timestamp"
        return f"valid at {moment}"
    if name == CERTIFICATE_ISSUER:
        return policy.actual or ""
    if name == TRANSPARENCY_LOG:
        index = _log_entry(bundle)[0]
        return "verified" if index is None else f"verified entry at log index {index}"
    return "valid"


def _crypto_checks(issuer: str) -> tuple[tuple[str, str], ...]:
    if issuer == GITHUB_ACTIONS_ISSUER:
        return CRYPTO_CHECKS
    return tuple((name, issuer if name == CERTIFICATE_ISSUER else expected)
                 for name, expected in CRYPTO_CHECKS)


def _issuer_detail(policy: _IssuerPolicy, error: Exception) -> str:
    """gh's hint when the certificate names a custom issuer under the expected one."""
    if policy.actual and policy.actual.startswith(policy.expected + "/"):
        return ("a custom OIDC issuer under the expected one, as a GitHub Enterprise issuer "
                "policy makes; to trust it, give it with --cert-oidc-issuer, or cert-oidc-issuer "
                "in [github-attestation]")
    return one_line(error)


def verify_bundle(
    bundle: Any,
    trusted_root: Path | None = None,
    issuer: str = GITHUB_ACTIONS_ISSUER,
    *,
    fold_case: bool = False,
) -> SignatureResult:
    """Verify a Sigstore bundle's (sigstore-python's Bundle) DSSE envelope offline; never
    raises for a bad signature.

    On failure the steps before the failed one are reported as passed, the
    failed one with sigstore-python's reason, and the later ones not at all:
    they never ran.
    """
    verifier = get_verifier(trusted_root, bundle.signing_certificate)
    policy = _IssuerPolicy(issuer, fold_case)
    if bundle.log_entry is None:
        return _verify_timestamp_only(verifier, bundle, policy, issuer)
    try:
        payload_type, payload = verifier.verify_dsse(bundle, policy)
    except Exception as error:  # VerificationError, and anything a hostile bundle provokes
        failed = _failed_step(error, policy)
        checks = []
        for name, expected in _crypto_checks(issuer):
            if name == failed:
                if name == CERTIFICATE_ISSUER:
                    checks.append(Check(name, False, expected, policy.actual or "none",
                                        _issuer_detail(policy, error)))
                else:
                    checks.append(Check(name, False, expected, "invalid", one_line(error)))
                break
            checks.append(Check(name, True, expected, _passed_actual(name, bundle, policy)))
        return SignatureResult(checks)
    checks = [
        Check(name, True, expected, _passed_actual(name, bundle, policy))
        for name, expected in _crypto_checks(issuer)
    ]
    return SignatureResult(checks, payload_type, payload)


# --- bundles with signed timestamps and no transparency-log entry -------------------------------

def _verify_timestamp_only(verifier: Any, bundle: Any, policy: _IssuerPolicy, issuer: str) -> SignatureResult:
    """A bundle without a log entry, as GitHub's own Sigstore instance signs: verified on RFC
    3161 timestamps alone, and only against a trusted root that has no transparency log
    (gh's rule for a custom trusted root: a root with a log requires an entry in it; one with
    CT logs requires an SCT). sigstore-python's own steps, in its order, minus the log."""
    from sigstore import dsse
    from sigstore._internal.sct import verify_sct
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import VerificationError

    root = verifier._trusted_root
    certificate = bundle.signing_certificate
    checks: list[Check] = []
    step = SIGNED_TIMESTAMP
    expected = {
        SIGNED_TIMESTAMP: "an RFC 3161 timestamp from a TSA of the trusted root (no log entry)",
        CERTIFICATE_CHAIN: "a certificate chaining to the trusted Fulcio root at the signed time",
        CERTIFICATE_SCT: "a valid signed certificate timestamp from a trusted CT log",
        CERTIFICATE_ISSUER: issuer,
        SIGNATURE: "a valid DSSE signature by the certificate's key",
    }
    try:
        if root._inner.tlogs:
            raise VerificationError(
                "the bundle has no transparency-log entry, and the trusted root has a log: an "
                "entry is required (only a root without a log, like GitHub's own instance's, "
                "relies on signed timestamps alone)")
        if not root.get_timestamp_authorities():
            raise VerificationError("the bundle has no transparency-log entry and the trusted "
                                    "root has no timestamp authority to verify its timestamps")
        times = verifier._verify_timestamp_authority(bundle)
        if not times:
            raise VerificationError("no RFC 3161 timestamp verified against the trusted root's "
                                    "timestamp authorities")
        moment = min(result.time for result in times)
        checks.append(Check(SIGNED_TIMESTAMP, True, expected[SIGNED_TIMESTAMP],
                            f"{len(times)} verified, at {moment:%Y-%m-%dT%H:%M:%SZ}"))
        step = CERTIFICATE_CHAIN
        chain: list[Any] = []
        for result in times:
            chain = verifier._verify_chain_at_time(certificate, result)
            if not certificate.not_valid_before_utc <= result.time <= certificate.not_valid_after_utc:
                raise VerificationError(f"invalid signing cert: expired at the signed time {result.time}")
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        purposes = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if not usage.digital_signature or x509.ExtendedKeyUsageOID.CODE_SIGNING not in purposes:
            raise VerificationError("the certificate is not for code signing (key usage)")
        checks.append(Check(CERTIFICATE_CHAIN, True, expected[CERTIFICATE_CHAIN],
                            f"valid at {moment:%Y-%m-%dT%H:%M:%SZ}"))
        step = CERTIFICATE_SCT
        if root._inner.ctlogs:
            verify_sct(certificate, chain, root.ct_keyring(KeyringPurpose.VERIFY))
            checks.append(Check(CERTIFICATE_SCT, True, expected[CERTIFICATE_SCT], "valid"))
        step = CERTIFICATE_ISSUER
        policy.verify(certificate)
        checks.append(Check(CERTIFICATE_ISSUER, True, issuer, policy.actual or ""))
        step = SIGNATURE
        envelope = bundle._dsse_envelope
        if envelope is None:
            raise VerificationError("cannot perform DSSE verification on a bundle without a DSSE envelope")
        dsse._verify(certificate.public_key(), envelope)
        checks.append(Check(SIGNATURE, True, expected[SIGNATURE], "valid"))
    except Exception as error:  # VerificationError, and anything a hostile bundle provokes
        if step == CERTIFICATE_ISSUER:
            checks.append(Check(step, False, issuer, policy.actual or "none", _issuer_detail(policy, error)))
        else:
            checks.append(Check(step, False, expected[step], "invalid", one_line(error)))
        return SignatureResult(checks)
    return SignatureResult(checks, envelope._inner.payload_type, envelope._inner.payload)
