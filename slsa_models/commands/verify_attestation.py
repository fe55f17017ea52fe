"""``slsa-models verify-attestation``: ``gh attestation verify ARTIFACT --bundle FILE``, offline.

The same flags with the same meaning (gh's ``pkg/cmd/attestation/verify``):
one of ``--owner``/``--repo`` is required; by default the signer must be a
workflow of that repository (or of the owner's repositories);
``--signer-repo``, ``--signer-workflow``, ``--cert-identity`` and
``--cert-identity-regex`` (only one of them) name another signer, e.g. a
reusable workflow; the source repository, owner, ref and commit are read from
the Fulcio certificate. The rules are an ``AttestationPolicy``, checked by the
same verifier as the gate's ``[github-attestation]`` table, so the gate and this
command agree. Beyond gh, the signed provenance must agree with its certificate
(repository, commit, ref, trigger, run, workflow).

Output on stderr, modeled on gh's; a failure is one line naming the check.
``--format json`` writes gh's JSON shape (one entry per verified attestation)
to stdout. Exit status: 0 verified, 1 not verified, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slsa_models.errors import InputError, ProvenanceError
from slsa_models.flags import ATTESTATION_FLAGS

if TYPE_CHECKING:  # the verifier (and sigstore) load only when the command runs
    from slsa_models.verify import Artifact, AttestationPolicy, LoadedProvenance, Report

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
SLSA_PREDICATE_V1 = "https://slsa.dev/provenance/v1"
SUCCEEDED = "✓ Verification succeeded!"
FAILED = "✗ Verification failed"

EPILOG = """\
examples:
  # an artifact of the repository acme/models (signed by one of its workflows)
  slsa-models verify-attestation model.pth --bundle model.pth.sigstore.json --repo acme/models

  # any repository of the organization acme, from main, on GitHub-hosted runners only
  slsa-models verify-attestation model.pth --bundle attestations.jsonl --owner acme \\
      --source-ref refs/heads/main --deny-self-hosted-runners

  # signed by a reusable workflow of another repository (pinned by commit in the caller)
  slsa-models verify-attestation model.pth --bundle model.pth.sigstore.json --repo acme/models \\
      --signer-workflow github/artifact-attestations-workflows/.github/workflows/attest.yml

  # a GitHub Enterprise custom OIDC issuer, the exact signer, and gh's JSON on stdout
  slsa-models verify-attestation artifact --bundle artifact.sigstore.json --owner too-legit \\
      --cert-oidc-issuer https://token.actions.githubusercontent.com/hammer-time \\
      --cert-identity https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main \\
      --format json

  # GitHub's own Sigstore instance (private repositories): its trusted root, from
  # `gh attestation trusted-root` (JSON lines: the root whose CA issued the certificate is used)
  slsa-models verify-attestation model.pth --bundle model.pth.sigstore.json --repo acme/models \\
      --custom-trusted-root trusted_root.json

