"""What a deployment trusts: one policy type per kind of evidence, and their composition.

Each kind policy holds only the rules its kind of evidence can check, so a
rule can never be silently skipped:

* ``GeneratorPolicy``: slsa-github-generator provenance (SLSA v0.2, Sigstore);
  its certificate vouches for repository, ref, trigger, builder and inputs.
* ``AttestationPolicy``: GitHub artifact attestations (SLSA v1, Sigstore); the
  same rules, with the repository's own workflows as the default signer.
* ``LocalBuilderPolicy``: key-signed SLSA v1 from the local builder; each
  ``TrustedKey`` names the one builder id it signs for, its expiry and
  optionally the repository its builds must record. A local build records a
  commit, not a ref or workflow inputs, so this kind has no such rules.

``Policy`` composes them: evidence passes when it passes the policy of its own
kind; the model passes when any listed kind passed (the default) or when every
kind in ``require`` passed. ``accept_unnamed`` lets evidence that names no
model (someone else's workflow) count; ``deployers`` are the keys trusted to
sign deployment records. Everything is validated when built: a bad value is a
PolicyError (exit 2) before any file is read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from slsa_models.errors import InputError, PolicyError
from slsa_models.kinds import (
    GITHUB_ACTIONS_ISSUER,
    KIND_GENERATOR,
    KIND_GITHUB_ATTESTATION,
    KIND_LOCAL,
    KIND_OMS,
    KINDS,
)
from slsa_models.verify import semver
from slsa_models.verify.keys import TrustedKey

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"

GITHUB_GIT_PREFIX = "git+https://github.com/"


def normalize_source_uri(value: str) -> str:
    """``github.com/o/r``, ``https://github.com/o/r`` and ``git+https://github.com/o/r``
    all become ``git+https://github.com/o/r`` (slsa-verifier's form)."""
    if not isinstance(value, str):
        raise PolicyError(f"source URI {value!r}: expected a string like github.com/OWNER/REPO")
    uri = value.strip()
    if not uri.startswith("git+"):
        uri = "git+" + uri if "://" in uri else "git+https://" + uri
    repo = uri[len(GITHUB_GIT_PREFIX):].rstrip("/") if uri.startswith(GITHUB_GIT_PREFIX) else ""
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or "@" in repo:
        raise PolicyError(
            f"source URI {value!r} is not a GitHub repository; "
            "expected github.com/OWNER/REPO (or https://github.com/OWNER/REPO)"
        )
    return GITHUB_GIT_PREFIX + repo


@dataclass(frozen=True, slots=True)
class BuilderID:
    """A builder id split as slsa-verifier does: ``name[@version]``."""

    name: str
    version: str = ""

    @classmethod
    def parse(cls, value: str, *, need_version: bool = False) -> BuilderID:
        parts = value.split("@") if isinstance(value, str) else []
        if len(parts) == 2 and parts[0] and parts[1]:
            return cls(parts[0], parts[1])
        if len(parts) == 1 and not need_version and parts[0]:
            return cls(parts[0])
        raise PolicyError(
            f"builder id {value!r} is malformed; expected NAME, NAME@vX.Y.Z or NAME@refs/tags/vX.Y.Z"
        )

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    def accepts(self, actual: BuilderID) -> bool:
        """Loose match (slsa-verifier's ``MatchesLoose``): same name; a version,
        when given, equals the actual ref as is or as ``refs/tags/<version>``."""
        if self.name != actual.name:
            return False
        return not self.version or actual.version in (self.version, "refs/tags/" + self.version)


