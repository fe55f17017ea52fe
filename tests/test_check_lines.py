"""Every line every check prints, pinned: for each scenario, the whole list of check lines
(PASS or FAIL, name, expected, found, reason) as slsa-verifier-style reports show them.

The scenarios are those of test_verify_checks.py (the real generator vector and the
attest-build-provenance statement, each changed on one side) plus one for each branch of
verify/checks.py that they do not reach. The lines live in tests/golden/check_lines.json:
they are what users read and match on, so a change to any of them is a change of the
contract. SLSA_MODELS_UPDATE_GOLDEN=1 writes the file anew; read the diff before committing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slsa_models.verify import checks as C
from tests.test_verify_checks import (
    FAILED_CHECK_LINES,
    IDENTITY_CHANGES,
    REPO,
    STATEMENT_CHANGES,
    Case,
    attestation,
    attestation_identity,
    config,
    env,
    evaluated,
    real,
)

GOLDEN = Path(__file__).parent / "golden" / "check_lines.json"
GENERIC = f"{C.TRUSTED_BUILDER_REPOSITORY}/.github/workflows/generator_generic_slsa3.yml"


def generator(change: Callable[[dict[str, Any]], Any] = lambda s: None, identity: dict[str, Any] | None = None,
              name: str = "push-v14", **policy: Any) -> Callable[[], Case]:
    def case() -> Case:
        found, statement = real(name)
        change(statement)
        return dataclasses.replace(found, **(identity or {})), statement, policy
    return case


def attested(change: Callable[[dict[str, Any]], Any] = lambda s: None, identity: dict[str, Any] | None = None,
             **policy: Any) -> Callable[[], Case]:
    def case() -> Case:
        statement = attestation()
        change(statement)
        return dataclasses.replace(attestation_identity(), **(identity or {})), statement, policy
    return case


def workflow(statement: dict[str, Any]) -> dict[str, Any]:
    return statement["predicate"]["buildDefinition"]["externalParameters"]["workflow"]


UNRECORDED = {field: None for field in ("source_repository_digest", "workflow_sha", "source_repository_ref",
                                        "workflow_ref", "build_trigger", "workflow_trigger", "source_repository_id",
                                        "source_repository_owner_id", "run_invocation_uri", "build_config_uri")}

SCENARIOS: dict[str, Callable[[], Case]] = {
    **{f"statement: {name}": generator(change) for name, (change, _) in STATEMENT_CHANGES.items()},
    **{f"certificate: {name}": generator(identity=change) for name, (change, _) in IDENTITY_CHANGES.items()},
    **{f"line: {name}": case for name, (case, _) in FAILED_CHECK_LINES.items()},
    "generator: passes": generator(),
    "generator: passes under a named builder": generator(builder_id=GENERIC),
    "generator: another named builder": generator(builder_id=f"{REPO}/.github/workflows/build.yml"),
    "generator: a certificate that records none of the run": generator(identity=UNRECORDED),
    "generator: a signer without a ref": generator(identity={"san_uri": GENERIC}),
    "generator: a signer off GitHub": generator(identity={"san_uri": "https://gitlab.com/a/b/c.yml@refs/tags/v1.0.0"}),
    "generator: no signer at all": generator(identity={"san_uri": None, "build_signer_uri": None}),
    "generator: the trigger is not allowed": generator(triggers=("workflow_dispatch", "release")),
    "generator: another branch": generator(name="workflow_dispatch", source_branch="dev"),
    "generator: a tag rule on a branch build": generator(name="workflow_dispatch", source_tag="v14"),
    "generator: a versioned-tag rule on a branch build": generator(name="workflow_dispatch",
                                                                   source_versioned_tag="v14"),
    "generator: another tag": generator(source_tag="v15"),
    "generator: another versioned tag": generator(source_versioned_tag="v15"),
    "generator: a branch with a slash": generator(
        lambda s: (env(s).__setitem__("github_ref", "refs/heads/feature/x"),
                   env(s).__setitem__("github_base_ref", "")),
        name="workflow_dispatch", source_branch="feature/x"),
    "generator: a workflow input of another value": generator(
        lambda s: env(s)["github_event_payload"].__setitem__("inputs", {"epochs": "5"}),
        name="workflow_dispatch", build_workflow_inputs={"epochs": "6"}),
    "generator: a push has no inputs": generator(build_workflow_inputs={"epochs": "6"}),
    "generator: a trigger without a ref": generator(lambda s: config(s).__setitem__("uri", f"git+{REPO}")),
    "generator: no trigger at all": generator(lambda s: config(s).pop("uri")),
    "generator: its own tag": generator(source_tag="v14"),
    "generator: its own versioned tag": generator(source_versioned_tag="v14"),
    "generator: an allowed trigger": generator(triggers=("push", "release")),
    "generator: a branch rule on a tag pushed from main": generator(source_branch="main"),
    "generator: a branch rule on a tag pushed from no branch": generator(
        lambda s: (env(s).__setitem__("github_base_ref", ""), env(s)["github_event_payload"].__setitem__("base_ref", None)),
        source_branch="main"),
    "generator: a workflow input as expected": generator(
        lambda s: env(s)["github_event_payload"].__setitem__("inputs", {"epochs": "5", "seed": "1"}),
        name="workflow_dispatch", build_workflow_inputs={"epochs": "5", "seed": "1"}),
    "generator: a branch ref that is not refs/heads/...": generator(
        lambda s: env(s).__setitem__("github_ref", "x/heads/main"), name="workflow_dispatch", source_branch="main"),
    "generator: a branch ref cut short": generator(
        lambda s: env(s).__setitem__("github_ref", "refs/heads"), name="workflow_dispatch", source_branch="main"),
    "generator: a tag build whose ref is a branch's": generator(
        lambda s: env(s).__setitem__("github_ref", "refs/heads/v14"), source_tag="v14"),
    "generator: a builder at a bare version": generator(identity={"san_uri": f"{GENERIC}@v2.1.0"}),
    "generator: a certificate naming no repository": generator(
        identity={"source_repository_uri": None, "workflow_repository": None}),
    "generator: two subjects, neither the artifact": generator(
        lambda s: s.__setitem__("subject", [{"name": "a.bin", "digest": {"sha256": "1" * 64}},
                                            {"name": "b.bin", "digest": {"sha256": "2" * 64}}])),
    "attestation: passes": attested(),
    "attestation: another predicate type": attested(predicate_type="https://spdx.dev/Document/v2.3"),
    "attestation: a signer of another workflow, exactly": attested(cert_identity=f"{REPO}/x.yml@refs/tags/v14"),
    "attestation: a signer matching no pattern": attested(cert_identity_regex="^https://github.com/acme/"),
    "attestation: a signer with no SAN URI": attested(identity={"san_uri": None}),
    "attestation: another owner": attested(owner="acme", source_uri=None),
    "attestation: a certificate of another repository": attested(
        identity={"source_repository_uri": "https://github.com/acme/models"}),
    "attestation: a repository rule": attested(repo="slsa-framework/example-package", source_uri=None),
    "attestation: another source ref": attested(source_ref="refs/heads/main"),
    "attestation: another signer commit": attested(signer_digest="1" * 40),
    "attestation: no signer commit recorded": attested(signer_digest="1" * 40, identity={"build_signer_digest": None}),
    "attestation: a self-hosted runner allowed": attested(
        lambda s: s["predicate"]["buildDefinition"]["internalParameters"]["github"].__setitem__(
            "runner_environment", "self-hosted"), deny_self_hosted_runners=False),
    "attestation: a branch build with a branch rule": attested(
        lambda s: (workflow(s).__setitem__("ref", "refs/heads/main"),
                   s["predicate"]["buildDefinition"]["resolvedDependencies"][0].__setitem__(
                       "uri", f"git+{REPO}@refs/heads/main")),
        identity={"source_repository_ref": "refs/heads/main"}, source_branch="main"),
    "attestation: the subject is another file's": attested(
        lambda s: s["subject"][0]["digest"].__setitem__("sha256", "2" * 64)),
}


def lines(name: str) -> list[str]:
    """Each check as PASS or FAIL (a bool: JSON reports print it), its line, and the artifact it is about."""
    identity, statement, policy = SCENARIOS[name]()
    checks = evaluated(identity, statement, **policy)
    assert all(type(check.passed) is bool for check in checks)
    return [f"{'PASS' if check.passed else 'FAIL'} {check.message}" + (f" [{check.artifact}]" if check.artifact else "")
            for check in checks]


def test_every_scenario_is_pinned() -> None:
    if os.environ.get("SLSA_MODELS_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps({name: lines(name) for name in sorted(SCENARIOS)}, indent=1) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(golden) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_lines_of(name: str) -> None:
    assert lines(name) == json.loads(GOLDEN.read_text())[name]

