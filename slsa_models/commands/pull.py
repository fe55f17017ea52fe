"""``slsa-models pull``: the verified deployed model into DEST, for any model server.

For an init container or a storage initializer in front of a server that is
not ours (Triton, vLLM, TorchServe, KServe): the deployment record and the
model's evidence are verified exactly as ``load_verified_model`` does, and only
then is the file moved into DEST, atomically (a rename within DEST's file
system). On any failure DEST is left as it was and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from slsa_models.settings import default_store_uri

if TYPE_CHECKING:
    from slsa_models.serving import VerifiedDeployment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: slsa-models pull --store s3://models/prod --model-name digits-cnn "
        "--policy /etc/slsa-models/policy.toml /models  (writes /models/<file>, or /models/<folder>/ "
        "for a folder model, every file of it verified). The policy must "
        "trust the deployer key that signs deployment records ([deployer.NAME]). Exit status: 0 "
        "pulled; 1 refused (a record or check failed); 2 unusable input."
    )
    parser.add_argument("dest", metavar="DEST", type=Path,
                        help="the directory the verified model file or folder goes into (created if missing)")
    parser.add_argument("--store", default=None,
                        help="s3://bucket/prefix or file:///dir (default $SLSA_MODELS_STORE)")
    parser.add_argument("--model-name", required=True, help="the deployed model's name")
    parser.add_argument("--policy", required=True, type=Path, help="the serving side's policy file")
    parser.add_argument("--digest", metavar="sha256:HEX",
                        help="pin the version: refuse unless the deployed record names this digest")
    parser.add_argument("--state", type=Path, metavar="DIR",
                        help="where the last pulled record's sequence is kept, for rollback protection "
                        "(default: <state dir>/serving/<model>)")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="keep verified downloads in DIR/<model>/sha256-<hex>/ and reuse them: a cached copy "
                        "is verified again (every file hashed, the evidence checked) and downloaded anew if it "
                        "does not verify. Without it, a DEST that already holds the deployed bytes is still "
                        "verified in place and not downloaded again")
    parser.add_argument("--allow-rollback", action="store_true",
                        help="accept a deployment record older than the one pulled before")


def run(args: argparse.Namespace) -> int:
    from slsa_models.serving import move_into_place, verify_deployed
    from slsa_models.store import layout, open_store
    from slsa_models.verify import load_policy

    policy = load_policy(args.policy)
    layout.validate_model_name(args.model_name)
    store = open_store(args.store or default_store_uri())
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)
    verify = functools.partial(verify_deployed, store, args.model_name, policy, state=args.state,
                               allow_rollback=args.allow_rollback, digest=args.digest)

    in_dest = _reusable(verify, dest, lambda key: dest / _name(key))
    if in_dest is not None:  # DEST already holds these very bytes: nothing to download or move
        _report(f"{dest / in_dest.model.file_name} is already the deployed model", in_dest)
        return 0
    # the scratch directory sits in DEST, so the final rename never crosses file systems
    workdir = Path(tempfile.mkdtemp(prefix=".pull-", dir=dest))
    try:
        verified = None
        if args.cache is not None:  # a copy of the cached bytes, verified where it will be served
            verified = _reusable(verify, workdir, lambda key: _copy(_cached(args, key), workdir))
        if verified is None:
            verified = verify(workdir)
            if args.cache is not None:
                _keep_in_cache(verified.model.path, _cached(args, verified.model.stored.key))
        target = dest / verified.model.file_name
        move_into_place(verified.model.path, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _report(f"pulled {target}", verified)
    return 0


def _name(key: str) -> str:
    from slsa_models.store import layout

    return layout.folder_name(key) if layout.is_folder_key(key) else layout.parse_model_key(key)[2]


def _cached(args: argparse.Namespace, key: str) -> Path:
    """``<cache>/<model>/sha256-<hex>/<name>``, the layout of load_verified_model's cache_dir."""
    from slsa_models.store import layout

    return args.cache / args.model_name / f"sha256-{layout.parse_model_key(key)[1]}" / _name(key)


def _reusable(verify: Callable[..., VerifiedDeployment], workdir: Path,
              local: Callable[[str], Path | None]) -> VerifiedDeployment | None:
    """The deployment verified on a local copy, or None when there is none or it does not verify
    (then the object is downloaded: a cache is never trusted, only re-checked)."""
    from slsa_models.errors import InputError, VerificationFailed

    def existing(key: str) -> Path | None:
        path = local(key)
        if path is None or not path.exists():
            raise _NoCopy
        return path

    try:
        return verify(workdir, local=existing)
    except (_NoCopy, VerificationFailed, InputError, OSError):
        return None


class _NoCopy(Exception):
    """No local copy of the deployed object."""


def _copy(source: Path, workdir: Path) -> Path | None:
    """A private copy of ``source`` in ``workdir`` (what is verified is what gets moved into DEST)."""
    if not source.exists():
        return None
    target = workdir / source.name
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)
    return target


def _keep_in_cache(path: Path, cached: Path) -> None:
    """A copy of the verified download in the cache, for the next pull."""
    from slsa_models.serving import move_into_place

    cached.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".cache-", dir=cached.parent))
    try:
        move_into_place(_copy(path, scratch) or path, cached)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _report(what: str, verified: VerifiedDeployment) -> None:
    record = verified.record
    print(f"{what} ({record.digest}): deployment #{record.sequence} verified", file=sys.stderr)
    dropped = verified.model.dropped_line()
    if dropped:
        print(dropped, file=sys.stderr)
