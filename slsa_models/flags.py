"""The one table of policy flags: the verifier's command-line flags, the deploy's, and policy-file keys.

``verify-artifact`` and ``python -m flows.deploy`` add these arguments with
``add_policy_arguments``; ``policy_from_options`` turns their values into a
``Policy``; policy files use the same names as keys (``policy_file``). Each
flag says which kinds of evidence can check it, and a flag given where no
kind in play can check it is refused, never skipped.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL, KIND_OMS

GITHUB_KINDS = frozenset({KIND_GENERATOR, KIND_GITHUB_ATTESTATION})
ALL_KINDS = GITHUB_KINDS | {KIND_LOCAL}


@dataclass(frozen=True)
class PolicyFlag:
    """One rule as a flag (``--<name>``), an options keyword (``<name>`` with '_') and a file key."""

    name: str
    kinds: frozenset[str]
    metavar: str
    help: str
    repeat: bool = False
    file_key: str | None = None  # the key in a policy table, when it differs from ``name``

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def key(self) -> str:
        return self.file_key or self.name


POLICY_FLAGS: tuple[PolicyFlag, ...] = (
    PolicyFlag("source-uri", ALL_KINDS, "URI",
               "expected source repository, e.g. github.com/OWNER/REPO (with --public-key: the "
               "git checkout the local build must record)"),
    PolicyFlag("source-tag", GITHUB_KINDS, "TAG", "[optional] expected tag the artifact was built from"),
    PolicyFlag("source-versioned-tag", GITHUB_KINDS, "VERSION",
               "[optional] expected version the artifact was built from; semantic-version match: "
               "the major always, minor and patch only if given"),
    PolicyFlag("source-branch", GITHUB_KINDS, "BRANCH",
               "[optional] expected branch the artifact was built from"),
    PolicyFlag("builder-id", ALL_KINDS, "ID",
               "[optional] the builder that must have signed: NAME, NAME@vX.Y.Z or NAME@refs/tags/vX.Y.Z "
               "(default: the slsa-github-generator builders); required with --public-key"),
    PolicyFlag("build-workflow-input", GITHUB_KINDS, "KEY=VALUE",
               "[optional] an input of the workflow_dispatch run; repeat for several (the value may "
               "contain '=')", repeat=True, file_key="build-workflow-inputs"),
    PolicyFlag("trusted-root", GITHUB_KINDS, "FILE",
               "a Sigstore trusted root JSON (default: the public-good instance, offline)"),
    PolicyFlag("public-key", frozenset({KIND_LOCAL}), "PEM",
               "a local builder's public key (ECDSA P-256 PEM) trusted for key-signed provenance; "
               "repeatable; needs --builder-id", repeat=True),
)
FLAGS_BY_DEST = {flag.dest: flag for flag in POLICY_FLAGS}

# Rules only GitHub artifact attestations can check: `gh attestation verify`'s flags, taken by
# `slsa-models verify-attestation` and by the [github-attestation] table of a policy file (never
# by verify-artifact or the deploy flags, which trust generator provenance too: a rule given
# to a kind that cannot check it is refused, so they are not in POLICY_FLAGS).
ATTESTATION_ONLY = frozenset({KIND_GITHUB_ATTESTATION})
ATTESTATION_FLAGS: tuple[PolicyFlag, ...] = (
    PolicyFlag("owner", ATTESTATION_ONLY, "OWNER",
               "the GitHub organization or user the source repository belongs to"),
    PolicyFlag("repo", ATTESTATION_ONLY, "OWNER/REPO", "the source repository"),
    PolicyFlag("hostname", ATTESTATION_ONLY, "HOST",
               "github.com (default) or a GHE.com tenant NAME.ghe.com"),
    PolicyFlag("signer-repo", ATTESTATION_ONLY, "OWNER/REPO",
               "the repository of the (reusable) workflow that signed"),
    PolicyFlag("signer-workflow", ATTESTATION_ONLY, "[HOST/]OWNER/REPO/PATH",
               "the workflow that signed, optionally with @REF"),
    PolicyFlag("cert-identity", ATTESTATION_ONLY, "SAN",
               "the certificate's SubjectAlternativeName, exactly"),
    PolicyFlag("cert-identity-regex", ATTESTATION_ONLY, "REGEX",
               "a regular expression the certificate's SubjectAlternativeName matches"),
    PolicyFlag("cert-oidc-issuer", ATTESTATION_ONLY, "URL",
               "the OIDC issuer of the signing certificate (default: "
               "https://token.actions.githubusercontent.com)"),
    PolicyFlag("source-ref", ATTESTATION_ONLY, "REF",
               "the git ref the source was built from, e.g. refs/heads/main"),
    PolicyFlag("source-digest", ATTESTATION_ONLY, "SHA", "the commit the source was built from"),
    PolicyFlag("signer-digest", ATTESTATION_ONLY, "SHA", "the commit of the signing workflow"),
    PolicyFlag("deny-self-hosted-runners", ATTESTATION_ONLY, "",
               "refuse attestations made on self-hosted runners"),
    PolicyFlag("predicate-type", ATTESTATION_ONLY, "URI",
               "the statement's predicate type (default: https://slsa.dev/provenance/v1)"),
    PolicyFlag("digest-alg", ATTESTATION_ONLY, "ALG", "sha256 (default) or sha512"),
)
# OpenSSF model signing signatures: `slsa-models verify-signature`'s rules (model_signing's flags,
# whose underscore spellings it takes too) and the keys of a policy file's [oms] table. Not in
# POLICY_FLAGS: verify-artifact and the deploy flags verify provenance, not OMS signatures.
OMS_ONLY = frozenset({KIND_OMS})
OMS_FLAGS: tuple[PolicyFlag, ...] = (
    PolicyFlag("public-key", OMS_ONLY, "PEM",
               "a public key (ECDSA P-256/384/521 PEM) trusted to sign; repeatable", repeat=True),
    PolicyFlag("certificate-chain", OMS_ONLY, "PEM",
               "trusted root certificates (PEM) the signing certificate must chain to; repeatable",
               repeat=True),
    PolicyFlag("identity", OMS_ONLY, "IDENTITY",
               "the Sigstore signer's identity (the certificate's SAN), e.g. name@example.com"),
    PolicyFlag("identity-provider", OMS_ONLY, "URL",
               "the OIDC issuer that vouched for the Sigstore signer's identity"),
    PolicyFlag("trusted-root", OMS_ONLY, "FILE",
               "a Sigstore TrustedRoot or ClientTrustConfig JSON (default: the public-good instance, offline)",
               file_key="trusted-root"),
    PolicyFlag("ignore-paths", OMS_ONLY, "PATH", "a file or folder of the model left out; repeatable",
               repeat=True),
    PolicyFlag("ignore-unsigned-files", OMS_ONLY, "", "leave out every file the signature does not list"),
)

# Command-line only: the gate always hashes the bytes it deploys with SHA-256.
ATTESTATION_FILE_KEYS = tuple(flag.key for flag in ATTESTATION_FLAGS if flag.name != "digest-alg")


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--policy FILE`` and every flag of the table."""
    parser.add_argument("--policy", metavar="FILE",
                        help="a TOML policy file saying what to trust, instead of the policy flags")
    for flag in POLICY_FLAGS:
        if flag.repeat:
            parser.add_argument(flag.flag, action="append", default=[], metavar=flag.metavar,
                                help=flag.help)
        else:
            parser.add_argument(flag.flag, metavar=flag.metavar, help=flag.help)


def options_from_args(args: argparse.Namespace) -> dict[str, object]:
    """The table's values from parsed arguments, by ``dest``, plus ``policy_file``."""
    options: dict[str, object] = {flag.dest: getattr(args, flag.dest) for flag in POLICY_FLAGS}
    options["policy_file"] = args.policy
    return options
