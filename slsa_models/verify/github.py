"""The GitHub Actions identity inside a Fulcio certificate.

Fulcio records the OIDC token's claims as X.509 extensions
(https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md). The 1.1-1.6
extensions are raw bytes (deprecated, still issued); 1.8 onwards are DER
UTF8Strings. Decoding goes through ``cryptography``; nothing here verifies,
it only reads a certificate that sigstore-python has verified.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat import asn1

GITHUB_URL = "https://github.com/"

_FULCIO_OID_PREFIX = "1.3.6.1.4.1.57264.1."
# OID suffix -> field name. 1-6 are raw-bytes (v1) extensions.
_RAW_EXTENSIONS = {
    "1": "issuer_v1",
    "2": "workflow_trigger",
    "3": "workflow_sha",
    "4": "workflow_name",
    "5": "workflow_repository",
    "6": "workflow_ref",
}
_DER_EXTENSIONS = {
    "8": "issuer",
    "9": "build_signer_uri",
    "10": "build_signer_digest",
    "11": "runner_environment",
    "12": "source_repository_uri",
    "13": "source_repository_digest",
    "14": "source_repository_ref",
    "15": "source_repository_id",
    "16": "source_repository_owner_uri",
    "17": "source_repository_owner_id",
    "18": "build_config_uri",
    "19": "build_config_digest",
    "20": "build_trigger",
    "21": "run_invocation_uri",
    "22": "source_repository_visibility",
}


@dataclass(frozen=True, slots=True)
class GitHubIdentity:
    """Claims from the certificate. Missing extensions are None."""

    san_uri: str | None = None
    issuer_v1: str | None = None
    workflow_trigger: str | None = None
    workflow_sha: str | None = None
    workflow_name: str | None = None
    workflow_repository: str | None = None
    workflow_ref: str | None = None
    issuer: str | None = None
    build_signer_uri: str | None = None
    build_signer_digest: str | None = None
    runner_environment: str | None = None
    source_repository_uri: str | None = None
    source_repository_digest: str | None = None
    source_repository_ref: str | None = None
    source_repository_id: str | None = None
    source_repository_owner_uri: str | None = None
    source_repository_owner_id: str | None = None
    build_config_uri: str | None = None
    build_config_digest: str | None = None
    build_trigger: str | None = None
    run_invocation_uri: str | None = None
    source_repository_visibility: str | None = None

    @property
    def oidc_issuer(self) -> str | None:
        return self.issuer or self.issuer_v1

    @property
    def signer(self) -> str | None:
        """The signing workflow, ``https://github.com/o/r/.github/workflows/x.yml@ref``."""
        return self.san_uri or self.build_signer_uri

    @property
    def repository(self) -> str | None:
        """``owner/repo`` that triggered the build."""
        uri = self.source_repository_uri
        if uri and uri.startswith(GITHUB_URL):
            return uri[len(GITHUB_URL):]
        return self.workflow_repository

    @property
    def commit(self) -> str | None:
        return self.source_repository_digest or self.workflow_sha

    @property
    def ref(self) -> str | None:
        return self.source_repository_ref or self.workflow_ref

    @property
    def trigger(self) -> str | None:
        return self.build_trigger or self.workflow_trigger


def _decode(suffix: str, value: bytes) -> str | None:
    if suffix in _RAW_EXTENSIONS:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return asn1.decode_der(str, value)
    except Exception:  # not a DER UTF8String: treat as absent
        return None


def oidc_issuer(certificate: x509.Certificate) -> str | None:
    """The OIDC issuer claim (v2 extension, else the deprecated v1 one), read alone."""
    for suffix in ("8", "1"):
        try:
            extension = certificate.extensions.get_extension_for_oid(
                x509.ObjectIdentifier(_FULCIO_OID_PREFIX + suffix)
            )
        except x509.ExtensionNotFound:
            continue
        value = extension.value
        if isinstance(value, x509.UnrecognizedExtension):
            return _decode(suffix, value.value)
    return None


_OID_FIELDS = {
    x509.ObjectIdentifier(_FULCIO_OID_PREFIX + suffix): (suffix, name)
    for suffix, name in (_RAW_EXTENSIONS | _DER_EXTENSIONS).items()
}


def identity_from_certificate(certificate: x509.Certificate) -> GitHubIdentity:
    fields: dict[str, str | None] = {}
    for extension in certificate.extensions:
        value = extension.value
        known = _OID_FIELDS.get(extension.oid)
        # type() rather than isinstance(): these are ABCs, and this loop runs per verification.
        if known is not None and type(value) is x509.UnrecognizedExtension:
            suffix, name = known
            fields[name] = _decode(suffix, value.value)
        elif type(value) is x509.SubjectAlternativeName:
            uris = value.get_values_for_type(x509.UniformResourceIdentifier)
            fields["san_uri"] = uris[0] if uris else None
    return GitHubIdentity(**fields)
