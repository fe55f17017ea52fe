"""``slsa-models attest``: sign SLSA v1 provenance for artifacts with a key."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from slsa_models.commands import argtypes
from slsa_models.errors import InputError
from slsa_models.manifest import model_subjects
from slsa_models.progress import progress_bar, total_size
from slsa_models.provenance.attest import attest
from slsa_models.provenance.keys import PASSWORD_ENV, load_private_key, write_new_file
from slsa_models.provenance.signers import KeySigner
from slsa_models.verbosity import note

_EXISTS = "{path} already exists: refusing to overwrite it (add --overwrite to replace it)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Writes a Sigstore bundle (v0.3, public-key hint, no transparency log) holding a DSSE "
        "envelope over an in-toto Statement v1 with a SLSA v1 predicate. Lower assurance than "
        "SLSA Build L3 from the GitHub generator: whoever holds the key can sign. "
        f"An encrypted key's password comes from {PASSWORD_ENV}. Example: slsa-models attest "
        "--private-key builder.pem --builder-id https://ci.example.com/builder model.keras "
        "-o model.keras.intoto.jsonl"
    )
    parser.add_argument("artifacts", nargs="+", metavar="ARTIFACT",
                        help="files or model folders to attest (a folder: one subject per file)")
    parser.add_argument("--private-key", "--key", dest="key", type=Path, required=True, metavar="KEY",
                        help="PEM private key (ECDSA P-256); --key is an older spelling")
    parser.add_argument("--builder-id", required=True, help="builder.id to record; verifiers pin it")
    parser.add_argument("--model-name", metavar="N",
                        help="the model these files are: subjects are named N/<file> and model_name is "
                        "recorded, so the deploy gate can bind them to model N (without it they name "
                        "no model, and only a policy with accept-unnamed takes them)")
    argtypes.add_ignore_paths(parser)
    parser.add_argument("-o", "--output", type=Path,
                        help="write here (default: standard output); an existing file is refused")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output file (atomically)")


def run(args: argparse.Namespace) -> int:
    if args.output:
        _check_output(args.output, [args.key, *map(Path, args.artifacts)], args.overwrite)
    signer = KeySigner(load_private_key(args.key))
    parameters: dict[str, object] = {"command": "slsa-models attest"}
    with progress_bar(total_size(args.artifacts), "hashing") as on_progress:
        subjects = model_subjects(args.artifacts, args.model_name, args.ignore_paths, on_progress=on_progress)
    if args.model_name:
        parameters["model_name"] = args.model_name
    else:  # files that name no model are named by their base names, as attest always did
        subjects = [(Path(name).name, digest) for name, digest in subjects]
    parameters["artifacts"] = [name for name, _ in subjects]
    bundle = attest(subjects, signer=signer, builder_id=args.builder_id, external_parameters=parameters)
    if args.output:
        write_output(args.output, bundle.encode("utf-8"), overwrite=args.overwrite)
        note(f"wrote {args.output} for {len(subjects)} artifact(s)")
    else:
        sys.stdout.write(bundle)
    return 0


def _check_output(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse an output that exists (unless ``overwrite``) or that is one of the inputs."""
    for path in inputs:
        if os.path.realpath(output) == os.path.realpath(path) or _same_file(output, path):
            raise InputError(f"{output}: the output cannot be {path}, an input of this command")
    if os.path.lexists(output) and not overwrite:
        raise InputError(_EXISTS.format(path=output))


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def write_output(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to a new file at ``path``, or replace it atomically when ``overwrite``
    (a new temporary file beside it, then a rename)."""
    if not overwrite:
        write_new_file(path, data, exists=_EXISTS.format(path=path))
        return
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    write_new_file(temporary, data)
    try:
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
