"""Serving side: load the deployed model only after verifying its bytes and provenance again.

    from slsa_models.serving import load_verified_model
    from slsa_models.verify import Policy

    model = load_verified_model("s3://models/prod", "digits-cnn",
                                Policy(source_uri="github.com/acme/models", source_branch="main"))

What ``deployments/<model>/current.json`` names is downloaded (the pinned
object version where the bucket keeps versions), hashed while downloading,
and verified with the serving process's own policy against the provenance
stored next to it. Three checks are added to the verifier's: ``model-digest``
(the bytes hash to the digest in their key), ``deployed-digest`` (they are the
bytes the deploy verified) and ``provenance-digest`` (the provenance is the
one the deploy verified). Only when every check passes is the file loaded,
with its format's safe loader.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slsa_models import formats
from slsa_models.deploy.gate import FetchedModel, download_model, verify_model, with_checks
from slsa_models.deploy.history import require_current
from slsa_models.deploy.provenance import fetch_provenance
from slsa_models.deploy.records import DeploymentRecord
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import Check, Policy, Report

DEPLOYED_DIGEST = "deployed-digest"
PROVENANCE_DIGEST = "provenance-digest"


@dataclass(frozen=True)
class VerifiedDeployment:
    """The deployed file, verified just now: where it is, what was deployed, the report."""

    model: FetchedModel
    record: DeploymentRecord
    report: Report


def verify_deployed(
    store: ArtifactStore | str, model_name: str, policy: Policy, directory: str | os.PathLike[str],
    *, durable: bool = True,
) -> VerifiedDeployment:
    """Download the deployed object into ``directory`` and verify it; raise VerificationFailed if any check fails.

    ``durable=False`` skips the fsync of the download, for a scratch ``directory``.
    """
    if isinstance(store, str):
        store = open_store(store)
    record = require_current(store, model_name)
    key = record.object["key"]
    layout.parse_model_key(key)
    provenance = fetch_provenance(store, key)
    if provenance.loaded is None:
        raise provenance.error  # type: ignore[misc]
    fetched = download_model(store, key, Path(directory), version_id=record.object.get("version_id"),
                             durable=durable)
    report = verify_model(provenance, fetched, policy)
    report = with_checks(report, [
        _digest_check(DEPLOYED_DIGEST, record.sha256, fetched.sha256,
                      "these are not the bytes the deploy verified", fetched.file_name),
        _digest_check(PROVENANCE_DIGEST, str(record.provenance.get("sha256")), provenance.loaded.sha256,
                      "the provenance is not the one the deploy verified"),
    ])
    report.raise_for_failure()
    return VerifiedDeployment(fetched, record, report)


def load_verified_model(
    store: ArtifactStore | str,
    model_name: str,
    policy: Policy,
    *,
    allow_pickle: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """The deployed model of ``model_name``, loaded only after it verified (see the module docstring).

    ``allow_pickle`` permits ``pytorch_full_model.pth`` (after verification only).
    ``cache_dir`` keeps the verified file as ``<cache_dir>/<model>/sha256-<hex>/<file>``;
    by default it is downloaded to a temporary directory removed after loading.
    """
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="slsa-models-serve-") as workdir:
            verified = verify_deployed(store, model_name, policy, workdir, durable=False)
            return _load_file(verified.model.path, allow_pickle)
    root = Path(cache_dir) / layout.validate_model_name(model_name)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=root) as workdir:
        verified = verify_deployed(store, model_name, policy, workdir)
        kept = root / f"sha256-{verified.model.sha256}" / verified.model.file_name
        kept.parent.mkdir(exist_ok=True)
        os.replace(verified.model.path, kept)
    return _load_file(kept, allow_pickle)


def _load_file(path: Path, allow_pickle: bool) -> Any:
    return formats.load_model(path, formats.get_format(path.name).name, allow_pickle=allow_pickle)


def _digest_check(name: str, expected: str, actual: str, problem: str, artifact: str | None = None) -> Check:
    ok = expected == actual
    return Check(name, ok, f"sha256:{expected}", f"sha256:{actual}", "" if ok else problem, artifact=artifact)
