"""What the verifier must see: source repository, ref, builder, workflow inputs.

``Policy`` validates its values when built, so a typo surfaces as an
InputError (exit 2) before any file is read. New fields (public keys for
key-signed provenance, expiry, policy files) are added with defaults, so
existing callers keep working.

Which rules apply to which provenance: the source and ref rules (source URI,
tag, versioned tag, branch, triggers, workflow inputs) and ``builder_id`` are
checked on Sigstore-signed provenance from GitHub, whose certificate vouches
for them. Key-signed provenance (the local builder) is judged by its
``TrustedKey`` entry: the key, its builder id (else ``builder_id``), its
expiry and its optional source repository. A policy file fills both at once
(see ``slsa_models.verify.policy_file``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from slsa_models.errors import InputError
from slsa_models.verify import semver
from slsa_models.verify.keys import TrustedKey

GITHUB_GIT_PREFIX = "git+https://github.com/"


def normalize_source_uri(value: str) -> str:
    """``github.com/o/r``, ``https://github.com/o/r`` and ``git+https://github.com/o/r``
    all become ``git+https://github.com/o/r`` (slsa-verifier's form)."""
    uri = value.strip()
    if not uri.startswith("git+"):
        uri = "git+" + uri if "://" in uri else "git+https://" + uri
    repo = uri[len(GITHUB_GIT_PREFIX):].rstrip("/") if uri.startswith(GITHUB_GIT_PREFIX) else ""
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or "@" in repo:
        raise InputError(
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
        parts = value.split("@")
        if len(parts) == 2 and parts[1]:
            return cls(parts[0], parts[1])
        if len(parts) == 1 and not need_version and parts[0]:
            return cls(parts[0])
        raise InputError(
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


@dataclass(frozen=True)
class Policy:
    """Expectations about the provenance. ``None`` means "do not check" except
    for ``source_uri``, which Sigstore-signed provenance always needs."""

    source_uri: str | None = None
    source_tag: str | None = None
    source_versioned_tag: str | None = None
    source_branch: str | None = None
    builder_id: str | None = None
    build_workflow_inputs: Mapping[str, str] = field(default_factory=dict)
    trusted_root: Path | None = None  # a Sigstore TrustedRoot JSON; default: public-good, offline
    public_keys: tuple[TrustedKey, ...] = ()  # keys trusted for key-signed provenance
    triggers: tuple[str, ...] = ()  # GitHub events a build may have been triggered by; () any

    def __post_init__(self) -> None:
        if self.source_uri is not None:
            normalize_source_uri(self.source_uri)
        if self.source_tag is not None and self.source_versioned_tag is not None:
            raise InputError("give --source-tag or --source-versioned-tag, not both")
        if self.source_versioned_tag is not None and not semver.is_valid(self.source_versioned_tag):
            raise InputError(
                f"source versioned tag {self.source_versioned_tag!r} is not a semantic version; "
                "expected vMAJOR, vMAJOR.MINOR or vMAJOR.MINOR.PATCH"
            )
        for option, value in (("source tag", self.source_tag), ("source branch", self.source_branch)):
            if value is not None and not value.strip():
                raise InputError(f"{option} is empty")
        if self.builder_id is not None:
            BuilderID.parse(self.builder_id)
        for key, value in self.build_workflow_inputs.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise InputError(f"workflow input {key!r}: expected a non-empty name and a string value")
        object.__setattr__(
            self, "build_workflow_inputs", MappingProxyType(dict(self.build_workflow_inputs))
        )
        if self.trusted_root is not None:
            object.__setattr__(self, "trusted_root", Path(self.trusted_root))
        object.__setattr__(self, "public_keys", _trusted_keys(self.public_keys))
        object.__setattr__(self, "triggers", _triggers(self.triggers))

    # Cached: a Policy is immutable and often reused for many verifications.
    @functools.cached_property
    def normalized_source_uri(self) -> str | None:
        return None if self.source_uri is None else normalize_source_uri(self.source_uri)

    @functools.cached_property
    def expected_builder(self) -> BuilderID | None:
        return None if self.builder_id is None else BuilderID.parse(self.builder_id)


def _trusted_keys(keys: object) -> tuple[TrustedKey, ...]:
    """A tuple of distinct keys with distinct names: one key signs for one builder."""
    if isinstance(keys, TrustedKey) or not isinstance(keys, list | tuple):
        raise InputError("public keys: expected a list of TrustedKey")
    names: dict[str, TrustedKey] = {}
    hints: dict[str, TrustedKey] = {}
    for key in keys:
        if not isinstance(key, TrustedKey):
            raise InputError(f"public keys: expected TrustedKey entries, got {type(key).__name__}")
        if key.name in names:
            raise InputError(f"two trusted keys are named {key.name!r}; give each its own name")
        if key.hint in hints:
            raise InputError(
                f"trusted keys {hints[key.hint].name!r} and {key.name!r} are the same public key; "
                "trust it once (one key signs for one builder)"
            )
        names[key.name] = hints[key.hint] = key
    return tuple(keys)


def _triggers(triggers: object) -> tuple[str, ...]:
    if isinstance(triggers, str) or not isinstance(triggers, list | tuple | set | frozenset):
        raise InputError("triggers: expected a list of GitHub event names, e.g. push, release")
    for trigger in triggers:
        if not isinstance(trigger, str) or not trigger.strip():
            raise InputError(f"trigger {trigger!r}: expected a GitHub event name, e.g. push")
    return tuple(dict.fromkeys(triggers))
