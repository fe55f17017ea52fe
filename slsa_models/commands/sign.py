"""``slsa-models sign {key,certificate} MODEL_PATH``: ``model_signing sign``, the same flags.

Writes an OpenSSF Model Signing signature (default ``model.sig`` in the working
directory, as model_signing) that ``model_signing verify`` and
``slsa-models verify-signature`` accept. ``--private_key`` (ECDSA P-256/384/521
PEM; ``--password``, or the key is unencrypted), ``--signing_certificate`` and
``--certificate_chain`` for the certificate kind, ``--ignore-paths``,
``--ignore-git-paths/--no-ignore-git-paths``, ``--allow_symlinks``; dash and
underscore spellings. ``sigstore`` signs keylessly where an OIDC identity exists
(``--identity_token``, or GitHub Actions' ambient one, as ``attest`` does); without
one it is refused before anything is hashed or sent. Beyond model_signing:
``--shard-size N`` writes a shard manifest. Exit status: 0 signed, 2 unusable input.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from slsa_models.commands.verify_signature import _flag, common_model_arguments, default_to_sigstore

SUCCEEDED = "Signing succeeded"


def configure(parser: argparse.ArgumentParser) -> None:
    default_to_sigstore(parser, ("key", "certificate", "sigstore"))
    parser.description = ("Sign a model file or folder in the OpenSSF Model Signing format, as "
                          "`model_signing sign` does.")
    kinds = parser.add_subparsers(dest="signer", metavar="{key,certificate,sigstore}", required=True)
    key = kinds.add_parser("key", help="sign with a private key")
    certificate = kinds.add_parser("certificate", help="sign with a private key and its certificate")
    sigstore = kinds.add_parser("sigstore", help="sign keylessly with Sigstore (an ambient OIDC identity)")
    for sub in (key, certificate, sigstore):
        common_model_arguments(sub)
        sub.add_argument("--signature", default="model.sig", metavar="SIGNATURE_PATH",
                         help="where to write the signature (default: model.sig)")
        _flag(sub, "shard-size", type=int, metavar="BYTES",
              help="sign file shards of this size instead of whole files")
        _flag(sub, "model-name", metavar="N",
              help="the name the signature gives the model (its subject; default: the file or folder "
                   "name, as model_signing); the gate refuses a signature naming another model")
    for sub in (key, certificate):
        _flag(sub, "private_key", required=True, metavar="PRIVATE_KEY", help="the private key (PEM)")
    _flag(sigstore, "identity_token", metavar="TOKEN", help="an OIDC token (default: the ambient one)")
    _flag(sigstore, "trust_config", metavar="TRUST_CONFIG_PATH",
          help="a Sigstore ClientTrustConfig (default: the public-good instance)")
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
    from slsa_models.progress import progress_bar

    model = Path(args.model_path)
    options = {"ignore_paths": resolve_ignore_paths(model, args.ignore_paths), "signature_path": args.signature,
               "ignore_git_paths": args.ignore_git_paths, "allow_symlinks": args.allow_symlinks,
               "shard_size": args.shard_size, "model_name": args.model_name}
    if args.signer == "sigstore":
        from slsa_models.oms.sign import model_payload, require_identity, sign_payload_sigstore

        require_identity(args.identity_token)  # refused before hashing anything
        with progress_bar(None, "hashing") as progress:
            payload = model_payload(model, **options, progress=progress)
        data = sign_payload_sigstore(payload, identity_token=args.identity_token, trust_config=args.trust_config)
        write_signature(Path(os.fspath(args.signature)), data)
        print(SUCCEEDED)
        return 0
    password = getattr(args, "password", None)
    key = load_private_key(args.private_key, password.encode() if password else None)
    certificate, chain = None, ()
    if args.signer == "certificate":
        found = load_certificates([args.signing_certificate])
        if len(found) != 1:
            raise InputError(f"{args.signing_certificate}: expected one signing certificate, found {len(found)}")
        certificate, chain = found[0], load_certificates(args.certificate_chain)
    with progress_bar(None, "hashing") as progress:
        data = sign_model(model, key, certificate=certificate, chain=chain, **options, progress=progress)
    write_signature(Path(os.fspath(args.signature)), data)
    print(SUCCEEDED)
    return 0
