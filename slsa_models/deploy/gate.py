"""The gate: one definition of "may this model be deployed", shared by every caller.

    gate = Gate(store, "digits-cnn", policy)
    verdict, smoke = gate.run(workdir)                # serving, pull, benchmarks
    # the deploy flow runs the same steps as Prefect tasks:
    candidate = gate.find(digest); evidence = gate.fetch_evidence(candidate)
    model = gate.fetch_model(candidate, workdir); verdict = gate.verify(candidate, evidence, model)
    smoke = gate.smoke_load(verdict)

``fetch_model`` streams the object to a local file and hashes it in the same
pass; from then on only that file and its digest are used, so the bytes
verified are the bytes loaded and promoted. ``verify`` judges every piece of
evidence by the policy of its kind and adds the gate's own checks:
``model-name`` (the evidence names this model) and ``model-digest`` (the bytes
hash to the digest their key names). The model passes when the passed pieces'
kinds satisfy the policy (any kind, or all of ``require``).
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from slsa_models.deploy.candidate import find_model
from slsa_models.deploy.github_api import GitHubAttestations
from slsa_models.deploy.provenance import FetchedProvenance, fetch_evidence
from slsa_models.deploy.smoke import SmokeResult, smoke_load
from slsa_models.errors import InputError, MissingObjectError, ProvenanceError
from slsa_models.digest import sha256_file
from slsa_models.manifest import MAX_MANIFEST_BYTES, Manifest, hash_files, list_files
from slsa_models.progress import Progress
from slsa_models.untrusted import read_regular_file
from slsa_models.store import ArtifactStore, StoredObject, layout
from slsa_models.verify import Artifact, Check, Policy, Report, verify_loaded
from slsa_models.verify.names import check_model_files, check_model_name, compared_files, signed_files
from slsa_models.verify.report import folder_report, with_checks

MODEL_DIGEST = "model-digest"


DOWNLOAD_WORKERS = 8


@dataclass(frozen=True)
class FetchedModel:
    """A model downloaded to ``path``; ``stored`` has the sha256 of the bytes written.

    A folder model: ``path`` is the folder, ``stored`` its manifest object (sha256 of
    the manifest bytes downloaded) and ``files`` the relative path and sha256 of every
    file downloaded into it (``problem`` says why some could not be). ``dropped``: files
    that no passing evidence binds, deleted from the folder once it verified.
    """

    path: Path
    stored: StoredObject
    files: Mapping[str, str] | None = None
    problem: str | None = None
    dropped: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return self.stored.sha256

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def is_folder(self) -> bool:
        return self.files is not None

    def dropped_line(self) -> str | None:
        """One line naming the files deleted as unsigned, or None when there were none."""
        if not self.dropped:
            return None
        shown = ", ".join(self.dropped[:5]) + (f" and {len(self.dropped) - 5} more" if len(self.dropped) > 5 else "")
        count = len(self.dropped)
        return (f"deleted {count} file{'s' if count != 1 else ''} that no passing evidence signs "
                f"(left out by the policy or the signer): {shown}")

    def artifacts(self) -> list[Artifact]:
        """What the evidence is checked against: the file, or every file of the folder."""
        if self.files:
            return [Artifact(path, digest) for path, digest in self.files.items()]
        return [Artifact.from_digest(self.sha256, name=self.file_name)]


def model_digest_check(model_key: str, actual_sha256: str) -> Check:
    """The downloaded bytes hash to the digest in their key (content addressing holds)."""
    _, expected, file_name = layout.parse_model_key(model_key)
    ok = actual_sha256 == expected
    return Check(
        MODEL_DIGEST, ok, f"sha256:{expected}", f"sha256:{actual_sha256}",
        "" if ok else "the stored bytes are not the ones their key names: they were replaced",
        artifact=file_name,
    )


@dataclass(frozen=True)
class Verdict:
    """The gate's decision for one candidate.

    ``reports`` has one entry per piece of ``evidence`` (None where the piece
    could not be used: its ``error`` says why). ``decision_id`` identifies this
    decision in records (retries reuse it).
    """

    decision_id: str
    model_name: str
    model_key: str
    decided_at: datetime
    evidence: tuple[FetchedProvenance, ...]
    model: FetchedModel | None
    reports: tuple[Report | None, ...]
    problem: str | None  # why the policy is not satisfied; None when it is

    @property
    def passed(self) -> bool:
        return self.problem is None

    @property
    def report(self) -> Report | None:
        """The report to show: the first passing one, else the first that ran."""
        ran = [report for report in self.reports if report is not None]
        return next((report for report in ran if report.passed), ran[0] if ran else None)

    @property
    def reason(self) -> str | None:
        """One line: why the gate refused, or None when it passed."""
        if self.passed:
            return None
        report = self.report
        if report is not None and not report.passed:
            first = report.first_failure()
            more = f" ({len(self.evidence)} pieces of evidence judged)" if len(self.evidence) > 1 else ""
            return f"SLSA verification failed: {first.message if first else 'no artifact passed'}{more}"
        if report is None:
            errors = [piece.error for piece in self.evidence if piece.error is not None]
            return str(errors[0]) if errors else "verification did not run"
        return f"SLSA verification failed: {self.problem}"

    def failed_check(self) -> str | None:
        """The name of the first failed check (``provenance`` when there was none to run)."""
        if self.passed:
            return None
        report = self.report
        if report is None:
            return "provenance"
        first = report.first_failure()
        return first.name if first is not None else "policy"


class Gate:
    """The gate's steps for one model under one policy (see the module docstring)."""

    def __init__(self, store: ArtifactStore, model_name: str, policy: Policy, *,
                 provenance_url: str | None = None, allow_pickle: bool = False,
                 github: GitHubAttestations | None = None) -> None:
        layout.validate_model_name(model_name)
        self.store, self.model_name, self.policy = store, model_name, policy
        self.provenance_url, self.allow_pickle, self.github = provenance_url, allow_pickle, github

    def find(self, digest: str | None = None) -> StoredObject:
        return find_model(self.store, self.model_name, digest)

    def fetch_evidence(self, candidate: StoredObject) -> tuple[FetchedProvenance, ...]:
        return fetch_evidence(self.store, candidate.key, self.provenance_url, github=self.github)

    def fetch_model(self, candidate: StoredObject, directory: Path, *, version_id: str | None = None,
                    durable: bool = False, progress: Progress | None = None) -> FetchedModel:
        """Stream the object into ``directory/<file name>``, hashing while downloading.

        ``durable=False`` skips the fsync: for a scratch ``directory`` removed after the run.
        ``progress`` hears of every byte downloaded (a terminal bar, a Prefect UI artifact).
        """
        _, _, file_name = layout.parse_model_key(candidate.key)
        dest = Path(directory) / file_name
        folder = layout.is_folder_key(candidate.key)
        if progress is not None and candidate.size > 0 and not folder:
            progress.add_total(candidate.size)
        stored = self.store.download(candidate.key, dest, version_id=version_id, durable=durable,
                                     on_progress=None if folder else progress)
        if folder:
            return self._fetch_folder(stored, dest, durable, progress)
        return FetchedModel(dest, stored)

    def local_model(self, candidate: StoredObject, path: Path) -> FetchedModel:
        """A copy of the candidate already on disk (a cache, or what a server already holds),
        hashed now in place of a download: it is judged exactly as downloaded bytes are."""
        if not layout.is_folder_key(candidate.key):
            digest = sha256_file(path)
            return FetchedModel(path, dataclasses.replace(candidate, sha256=digest, size=path.stat().st_size))
        files = hash_files(path, list_files(path, ignore_git_paths=False))
        manifest = Manifest.from_digests(files)
        return FetchedModel(path, dataclasses.replace(candidate, sha256=manifest.digest.hex), files)

    def _fetch_folder(self, manifest_object: StoredObject, manifest_path: Path, durable: bool,
                      progress: Progress | None = None) -> FetchedModel:
        """Download every file the (downloaded) manifest lists, several at a time, hashing each.

        Nothing in the manifest is trusted: a manifest that is not the one its key names
        is not followed, and the files are judged by the evidence, not by the manifest.
        """
        key = manifest_object.key
        folder = manifest_path.parent / layout.folder_name(key)
        shutil.rmtree(folder, ignore_errors=True)  # a retried fetch starts empty: only what it downloads is there
        folder.mkdir()
        if manifest_object.sha256 != layout.parse_model_key(key)[1]:
            return FetchedModel(folder, manifest_object, {}, "the manifest is not the one its key names")
        try:
            manifest = Manifest.parse(read_regular_file(manifest_path, max_bytes=MAX_MANIFEST_BYTES, what="manifest"))
        except InputError as error:
            return FetchedModel(folder, manifest_object, {}, f"unusable manifest: {error}")

        if progress is not None:  # one listing gives every file's size
            progress.add_total(sum(obj.size for obj in self.store.list_objects(layout.folder_prefix(key))))

        def fetch(path: str) -> tuple[str, str | None]:
            dest = folder / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                file_key = layout.folder_file_key(key, path)
                return path, self.store.download(file_key, dest, durable=durable, on_progress=progress).sha256
            except (MissingObjectError, InputError):
                return path, None

        paths = [entry.path for entry in manifest.files]
        with ThreadPoolExecutor(max_workers=min(DOWNLOAD_WORKERS, len(paths)), thread_name_prefix="fetch") as pool:
            fetched = dict(pool.map(fetch, paths))
        files = {path: digest for path, digest in fetched.items() if digest is not None}
        lost = [path for path, digest in fetched.items() if digest is None]
        return FetchedModel(folder, manifest_object, files,
                            f"not in the store: {', '.join(lost[:3])}" if lost else None)

    def verify(self, candidate: StoredObject, evidence: Sequence[FetchedProvenance],
               model: FetchedModel | None) -> Verdict:
        """Judge each piece of evidence on the downloaded bytes; never raises for bad evidence."""
        judged = [self._judge(piece, model) for piece in evidence]
        evidence = tuple(piece for piece, _ in judged)
        reports = [report for _, report in judged]
        passed = {report.kind for report in reports if report is not None and report.passed}
        problem = self.policy.combine(passed)
        if problem is not None and model is None:
            problem = "the model was not downloaded: no usable evidence"
        if problem is None and model is not None and model.files:
            model = self._drop_unsigned(model, reports)
        return Verdict(uuid.uuid4().hex, self.model_name, candidate.key, datetime.now(timezone.utc),
                       tuple(evidence), model, tuple(reports), problem)

    def _judge(self, piece: FetchedProvenance,
               model: FetchedModel | None) -> tuple[FetchedProvenance, Report | None]:
        """The piece (with its error, if it turned out unusable) and its report."""
        if piece.loaded is None or model is None:
            return piece, None
        try:
            report = verify_loaded(piece.loaded, model.artifacts(), self.policy)
        except ProvenanceError as error:  # e.g. a kind this verifier cannot check
            return dataclasses.replace(piece, loaded=None, error=error), None
        gate_checks = [
            check_model_name(report.named_models, self.model_name, self.policy.accept_unnamed),
            model_digest_check(model.stored.key, model.sha256),
        ]
        if model.files is None:
            return piece, with_checks(report, gate_checks)
        files = check_model_files(signed_files(report.subjects, self.model_name, report.kind),
                                  compared_files(report, self.policy, model.files))
        if not files.passed and model.problem:
            files = dataclasses.replace(files, detail=f"{files.detail}; {model.problem}")
        return piece, folder_report(report, gate_checks, files)

    def _drop_unsigned(self, model: FetchedModel, reports: Sequence[Report | None]) -> FetchedModel:
        """The verified folder without the files no passing evidence binds, deleted from disk.

        An ``[oms]`` policy's ``ignore-paths`` or ``ignore-unsigned-files`` (or paths the signer
        left out) let a folder pass with files nobody signed; they must not reach the smoke-load,
        a promotion or a server. Files bound by any passing piece (provenance binds all) stay.
        """
        files = model.files or {}
        signed: set[str] = set()
        for report in reports:
            if report is not None and report.passed:
                signed.update(compared_files(report, self.policy, files))
        dropped = tuple(sorted(set(files) - signed))
        if not dropped:
            return model
        for path in dropped:
            (model.path / path).unlink(missing_ok=True)
            for parent in (model.path / path).parents:  # folders left empty go too
                if parent == model.path or any(parent.iterdir()):
                    break
                parent.rmdir()
        kept = {path: digest for path, digest in files.items() if path in signed}
        return dataclasses.replace(model, files=kept, dropped=dropped)

    def smoke_load(self, verdict: Verdict) -> SmokeResult:
        path = verdict.model.path if verdict.model is not None else None
        return smoke_load(path, verified=verdict.passed, allow_pickle=self.allow_pickle)

    def run(self, directory: Path, *, digest: str | None = None, candidate: StoredObject | None = None,
            version_id: str | None = None, durable: bool = False, local: Path | None = None,
            progress: Progress | None = None) -> tuple[Verdict, SmokeResult]:
        """Every step in order: find (or ``candidate``), evidence, model, verify, smoke-load.

        ``local``: judge this copy on disk instead of downloading the candidate.
        """
        candidate = candidate or self.find(digest)
        evidence = self.fetch_evidence(candidate)
        model = None
        if any(piece.usable for piece in evidence):
            model = self.local_model(candidate, local) if local is not None else \
                self.fetch_model(candidate, directory, version_id=version_id, durable=durable, progress=progress)
        verdict = self.verify(candidate, evidence, model)
        return verdict, self.smoke_load(verdict)
