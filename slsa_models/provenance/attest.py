"""Attest artifacts: one SLSA v1 statement over their digests, signed by the chosen signer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from slsa_models.provenance.signers import Signer
from slsa_models.provenance.statement import build_statement, git_checkout


def attest(
    subjects: Sequence[tuple[str, str]],
    *,
    signer: Signer,
    builder_id: str,
    external_parameters: Mapping[str, Any],
    invocation_id: str | None = None,
    started_on: datetime | None = None,
    finished_on: datetime | None = None,
    source_dir: Path | None = None,
) -> str:
    """Return the signed provenance bundle (one JSON line) for ``subjects`` (name, sha256)."""
    now = datetime.now(timezone.utc)
    checkout = git_checkout(source_dir)
    statement = build_statement(
        subjects,
        builder_id=builder_id,
        external_parameters=external_parameters,
        resolved_dependencies=[checkout] if checkout else [],
        invocation_id=invocation_id,
        started_on=started_on or now,
        finished_on=finished_on or now,
    )
    return signer.sign(statement)
