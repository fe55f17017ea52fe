"""The stack's deploy policy: trust the development key its train runs sign with.

Train runs on the stack's worker sign provenance with the local builder's
development key (``<state dir>/keys``, made on first use); this policy file
trusts exactly that key for exactly that builder id, so the gated deploy passes
for those models and refuses anything else. It is regenerated on every ``up``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from slsa_models.stack.config import StackConfig

POLICY_ENV = "SLSA_MODELS_POLICY"  # the deploy deployment reads its policy file from it


def policy_path(config: StackConfig) -> Path:
    return config.home / "policy.toml"


def write_policy(config: StackConfig, flow_env: Mapping[str, str]) -> Path:
    from slsa_models.deploy.deployer import dev_deployer_key_paths
    from slsa_models.provenance.keys import generate_key_pair
    from slsa_models.provenance.signers import default_builder_id, dev_key_paths

    keys = config.home.parent / "keys"
    public_key = keys / dev_key_paths()[1].name
    deployer_key = keys / dev_deployer_key_paths()[1].name
    for private, public in ((keys / dev_key_paths()[0].name, public_key),
                            (keys / dev_deployer_key_paths()[0].name, deployer_key)):
        if not private.exists():  # the policy names both keys, so they must exist before it is read
            generate_key_pair(private, public)
    path = policy_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `slsa-models stack up`: the gated deploy trusts the development key\n"
        "# that the stack's train runs sign with, and serving trusts the records that the\n"
        "# stack's deploys sign with its development deployer key. Not for production models.\n"
        "version = 2\n\n"
        "[local-builder.stack-dev-key]\n"
        f"builder-id = {_toml_string(default_builder_id(flow_env))}\n"
        f"public-key = {_toml_string(os.path.relpath(public_key, path.parent))}\n\n"
        "[deployer.stack-dev-deployer]\n"
        f"public-key = {_toml_string(os.path.relpath(deployer_key, path.parent))}\n",
        encoding="utf-8",
    )
    return path


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value)
