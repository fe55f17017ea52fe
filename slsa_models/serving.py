"""Serving side: load the deployed model only after verifying the record, the bytes and the evidence.

    from slsa_models.serving import load_verified_model
    from slsa_models.verify import load_policy

    model = load_verified_model("s3://models/prod", "digits-cnn", load_policy("policy.toml"))

``deployments/<model>/current.json`` must be a deployment record signed by a
deployer the policy trusts (``[deployer.NAME]``), promoting this model name,
and not older than the record this process (or its cache) last loaded: a
hand-edited record, one for another name or a rollback is refused. Then the
object it pins is downloaded (the pinned version where the bucket keeps
versions), hashed while downloading, and run through the same ``Gate`` as the
deploy, under the serving process's own policy. Two checks are added:
``deployed-digest`` (the bytes are the ones the record names) and
``provenance-digest`` (the evidence that passed is evidence the deploy
judged). Only when every check passes is the file loaded, with its format's
safe loader.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slsa_models import formats
from slsa_models.deploy.gate import FetchedModel, Gate, with_checks
from slsa_models.deploy.history import require_current
from slsa_models.deploy.records import PROMOTED, DeploymentRecord
from slsa_models.digest import Digest
from slsa_models.errors import UntrustedRecordError
from slsa_models.progress import progress_bar
from slsa_models.settings import state_dir
from slsa_models.store import ArtifactStore, StoredObject, layout, open_store
from slsa_models.verify import Check, Policy, Report

DEPLOYED_DIGEST = "deployed-digest"
PROVENANCE_DIGEST = "provenance-digest"
LAST_LOADED = "last-loaded.json"


@dataclass(frozen=True)
class VerifiedDeployment:
    """The deployed file, verified just now: where it is, what was deployed, the report."""

    model: FetchedModel
    record: DeploymentRecord
    report: Report


def _last_loaded(state: Path) -> int:
    try:
        value = json.loads((state / LAST_LOADED).read_text(encoding="utf-8")).get("sequence", -1)
    except (OSError, ValueError, AttributeError):
        return -1
    return value if isinstance(value, int) else -1


def _remember(state: Path, record: DeploymentRecord) -> None:
    state.mkdir(parents=True, exist_ok=True)
    temp = state / f".{LAST_LOADED}.tmp"
    temp.write_text(json.dumps({"sequence": record.sequence, "digest": record.digest}), encoding="utf-8")
    os.replace(temp, state / LAST_LOADED)


def verify_deployed(
    store: ArtifactStore | str, model_name: str, policy: Policy, directory: str | os.PathLike[str],
    *, state: str | os.PathLike[str] | None = None, allow_rollback: bool = False, durable: bool = True,
    digest: str | None = None, local: Callable[[str], Path | None] | None = None,
) -> VerifiedDeployment:
    """Verify the record, download the deployed object into ``directory`` and verify it.

    Raises UntrustedRecordError for a record that cannot be trusted and
    VerificationFailed if any check fails. ``state`` is where the last loaded
    sequence is kept (default ``<state dir>/serving/<model>``). ``digest`` pins the
    version: a record deploying any other digest is refused before anything is downloaded.
    ``local(key)`` may name a copy on disk of the deployed object (a cache): it is judged
    in place of a download, with every check the same.
    """
    if isinstance(store, str):
        store = open_store(store)
    signed = require_current(store, model_name, policy.deployers)
    record, where = signed.record, store.object_uri(layout.current_key(model_name))
    if record.model_name != model_name:
        raise UntrustedRecordError(f"{where} is a record for model {record.model_name!r}, not "
                                   f"{model_name!r}: nothing loaded")
    if record.outcome != PROMOTED or not record.object.get("key"):
        raise UntrustedRecordError(f"{where} does not promote a model (outcome {record.outcome}): "
                                   "nothing loaded")
    if digest is not None and record.digest != str(Digest.parse(digest)):
        raise UntrustedRecordError(f"{where} deploys {record.digest}, not the pinned {Digest.parse(digest)}: "
                                   "nothing loaded")
    state_path = Path(state) if state is not None else state_dir() / "serving" / model_name
    last = _last_loaded(state_path)
    if record.sequence < last and not allow_rollback:
        raise UntrustedRecordError(
            f"{where} is deployment #{record.sequence}, older than #{last} which this server loaded "
            "before: a rollback; nothing loaded (pass allow_rollback=True to accept it)"
        )
    key = record.object["key"]
    _, hex_digest, _ = layout.parse_model_key(key)
    candidate = StoredObject(key=key, uri=store.object_uri(key), sha256=hex_digest, size=-1)
    gate = Gate(store, model_name, policy)
    with progress_bar(None, f"downloading {model_name}") as progress:  # a bar on a terminal only
        verdict, _ = gate.run(Path(directory), candidate=candidate, version_id=record.object.get("version_id"),
                              durable=durable, local=local(key) if local is not None else None,
                              progress=progress)
    judged = {piece.get("sha256") for piece in record.evidence}
    report = verdict.report
    if report is None or verdict.model is None:
        raise UntrustedRecordError(f"{where}: {verdict.reason}; nothing loaded")
    report = with_checks(report, [
        _digest_check(DEPLOYED_DIGEST, record.sha256 or "", verdict.model.sha256,
                      "these are not the bytes the deploy verified", verdict.model.file_name),
        Check(PROVENANCE_DIGEST, report.provenance_sha256 in judged,
              " or ".join(f"sha256:{digest}" for digest in sorted(filter(None, judged))) or "(none)",
              f"sha256:{report.provenance_sha256}",
              "" if report.provenance_sha256 in judged else "this evidence is not what the deploy judged"),
    ])
    if not verdict.passed and report.passed:  # e.g. require: one kind passed, another did not
        report = with_checks(report, [Check("policy", False, "the policy satisfied", "not satisfied",
                                            verdict.problem or "")])
    report.raise_for_failure()
    _remember(state_path, record)
    return VerifiedDeployment(verdict.model, record, report)


def load_verified_model(
    store: ArtifactStore | str,
    model_name: str,
    policy: Policy,
    *,
    allow_pickle: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    allow_rollback: bool = False,
) -> Any:
    """The deployed model of ``model_name``, loaded only after it verified (see the module docstring).

    ``allow_pickle`` permits ``pytorch_full_model.pth`` (after verification only). A folder
    model is returned as its verified local path (keep it with ``cache_dir``: without it the
    temporary copy is gone when this returns), a TensorFlow SavedModel folder loaded.
    ``cache_dir`` keeps the verified file as ``<cache_dir>/<model>/sha256-<hex>/<file>`` and the
    last loaded sequence next to it; by default the file goes to a temporary directory removed
    after loading and the sequence to ``<state dir>/serving/<model>``.
    """
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="slsa-models-serve-") as workdir:
            verified = verify_deployed(store, model_name, policy, workdir, durable=False,
                                       allow_rollback=allow_rollback)
            if not verified.model.is_folder:
                return _load_file(verified.model.path, allow_pickle)
            # a folder is returned as a path, so it must outlive this call: the default cache
            kept = _keep(verified.model, state_dir() / "models" / model_name)
        return _load_file(kept, allow_pickle)
    root = Path(cache_dir) / layout.validate_model_name(model_name)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=root) as workdir:
        verified = verify_deployed(store, model_name, policy, workdir, state=root,
                                   allow_rollback=allow_rollback)
        kept = _keep(verified.model, root)
    return _load_file(kept, allow_pickle)


def _keep(model: FetchedModel, root: Path) -> Path:
    """Move the verified file or folder to ``<root>/sha256-<hex>/<name>``."""
    kept = root / f"sha256-{model.sha256}" / model.file_name
    kept.parent.mkdir(parents=True, exist_ok=True)
    beside = kept.with_name(f".{kept.name}.new-{os.getpid()}")
    shutil.move(model.path, beside)  # a rename, or a copy when root is on another file system
    move_into_place(beside, kept)
    return kept


def move_into_place(source: Path, target: Path) -> None:
    """Rename ``source`` (a file or folder) to ``target`` on the same file system.

    A file replaces ``target`` atomically. A folder cannot be renamed over a folder, so
    an existing ``target`` folder is first renamed aside and removed once the new one
    is in place: readers see the old folder or the new one, never a mix, but for a
    moment neither.
    """
    if not source.is_dir() or not target.exists():
        os.replace(source, target)
        return
    aside = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, aside)
    os.replace(source, target)
    shutil.rmtree(aside, ignore_errors=True) if aside.is_dir() else aside.unlink()


def _load_file(path: Path, allow_pickle: bool) -> Any:
    """The loaded model; a folder: a TensorFlow SavedModel loaded, any other folder (a Hugging
    Face checkpoint...) as its verified local path, for the framework of your choice."""
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            import tensorflow as tf

            return tf.saved_model.load(str(path))
        return path
    return formats.load_model(path, formats.get_format(path.name).name, allow_pickle=allow_pickle)


def _digest_check(name: str, expected: str, actual: str, problem: str, artifact: str | None = None) -> Check:
    ok = expected == actual
    return Check(name, ok, f"sha256:{expected}", f"sha256:{actual}", "" if ok else problem, artifact=artifact)
