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

from slsa_models.kinds import KIND_GENERATOR, KIND_GITHUB_ATTESTATION, KIND_LOCAL

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
