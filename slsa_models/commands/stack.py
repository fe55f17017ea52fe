"""``slsa-models stack up|run|status|stop|env``: the whole pipeline on this machine, in one command."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from slsa_models import formats
from slsa_models.commands import argtypes
from slsa_models.settings import DEFAULT_MODEL_NAME
from slsa_models.verbosity import quiet

if TYPE_CHECKING:
    from slsa_models.stack import StackConfig

ENVIRONMENT_HELP = (
    "Settings: SLSA_MODELS_HOME (state directory, default ./.slsa-models; the stack keeps pid files, "
    "logs, the SeaweedFS data and the Prefect database under <state>/stack), SLSA_MODELS_PREFECT_PORT "
    "(default 4200), SLSA_MODELS_S3_PORT (default 8333), SLSA_MODELS_STACK_BUCKET (default "
    "slsa-models), SLSA_MODELS_CHECKOUT (the directory with prefect.yaml). Everything listens on "
    "127.0.0.1 only."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ENVIRONMENT_HELP
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser(
        "up", help="start SeaweedFS, the Prefect server and a worker (reusing what runs), "
        "register the deployments, then train and deploy",
        description="Start the local stack (reusing whatever already runs), register the "
        "deployments, run the train deployment, then the gated deploy of that model.",
        epilog=ENVIRONMENT_HELP,
    )
    _run_options(up)
    up.add_argument("--no-run", action="store_true", help="only start the stack and register the deployments")
    run = actions.add_parser(
        "run", help="train and deploy on the running stack",
        description="Run the train deployment, then the gated deploy of that model, on a running stack.",
        epilog=ENVIRONMENT_HELP,
    )
    _run_options(run)
    actions.add_parser(
        "status", help="show which services run, with their pids and URLs",
        description="Show each service of the local stack (SeaweedFS, the Prefect server, the worker): "
        "its pid and URL when it runs, else its log file. Exit status: 0 when all three run, 1 otherwise.",
        epilog=ENVIRONMENT_HELP,
    )
    actions.add_parser(
        "stop", help="stop the worker, the Prefect server and SeaweedFS",
        description="Stop the worker, the Prefect server and SeaweedFS (each with its child processes). "
        "Their data stays under the state directory: the next `stack up` finds the models, "
        "deployments and flow runs again.",
        epilog=ENVIRONMENT_HELP,
    )
    actions.add_parser(
        "env", help="print the shell exports that use the running stack from another shell",
        description="Print `export NAME=VALUE` lines for the stack's S3 endpoint and credentials, the "
        "store URI, the Prefect API URL, the state directory and the deploy policy. Use them with "
        'eval "$(slsa-models stack env)"; then `python -m flows.train`, `python -m flows.deploy`, '
        "`slsa-models pull` and `prefect` use the local stack. The credentials are the stack's: "
        "keep the output to yourself.",
        epilog=ENVIRONMENT_HELP,
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-format", type=argtypes.format_name, metavar="FORMAT",
                        help=f"format to train (default: the deployment's, {formats.DEFAULT_FORMAT}); "
                        "one of " + ", ".join(formats.FORMAT_NAMES))
    parser.add_argument("--model-name", default=None, help=f"model name (default {DEFAULT_MODEL_NAME})")
    parser.add_argument("--epochs", type=argtypes.positive_epochs, help="training epochs (default: the flow's, 2)")
    parser.add_argument("--seed", type=int, help="random seed (default: the flow's, 0)")
    parser.add_argument("--store", metavar="URI",
                        help="store for both runs (default: the stack's bucket, s3://slsa-models)")


def run(args: argparse.Namespace) -> int:
    from slsa_models.stack import StackConfig, lifecycle

    config = StackConfig.from_env()
    echo = _silent if quiet() else print  # -q: only the result lines (URL, model, verdict)
    if args.action == "status":
        return _status(config)
    if args.action == "stop":
        lifecycle.stop(config, echo=echo)
        return 0
    if args.action == "env":
        return _env(config)
    if args.action == "up":
        lifecycle.up(config, echo=echo)
        if args.no_run:
            print(f"Prefect UI: {config.ui_url}")
            return 0
    result = lifecycle.run_pipeline(config, train_parameters=_train_parameters(args), echo=echo)
    print(f"Prefect UI: {config.ui_url}")
    print(f"model:      {result.model_uri or 'unknown (see the train run in the UI)'}")
    print(f"verdict:    {result.verdict}")
    return 0 if result.passed else 1


def _silent(_line: str) -> None:
    pass


def _status(config: StackConfig) -> int:
    from slsa_models.stack import lifecycle

    rows = lifecycle.status(config)
    width = max(len(row.label) for row in rows)
    for row in rows:
        state = f"running (pid {row.pid})" if row.pid else "not running"
        print(f"{row.label:<{width}}  {state:<22}  {row.detail}")
    return 0 if all(row.pid for row in rows) else 1


def _env(config: StackConfig) -> int:
    import shlex

    from slsa_models.stack import lifecycle
    from slsa_models.verbosity import note

    for name, value in lifecycle.shell_environment(config).items():
        print(f"export {name}={shlex.quote(value)}")
    stopped = [row.label for row in lifecycle.status(config) if not row.pid]
    if stopped:
        note(f"note: not running: {', '.join(stopped)} (`slsa-models stack up` starts them)")
    return 0


def _train_parameters(args: argparse.Namespace) -> dict[str, Any]:
    given = {"model_format": args.model_format, "model_name": args.model_name, "epochs": args.epochs,
             "seed": args.seed, "store": args.store}
    return {name: value for name, value in given.items() if value is not None}


