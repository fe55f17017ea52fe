"""``slsa-models verify-signature {key,certificate,sigstore} MODEL_PATH --signature SIG``:
``model_signing verify``, offline, plus --json.

The same sub-verbs and flags with model_signing's spellings (``--public_key``,
``--certificate_chain``, ``--identity``, ``--identity_provider``,
``--ignore-paths``, ``--ignore_unsigned_files``, ``--allow_symlinks``,
``--trust_config``, ``--ignore-git-paths``) and their dash (or underscore)
spellings, the same meaning: ignored paths are relative to the working directory,
the signature file is left out when it is inside the model, and so are the paths
the signer left out. The rules are an ``OMSPolicy``, checked by the same verifier
as the gate's ``[oms]`` table. Exit status: 0 verified, 1 not verified (one line
naming the check), 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from slsa_models.errors import InputError

if TYPE_CHECKING:
    from slsa_models.verify.policy import OMSPolicy
    from slsa_models.verify.report import Report

log = logging.getLogger(__name__)
SUCCEEDED = "Verification succeeded"
FAILED = "Verification failed"

EPILOG = """\
examples:
  slsa-models verify-signature key bert/ --signature bert/model.sig --public_key release.pub
  slsa-models verify-signature certificate bert/ --signature model.sig \\
      --certificate_chain ca.pem --ignore-paths bert/README.md
  slsa-models verify-signature sigstore bert/ --signature model.sig \\
      --identity release@acme.com --identity_provider https://accounts.google.com --json

