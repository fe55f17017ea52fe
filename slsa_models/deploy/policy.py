"""The deploy's policy: the verifier's flags, or a policy file.

The flags map one to one onto ``slsa_models.verify.Policy``. A policy file is
read by the verifier's ``load_policy`` when that exists; until then giving one
is an InputError. New Policy fields (public keys, ...) reach the records
through ``policy_to_dict`` without changes here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from slsa_models.errors import InputError
from slsa_models.verify import Policy


def build_policy(
    *,
    policy_file: str | os.PathLike[str] | None = None,
    source_uri: str | None = None,
    source_tag: str | None = None,
    source_versioned_tag: str | None = None,
    source_branch: str | None = None,
    builder_id: str | None = None,
    build_workflow_inputs: Mapping[str, str] | None = None,
    public_keys: Sequence[str | os.PathLike[str]] | None = None,
) -> Policy:
    """A Policy from a policy file or from the verifier's flags (not both).

    ``public_keys`` are PEM files of local builders' keys, trusted for
    ``builder_id`` (and ``source_uri`` when given), as ``verify-artifact
    --public-key`` does. An empty ``policy_file`` counts as none (prefect.yaml
    fills it from an environment variable that may be unset).
    """
    flags = {
        "source_uri": source_uri,
        "source_tag": source_tag,
        "source_versioned_tag": source_versioned_tag,
        "source_branch": source_branch,
        "builder_id": builder_id,
    }
    if policy_file is not None and str(policy_file) != "":
        given = [name for name, value in flags.items() if value is not None]
        given += [name for name, value in (("build_workflow_inputs", build_workflow_inputs),
                                           ("public_keys", public_keys)) if value]
        if given:
            raise InputError(
                f"give a policy file or the policy flags, not both (also given: {', '.join(given)})"
            )
        return _load_policy_file(Path(policy_file))
    if source_uri is None and not public_keys:
        raise InputError(
            "no policy: give a policy file (--policy FILE) or the repository the model must"
            " come from (--source-uri github.com/OWNER/REPO)"
        )
    keys = _trusted_keys(public_keys or (), builder_id, source_uri)
    extra = {"public_keys": keys} if keys else {}
    return Policy(**flags, build_workflow_inputs=dict(build_workflow_inputs or {}), **extra)


def _load_policy_file(path: Path) -> Policy:
    from slsa_models import verify

    loader = getattr(verify, "load_policy", None)
    if loader is None:
        raise InputError("policy files are not supported yet")
    return loader(path)


def _trusted_keys(paths: Sequence[str | os.PathLike[str]], builder_id: str | None,
                  source_uri: str | None) -> tuple[Any, ...]:
    if not paths:
        return ()
    from slsa_models import verify

    trusted_key = getattr(verify, "TrustedKey", None)
    if trusted_key is None:
        raise InputError("public keys are not supported yet")
    if builder_id is None:
        raise InputError("a public key needs a builder id (--builder-id): key-signed provenance"
                         " has no default trusted builder")
    return tuple(trusted_key.from_file(path, builder_id=builder_id, source_uri=source_uri)
                 for path in paths)


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready values, every field (paths as strings, mappings as objects)."""
    return {field.name: _plain(getattr(policy, field.name)) for field in dataclasses.fields(policy)}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if callable(getattr(value, "to_dict", None)):  # e.g. a trusted key: name, hint, builder
        return _plain(value.to_dict())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
