"""``slsa-models sign {key,certificate} MODEL_PATH``: ``model_signing sign``, the same flags.

Writes an OpenSSF Model Signing signature (default ``model.sig`` in the working
directory, as model_signing) that ``model_signing verify`` and
``slsa-models verify-signature`` accept. ``--private_key`` (ECDSA P-256/384/521
PEM; ``--password``, or the key is unencrypted), ``--signing_certificate`` and
``--certificate_chain`` for the certificate kind, ``--ignore-paths``,
``--ignore-git-paths/--no-ignore-git-paths``, ``--allow_symlinks``; dash and
underscore spellings. Beyond model_signing: ``--shard-size N`` writes a shard
manifest. Keyless Sigstore signing is not supported here (``attest`` signs
provenance keylessly). Exit status: 0 signed, 2 unusable input.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from slsa_models.commands.verify_signature import _flag, common_model_arguments

SUCCEEDED = "Signing succeeded"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Sign a model file or folder in the OpenSSF Model Signing format, as "
                          "`model_signing sign` does.")
    kinds = parser.add_subparsers(dest="signer", metavar="{key,certificate}", required=True)
    key = kinds.add_parser("key", help="sign with a private key")
    certificate = kinds.add_parser("certificate", help="sign with a private key and its certificate")
    for sub in (key, certificate):
        common_model_arguments(sub)
        sub.add_argument("--signature", default="model.sig", metavar="SIGNATURE_PATH",
                         help="where to write the signature (default: model.sig)")
        _flag(sub, "private_key", required=True, metavar="PRIVATE_KEY", help="the private key (PEM)")
        _flag(sub, "shard-size", type=int, metavar="BYTES",
              help="sign file shards of this size instead of whole files")
    _flag(key, "password", metavar="PASSWORD", help="the private key's password, if it is encrypted")
    _flag(certificate, "signing_certificate", required=True, metavar="CERTIFICATE_PATH",
          help="the signing certificate (PEM)")
    _flag(certificate, "certificate_chain", action="append", default=[], metavar="CERTIFICATE_PATH",
          help="the rest of the chain (PEM; repeatable)")


def run(args: argparse.Namespace) -> int:
    from slsa_models.errors import InputError
    from slsa_models.oms.sign import sign_model, write_signature
    from slsa_models.oms.trust import load_certificates, load_private_key
    from slsa_models.oms.verify import resolve_ignore_paths

    password = getattr(args, "password", None)
    key = load_private_key(args.private_key, password.encode() if password else None)
    certificate, chain = None, ()
    if args.signer == "certificate":
        found = load_certificates([args.signing_certificate])
        if len(found) != 1:
            raise InputError(f"{args.signing_certificate}: expected one signing certificate, found {len(found)}")
        certificate, chain = found[0], load_certificates(args.certificate_chain)
    model = Path(args.model_path)
    data = sign_model(model, key, certificate=certificate, chain=chain,
                      ignore_paths=resolve_ignore_paths(model, args.ignore_paths),
                      signature_path=args.signature, ignore_git_paths=args.ignore_git_paths,
                      allow_symlinks=args.allow_symlinks, shard_size=args.shard_size)
    write_signature(Path(os.fspath(args.signature)), data)
    print(SUCCEEDED)
    return 0
