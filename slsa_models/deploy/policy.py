"""The deploy's policy as it is recorded: every kind policy's rules as JSON-ready values.

The Policy itself comes from the deployment's configuration
(``slsa_models.deploy.trust``) or ``policy_from_options``. New fields of the
kind policies reach the records through ``policy_to_dict`` without changes here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from slsa_models.verify import Policy, TrustedKey


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready values: each kind's rules, ``require``, ``accept_unnamed``, deployers."""
    return {
        "kinds": {kind.kind: {field.name: _plain(getattr(kind, field.name))
                              for field in dataclasses.fields(kind)} for kind in policy.kinds},
        "require": list(policy.require),
        "accept_unnamed": policy.accept_unnamed,
        "deployers": [key.to_dict() for key in policy.deployers],
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, TrustedKey):
        return value.to_dict()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)
