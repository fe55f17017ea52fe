"""What the deploy trusts comes from the deployment, never from a run's parameters.

A deployment of the deploy flow reads its policy file from ``SLSA_MODELS_POLICY``
in the worker's or the deployment's environment (prefect.yaml's job variables),
and ``SLSA_MODELS_ALLOW_PICKLE=1`` where pickled models may be smoke-loaded.
Anyone who may start a run (UI, API, an automation) chooses only which model
and digest to deploy. A run of a deployment that passes ``trust`` parameters
is refused, and the refusal recorded, unless the deployment was created with
the development opt-in ``SLSA_MODELS_ALLOW_RUN_POLICY=1``. Runs without a
deployment (``python -m flows.deploy``, tests) are the operator's own: their
``trust`` parameters are the command line's policy flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slsa_models.errors import PolicyError, TrustParametersRefused
from slsa_models.verify import Policy, load_policy, policy_from_options

POLICY_ENV = "SLSA_MODELS_POLICY"
ALLOW_PICKLE_ENV = "SLSA_MODELS_ALLOW_PICKLE"
GITHUB_ATTESTATIONS_ENV = "SLSA_MODELS_GITHUB_ATTESTATIONS"
RUN_POLICY_OPT_IN_ENV = "SLSA_MODELS_ALLOW_RUN_POLICY"
# the keys a ``trust`` parameter may hold besides the policy flags
TRUST_EXTRAS = ("policy_file", "accept_unnamed", "allow_pickle", "provenance_url", "github_attestations")


if TYPE_CHECKING:
    from slsa_models.deploy.github_api import GitHubAttestations


@dataclass(frozen=True)
class Trust:
    policy: Policy
    allow_pickle: bool = False
    provenance_url: str | None = None
    source: str = ""  # where the policy came from, for reports: a file, or the run's parameters
    github_attestations: bool = False  # no evidence in the store: ask GitHub's attestations API

    def github(self) -> GitHubAttestations | None:
        """The GitHub attestations API to ask, per the policy's [github-attestation] table, if enabled."""
        if not self.github_attestations:
            return None
        from slsa_models.deploy.github_api import GitHubAttestations

        found = GitHubAttestations.for_policy(self.policy)
        if found is None:
            raise PolicyError("fetching GitHub attestations needs a [github-attestation] table in the policy "
                              "(its owner or repo says where to ask)")
        return found


def given_options(trust: Mapping[str, Any] | None) -> dict[str, Any]:
    """The trust options actually set (an empty string counts: it is refused as empty)."""
    return {name: value for name, value in (trust or {}).items() if value not in (None, False, [], {})}


def resolve_trust(trust: Mapping[str, Any] | None, *, from_deployment: bool,
                  environ: Mapping[str, str] = os.environ) -> Trust:
    """The run's Trust: the deployment's own configuration, or (outside deployments) ``trust``."""
    given = given_options(trust)
    if given and from_deployment and environ.get(RUN_POLICY_OPT_IN_ENV) != "1":
        raise TrustParametersRefused(
            f"this run passed trust parameters ({', '.join(sorted(given))}): the deployment's own "
            f"policy ({POLICY_ENV}) decides what is trusted, not a run; nothing deployed (create the "
            f"deployment with {RUN_POLICY_OPT_IN_ENV}=1 only for development)"
        )
    if given or (trust is not None and not from_deployment):
        options = dict(trust or {})
        extras = {name: options.pop(name, None) for name in TRUST_EXTRAS}
        policy = policy_from_options(policy_file=extras["policy_file"],
                                     accept_unnamed=bool(extras["accept_unnamed"]), **options)
        source = f"policy file {extras['policy_file']}" if extras["policy_file"] else "the run's trust parameters"
        return Trust(policy, bool(extras["allow_pickle"]), extras["provenance_url"], source,
                     bool(extras["github_attestations"]))
    return Trust(configured_policy(environ), environ.get(ALLOW_PICKLE_ENV) == "1",
                 source=f"policy file {environ.get(POLICY_ENV)} ({POLICY_ENV})",
                 github_attestations=environ.get(GITHUB_ATTESTATIONS_ENV) == "1")


def configured_policy(environ: Mapping[str, str] = os.environ) -> Policy:
    """The policy file named by ``SLSA_MODELS_POLICY``; PolicyError when it is unset."""
    path = environ.get(POLICY_ENV, "")
    if not path:
        raise PolicyError(f"no policy: set {POLICY_ENV} to the deployment's policy file (a TOML "
                          "file, see examples/policies/) in the worker's environment or prefect.yaml")
    return load_policy(path)
