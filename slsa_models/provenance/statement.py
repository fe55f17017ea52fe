"""in-toto Statement v1 with a SLSA v1 provenance predicate, for models built outside GitHub."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATEMENT_TYPE_V1 = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
LOCAL_BUILD_TYPE = "https://github.com/slsa-models/slsa-models/local-build/v1"

# Versions worth recording when present; read from package metadata, never imported.
_RECORDED_PACKAGES = ("slsa-models", "tensorflow", "keras", "torch", "numpy", "scikit-learn", "prefect")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_facts() -> dict[str, Any]:
    """What about the build host changes the bytes: interpreter, platform, library versions."""
    from importlib import metadata  # slow to import, and only a build needs it

    versions = {}
    for name in _RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": versions,
    }


def git_checkout(directory: Path | None = None) -> dict[str, Any] | None:
    """The checkout's commit as a resolved dependency, or None outside a git work tree."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        uri = git("remote", "get-url", "origin")
    except (OSError, subprocess.SubprocessError):
        uri = Path(git("rev-parse", "--show-toplevel")).as_uri()
    if uri.startswith("https://") or uri.startswith("http://"):
        uri = "git+" + uri
    dependency: dict[str, Any] = {"uri": uri, "digest": {"gitCommit": commit}}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    if dirty:
        dependency["annotations"] = {"uncommittedChanges": True}
    return dependency


def build_statement(
    subjects: Sequence[tuple[str, str]],
    *,
    builder_id: str,
    external_parameters: Mapping[str, Any],
    internal_parameters: Mapping[str, Any] | None = None,
    resolved_dependencies: Sequence[Mapping[str, Any]] = (),
    invocation_id: str | None = None,
    started_on: datetime,
    finished_on: datetime,
) -> dict[str, Any]:
    """Statement v1 over ``subjects`` (name, sha256 hex) with a SLSA v1 predicate."""
    metadata_: dict[str, Any] = {"startedOn": rfc3339(started_on), "finishedOn": rfc3339(finished_on)}
    if invocation_id:
        metadata_["invocationId"] = invocation_id
    return {
        "_type": STATEMENT_TYPE_V1,
        "subject": [{"name": name, "digest": {"sha256": sha256}} for name, sha256 in subjects],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": LOCAL_BUILD_TYPE,
                "externalParameters": dict(external_parameters),
                "internalParameters": dict(internal_parameters if internal_parameters is not None else host_facts()),
                "resolvedDependencies": [dict(d) for d in resolved_dependencies],
            },
            "runDetails": {"builder": {"id": builder_id}, "metadata": metadata_},
        },
    }
