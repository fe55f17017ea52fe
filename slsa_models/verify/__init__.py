"""Verify artifacts against SLSA provenance, offline, like slsa-verifier.

    from slsa_models.verify import Artifact, Policy, verify_artifacts

    report = verify_artifacts(
        Path("model.keras.intoto.jsonl"),
        [Artifact.from_path("model.keras")],
        Policy(source_uri="github.com/acme/models", source_branch="main"),
    )
    report.raise_for_failure()

Key-signed provenance from the local builder is verified against trusted
public keys (``Policy(public_keys=(TrustedKey.from_file("builder.pub.pem",
builder_id="https://ci.example.com/gpu-box"),))``); a deployment's whole
trust can live in a TOML file read by ``load_policy("policy.toml")``;
``policy_from_options`` builds either from the verifier's flags, as the CLI
and the deploy flow do.

Cryptography (certificate chain, SCT, Rekor proofs, DSSE signature) is
sigstore-python's, and ``cryptography``'s for key-signed envelopes; this
package adds the SLSA policy checks and the report.
"""

from slsa_models.errors import ProvenanceError, VerificationFailed
from slsa_models.verify.api import verify_artifacts, verify_loaded
from slsa_models.verify.artifact import Artifact
from slsa_models.verify.bundle import LoadedProvenance, load_provenance
from slsa_models.verify.checks import CHECK_NAMES
from slsa_models.verify.keys import TrustedKey
from slsa_models.verify.options import policy_from_options
from slsa_models.verify.policy import Policy
from slsa_models.verify.policy_file import load_policy
from slsa_models.verify.report import ArtifactResult, Check, Report

__all__ = [
    "CHECK_NAMES",
    "Artifact",
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