def _optional_text(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise PolicyError(f"{name} is empty" if isinstance(value, str)
                          else f"{name}: expected a string, got {type(value).__name__}")


@dataclass(frozen=True)
class GitHubBuildRules:
    """Rules on a Sigstore-signed build from GitHub Actions (see the two kinds below).

    ``source_uri`` is required; every other rule is checked only when set.
    ``trusted_root`` is a Sigstore TrustedRoot JSON (default: public-good, offline).
    """

    kind: ClassVar[str] = ""
    source_uri: str | None = None
    source_tag: str | None = None
    source_versioned_tag: str | None = None
    source_branch: str | None = None
    builder_id: str | None = None
    build_workflow_inputs: Mapping[str, str] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()
    trusted_root: Path | None = None

    def __post_init__(self) -> None:
        if self.source_uri is not None:
            normalize_source_uri(self.source_uri)
        for name in ("source_tag", "source_versioned_tag", "source_branch", "builder_id"):
            _optional_text(name.replace("_", " "), getattr(self, name))
        if self.source_tag is not None and self.source_versioned_tag is not None:
            raise PolicyError("give a source tag or a source versioned tag, not both")
        if self.source_versioned_tag is not None and not semver.is_valid(self.source_versioned_tag):
            raise PolicyError(
                f"source versioned tag {self.source_versioned_tag!r} is not a semantic version; "
                "expected vMAJOR, vMAJOR.MINOR or vMAJOR.MINOR.PATCH"
            )
        if self.builder_id is not None:
            BuilderID.parse(self.builder_id)
        inputs = self.build_workflow_inputs
        if not isinstance(inputs, Mapping):
            raise PolicyError("workflow inputs: expected a mapping of names to string values")
        for key, value in inputs.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise PolicyError(f"workflow input {key!r}: expected a non-empty name and a string value")
        object.__setattr__(self, "build_workflow_inputs", MappingProxyType(dict(inputs)))
        object.__setattr__(self, "triggers", _triggers(self.triggers))
        if self.trusted_root is not None:
            object.__setattr__(self, "trusted_root", Path(self.trusted_root))

    # Cached: a policy is immutable and often reused for many verifications.
    @functools.cached_property
    def normalized_source_uri(self) -> str | None:
        return None if self.source_uri is None else normalize_source_uri(self.source_uri)

    @property
    def oidc_issuer(self) -> str:
        """The OIDC issuer the signing certificate must name."""
        return GITHUB_ACTIONS_ISSUER

    @functools.cached_property
    def expected_builder(self) -> BuilderID | None:
        return None if self.builder_id is None else BuilderID.parse(self.builder_id)


@dataclass(frozen=True)
class GeneratorPolicy(GitHubBuildRules):
    """slsa-github-generator provenance; default builders: the generator's generic, Go and
    docker-based workflows at a release tag."""

    kind: ClassVar[str] = KIND_GENERATOR

    def __post_init__(self) -> None:
        if self.source_uri is None:
            raise PolicyError("source URI is required: the repository the generator must have "
                              "built from, e.g. github.com/OWNER/REPO")
        super().__post_init__()


DIGEST_ALGORITHMS = ("sha256", "sha512")
TENANT_SUFFIX = ".ghe.com"
# `gh attestation verify --signer-workflow`: a value holding a host (``github.com/o/r/...``).
_HOST_PREFIX = re.compile(r"^[a-zA-Z0-9-]+\.[a-zA-Z0-9-]+.*$")
# The "@<ref>" that ends a workflow identity: a refs/ path or a bare object id.
_SIGNER_REF = r"@(refs/.*|[0-9a-fA-F]+)"
_META = frozenset("\\.+*?()|[]{}^$")


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta`` (what gh writes in the patterns it prints); valid for ``re``."""
    return "".join("\\" + char if char in _META else char for char in text)


_IDENTITY_RULES = ("signer_repo", "signer_workflow", "cert_identity", "cert_identity_regex", "builder_id")


@dataclass(frozen=True)
class AttestationPolicy(GitHubBuildRules):
    """GitHub artifact attestations, with ``gh attestation verify``'s rules.

    The source: exactly one of ``owner`` (any repository of that owner),
    ``repo`` (``OWNER/REPO``) or ``source_uri`` (``github.com/OWNER/REPO``, the
    same as ``repo``), checked against the certificate's source repository
    owner and repository (case-insensitively, as gh does), on ``hostname``
    (``github.com`` or a GHE.com tenant ``NAME.ghe.com``).

    The signer (the certificate's SubjectAlternativeName), at most one of:
    ``signer_repo`` (a workflow of that repository, e.g. a reusable workflow),
    ``signer_workflow`` (``[host/]OWNER/REPO/PATH`` with an optional ``@ref``),
    ``cert_identity`` (the exact SAN), ``cert_identity_regex``, or ``builder_id``
    (slsa-verifier's ``NAME[@version]``); by default a workflow of ``repo``, or of
    ``owner``'s repositories.

    ``cert_oidc_issuer`` (default GitHub's, or the tenant's), ``source_ref``,
    ``source_digest`` and ``signer_digest`` must equal the certificate's values;
    ``deny_self_hosted_runners`` (on by default here, off by default in the
    command line, as in gh) requires a GitHub-hosted runner; ``predicate_type``
    is the statement's; ``digest_alg`` picks the subject digest matched.
    """

    kind: ClassVar[str] = KIND_GITHUB_ATTESTATION
    owner: str | None = None
    repo: str | None = None
    hostname: str = "github.com"
    signer_repo: str | None = None
    signer_workflow: str | None = None
    cert_identity: str | None = None
    cert_identity_regex: str | None = None
    cert_oidc_issuer: str | None = None
    source_ref: str | None = None
    source_digest: str | None = None
    signer_digest: str | None = None
    deny_self_hosted_runners: bool = True
    predicate_type: str = SLSA_PROVENANCE_V1
    digest_alg: str = "sha256"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("owner", "repo", "signer_repo", "signer_workflow", "cert_identity",
                     "cert_identity_regex", "cert_oidc_issuer", "source_ref", "source_digest",
                     "signer_digest", "hostname", "predicate_type"):
            _optional_text(name.replace("_", " "), getattr(self, name))
        sources = [name for name in ("owner", "repo", "source_uri") if getattr(self, name) is not None]
        if len(sources) != 1:
            raise PolicyError("give one of owner, repo or source URI (the repository, or the owner "
                              "of the repositories, the attestation must come from)"
                              if not sources else
                              f"give one of owner, repo or source URI, not {' and '.join(sources)}")
        for name in ("repo", "signer_repo"):
            value = getattr(self, name)
            if value is not None and (len(value.split("/")) != 2 or not all(value.split("/"))):
                raise PolicyError(f"{name.replace('_', ' ')} {value!r}: expected OWNER/REPO")
        if self.owner is not None and "/" in self.owner:
            raise PolicyError(f"owner {self.owner!r}: expected an organization or user name, not "
                              "OWNER/REPO (give it as repo)")
        host = self.hostname
        if host != "github.com" and not (host.endswith(TENANT_SUFFIX) and
                                         re.fullmatch(r"[a-z0-9-]+", host[:-len(TENANT_SUFFIX)])):
            raise PolicyError(f"hostname {host!r} is not supported: github.com or a GHE.com tenant "
                              "(NAME.ghe.com); GitHub Enterprise Server has no artifact attestations")
        if host != "github.com" and self.source_uri is not None:
            raise PolicyError(f"source URI names a github.com repository; with hostname {host!r} "
                              "give repo = OWNER/REPO instead")
        identities = [name for name in _IDENTITY_RULES if getattr(self, name) is not None]
        if len(identities) > 1:
            shown = " and ".join(name.replace("_", "-") for name in identities)
            raise PolicyError(f"{shown} each name the signer: give only one")
        if self.cert_identity_regex is not None:
            try:
                re.compile(self.cert_identity_regex)
            except re.error as error:
                raise PolicyError(f"cert identity regex {self.cert_identity_regex!r} is not a "
                                  f"valid regular expression: {error}") from None
        if self.signer_workflow is not None and "://" in self.signer_workflow:
            raise PolicyError(f"signer workflow {self.signer_workflow!r}: expected "
                              "[HOST/]OWNER/REPO/PATH/TO/WORKFLOW.yml, without a scheme")
        if not isinstance(self.deny_self_hosted_runners, bool):
            raise PolicyError("deny-self-hosted-runners: expected true or false")
        if self.digest_alg not in DIGEST_ALGORITHMS:
            raise PolicyError(f"digest algorithm {self.digest_alg!r}: expected sha256 or sha512")

    @property
    def tenant(self) -> str | None:
        return self.hostname[:-len(TENANT_SUFFIX)] if self.hostname.endswith(TENANT_SUFFIX) else None

    def url(self, path: str) -> str:
        """``https://<hostname>/<path>``."""
        return f"https://{self.hostname}/{path}"

    @property
    def repository(self) -> str | None:
        """``OWNER/REPO`` the attestation's source must be, if a repository is pinned."""
        if self.repo is not None:
            return self.repo
        uri = self.normalized_source_uri
        return None if uri is None else uri[len(GITHUB_GIT_PREFIX):]

    @property
    def owner_name(self) -> str:
        """The owner the source repository must belong to (given, or the repository's)."""
        repository = self.repository
        return self.owner if repository is None else repository.split("/")[0]  # type: ignore[return-value]

    @property
    def oidc_issuer(self) -> str:
        """gh's rule: the issuer given; with a tenant, the default becomes the tenant's."""
        issuer = self.cert_oidc_issuer
        if self.tenant is not None and issuer in (None, GITHUB_ACTIONS_ISSUER):
            return f"https://token.actions.{self.tenant}.ghe.com"
        return issuer or GITHUB_ACTIONS_ISSUER

    @functools.cached_property
    def identity(self) -> tuple[str, str]:
        """(how, value) the certificate's SAN must match: ``exact`` or ``regex``, as gh builds it."""
        if self.cert_identity is not None:
            return "exact", self.cert_identity
        if self.cert_identity_regex is not None:
            return "regex", self.cert_identity_regex
        if self.signer_repo is not None:
            return "regex", "(?i)^" + quote_meta(self.url(self.signer_repo) + "/")
        if self.signer_workflow is not None:
            workflow = self.signer_workflow
            url = "https://" + (workflow if _HOST_PREFIX.match(workflow) else f"{self.hostname}/{workflow}")
            pattern = "^" + quote_meta(url)
            return "regex", pattern + ("$" if re.search(_SIGNER_REF + "$", url) else f"({_SIGNER_REF})?$")
        return "regex", "(?i)^" + quote_meta(self.url(self.repository or self.owner_name) + "/")


@dataclass(frozen=True)
class LocalBuilderPolicy:
    """Key-signed provenance from local builders: the keys trusted, each for one builder id."""

    kind: ClassVar[str] = KIND_LOCAL
    keys: tuple[TrustedKey, ...]

    def __post_init__(self) -> None:
        keys = _trusted_keys(self.keys, "local builder")
        if not keys:
            raise PolicyError("a local-builder policy needs at least one trusted key")
        for key in keys:
            if key.builder_id is None:
                raise PolicyError(f"trusted key {key.name!r} names no builder id: key-signed "
                                  "provenance has no default trusted builder")
        object.__setattr__(self, "keys", keys)


@dataclass(frozen=True)
class OMSPolicy:
    """OpenSSF Model Signing signatures (``model_signing``): who may have signed, and which
    paths of a folder are left out.

    The signer, at least one of: ``public_keys`` (OMSKey: the key kind),
    ``certificate_chain`` (trusted root certificates, the certificate kind: the signing
    certificate must chain to one at its notBefore, model_signing's rule), or
    ``identity`` with ``identity_provider`` (the Sigstore kind: the certificate's SAN
    and OIDC issuer; ``trusted_root``: a Sigstore TrustedRoot or ClientTrustConfig JSON,
    default the public-good instance, offline). A signature of a kind the policy has no
    signer for fails. ``ignore_paths`` (relative to the model folder) are not compared;
    ``ignore_unsigned_files`` leaves out every file the signature does not list.
    """

    kind: ClassVar[str] = KIND_OMS
    public_keys: tuple[Any, ...] = ()  # OMSKey
    certificate_chain: tuple[Any, ...] = ()  # TrustedCertificate (x509.Certificate is wrapped)
    identity: str | None = None
    identity_provider: str | None = None
    trusted_root: Path | None = None
    ignore_paths: tuple[str, ...] = ()
    ignore_unsigned_files: bool = False

    def __post_init__(self) -> None:
        from slsa_models.manifest import validate_relative_path
        from slsa_models.oms.trust import OMSKey, TrustedCertificate

        for name in ("public_keys", "certificate_chain", "ignore_paths"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise PolicyError(f"oms {name.replace('_', ' ')}: expected a list")
            object.__setattr__(self, name, tuple(value))
        if not all(isinstance(key, OMSKey) for key in self.public_keys):
            raise PolicyError("oms public keys: expected OMSKey entries")
        if len({key.hint for key in self.public_keys}) != len(self.public_keys):
            raise PolicyError("oms public keys: the same key is listed twice")
        try:  # TrustedCertificate refuses what is no x509.Certificate
            chain = tuple(cert if isinstance(cert, TrustedCertificate) else TrustedCertificate(cert)
                          for cert in self.certificate_chain)
        except InputError:
            raise PolicyError("oms certificate chain: expected x509.Certificate entries") from None
        object.__setattr__(self, "certificate_chain", chain)
        for name in ("identity", "identity_provider"):
            _optional_text(name.replace("_", " "), getattr(self, name))
        if (self.identity is None) != (self.identity_provider is None):
            raise PolicyError("oms: identity and identity-provider go together: the Sigstore "
                              "signer's identity and the OIDC issuer that vouched for it")
        if self.trusted_root is not None:
            if self.identity is None:
                raise PolicyError("oms: trusted-root applies to Sigstore signatures: give identity and "
                                  "identity-provider with it")
            object.__setattr__(self, "trusted_root", Path(self.trusted_root))
        if not (self.public_keys or self.certificate_chain or self.identity):
            raise PolicyError("oms: trusts no signer: give public keys, a certificate chain, or a "
                              "Sigstore identity and identity-provider")
        for path in self.ignore_paths:
            try:
                validate_relative_path(path.strip("/") if isinstance(path, str) else path)
            except InputError:
                raise PolicyError(f"oms ignore-paths: {path!r} is not a relative path inside the "
                                  "model folder") from None
        object.__setattr__(self, "ignore_paths", tuple(path.strip("/") for path in self.ignore_paths))
        if not isinstance(self.ignore_unsigned_files, bool):
            raise PolicyError("oms ignore-unsigned-files: expected true or false")

    @property
    def signers(self) -> tuple[str, ...]:
        """The OMS signer kinds this policy can judge: key, certificate, sigstore."""
        return tuple(name for name, given in (("key", self.public_keys),
                                              ("certificate", self.certificate_chain),
                                              ("sigstore", self.identity)) if given)


KindPolicy = GeneratorPolicy | AttestationPolicy | LocalBuilderPolicy | OMSPolicy
KIND_POLICY_TYPES: tuple[type, ...] = (GeneratorPolicy, AttestationPolicy, LocalBuilderPolicy, OMSPolicy)


@dataclass(frozen=True, init=False)
class Policy:
    """A deployment's trust: kind policies (at most one per kind) and how they combine."""

    kinds: tuple[KindPolicy, ...]
    require: tuple[str, ...]
    accept_unnamed: bool
    deployers: tuple[TrustedKey, ...]

    def __init__(self, *kinds: KindPolicy, require: Iterable[str] = (), accept_unnamed: bool = False,
                 deployers: Iterable[TrustedKey] = ()) -> None:
        if not kinds:
            raise PolicyError("the policy trusts no kind of evidence: give at least one of "
                              + ", ".join(KINDS))
        seen: set[str] = set()
        for kind_policy in kinds:
            if not isinstance(kind_policy, KIND_POLICY_TYPES):
                raise PolicyError(f"not a kind policy: {type(kind_policy).__name__}; expected "
                                  "GeneratorPolicy, AttestationPolicy or LocalBuilderPolicy")
            if kind_policy.kind in seen:
                raise PolicyError(f"two {kind_policy.kind} policies: give one per kind")
            seen.add(kind_policy.kind)
        if isinstance(require, str):
            raise PolicyError("require: expected a list of evidence kinds")
        required = tuple(dict.fromkeys(require))
        for kind in required:
            if kind not in seen:
                raise PolicyError(f"require names {kind!r}, which the policy does not trust; "
                                  f"it trusts: {', '.join(sorted(seen))}")
        if not isinstance(accept_unnamed, bool):
            raise PolicyError("accept-unnamed: expected true or false")
        object.__setattr__(self, "kinds", tuple(kinds))
        object.__setattr__(self, "require", required)
        object.__setattr__(self, "accept_unnamed", accept_unnamed)
        object.__setattr__(self, "deployers", _trusted_keys(tuple(deployers), "deployer"))
        for key in self.deployers:
            if key.builder_id is not None or key.source_uri is not None:
                raise PolicyError(f"deployer key {key.name!r}: a deployer signs deployment records; "
                                  "builder-id and source-uri are rules for builders, not deployers")

    def for_kind(self, kind: str) -> KindPolicy | None:
        return next((policy for policy in self.kinds if policy.kind == kind), None)

    @property
    def kind_names(self) -> tuple[str, ...]:
        return tuple(policy.kind for policy in self.kinds)

    def combine(self, passed_kinds: Iterable[str]) -> str | None:
        """None when the kinds that passed satisfy the policy, else the one-line reason."""
        passed = set(passed_kinds)
        if self.require:
            missing = [kind for kind in self.require if kind not in passed]
            return None if not missing else f"the policy requires {' and '.join(self.require)}; " \
                                            f"no evidence of {', '.join(missing)} passed"
        return None if passed & set(self.kind_names) else \
            f"no evidence passed any trusted kind ({', '.join(self.kind_names)})"


def policy_fields(policy_type: type) -> tuple[str, ...]:
    """The rule names of a kind policy type (its dataclass fields)."""
    return tuple(f.name for f in fields(policy_type))


def _trusted_keys(keys: object, role: str) -> tuple[TrustedKey, ...]:
    """A tuple of distinct keys with distinct names: one key signs for one builder."""
    if isinstance(keys, TrustedKey) or not isinstance(keys, list | tuple):
        raise PolicyError(f"{role} keys: expected a list of TrustedKey")
    names: dict[str, TrustedKey] = {}
    hints: dict[str, TrustedKey] = {}
    for key in keys:
        if not isinstance(key, TrustedKey):
            raise PolicyError(f"{role} keys: expected TrustedKey entries, got {type(key).__name__}")
        if key.name in names:
            raise PolicyError(f"two trusted keys are named {key.name!r}; give each its own name")
        if key.hint in hints:
            raise PolicyError(
                f"trusted keys {hints[key.hint].name!r} and {key.name!r} are the same public key; "
                "trust it once (one key signs for one builder)"
            )
        names[key.name] = hints[key.hint] = key
    return tuple(keys)


def _triggers(triggers: object) -> tuple[str, ...]:
    if isinstance(triggers, str) or not isinstance(triggers, list | tuple | set | frozenset):
        raise PolicyError("triggers: expected a list of GitHub event names, e.g. push, release")
    for trigger in triggers:
        if not isinstance(trigger, str) or not trigger.strip():
            raise PolicyError(f"trigger {trigger!r}: expected a GitHub event name, e.g. push")
    return tuple(dict.fromkeys(triggers))