Verification is offline: --bundle is required (gh would otherwise fetch the
attestations from GitHub's API), against sigstore-python's bundled public-good
trust root unless --custom-trusted-root is given. Not supported: OCI images
(oci://), --bundle-from-oci, --no-public-good, --limit, --jq/--template.

Exit status: 0 verified; 1 not verified (the line names the check that failed);
2 unusable input (a bad flag or combination, an unreadable artifact, bundle or
trusted root).
"""


def _help(name: str) -> str:
    return next(flag.help for flag in ATTESTATION_FLAGS if flag.name == name)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Verify an artifact with its GitHub artifact attestation, as\n"
        "`gh attestation verify ARTIFACT --bundle FILE` does, offline: the Sigstore signature,\n"
        "certificate and log or timestamp proofs, the signer workflow, the source repository\n"
        "and owner, the OIDC issuer, and the artifact's digest."
    )
    parser.epilog = EPILOG
    parser.add_argument("artifact", metavar="ARTIFACT", help="the artifact file to verify")
    parser.add_argument("-b", "--bundle", metavar="FILE", required=True,
                        help="the attestation: a Sigstore bundle (JSON), or JSON lines with several")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-o", "--owner", metavar="OWNER", help=_help("owner"))
    source.add_argument("-R", "--repo", metavar="OWNER/REPO", help=_help("repo"))
    signer = parser.add_mutually_exclusive_group()
    signer.add_argument("--cert-identity", metavar="SAN", help=_help("cert-identity"))
    signer.add_argument("-i", "--cert-identity-regex", metavar="REGEX",
                        help=_help("cert-identity-regex"))
    signer.add_argument("--signer-repo", metavar="OWNER/REPO", help=_help("signer-repo"))
    signer.add_argument("--signer-workflow", metavar="[HOST/]OWNER/REPO/PATH",
                        help=_help("signer-workflow"))
    parser.add_argument("--cert-oidc-issuer", metavar="URL", default=GITHUB_OIDC_ISSUER,
                        help=f"the OIDC issuer of the signing certificate (default: {GITHUB_OIDC_ISSUER})")
    parser.add_argument("--signer-digest", metavar="SHA", help=_help("signer-digest"))
    parser.add_argument("--source-ref", metavar="REF", help=_help("source-ref"))
    parser.add_argument("--source-digest", metavar="SHA", help=_help("source-digest"))
    parser.add_argument("--deny-self-hosted-runners", action="store_true",
                        help=_help("deny-self-hosted-runners"))
    parser.add_argument("--predicate-type", metavar="URI", default=SLSA_PREDICATE_V1,
                        help=f"the statement's predicate type (default: {SLSA_PREDICATE_V1})")
    parser.add_argument("-d", "--digest-alg", choices=("sha256", "sha512"), default="sha256",
                        help="the algorithm of the artifact's digest (default: sha256)")
    parser.add_argument("--custom-trusted-root", metavar="FILE",
                        help="a Sigstore trusted root JSON (default: the public-good instance, offline)")
    parser.add_argument("--hostname", metavar="HOST", default="github.com",
                        help="github.com (default) or a GHE.com tenant NAME.ghe.com")
    parser.add_argument("--format", choices=("json",),
                        help="print the verified attestations as JSON (gh's shape) to stdout")


def build_policy(args: argparse.Namespace) -> AttestationPolicy:
    """The AttestationPolicy the flags mean (gh's rules); PolicyError (exit 2) when they cannot."""
    from slsa_models.verify import AttestationPolicy

    for name in ("repo", "signer_repo"):  # gh's wording for a value that is not OWNER/REPO
        value = getattr(args, name)
        if value is not None and len(value.split("/")) != 2:
            raise InputError(f"invalid value provided for {name.replace('_', '-')}: {value}")
    trusted_root = None if args.custom_trusted_root is None else Path(args.custom_trusted_root)
    return AttestationPolicy(
        owner=args.owner, repo=args.repo, hostname=args.hostname,
        signer_repo=args.signer_repo, signer_workflow=args.signer_workflow,
        cert_identity=args.cert_identity, cert_identity_regex=args.cert_identity_regex,
        cert_oidc_issuer=args.cert_oidc_issuer, source_ref=args.source_ref,
        source_digest=args.source_digest, signer_digest=args.signer_digest,
        deny_self_hosted_runners=args.deny_self_hosted_runners,
        predicate_type=args.predicate_type, digest_alg=args.digest_alg, trusted_root=trusted_root,
    )


def policy_lines(policy: AttestationPolicy) -> list[str]:
    """gh's "The following policy criteria will be enforced" list, dot-aligned."""
    rows = [("- Predicate type must match", policy.predicate_type),
            ("- Source Repository Owner URI must match", policy.url(policy.owner_name))]
    if policy.repository is not None:
        rows.append(("- Source Repository URI must match", policy.url(policy.repository)))
    for label, value in (("- Build signer digest must match", policy.signer_digest),
                         ("- Source repo digest must match", policy.source_digest),
                         ("- Source repo ref must match", policy.source_ref)):
        if value is not None:
            rows.append((label, value))
    how, value = policy.identity
    if policy.builder_id is not None:
        rows.append(("- Builder ID must match", policy.builder_id))
    else:
        rows.append(("- Subject Alternative Name must match" + (" regex" if how == "regex" else ""),
                     value))
    rows.append(("- OIDC Issuer must match", policy.oidc_issuer))
    if policy.deny_self_hosted_runners:
        rows.append(("- Action workflow Runner Environment must match", "github-hosted"))
    width = max(len(label) for label, _ in rows)
    return [f"{label}:{'.' * (width - len(label))} {value}" for label, value in rows]


@dataclass
class Verified:
    loaded: LoadedProvenance
    report: Report


def _load_bundles(path: Path) -> list[LoadedProvenance]:
    """One bundle (JSON, pretty-printed or not) or JSON lines of bundles, read bounded."""
    from slsa_models.verify import load_provenance
    from slsa_models.verify.bundle import read_provenance

    raw = read_provenance(path)
    lines = [line for line in raw.splitlines() if line.strip()]
    if len(lines) > 1 and all(line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}")
                              for line in lines):
        try:
            for line in lines:
                json.loads(line)
        except ValueError:
            lines = [raw]  # one pretty-printed object
    else:
        lines = [raw]
    bundles = []
    for number, line in enumerate(lines, 1):
        try:
            bundles.append(load_provenance(line))
        except ProvenanceError as error:
            where = f"{path}" if len(lines) == 1 else f"{path} line {number}"
            raise ProvenanceError(str(error).replace("provenance:", where + ":", 1)) from None
    return bundles


def _detail(tenant: str | None, uri: str | None) -> tuple[str, str]:
    """``https://github.com/o/r/.github/workflows/x.yml@ref`` -> (``o/r``, ``.github/...@ref``)."""
    host = re.escape(f"{tenant}.ghe.com") if tenant else r"github\.com"
    match = re.match(rf"https://{host}/([^/]+/[^/]+)/(.+)", uri or "")
    return (match.group(1), match.group(2)) if match else ("(unknown)", uri or "(missing)")


_SUMMARY_FIELDS = (  # sigstore-go's certificate.Summary JSON names, from our GitHubIdentity
    ("subjectAlternativeName", "san_uri"), ("issuer", "oidc_issuer"),
    ("githubWorkflowTrigger", "workflow_trigger"), ("githubWorkflowSHA", "workflow_sha"),
    ("githubWorkflowName", "workflow_name"), ("githubWorkflowRepository", "workflow_repository"),
    ("githubWorkflowRef", "workflow_ref"), ("buildSignerURI", "build_signer_uri"),
    ("buildSignerDigest", "build_signer_digest"), ("runnerEnvironment", "runner_environment"),
    ("sourceRepositoryURI", "source_repository_uri"),
    ("sourceRepositoryDigest", "source_repository_digest"),
    ("sourceRepositoryRef", "source_repository_ref"),
    ("sourceRepositoryIdentifier", "source_repository_id"),
    ("sourceRepositoryOwnerURI", "source_repository_owner_uri"),
    ("sourceRepositoryOwnerIdentifier", "source_repository_owner_id"),
    ("buildConfigURI", "build_config_uri"), ("buildConfigDigest", "build_config_digest"),
    ("buildTrigger", "build_trigger"), ("runInvocationURI", "run_invocation_uri"),
    ("sourceRepositoryVisibilityAtSigning", "source_repository_visibility"),
)


def _tsa_times(loaded: LoadedProvenance, trusted_root: Path | None) -> list[dict[str, str]]:
    """gh's ``TimestampAuthority`` entries: the bundle's RFC 3161 timestamps that verify
    against the trusted root's TSAs (sigstore-python's own check, run again for the times)."""
    from slsa_models.verify.crypto import get_verifier

    try:
        verifier = get_verifier(trusted_root, loaded.bundle.signing_certificate)
        results = verifier._verify_timestamp_authority(loaded.bundle)
    except Exception:  # noqa: BLE001 - display only: the verdict was reached already
        return []
    return [{"type": "TimestampAuthority", "uri": "",
             "timestamp": result.time.strftime("%Y-%m-%dT%H:%M:%SZ")} for result in results]


def _json_entry(verified: Verified, trusted_root: Path | None = None) -> dict[str, Any]:
    """gh's ``--format json`` entry: the bundle, and what was verified in it."""
    from slsa_models.verify.github import identity_from_certificate

    loaded, report = verified.loaded, verified.report
    certificate = loaded.bundle.signing_certificate
    identity = identity_from_certificate(certificate)
    summary: dict[str, Any] = {"certificateIssuer": certificate.issuer.rfc4514_string()}
    for key, attribute in _SUMMARY_FIELDS:
        value = getattr(identity, attribute)
        if value is not None:
            summary[key] = value
    timestamps = []
    inner = getattr(loaded.bundle.log_entry, "_inner", None)
    integrated = getattr(inner, "integrated_time", None)
    if isinstance(integrated, int):
        timestamps.append({"type": "Tlog", "uri": "", "timestamp":
                           time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(integrated))})
    timestamps += _tsa_times(loaded, trusted_root)
    statement = json.loads(report.payload or b"{}")
    return {
        "attestation": {"bundle": loaded.document},
        "verificationResult": {
            "mediaType": "application/vnd.dev.sigstore.verificationresult+json;version=0.1",
            "statement": statement,
            "signature": {"certificate": summary},
            "verifiedTimestamps": timestamps,
            "verifiedIdentity": {"subjectAlternativeName": {"subjectAlternativeName":
                                                            identity.san_uri or ""},
                                 "issuer": {"issuer": identity.oidc_issuer or ""}},
        },
        "slsaModelsReport": report.to_dict(),  # every check, expected and actual
    }


def _artifact(args: argparse.Namespace) -> Artifact:
    from slsa_models.verify import Artifact

    if args.artifact.startswith("oci://"):
        raise InputError(f"{args.artifact}: OCI images are not supported offline; give a file")
    if args.digest_alg == "sha512":
        return Artifact.from_path_both(args.artifact)
    return Artifact.from_path(args.artifact)


def run(args: argparse.Namespace) -> int:
    from slsa_models.verify import Policy, verify_loaded

    policy = build_policy(args)
    err = sys.stderr
    artifact = _artifact(args)
    bundles = _load_bundles(Path(args.bundle))  # unusable input is one line, before any output
    digest = artifact.digest(args.digest_alg)
    print(f"Loaded digest {args.digest_alg}:{digest} for file://{args.artifact}", file=err)
    count = len(bundles)
    print(f"Loaded {count} attestation{'s' if count != 1 else ''} from {args.bundle}", file=err)
    print("\nThe following policy criteria will be enforced:", file=err)
    for line in policy_lines(policy):
        print(line, file=err)
    print(file=err)
    trust = Policy(policy, accept_unnamed=True)  # naming models is the gate's rule, not gh's
    reports = [Verified(loaded, verify_loaded(loaded, [artifact], trust)) for loaded in bundles]
    verified = [entry for entry in reports if entry.report.passed]
    if not verified:
        first = reports[0].report.first_failure()
        reason = first.message if first else "not verified"
        if count > 1:
            reason = f"none of {count} attestations verified; the first: {reason}"
        print(f"{FAILED}: {reason}", file=err)
        return 1
    print(f"{SUCCEEDED}\n", file=err)
    if args.format == "json":
        _write_stdout(json.dumps([_json_entry(entry, policy.trusted_root) for entry in verified],
                                 indent=2) + "\n")
        return 0
    plural = "attestation" if len(verified) == 1 else "attestations"
    print(f"The following {len(verified)} {plural} matched the policy criteria\n", file=err)
    from slsa_models.verify.github import identity_from_certificate

    for number, entry in enumerate(verified, 1):
        identity = identity_from_certificate(entry.loaded.bundle.signing_certificate)
        build_repo, build_workflow = _detail(policy.tenant, identity.build_config_uri)
        signer_repo, signer_workflow = _detail(policy.tenant, identity.build_signer_uri or identity.san_uri)
        print(f"- Attestation #{number}", file=err)
        print(f"  - Build repo:..... {build_repo}", file=err)
        print(f"  - Build workflow:. {build_workflow}", file=err)
        print(f"  - Signer repo:.... {signer_repo}", file=err)
        print(f"  - Signer workflow: {signer_workflow}", file=err)
    return 0


def _write_stdout(text: str) -> None:
    from slsa_models.commands.verify_artifact import _write_stdout as write

    write(text)

