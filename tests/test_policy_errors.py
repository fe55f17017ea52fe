"""Policies built in code (the library API, and what policy files become): every rule that
cannot be used is one PolicyError line, and every value kept is kept in its normal form.
Found by mutation testing of verify/policy: the verdict tests passed with these broken."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from slsa_models.errors import PolicyError
from slsa_models.oms.trust import OMSKey, TrustedCertificate
from slsa_models.verify import AttestationPolicy, GeneratorPolicy, LocalBuilderPolicy, Policy, TrustedKey
from slsa_models.verify.policy import BuilderID, OMSPolicy, normalize_source_uri, policy_fields

SOURCE = "github.com/acme/models"


def public_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


KEY = OMSKey("release", public_pem())


def certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: AttestationPolicy(owner="acme", signer_digest=5), "signer digest: expected a string, got int"),
    (lambda: AttestationPolicy(owner="acme", source_ref=" "), "source ref is empty"),
    (lambda: AttestationPolicy(owner="acme", hostname="evil.example"),
     "hostname 'evil.example' is not supported: github.com or a GHE.com tenant (NAME.ghe.com); GitHub Enterprise "
     "Server has no artifact attestations"),
    (lambda: AttestationPolicy(source_uri=SOURCE, hostname="acme.ghe.com"),
     "source URI names a github.com repository; with hostname 'acme.ghe.com' give repo = OWNER/REPO instead"),
    (lambda: AttestationPolicy(owner="acme", deny_self_hosted_runners="yes"),
     "deny-self-hosted-runners: expected true or false"),
    (lambda: AttestationPolicy(owner="acme", digest_alg="md5"), "digest algorithm 'md5': expected sha256 or sha512"),
    (lambda: AttestationPolicy(repo="acme/"), "repo 'acme/': expected OWNER/REPO"),
    (lambda: AttestationPolicy(owner="acme/models"),
     "owner 'acme/models': expected an organization or user name, not OWNER/REPO (give it as repo)"),
    (lambda: GeneratorPolicy(source_uri=SOURCE, build_workflow_inputs=["epochs"]),
     "workflow inputs: expected a mapping of names to string values"),
    (lambda: GeneratorPolicy(source_uri=SOURCE, triggers="push"),
     "triggers: expected a list of GitHub event names, e.g. push, release"),
    (lambda: GeneratorPolicy(source_uri=SOURCE, builder_id="@refs/tags/v1.0.0"),
     "builder id '@refs/tags/v1.0.0' is malformed; expected NAME, NAME@vX.Y.Z or NAME@refs/tags/vX.Y.Z"),
    (lambda: BuilderID.parse(5),  # type: ignore[arg-type]
     "builder id 5 is malformed; expected NAME, NAME@vX.Y.Z or NAME@refs/tags/vX.Y.Z"),
    (lambda: OMSPolicy(public_keys=(KEY,), identity=5, identity_provider="https://issuer.example"),
     "identity: expected a string, got int"),
    (lambda: OMSPolicy(identity="me@example.com", identity_provider=7), "identity provider: expected a string, got int"),
    (lambda: OMSPolicy(public_keys="release.pub.pem"), "oms public keys: expected a list"),
    (lambda: OMSPolicy(public_keys=5), "oms public keys: expected a list"),
    (lambda: GeneratorPolicy(source_uri=SOURCE, triggers=5),
     "triggers: expected a list of GitHub event names, e.g. push, release"),
    (lambda: OMSPolicy(public_keys=(KEY, OMSKey("again", KEY.public_key))),
     "oms public keys: the same key is listed twice"),
    (lambda: OMSPolicy(public_keys=(KEY,), ignore_paths=[5]),
     "oms ignore-paths: 5 is not a relative path inside the model folder"),
    (lambda: OMSPolicy(public_keys=(KEY,), ignore_unsigned_files="yes"),
     "oms ignore-unsigned-files: expected true or false"),
    (lambda: Policy(GeneratorPolicy(source_uri=SOURCE), deployers=[5]),
     "deployer keys: expected TrustedKey entries, got int"),
])
def test_an_unusable_rule_is_one_line(make: Any, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        make()
    assert str(raised.value) == message


def test_values_are_kept_in_their_normal_form(tmp_path: Path) -> None:
    generator = GeneratorPolicy(source_uri="https://github.com/acme/modelX/", triggers=["push", "push", "release"],
                                trusted_root=str(tmp_path / "root.json"))
    assert generator.normalized_source_uri == "git+https://github.com/acme/modelX"
    assert normalize_source_uri("github.com/acme/modelX/") == "git+https://github.com/acme/modelX"
    assert generator.triggers == ("push", "release") and generator.trusted_root == tmp_path / "root.json"
    key = TrustedKey("builder", public_pem(), builder_id="https://ci.example.com/builders/gpu")
    assert LocalBuilderPolicy([key]).keys == (key,)
    oms = OMSPolicy(public_keys=[KEY], ignore_paths=["docs/", "/runs", "X", "modelX/"], trusted_root=None)
    assert (oms.public_keys, oms.ignore_paths) == ((KEY,), ("docs", "runs", "X", "modelX"))
    root = TrustedCertificate(certificate())
    assert OMSPolicy(certificate_chain=[root]).certificate_chain[0] is root
    sigstore = OMSPolicy(identity="me@example.com", identity_provider="https://issuer.example",
                         trusted_root=str(tmp_path / "root.json"))
    assert sigstore.trusted_root == tmp_path / "root.json"
    assert AttestationPolicy(owner="acme", hostname="acme.ghe.com").hostname == "acme.ghe.com"
    assert Policy(generator).accept_unnamed is False  # evidence must name the model unless told
    assert "public_keys" in policy_fields(OMSPolicy) and "source_uri" in policy_fields(GeneratorPolicy)


def test_a_policy_missing_several_required_kinds_names_them_all() -> None:
    policy = Policy(GeneratorPolicy(source_uri=SOURCE), AttestationPolicy(owner="acme"), OMSPolicy(public_keys=(KEY,)),
                    require=["slsa-github-generator", "github-attestation", "oms"])
    assert policy.combine({"oms"}) == ("the policy requires slsa-github-generator and github-attestation and oms; "
                                       "no evidence of slsa-github-generator, github-attestation passed")
