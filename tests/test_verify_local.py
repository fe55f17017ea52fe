"""slsa_models/verify/local.py: the whole report of a local-builder verification that passes.

Written against mutants of the module that survived scripts/mutation.py: a passing check's
name, expectation and (empty) detail, and the report's subjects, are part of the report users
and the deployment record read.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from slsa_models.digest import sha256_file
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import key_hint, load_private_key, load_public_key
from slsa_models.provenance.statement import LOCAL_BUILD_TYPE
from tests.test_verify_keys import BUILDER, COMMIT, signed, trusted, verify
from tests.test_verify_keys import artifact_file as model_file  # noqa: F401 (a fixture)
from tests.test_verify_keys import keys as key_pairs  # noqa: F401 (a fixture)


def test_every_check_of_a_passing_report_is_named_with_what_it_found(
    key_pairs: dict[str, tuple[Path, Path]], model_file: Path,  # noqa: F811 (the imported fixtures)
) -> None:
    hint = key_hint(load_public_key(key_pairs["builder"][1]))
    digest = sha256_file(model_file)
    report = verify(signed(key_pairs, model_file), model_file,
                    trusted(key_pairs, source_uri="github.com/acme/models"))
    assert report.passed
    assert [(c.name, c.passed, c.expected, c.actual, c.detail) for c in report.checks] == [
        ("signature", True, "a DSSE signature by a trusted key (builder)",
         f"signed by builder (key hint {hint[:16]})", ""),
        ("key-hint", True, hint, hint, ""),
        ("statement", True, "an in-toto Statement v1 with SLSA v1 provenance",
         f"https://slsa.dev/provenance/v1 ({LOCAL_BUILD_TYPE})", ""),
        ("builder-id", True, BUILDER, BUILDER, ""),
        ("source-uri", True, "git+https://github.com/acme/models", "git+https://github.com/acme/models", ""),
        ("subject-digest", True, f"sha256:{digest}", "subject model.keras", ""),
    ]
    assert report.subjects == (("model.keras", digest),)
    assert (report.source_uri, report.commit) == ("git+https://github.com/acme/models", COMMIT)


def test_a_trusted_key_not_yet_expired_passes_its_expiry_check_without_a_reason(
    key_pairs: dict[str, tuple[Path, Path]], model_file: Path,  # noqa: F811 (the imported fixtures)
) -> None:
    from datetime import datetime, timezone

    report = verify(signed(key_pairs, model_file), model_file,
                    trusted(key_pairs, expires=datetime(2999, 1, 1, tzinfo=timezone.utc)))
    expiry = next(check for check in report.checks if check.name == "key-expiry")
    assert (expiry.passed, expiry.expected, expiry.detail) == (
        True, "trust in key builder until 2999-01-01T00:00:00Z", "")


def test_the_reports_of_a_local_build_carry_what_the_record_keeps(
    key_pairs: dict[str, tuple[Path, Path]], model_file: Path,  # noqa: F811 (the imported fixtures)
) -> None:
    """The kind, the signed payload (once the signature verified), the provenance digest, the
    invocation and the named model, for a pass and for each way a report fails early."""
    import hashlib
    import json
    from datetime import datetime, timezone

    from slsa_models.verify import Artifact
    from slsa_models.verify.bundle import load_provenance
    from slsa_models.verify.local import verify_key_signed
    from slsa_models.verify.policy import LocalBuilderPolicy

    from slsa_models.provenance.statement import build_statement

    statement = build_statement([("digits/model.keras", sha256_file(model_file))], builder_id=BUILDER,
                                external_parameters={}, invocation_id="https://ci.example.com/runs/7",
                                started_on=datetime(2026, 6, 1, tzinfo=timezone.utc),
                                finished_on=datetime(2026, 6, 1, tzinfo=timezone.utc))
    bundle = key_signed_bundle(load_private_key(key_pairs["builder"][0]), statement).encode()
    payload = base64.b64decode(json.loads(bundle)["dsseEnvelope"]["payload"])
    artifacts = [Artifact.from_path(model_file)]
    policy = LocalBuilderPolicy((trusted(key_pairs),))
    report = verify_key_signed(load_provenance(bundle), artifacts, policy)
    assert (report.passed, report.kind, report.payload, report.provenance_sha256, report.signer_key) == (
        True, "local-builder", payload, hashlib.sha256(bundle).hexdigest(), "builder")
    assert (report.invocation, report.named_models) == ("https://ci.example.com/runs/7", ("digits",))
    other = verify_key_signed(load_provenance(bundle), artifacts, LocalBuilderPolicy((trusted(key_pairs, "other"),)))
    assert (other.passed, other.kind, other.payload) == (False, "local-builder", None)
    assert all(type(check.passed) is bool for check in other.checks)
    unsupported = key_signed_bundle(load_private_key(key_pairs["builder"][0]),
                                    {"_type": "https://in-toto.io/Statement/v1", "subject": []}).encode()
    bad = verify_key_signed(load_provenance(unsupported), artifacts, policy)
    assert (bad.passed, bad.kind) == (False, "local-builder")
    assert bad.payload == base64.b64decode(json.loads(unsupported)["dsseEnvelope"]["payload"])
    assert [(c.name, c.passed) for c in bad.checks] == [("signature", True), ("key-hint", True), ("statement", False)]
    bare = json.dumps(json.loads(bundle)["dsseEnvelope"]).encode()  # a DSSE envelope names no key
    missing = verify_key_signed(load_provenance(bare), artifacts, policy)
    assert [(c.name, c.passed) for c in missing.checks] == [("signature", True), ("key-hint", False)]
    assert (missing.kind, missing.payload) == ("local-builder", None)
    elsewhere = verify_key_signed(load_provenance(bundle), artifacts, LocalBuilderPolicy(
        (trusted(key_pairs, source_uri="github.com/acme/other"),)))
    assert [(c.name, c.passed) for c in elsewhere.checks if c.name == "source-uri"] == [("source-uri", False)]


@pytest.mark.parametrize(("recorded", "expected"), [
    ("git+https://github.com/acme/modelX.git/", "git+https://github.com/acme/modelX"),
    ("git@github.com:acme/X", "git+https://github.com/acme/X"),
    ("ssh://git@github.com/acme/repo.git", "git+https://github.com/acme/repo"),
    ("https://gitlab.com/acme/repo", None),
    (None, None),
])
def test_a_recorded_git_uri_in_each_form(recorded: str | None, expected: str | None) -> None:
    from slsa_models.verify.local import recorded_repository

    assert recorded_repository(recorded) == expected
