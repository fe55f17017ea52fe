"""Verify key-signed provenance from the local builder against the policy's trusted keys.

Order of checks: ``signature`` (some trusted key verifies the DSSE signature;
the cryptography is ``cryptography``'s, through provenance.dsse), ``key-hint``
(the bundle names that same key), ``key-expiry`` (when the policy sets one),
``statement`` (in-toto v1, SLSA v1), ``builder-id`` (exactly the builder the
key is trusted for; there is no default), ``source-uri`` (when the key entry
sets one) and ``subject-digest`` per artifact. A failure of the first three
yields a report that vouches for nothing.

The hint only orders the candidate keys: every trusted key is tried, and a
hint that names another key than the one that verifies is a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from slsa_models.errors import InputError
from slsa_models.provenance.dsse import signature_is_valid
from slsa_models.verify.artifact import Artifact
from slsa_models.verify.bundle import KeySignedEnvelope, LoadedProvenance
from slsa_models.verify.checks import check_subject
from slsa_models.verify.keys import TrustedKey, rfc3339
from slsa_models.verify.names import named_models
from slsa_models.verify.policy import LocalBuilderPolicy, normalize_source_uri
from slsa_models.verify.report import Check, Report, artifact_results, unverified
from slsa_models.verify.statement import KIND_LOCAL, Provenance, StatementError, parse_local_statement

SIGNATURE = "signature"
KEY_HINT = "key-hint"
KEY_EXPIRY = "key-expiry"
MISSING = "(missing)"
STATEMENT_EXPECTED = "an in-toto Statement v1 with SLSA v1 provenance"


def _candidates(keys: Sequence[TrustedKey], hint: str | None) -> list[TrustedKey]:
    """Every trusted key, the one the hint names first."""
    return sorted(keys, key=lambda key: key.hint != hint)


def find_signer(envelope: KeySignedEnvelope, keys: Sequence[TrustedKey]) -> TrustedKey | None:
    """The trusted key whose signature over the envelope verifies, else None."""
    for key in _candidates(keys, envelope.hint):
        for signature in envelope.signatures:
            if signature_is_valid(key.public_key, envelope.payload_type, envelope.payload, signature):
                return key
    return None


def check_signature(signer: TrustedKey | None, keys: Sequence[TrustedKey]) -> Check:
    trusted = ", ".join(key.name for key in keys)
    expected = f"a DSSE signature by a trusted key ({trusted})"
    if signer is None:
        return Check(SIGNATURE, False, expected, "no trusted key verifies it",
                     "signed with another key, or the signed payload was changed")
    return Check(SIGNATURE, True, expected, f"signed by {signer.name} (key hint {signer.hint[:16]})")


def check_key_hint(hint: str | None, signer: TrustedKey) -> Check:
    if hint is None:
        return Check(KEY_HINT, False, signer.hint, MISSING,
                     "the provenance names no key (verificationMaterial.publicKey.hint)")
    ok = hint == signer.hint
    return Check(KEY_HINT, ok, signer.hint, hint,
                 "" if ok else "the bundle's key hint names another key than the one that signed")


def check_key_expiry(signer: TrustedKey, now: datetime) -> Check:
    assert signer.expires is not None
    expected = f"trust in key {signer.name} until {rfc3339(signer.expires)}"
    ok = not signer.expired(now)
    return Check(KEY_EXPIRY, ok, expected, f"verified at {rfc3339(now)}",
                 "" if ok else f"the policy stopped trusting key {signer.name} on "
                               f"{rfc3339(signer.expires)}; renew the entry or rotate the key")


def check_builder(provenance: Provenance, expected: str) -> Check:
    ok = provenance.builder_id == expected
    return Check("builder-id", ok, expected, provenance.builder_id,
                 "" if ok else "built by another builder than the key is trusted for")


def recorded_repository(uri: str | None) -> str | None:
    """A recorded git URI (git+https, https, scp-like or ssh, with or without .git) in
    slsa-verifier's form ``git+https://github.com/o/r``; None if it is not a GitHub one."""
    if not uri:
        return None
    text = uri.removeprefix("git+")
    for prefix in ("git@github.com:", "ssh://git@github.com/"):
        if text.startswith(prefix):
            text = "https://github.com/" + text[len(prefix):]
    text = text.rstrip("/").removesuffix(".git")
    try:
        return normalize_source_uri(text)
    except InputError:
        return None


def check_local_source(provenance: Provenance, expected_uri: str) -> Check:
    expected = normalize_source_uri(expected_uri)
    actual = recorded_repository(provenance.source_uri)
    if actual == expected:
        return Check("source-uri", True, expected, expected)
    shown = provenance.source_uri or "no git source"
    return Check("source-uri", False, expected, shown,
                 "built from another repository" if provenance.source_uri
                 else "the local build records no git checkout (resolvedDependencies)")


def verify_key_signed(loaded: LoadedProvenance, artifacts: Sequence[Artifact],
                      policy: LocalBuilderPolicy, now: datetime | None = None) -> Report:
    envelope: KeySignedEnvelope = loaded.bundle
    signer = find_signer(envelope, policy.keys)
    checks = [check_signature(signer, policy.keys)]
    if signer is None:
        return unverified(loaded, checks, artifacts, KIND_LOCAL)
    checks.append(check_key_hint(envelope.hint, signer))
    if signer.expires is not None:
        checks.append(check_key_expiry(signer, now or datetime.now(timezone.utc)))
    if not all(check.passed for check in checks):
        return unverified(loaded, checks, artifacts, KIND_LOCAL)
    try:
        provenance = parse_local_statement(envelope.payload_type, envelope.payload)
    except StatementError as error:
        checks.append(Check("statement", False, STATEMENT_EXPECTED, "unsupported", str(error)))
        return unverified(loaded, checks, artifacts, KIND_LOCAL, envelope.payload)
    checks.append(Check("statement", True, STATEMENT_EXPECTED,
                        f"{provenance.predicate_type} ({provenance.build_type})"))
    assert signer.builder_id is not None  # LocalBuilderPolicy refuses keys without one
    checks.append(check_builder(provenance, signer.builder_id))
    if signer.source_uri is not None:
        checks.append(check_local_source(provenance, signer.source_uri))
    checks += [check_subject(provenance, artifact) for artifact in artifacts]
    results = artifact_results(checks, artifacts, provenance.subject_names())
    return Report(
        passed=all(c.passed for c in checks) and all(r.passed for r in results),
        checks=checks,
        artifacts=results,
        builder_id=provenance.builder_id,
        source_uri=provenance.source_uri,
        commit=provenance.commits[0][1],
        provenance_sha256=loaded.sha256,
        kind=KIND_LOCAL,
        payload=envelope.payload,
        signer_key=signer.name,
        named_models=named_models(provenance, results),
        subjects=provenance.subject_digests(),
        invocation=provenance.invocation,
    )
