"""Semantic versions as slsa-verifier reads them (Go's ``golang.org/x/mod/semver``).

Go's rules differ from semver.org in ways users meet: a leading ``v`` is
required, ``v1`` and ``v1.2`` are valid shorthands for ``v1.0.0`` and
``v1.2.0`` (but cannot carry a pre-release or build suffix), and
``Canonical`` drops the build suffix. ``versioned_tag_mismatch`` reproduces
slsa-verifier's ``--source-versioned-tag`` comparison, quirks included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_IDENT = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(
    rf"^v(?P<major>{_NUM})"
    rf"(?:\.(?P<minor>{_NUM})"
    rf"(?:\.(?P<patch>{_NUM})"
    rf"(?P<pre>-{_PRE_IDENT}(?:\.{_PRE_IDENT})*)?"
    rf"(?P<build>\+{_BUILD_IDENT}(?:\.{_BUILD_IDENT})*)?"
    r")?)?$",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Version:
    major: str
    minor: str
    patch: str
    prerelease: str  # with its leading "-", or ""
    build: str  # with its leading "+", or ""

    @property
    def canonical(self) -> str:
        """``vMAJOR.MINOR.PATCH[-PRE]``, as Go's ``semver.Canonical``."""
        return f"v{self.major}.{self.minor}.{self.patch}{self.prerelease}"


def parse(value: str) -> Version | None:
    """The parsed version, or None when ``value`` is not valid in Go's sense."""
    match = _SEMVER.match(value)
    if match is None:
        return None
    return Version(
        major=match["major"],
        minor=match["minor"] or "0",
        patch=match["patch"] or "0",
        prerelease=match["pre"] or "",
        build=match["build"] or "",
    )


def is_valid(value: str) -> bool:
    return parse(value) is not None


def is_release_tag(tag: str) -> bool:
    """True for ``vX.Y.Z`` exactly: all three parts, no pre-release, no build.

    This is what slsa-verifier requires of a trusted builder's ref.
    """
    version = parse(tag)
    return (
        version is not None
        and len(tag.split(".")) == 3
        and not version.prerelease
        and not version.build
    )


def _part(value: str, index: int) -> str | None:
    """The index-th dot-separated part of ``value`` (slsa-verifier splits on every dot)."""
    parts = value.split(".")
    return parts[index] if len(parts) > index else None


def versioned_tag_mismatch(provenance_tag: str, expected: str) -> str | None:
    """Why ``provenance_tag`` does not satisfy ``expected``, or None when it does.

    The major version must always match; minor and patch only when the
    expected value names them. ``v14.0`` therefore accepts tag ``v14``.
    """
    wanted = parse(expected)
    if wanted is None:
        return f"{expected!r} is not a semantic version"
    got = parse(provenance_tag)
    if got is None:
        return f"the provenance tag {provenance_tag!r} is not a semantic version"
    canonical = got.canonical
    if got.major != wanted.major:
        return f"major version expected 'v{wanted.major}', got 'v{got.major}'"
    expected_minor = _part(expected, 1)
    if expected_minor is not None and _part(canonical, 1) != expected_minor:
        return f"minor version expected '{expected_minor}', got '{_part(canonical, 1)}'"
    expected_patch = _part(expected, 2)
    if expected_patch is not None:
        expected_patch = expected_patch.removesuffix(wanted.build)
        patch = _part(canonical, 2)
        if patch != expected_patch:
            return f"patch version expected '{expected_patch}', got '{patch}'"
    return None
