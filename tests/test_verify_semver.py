"""Go's semver rules (golang.org/x/mod/semver), which slsa-verifier applies to tags."""

from __future__ import annotations

import pytest

from slsa_models.verify import semver


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("v1", True), ("v1.2", True), ("v1.2.3", True), ("v0.0.0", True),
        ("v1.2.3-rc.1", True), ("v1.2.3-0a", True), ("v1.2.3+build.01", True),
        ("v1.2.3-rc.1+build", True), ("v10.20.30", True),
        ("1.2.3", False), ("v", False), ("v01.2.3", False), ("v1.02.3", False),
        ("v1.2.03", False), ("v1.2-rc1", False), ("v1-rc1", False), ("v1.2.3-", False),
        ("v1.2.3+", False), ("v1.2.3-01", False), ("v1.2.3-rc..1", False), ("v1.2.3.4", False),
        ("v1.2.3 ", False), ("V1.2.3", False), ("v1.2.3-rc_1", False), ("v١", False),
    ],
)
def test_validity(value: str, valid: bool) -> None:
    assert semver.is_valid(value) is valid


@pytest.mark.parametrize(
    ("value", "canonical"),
    [("v1", "v1.0.0"), ("v1.2", "v1.2.0"), ("v1.2.3+meta", "v1.2.3"),
     ("v1.2.3-rc.1+meta", "v1.2.3-rc.1")],
)
def test_canonical(value: str, canonical: str) -> None:
    parsed = semver.parse(value)
    assert parsed is not None and parsed.canonical == canonical


@pytest.mark.parametrize(
    ("tag", "release"),
    [("v2.1.0", True), ("v10.0.1", True), ("v2.1", False), ("v2", False),
     ("v2.1.0-rc.1", False), ("v2.1.0+build", False), ("2.1.0", False)],
)
def test_release_tags_are_exactly_vX_Y_Z(tag: str, release: bool) -> None:
    assert semver.is_release_tag(tag) is release


@pytest.mark.parametrize(
    ("tag", "expected", "ok"),
    [
        ("v14", "v14", True), ("v14", "v14.0", True), ("v14", "v14.0.0", True),
        ("v14", "v14.1", False), ("v14", "v13", False),
        ("v14.2", "v14", True), ("v14.2", "v14.2", True), ("v14.2", "v14.3", False),
        ("v13.0.30", "v13.0", True), ("v13.0.30", "v13.0.31", False),
        ("v1.2.3+build", "v1.2.3", True), ("v1.2.3", "v1.2.3+other", True),
        ("v1.2.3-rc.1", "v1.2.3-rc.1", True), ("v1.2.3-rc.1", "v1.2.3", False),
        ("v1.2.3-rc.1", "v1.2", True),
        ("release-1", "v1", False), ("v1.2.3", "1.2.3", False),
    ],
)
def test_versioned_tag_matching(tag: str, expected: str, ok: bool) -> None:
    assert (semver.versioned_tag_mismatch(tag, expected) is None) is ok


def test_mismatch_reasons_name_the_part() -> None:
    assert semver.versioned_tag_mismatch("v14", "v13") == "major version expected 'v13', got 'v14'"
    assert semver.versioned_tag_mismatch("v14", "v14.1") == "minor version expected '1', got '0'"
    assert semver.versioned_tag_mismatch("v13.0.30", "v13.0.31") == (
        "patch version expected '31', got '30'")
    assert semver.versioned_tag_mismatch("main", "v1") == (
        "the provenance tag 'main' is not a semantic version")
