"""A Policy from the verifier's options: a policy file, or the policy flags.

``verify-artifact`` and the deploy flow take the same policy flags
(``--policy``, ``--source-uri``, ``--source-tag``, ``--source-versioned-tag``,
``--source-branch``, ``--builder-id``, ``--build-workflow-input``,
``--public-key``, ``--trusted-root``); both build their Policy here, so the
rules and the messages (phrased in those flags) are the same everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from slsa_models.errors import InputError
from slsa_models.verify.keys import TrustedKey
from slsa_models.verify.policy import Policy
from slsa_models.verify.policy_file import load_policy

PathLike = str | os.PathLike[str]


def policy_from_options(
    *,
    policy_file: PathLike | None = None,
    source_uri: str | None = None,
    source_tag: str | None = None,
    source_versioned_tag: str | None = None,
    source_branch: str | None = None,
    builder_id: str | None = None,
    build_workflow_inputs: Mapping[str, str] | None = None,
    public_keys: Sequence[PathLike] | None = (),
    trusted_root: PathLike | None = None,
) -> Policy:
    """The Policy of ``policy_file`` (read by ``load_policy``), or of the flags; never both.

    Without a policy file, ``source_uri`` is required unless ``public_keys``
    are given: PEM files of local builders' keys, each trusted for
    ``builder_id`` (required with them) and ``source_uri`` when given. An empty
    ``policy_file`` counts as none (prefect.yaml fills it from an environment
    variable that may be unset). Every refusal is an InputError.
    """
    public_keys = tuple(public_keys or ())
    if policy_file is not None and os.fspath(policy_file) != "":
        given = [flag for flag, is_given in (
            ("--source-uri", source_uri is not None), ("--source-tag", source_tag is not None),
            ("--source-versioned-tag", source_versioned_tag is not None),
            ("--source-branch", source_branch is not None), ("--builder-id", builder_id is not None),
            ("--build-workflow-input", bool(build_workflow_inputs)),
            ("--public-key", bool(public_keys)), ("--trusted-root", trusted_root is not None),
        ) if is_given]
        if given:
            raise InputError(f"--policy replaces the policy flags: drop {', '.join(given)} "
                             "(or drop --policy)")
        return load_policy(policy_file)
    if source_uri is None and not public_keys:
        raise InputError("--source-uri is required: the repository the artifact must come from, "
                         "e.g. github.com/OWNER/REPO (or give --policy FILE, or --public-key PUB "
                         "with --builder-id ID)")
    if public_keys and builder_id is None:
        raise InputError("--public-key needs --builder-id: key-signed provenance has no default "
                         "trusted builder")
    keys = tuple(TrustedKey.from_file(path, builder_id=builder_id, source_uri=source_uri)
                 for path in public_keys)
    return Policy(
        source_uri=source_uri,
        source_tag=source_tag,
        source_versioned_tag=source_versioned_tag,
        source_branch=source_branch,
        builder_id=builder_id,
        build_workflow_inputs=dict(build_workflow_inputs or {}),
        trusted_root=None if trusted_root is None else Path(trusted_root),
        public_keys=keys,
    )

