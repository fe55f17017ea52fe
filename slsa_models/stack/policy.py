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

POLICY_ENV = "SLSA_MODELS_POLICY"  # prefect.yaml fills the deploy's policy_file from it


def policy_path(config: StackConfig) -> Path:
    return config.home / "policy.toml"


def write_policy(config: StackConfig, flow_env: Mapping[str, str]) -> Path:
    from slsa_models.provenance.signers import default_builder_id, dev_key_paths

    public_key = config.home.parent / "keys" / dev_key_paths()[1].name
    path = policy_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `slsa-models stack up`: the gated deploy trusts the development key\n"
        "# that the stack's train runs sign with. Not for production models.\n"
        "version = 1\n\n"
        "[local.stack-dev-key]\n"
        f"builder-id = {_toml_string(default_builder_id(flow_env))}\n"
        f"public-key = {_toml_string(os.path.relpath(public_key, path.parent))}\n",
        encoding="utf-8",
    )
    return path


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value)
