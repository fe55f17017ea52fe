"""The verification report: every check with its expected and actual value."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slsa_models.errors import VerificationFailed

if TYPE_CHECKING:
    from slsa_models.verify.artifact import Artifact
    from slsa_models.verify.bundle import LoadedProvenance

SUBJECT_DIGEST = "subject-digest"


@dataclass(frozen=True, slots=True)
class Check:
    """One named check. ``name`` is stable: users and tests match on it."""

    name: str
    passed: bool
    expected: str
    actual: str
    detail: str = ""
    artifact: str | None = None  # set on checks about one artifact (subject-digest)

    @property
    def message(self) -> str:
        """One line naming the check, what was expected and what was found; control
        characters from the provenance (a newline in a signed value) are escaped."""
        text = f"{self.name}: expected {self.expected}, got {self.actual}"
        return printable(f"{text} ({self.detail})" if self.detail else text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
            "detail": self.detail,
            **({"artifact": self.artifact} if self.artifact is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class ArtifactResult:
    """The verdict for one artifact: its digest matched a subject and every shared check passed."""

    name: str
    sha256: str
    passed: bool
    subject: str | None = None  # the matching subject's name in the provenance

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "passed": self.passed,
                "subject": self.subject}


@dataclass
class Report:
    """What was verified, and whether every check passed.

    ``builder_id``, ``source_uri`` and ``commit`` are set only once the
    signature and certificate verified; before that nothing in the file is
    trustworthy. ``payload`` holds the verified in-toto statement bytes
    (for ``--print-provenance``); it is left out of ``to_dict``.
    """

    passed: bool
    checks: list[Check]
    artifacts: list[ArtifactResult]
    builder_id: str | None
    source_uri: str | None
    commit: str | None
    provenance_sha256: str
    kind: str
    payload: bytes | None = field(default=None, repr=False, compare=False)
    signer_key: str | None = None  # key-signed provenance: the trusted key that verified it
    named_models: tuple[str, ...] = ()  # the models the verified evidence names (see names.py)
    # (name, sha256 hex) of every subject of the VERIFIED statement; empty when nothing verified
    subjects: tuple[tuple[str, str], ...] = ()
    invocation: str | None = None  # the build run the verified provenance names (a URL or run id)

    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def first_failure(self, artifact: str | None = None) -> Check | None:
        """The first failed check, in check order; with ``artifact``, ignoring
        the checks about other artifacts."""
        for check in self.failed_checks():
            if artifact is None or check.artifact in (None, artifact):
                return check
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "kind": self.kind,
            "builder_id": self.builder_id,
            "source_uri": self.source_uri,
            "commit": self.commit,
            **({"invocation": self.invocation} if self.invocation is not None else {}),
            "provenance_sha256": self.provenance_sha256,
            **({"signer_key": self.signer_key} if self.signer_key is not None else {}),
            "named_models": list(self.named_models),
            "artifacts": [artifact.to_dict() for artifact in self.artifacts],
            "checks": [check.to_dict() for check in self.checks],
        }

    def raise_for_failure(self) -> None:
        """Raise VerificationFailed naming the first failed check; do nothing on a pass."""
        if self.passed:
            return
        first = self.first_failure()
        reason = first.message if first else "no artifact passed"
        raise VerificationFailed(f"SLSA verification failed: {reason}", report=self)


def folder_report(report: Report, checks: Sequence[Check], files: Check) -> Report:
    """A folder's report: ``checks`` and the ``files`` check (model-files) come before the
    per-file ones, so the first failure names what is wrong with the folder (which file
    changed) rather than one digest. ``files`` is added only when the statement verified
    (else nothing binds any file, and the signature's failure says so)."""
    if not report.subjects:
        return with_checks(report, checks)
    shared = [check for check in report.checks if check.artifact is None]
    per_file = [check for check in report.checks if check.artifact is not None]
    folder = with_checks(dataclasses.replace(report, checks=shared), [*checks, files])
    return dataclasses.replace(folder, checks=[*folder.checks, *per_file])


def with_checks(report: Report, extra: Sequence[Check]) -> Report:
    """The verifier's report with the gate's own checks appended (after the verifier's)."""
    return dataclasses.replace(
        report,
        checks=[*report.checks, *extra],
        passed=report.passed and all(check.passed for check in extra),
    )


def printable(text: str) -> str:
    """``text`` with every unprintable character (newline, escape, lone surrogate) escaped."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def artifact_results(report_checks: list[Check], artifacts: Sequence[Artifact],
                     subjects: dict[str, str] | None = None) -> list[ArtifactResult]:
    """An artifact passes when every shared check and its own digest check passed."""
    shared_ok = all(c.passed for c in report_checks if c.artifact is None)
    results = []
    for artifact in artifacts:
        own = [c for c in report_checks if c.artifact == artifact.name]
        passed = shared_ok and bool(own) and all(c.passed for c in own)
        results.append(ArtifactResult(artifact.name, artifact.sha256, passed,
                                      (subjects or {}).get(artifact.sha256)))
    return results


def unverified(loaded: LoadedProvenance, checks: list[Check], artifacts: Sequence[Artifact],
               kind: str, payload: bytes | None = None) -> Report:
    """A FAILED report that vouches for nothing: no builder, source or commit."""
    return Report(passed=False, checks=checks, artifacts=artifact_results(checks, artifacts),
                  builder_id=None, source_uri=None, commit=None,
                  provenance_sha256=loaded.sha256, kind=kind, payload=payload)
