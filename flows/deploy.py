"""Deploy flow: fetch provenance -> fetch model -> verify -> smoke-load -> promote -> report.

A stored model is promoted (``deployments/<model>/current.json``) only when its
provenance verifies under the policy; every decision is appended to the
model's history. Run locally in Prefect's ephemeral mode::

    python -m flows.deploy --model-name digits-cnn --store s3://models/prod \\
        --source-uri github.com/acme/models --source-branch main
    python -m flows.deploy --model-name digits-cnn --policy policy.toml

Exit status: 0 deployed; 1 refused (a check failed, the smoke test failed, or
another deployment won); 2 unusable input (flags, store, missing or malformed
provenance).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows._cli import run_flow
from slsa_models import deploy
from slsa_models.cli import ArgumentParser
from slsa_models.commands.verify_artifact import parse_workflow_inputs
from slsa_models.deploy import summary
from slsa_models.digest import normalize_sha256
from slsa_models.errors import SlsaModelsError
from slsa_models.settings import default_store_uri
from slsa_models.store import layout, open_store
from slsa_models.verify import policy_from_options
from tasks.fetch import fetch_model, fetch_provenance, find_model
from tasks.promote import promote, record_refusal
from tasks.report import publish_deploy_report
from tasks.smoke import smoke_load
from tasks.verify import verify_model

POLICY_FLAGS = ("source_uri", "source_tag", "source_versioned_tag", "source_branch", "builder_id")


def _run_name() -> str:
    """``deploy-<model>-<12 hex of the digest>``, or ``-latest`` when no digest was given."""
    parameters = flow_run.parameters
    digest = str(parameters.get("digest") or "")
    shown = digest.lower().removeprefix("sha256:")[:12] or "latest"
    return f"deploy-{parameters.get('model_name')}-{shown}"


@flow(name="deploy-model", flow_run_name=_run_name, log_prints=True)
def deploy_flow(
    model_name: str,
    digest: str | None = None,
    store: str | None = None,
    source_uri: str | None = None,
    source_tag: str | None = None,
    source_versioned_tag: str | None = None,
    source_branch: str | None = None,
    builder_id: str | None = None,
    build_workflow_inputs: dict[str, str] | None = None,
    policy_file: str | None = None,
    public_keys: list[str] | None = None,
    provenance_url: str | None = None,
    allow_pickle: bool = False,
) -> dict[str, Any]:
    """Deploy ``model_name`` (``digest``, or its newest stored model) if its provenance verifies.

    The policy is the verifier's flags (``public_keys``: PEM files of local builders'
    keys, trusted for ``builder_id``) or ``policy_file``. Returns the deployment
    record written to current.json; a refusal is recorded, reported, then raised.
    """
    policy = policy_from_options(
        policy_file=policy_file, source_uri=source_uri, source_tag=source_tag,
        source_versioned_tag=source_versioned_tag, source_branch=source_branch,
        builder_id=builder_id, build_workflow_inputs=build_workflow_inputs, public_keys=public_keys,
    )
    store_uri = store or default_store_uri()
    run_id = str(flow_run.id) if flow_run.id else None
    recorded_policy = deploy.policy_to_dict(policy)

    candidate = find_model(store_uri, model_name, digest)
    provenance = fetch_provenance(store_uri, candidate.key, provenance_url)
    with tempfile.TemporaryDirectory(prefix="slsa-models-deploy-") as workdir:
        model = fetch_model(store_uri, candidate.key, Path(workdir)) if provenance.usable else None
        verdict = verify_model(model_name, candidate, provenance, model, policy)
        smoke = smoke_load(verdict, allow_pickle)
        decide = promote if verdict.passed and not smoke.blocks_deploy else record_refusal
        decision = decide(store_uri, verdict, smoke, candidate, recorded_policy, run_id)
    publish_deploy_report(store_uri, decision)
    deploy.raise_for_outcome(verdict, smoke, decision)
    return decision.record.to_dict()


# -- command line -------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m flows.deploy",
        description="Verify a stored model's SLSA provenance and promote it to "
        "deployments/<model>/current.json only if every check passes. Runs in Prefect's "
        "ephemeral mode unless PREFECT_API_URL points at a server.",
        epilog="Exit status: 0 deployed; 1 refused (the error names the failed check) or lost "
        "to another deployment; 2 unusable input.",
    )
    parser.add_argument("--model-name", required=True, help="the model's name in the store")
    parser.add_argument("--digest", type=_digest, metavar="sha256:HEX",
                        help="the model to deploy (default: the newest stored model of that name)")
    parser.add_argument("--store", help="s3://bucket/prefix or file:///dir "
                        "(default $SLSA_MODELS_STORE or .slsa-models/store)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--policy", metavar="FILE", help="a policy file instead of the flags below")
    source.add_argument("--source-uri", metavar="URI",
                        help="expected source repository, e.g. github.com/acme/models")
    ref = parser.add_mutually_exclusive_group()
    ref.add_argument("--source-tag", metavar="TAG", help="expected tag the model was built from")
    ref.add_argument("--source-versioned-tag", metavar="VERSION",
                     help="expected version (semantic-version match, as slsa-verifier)")
    ref.add_argument("--source-branch", metavar="BRANCH", help="expected branch")
    parser.add_argument("--builder-id", metavar="ID", help="the builder that must have signed")
    parser.add_argument("--public-key", action="append", default=[], metavar="PEM",
                        help="a local builder's public key (ECDSA P-256 PEM file) trusted for "
                        "key-signed provenance; repeatable; needs --builder-id")
    parser.add_argument("--build-workflow-input", action="append", default=[], metavar="KEY=VALUE",
                        type=_workflow_input, help="an expected workflow_dispatch input; repeatable")
    parser.add_argument("--provenance-url", metavar="URL",
                        help="fetch the provenance here when the store has none next to the model "
                        "(a release asset or Actions artifact; $GITHUB_TOKEN is sent to GitHub)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="smoke-load pytorch_full_model.pth (a pickle) after it verified")
    parser.add_argument("--json", action="store_true", help="print the deployment record as JSON")
    # Which policy flags go together is policy_from_options' rule, checked in main().
    return parser.parse_args(argv)


def _digest(text: str) -> str:
    try:
        return f"sha256:{normalize_sha256(text)}"
    except SlsaModelsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _workflow_input(text: str) -> tuple[str, str]:
    try:
        return next(iter(parse_workflow_inputs([text]).items()))
    except SlsaModelsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parameters_from(args: argparse.Namespace) -> dict[str, Any]:
    parameters: dict[str, Any] = {"model_name": args.model_name, "digest": args.digest,
                                  "store": args.store, "policy_file": args.policy,
                                  "provenance_url": args.provenance_url,
                                  "allow_pickle": args.allow_pickle}
    parameters.update({flag: getattr(args, flag) for flag in POLICY_FLAGS})
    parameters["build_workflow_inputs"] = dict(args.build_workflow_input) or None
    parameters["public_keys"] = [str(Path(key).absolute()) for key in args.public_key] or None
    return parameters


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parameters = parameters_from(args)
    try:  # bad input fails here, before a flow run is created
        layout.validate_model_name(args.model_name)
        policy_from_options(**{name: parameters[name] for name in (*POLICY_FLAGS, "policy_file",
                                                                  "build_workflow_inputs", "public_keys")})
        store_uri = args.store or default_store_uri()
        current_uri = open_store(store_uri).object_uri(layout.current_key(args.model_name))
    except SlsaModelsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    code, result = run_flow(deploy_flow, {**parameters, "store": store_uri})
    if code != 0:
        return code
    record = deploy.DeploymentRecord(**result)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
        return 0
    print("PASSED: SLSA verification passed")
    print(f"deployed:   {summary.object_label(record)}")
    print(f"digest:     {record.digest}")
    print(f"smoke-load: {record.smoke_load['status']}: {record.smoke_load['detail']}")
    print(f"current:    {current_uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
