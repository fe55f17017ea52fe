"""A Policy from the policy flags (``flags.POLICY_FLAGS``) or a policy file; never both.

``verify-artifact``, ``python -m flows.deploy`` and the deploy flow's
development parameters all build their Policy here, so the rules and the
messages (phrased in flag terms) are the same everywhere.

* ``--source-uri`` (with the ref, builder, input and root flags) trusts GitHub
  builds of that repository: slsa-github-generator provenance and GitHub
  artifact attestations, each checked against every rule given.
* ``--public-key PEM --builder-id ID`` trusts a local builder's key instead;
  ``--source-uri`` then names the checkout its builds must record. A rule that
  key-signed provenance cannot check (a ref, workflow inputs, a Sigstore root)
  is refused with it: use a policy file to trust both kinds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from slsa_models.errors import PolicyError
from slsa_models.flags import FLAGS_BY_DEST, POLICY_FLAGS
from slsa_models.kinds import KIND_LOCAL
from slsa_models.verify.keys import TrustedKey
from slsa_models.verify.policy import AttestationPolicy, GeneratorPolicy, LocalBuilderPolicy, Policy
from slsa_models.verify.policy_file import load_policy


def parse_workflow_inputs(values: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``KEY=VALUE`` strings (or a mapping) as a dict; the value may contain '='."""
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return dict(values)
    inputs: dict[str, str] = {}
    for value in values:
        key, sep, text = str(value).partition("=")
        if not sep or not key:
            raise PolicyError(f"--build-workflow-input {value!r}: expected KEY=VALUE")
        inputs[key] = text
    return inputs


def _given(value: Any) -> bool:
    """Set at all: an empty string is given (and refused as empty), never silently dropped."""
    return value is not None and value != [] and value != () and value != {}


def policy_from_options(*, policy_file: str | os.PathLike[str] | None = None,
                        accept_unnamed: bool = False, **options: Any) -> Policy:
    """The Policy of ``policy_file``, or of the flag values in ``options`` (keyed by ``dest``).

    An empty ``policy_file`` counts as none (prefect.yaml fills it from an
    environment variable that may be unset). Every refusal is a PolicyError.
    """
    unknown = sorted(set(options) - set(FLAGS_BY_DEST))
    if unknown:
        raise PolicyError(f"unknown policy option {unknown[0]!r}")
    given = {dest: value for dest, value in options.items() if _given(value)}
    if policy_file is not None and os.fspath(policy_file) != "":
        if given:
            flags = ", ".join(FLAGS_BY_DEST[dest].flag for dest in given)
            raise PolicyError(f"--policy replaces the policy flags: drop {flags} (or drop --policy)")
        policy = load_policy(policy_file)
        if accept_unnamed and not policy.accept_unnamed:
            raise PolicyError("--accept-unnamed cannot widen a policy file: set accept-unnamed = true "
                              "in the file")
        return policy
    if "public_key" in given:
        return Policy(_local_policy(given), accept_unnamed=accept_unnamed)
    if "source_uri" not in given:
        raise PolicyError("--source-uri is required: the repository the artifact must come from, "
                          "e.g. github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB "
                          "with --builder-id ID)")
    rules = {dest: value for dest, value in given.items()}
    if "build_workflow_input" in rules:
        rules["build_workflow_inputs"] = parse_workflow_inputs(rules.pop("build_workflow_input"))
    return Policy(GeneratorPolicy(**rules), AttestationPolicy(**rules), accept_unnamed=accept_unnamed)


def _local_policy(given: Mapping[str, Any]) -> LocalBuilderPolicy:
    for flag in POLICY_FLAGS:
        if flag.dest in given and KIND_LOCAL not in flag.kinds:
            raise PolicyError(
                f"{flag.flag} cannot be checked on key-signed provenance (--public-key): a local "
                "build records its git commit, not a ref, workflow inputs or a Sigstore root; to "
                "trust GitHub builds and local keys together, use a policy file"
            )
    builder_id = given.get("builder_id")
    if builder_id is None:
        raise PolicyError("--public-key needs --builder-id: key-signed provenance has no default "
                          "trusted builder")
    paths = given["public_key"]
    paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    return LocalBuilderPolicy(tuple(
        TrustedKey.from_file(path, builder_id=builder_id, source_uri=given.get("source_uri"))
        for path in paths
    ))
