"""``python -m flows.deploy``: run the gated deploy flow once, in-process.

    python -m flows.deploy --model-name digits-cnn --store s3://models/prod --policy policy.toml
    python -m flows.deploy --model-name digits-cnn --source-uri github.com/acme/models --source-branch main

Without policy flags the policy is the deployment's (``$SLSA_MODELS_POLICY``).
Exit status: 0 deployed; 1 refused (a check failed, the smoke test failed, or a
newer deployment is in place); 2 unusable input (flags, store, missing or
malformed evidence or policy).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from slsa_models import verbosity
from slsa_models.cli import ArgumentParser
from slsa_models.commands.argtypes import digest_argument
from slsa_models.errors import SlsaModelsError, one_line
from slsa_models.flags import add_policy_arguments, options_from_args
from slsa_models.settings import default_store_uri


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m flows.deploy",
        description="Verify a stored model's evidence and promote it to "
        "deployments/<model>/current.json only if the policy is satisfied. Runs in Prefect's "
        "ephemeral mode unless PREFECT_API_URL points at a server.",
        epilog="Without --policy or policy flags, the policy file named by $SLSA_MODELS_POLICY "
        "is used. Records are signed with $SLSA_MODELS_DEPLOYER_KEY (default: a development key "
        "in the state directory). Exit status: 0 deployed; 1 refused (the error names the failed "
        "check) or a newer deployment is in place; 2 unusable input.",
    )
    parser.add_argument("--model-name", required=True, help="the model's name in the store")
    parser.add_argument("--digest", type=digest_argument, metavar="sha256:HEX",
                        help="the model to deploy (default: the newest stored model of that name)")
    parser.add_argument("--store", help="s3://bucket/prefix or file:///dir "
                        "(default $SLSA_MODELS_STORE or .slsa-models/store)")
    add_policy_arguments(parser)
    parser.add_argument("--accept-unnamed", action="store_true",
                        help="accept evidence that names no model (e.g. someone else's workflow); "
                        "by default the evidence must name --model-name")
    parser.add_argument("--provenance-url", metavar="URL",
                        help="fetch the provenance here when the store has none next to the model "
                        "(a release asset or Actions artifact; $GITHUB_TOKEN is sent to GitHub)")
    parser.add_argument("--github-attestations", action="store_true",
                        help="when the store holds no evidence, list the model's attestations from GitHub's "
                        "attestations API (the policy's [github-attestation] owner/repo; $GITHUB_TOKEN is sent to "
                        "GitHub only); a deployment turns it on with SLSA_MODELS_GITHUB_ATTESTATIONS=1")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="smoke-load pytorch_full_model.pth (a pickle) after it verified")
    parser.add_argument("--json", action="store_true", help="print the deployment record as JSON")
    verbosity.add_arguments(parser)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return verbosity.parse_args(build_parser(), argv)


def trust_from(args: argparse.Namespace) -> dict[str, Any] | None:
    """The run's trust parameters: the policy flags and options given on the command line."""
    options = options_from_args(args)
    options["public_key"] = [str(Path(key).absolute()) for key in args.public_key]
    if options["policy_file"]:
        options["policy_file"] = str(Path(options["policy_file"]).absolute())
    from slsa_models.deploy.trust import given_options

    given = given_options({**options, "accept_unnamed": args.accept_unnamed,
                           "allow_pickle": args.allow_pickle, "provenance_url": args.provenance_url,
                           "github_attestations": args.github_attestations})
    return given or None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with verbosity.applied(args.verbosity):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    trust = trust_from(args)
    try:  # bad input fails here, before a flow run is created
        from slsa_models.deploy.trust import resolve_trust
        from slsa_models.store import layout, open_store

        layout.validate_model_name(args.model_name)
        resolve_trust(trust, from_deployment=False)
        store_uri = args.store or default_store_uri()
        current_uri = open_store(store_uri).object_uri(layout.current_key(args.model_name))
    except SlsaModelsError as error:
        print(one_line(error), file=sys.stderr)
        return error.exit_code
    from flows._cli import run_flow
    from flows.deploy import deploy_flow
    from slsa_models.deploy import records, summary

    parameters = {"model_name": args.model_name, "digest": args.digest, "store": store_uri,
                  "trust": trust}
    code, result = run_flow(deploy_flow, parameters)
    if code != 0:
        return code
    record = records.record_from_dict(result)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    print("PASSED: SLSA verification passed")
    print(f"deployed:   {summary.object_label(record)}")
    print(f"digest:     {record.digest}")
    print(f"record:     #{record.sequence}, signed")
    print(f"smoke-load: {record.smoke_load.get('status')}: {record.smoke_load.get('detail')}")
    print(f"current:    {current_uri}")
    return 0



