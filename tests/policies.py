"""Policies for tests: GitHub rules for both Sigstore kinds, or local builders' keys."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slsa_models.verify import AttestationPolicy, GeneratorPolicy, LocalBuilderPolicy, Policy, TrustedKey


def github_policy(*, accept_unnamed: bool = True, **rules: Any) -> Policy:
    """What ``--source-uri ...`` builds: both GitHub kinds held to ``rules``."""
    return Policy(GeneratorPolicy(**rules), AttestationPolicy(**rules), accept_unnamed=accept_unnamed)


def local_policy(keys: Iterable[TrustedKey], *, accept_unnamed: bool = False,
                 deployers: Iterable[TrustedKey] = ()) -> Policy:
    """What ``--public-key ... --builder-id ...`` builds (plus deployers, for serving)."""
    return Policy(LocalBuilderPolicy(tuple(keys)), accept_unnamed=accept_unnamed, deployers=tuple(deployers))
