"""``slsa-models pull``: the verified deployed model into DEST, for any model server.

For an init container or a storage initializer in front of a server that is
not ours (Triton, vLLM, TorchServe, KServe): the deployment record and the
model's evidence are verified exactly as ``load_verified_model`` does, and only
then is the file moved into DEST, atomically (a rename within DEST's file
system). On any failure DEST is left as it was and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from slsa_models.settings import default_store_uri


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
    parser.add_argument("--allow-rollback", action="store_true",
                        help="accept a deployment record older than the one pulled before")


def run(args: argparse.Namespace) -> int:
    from slsa_models.serving import move_into_place, verify_deployed
    from slsa_models.store import layout
    from slsa_models.verify import load_policy

    policy = load_policy(args.policy)
    layout.validate_model_name(args.model_name)
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)
    # the scratch directory sits in DEST, so the final rename never crosses file systems
    workdir = Path(tempfile.mkdtemp(prefix=".pull-", dir=dest))
    try:
        verified = verify_deployed(args.store or default_store_uri(), args.model_name, policy, workdir,
                                   state=args.state, allow_rollback=args.allow_rollback,
                                   digest=args.digest)
        target = dest / verified.model.file_name
        move_into_place(verified.model.path, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    record = verified.record
    print(f"pulled {target} ({record.digest}): deployment #{record.sequence} verified", file=sys.stderr)
    return 0
