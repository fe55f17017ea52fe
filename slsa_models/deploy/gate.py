"""The gate: download the model hashing it, verify those bytes, and decide.

``download_model`` streams the object to a local file and hashes it in the
same pass; from then on only that local file and its digest are used, so the
bytes verified are the bytes loaded and promoted. ``verify_candidate`` runs
the verifier on that digest and adds one check of its own, ``model-digest``:
the bytes must hash to the digest their key names.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from slsa_models.deploy.provenance import FetchedProvenance
from slsa_models.errors import ProvenanceError
from slsa_models.store import ArtifactStore, StoredObject, layout
from slsa_models.verify import Artifact, Check, Policy, Report, verify_loaded

MODEL_DIGEST = "model-digest"


@dataclass(frozen=True)
class FetchedModel:
    """A model object downloaded to ``path``; ``stored`` has the sha256 of the bytes written."""

    path: Path
    stored: StoredObject

    @property
    def sha256(self) -> str:
        return self.stored.sha256

    @property
    def file_name(self) -> str:
        return self.path.name


def download_model(
    store: ArtifactStore, model_key: str, directory: Path, *, version_id: str | None = None,
    durable: bool = True,
) -> FetchedModel:
    """Stream ``model_key`` into ``directory/<file name>``, hashing while downloading.

    ``durable=False`` skips the fsync (see ``ArtifactStore.download``): for a scratch
    ``directory`` that is removed after the run.
    """
    _, _, file_name = layout.parse_model_key(model_key)
    dest = Path(directory) / file_name
    stored = store.download(model_key, dest, version_id=version_id, durable=durable)
    return FetchedModel(dest, stored)


def model_digest_check(model_key: str, actual_sha256: str) -> Check:
    """The downloaded bytes hash to the digest in their key (content addressing holds)."""
    _, expected, file_name = layout.parse_model_key(model_key)
    ok = actual_sha256 == expected
    return Check(
        MODEL_DIGEST, ok, f"sha256:{expected}", f"sha256:{actual_sha256}",
        "" if ok else "the stored bytes are not the ones their key names: they were replaced",
        artifact=file_name,
    )


def with_checks(report: Report, extra: list[Check]) -> Report:
    """The verifier's report with the deploy's own checks appended (after the verifier's)."""
    return dataclasses.replace(
        report,
        checks=[*report.checks, *extra],
        passed=report.passed and all(check.passed for check in extra),
    )


def verify_model(
    provenance: FetchedProvenance, model: FetchedModel, policy: Policy
) -> Report:
    """Verify the downloaded bytes (by the digest computed while downloading) and their key."""
    if provenance.loaded is None:
        raise provenance.error or ProvenanceError(f"{provenance.location}: no provenance")
    artifact = Artifact.from_digest(model.sha256, name=model.file_name)
    report = verify_loaded(provenance.loaded, [artifact], policy)
    return with_checks(report, [model_digest_check(model.stored.key, model.sha256)])


@dataclass(frozen=True)
class Verdict:
    """The gate's decision for one candidate.

    ``report`` is None when verification could not run; ``error`` says why (a
    ProvenanceError: missing, empty, garbage or unsupported provenance).
    ``decision_id`` identifies this decision in records (retries reuse it).
    """

    decision_id: str
    model_name: str
    model_key: str
    decided_at: datetime
    provenance: FetchedProvenance
    model: FetchedModel | None
    report: Report | None
    error: ProvenanceError | None = None

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.passed

    @property
    def reason(self) -> str | None:
        """One line: why the gate refused, or None when it passed."""
        if self.error is not None:
            return str(self.error)
        if self.report is None:
            return "verification did not run"
        if self.report.passed:
            return None
        first = self.report.first_failure()
        return f"SLSA verification failed: {first.message if first else 'no artifact passed'}"

    def failed_check(self) -> str | None:
        """The name of the first failed check (``provenance`` when there was none to run)."""
        if self.report is None:
            return "provenance"
        first = self.report.first_failure()
        return first.name if first is not None else None


def verify_candidate(
    model_name: str,
    candidate: StoredObject,
    provenance: FetchedProvenance,
    model: FetchedModel | None,
    policy: Policy,
) -> Verdict:
    """Verify ``model`` against ``provenance`` under ``policy``; never raises for bad provenance."""
    now = datetime.now(timezone.utc)
    decision = uuid.uuid4().hex
    common = {"decision_id": decision, "model_name": model_name, "model_key": candidate.key,
              "decided_at": now, "provenance": provenance, "model": model}
    if model is None or provenance.loaded is None:
        error = provenance.error or ProvenanceError(f"{provenance.location}: no provenance")
        return Verdict(**common, report=None, error=error)
    try:
        report = verify_model(provenance, model, policy)
    except ProvenanceError as error:  # e.g. a kind this verifier cannot check
        return Verdict(**common, report=None, error=error)
    return Verdict(**common, report=report)