Sigstore signatures verify offline against sigstore-python's bundled public-good
trusted root (model_signing refreshes it online first), or --trust_config (a
ClientTrustConfig or a TrustedRoot JSON). Both file and shard manifests verify
(model_signing's CLI re-hashes shard-signed models as files); SHA-256 only.
Without a sub-verb, sigstore is meant (as model_signing). Not supported:
--use_staging (give staging's --trust_config), pkcs11 kinds.

Exit status: 0 verified; 1 not verified; 2 unusable input.
"""


def _flag(group: argparse._ActionsContainer, name: str, **options: object) -> None:
    """``--a-b`` and ``--a_b`` (model_signing's spelling) for one option."""
    spellings = dict.fromkeys([f"--{name.replace('_', '-')}", f"--{name}", f"--{name.replace('-', '_')}"])
    group.add_argument(*spellings, **options)  # type: ignore[arg-type]


def _switch(parser: argparse.ArgumentParser, name: str, default: bool, help_text: str) -> None:
    dest = name.replace("-", "_")
    _flag(parser, name, dest=dest, action="store_true", default=default, help=help_text)
    _flag(parser, f"no-{name}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def common_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_path", metavar="MODEL_PATH", help="the model file or folder")
    _flag(parser, "ignore-paths", action="append", default=[], metavar="PATH",
          help="a file or folder to leave out (relative to the working directory); repeatable")
    _switch(parser, "ignore-git-paths", True, "leave out .git, .gitattributes, .github, .gitignore "
            "(default; --no-ignore-git-paths keeps them)")
    _flag(parser, "allow_symlinks", action="store_true",
          help="follow symlinks to files (default: a symlink is refused)")


VERBOSITY = frozenset({"-q", "--quiet", "-v", "-vv", "-vvv", "--verbose"})


def default_to_sigstore(parser: argparse.ArgumentParser, modes: tuple[str, ...]) -> None:
    """model_signing's rule: without a sub-verb first, ``sigstore`` is meant
    (``verify-signature MODEL --signature SIG --identity ...``)."""
    parse_known_args = parser.parse_known_args

    def with_default(args: list[str] | None = None, namespace: argparse.Namespace | None = None) -> object:
        given = list(args) if args is not None else []
        first = next((index for index, arg in enumerate(given) if arg not in VERBOSITY), None)
        if first is not None and given[first] not in (*modes, "-h", "--help"):
            given.insert(first, "sigstore")
        return parse_known_args(given if args is not None else None, namespace)

    parser.parse_known_args = with_default  # type: ignore[method-assign]


def configure(parser: argparse.ArgumentParser) -> None:
    default_to_sigstore(parser, ("key", "certificate", "sigstore"))
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = ("Verify a model file or folder with its OpenSSF Model Signing signature, as\n"
                          "`model_signing verify` does: the signer, the signed manifest, every file.")
    parser.epilog = EPILOG
    kinds = parser.add_subparsers(dest="signer", metavar="{key,certificate,sigstore}", required=True)
    key = kinds.add_parser("key", help="signed with a private key (verify with its public key)")
    certificate = kinds.add_parser("certificate", help="signed with a certificate (verify its chain)")
    sigstore = kinds.add_parser("sigstore", help="signed with Sigstore (verify identity and issuer)")
    for sub in (key, certificate, sigstore):
        common_model_arguments(sub)
        sub.add_argument("--signature", required=True, metavar="SIGNATURE_PATH",
                         help="the signature file to verify")
        _switch(sub, "ignore_unsigned_files", False, "leave out every file the signature does not list")
        sub.add_argument("--json", action="store_true",
                         help="print the whole report (every check, expected and actual) to stdout")
    _flag(key, "public_key", required=True, action="append", metavar="PUBLIC_KEY",
          help="the public key (PEM) paired with the signing key; repeatable (any may have signed)")
    _flag(certificate, "certificate_chain", action="append", default=[], metavar="CERTIFICATE_PATH",
          help="trusted certificates (PEM; repeatable, or several in one file); default: certifi's roots")
    _flag(certificate, "log_fingerprints", action="store_true",
          help="print the SHA-256 fingerprints of the trusted certificates on stderr")
    sigstore.add_argument("--identity", required=True, metavar="IDENTITY",
                          help="the signer's identity (the certificate's SAN), e.g. name@example.com")
    _flag(sigstore, "identity_provider", required=True, metavar="IDENTITY_PROVIDER",
          help="the OIDC issuer that vouched for it, e.g. https://accounts.google.com")
    _flag(sigstore, "trust_config", metavar="TRUST_CONFIG_PATH",
          help="a Sigstore ClientTrustConfig or TrustedRoot JSON (default: public good, offline)")
    _flag(sigstore, "use_staging", action="store_true", help=argparse.SUPPRESS)


def build_policy(args: argparse.Namespace) -> OMSPolicy:
    from slsa_models.oms.trust import OMSKey, load_certificates, system_roots
    from slsa_models.verify.policy import OMSPolicy

    common = {"ignore_unsigned_files": args.ignore_unsigned_files}
    if args.signer == "key":
        return OMSPolicy(public_keys=tuple(OMSKey.from_file(path) for path in args.public_key), **common)
    if args.signer == "certificate":
        roots = load_certificates(args.certificate_chain) if args.certificate_chain else system_roots()
        if not roots:
            raise InputError("--certificate_chain: the files hold no certificate")
        if args.log_fingerprints:
            from cryptography.hazmat.primitives import hashes

            for root in roots:
                print(f"[  init  ] sha256 Fingerprint: {root.fingerprint(hashes.SHA256()).hex(':').upper()}",
                      file=sys.stderr)
        return OMSPolicy(certificate_chain=roots, **common)
    if args.use_staging:
        raise InputError("--use_staging needs the network to fetch staging's trust root: give "
                         "staging's --trust_config instead")
    trusted_root = None if args.trust_config is None else Path(args.trust_config)
    return OMSPolicy(identity=args.identity, identity_provider=args.identity_provider,
                     trusted_root=trusted_root, **common)


def outcome_line(report: Report) -> str:
    if report.passed:
        return SUCCEEDED
    failure = report.first_failure()
    return f"{FAILED}: {failure.message if failure else 'not verified'}"


def run(args: argparse.Namespace) -> int:
    from slsa_models.oms.verify import resolve_ignore_paths, verify_model

    policy = build_policy(args)
    model = Path(args.model_path)
    report = verify_model(model, Path(args.signature), policy,
                          ignore_paths=resolve_ignore_paths(model, args.ignore_paths),
                          ignore_git_paths=args.ignore_git_paths, allow_symlinks=args.allow_symlinks)
    for check in report.checks:  # -v: every check, expected and actual (as verify-artifact)
        log.info("%s %s", "pass" if check.passed else "FAIL", check.message)
    line = outcome_line(report)
    if args.json:
        print(line, file=sys.stderr)
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        print(line, file=sys.stdout if report.passed else sys.stderr)
    return 0 if report.passed else 1
