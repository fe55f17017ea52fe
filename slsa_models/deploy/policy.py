"""The deploy's policy as it is recorded: every Policy field as JSON-ready values.

The Policy itself comes from ``slsa_models.verify.policy_from_options`` (the
verifier's flags or a policy file), as for ``verify-artifact``. New Policy
fields reach the records through ``policy_to_dict`` without changes here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from slsa_models.verify import Policy


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready values, every field (paths as strings, mappings as objects,
    trusted keys as ``TrustedKey.to_dict()``: name, hint, builder, expiry, source)."""
    return {
        field.name: ([key.to_dict() for key in policy.public_keys] if field.name == "public_keys"
                     else _plain(getattr(policy, field.name)))
        for field in dataclasses.fields(policy)
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
