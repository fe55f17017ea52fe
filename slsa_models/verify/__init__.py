"""Verify artifacts against SLSA provenance, offline, like slsa-verifier.

    from slsa_models.verify import Artifact, GeneratorPolicy, Policy, verify_artifacts

    report = verify_artifacts(
        Path("model.keras.intoto.jsonl"),
        [Artifact.from_path("model.keras")],
        Policy(GeneratorPolicy(source_uri="github.com/acme/models", source_branch="main")),
    )
    report.raise_for_failure()

One policy type per kind of evidence (``GeneratorPolicy``,
``AttestationPolicy``, ``LocalBuilderPolicy`` with ``TrustedKey`` entries),
composed by ``Policy`` (any kind passes, or all of ``require``); a
deployment's whole trust can live in a TOML file read by
``load_policy("policy.toml")``; ``policy_from_options`` builds either from
the verifier's flags, as the CLI and the deploy flow do.

Cryptography (certificate chain, SCT, Rekor proofs, DSSE signature) is
sigstore-python's, and ``cryptography``'s for key-signed envelopes; this
package adds the SLSA policy checks and the report.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slsa_models.errors import ProvenanceError, VerificationFailed
    from slsa_models.verify.api import verify_artifacts, verify_loaded
    from slsa_models.verify.artifact import Artifact
    from slsa_models.verify.bundle import LoadedProvenance, load_provenance
    from slsa_models.verify.checks import CHECK_NAMES
    from slsa_models.verify.keys import TrustedKey
    from slsa_models.verify.options import policy_from_options
    from slsa_models.verify.policy import AttestationPolicy, GeneratorPolicy, LocalBuilderPolicy, Policy
    from slsa_models.verify.policy_file import load_policy
    from slsa_models.verify.report import ArtifactResult, Check, Report

# Each name is imported from its module when first used, so that a command
# importing one submodule (``verify.report``, ``verify.policy``) does not pay
# for all of them: the verifier's start-up is part of every CLI call.
_EXPORTS = {
    "ProvenanceError": "slsa_models.errors", "VerificationFailed": "slsa_models.errors",
    "verify_artifacts": "slsa_models.verify.api", "verify_loaded": "slsa_models.verify.api",
    "Artifact": "slsa_models.verify.artifact",
    "LoadedProvenance": "slsa_models.verify.bundle", "load_provenance": "slsa_models.verify.bundle",
    "CHECK_NAMES": "slsa_models.verify.checks",
    "TrustedKey": "slsa_models.verify.keys",
    "policy_from_options": "slsa_models.verify.options",
    "AttestationPolicy": "slsa_models.verify.policy", "GeneratorPolicy": "slsa_models.verify.policy",
    "LocalBuilderPolicy": "slsa_models.verify.policy", "Policy": "slsa_models.verify.policy",
    "load_policy": "slsa_models.verify.policy_file",
    "ArtifactResult": "slsa_models.verify.report", "Check": "slsa_models.verify.report",
    "Report": "slsa_models.verify.report",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CHECK_NAMES",
    "Artifact",
    "AttestationPolicy",
    "GeneratorPolicy",
    "LocalBuilderPolicy",
    "ArtifactResult",
    "Check",
    "LoadedProvenance",
    "Policy",
    "ProvenanceError",
    "Report",
    "TrustedKey",
    "VerificationFailed",
    "load_policy",
    "load_provenance",
    "policy_from_options",
    "verify_artifacts",
    "verify_loaded",
]
