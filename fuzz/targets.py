"""One fuzz target per parser of untrusted input.

A target takes the fuzzer's bytes and returns what the code under test made
of them. ``run`` accepts exactly two outcomes: a result of the expected type,
or a typed ``SlsaModelsError`` with a one-line message. Anything else
propagates out of ``run``: that is a finding.

The policies and the record readers are small functions of their own
(``fuzz_policies``, ``read_record``) so that API changes touch one place.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fuzz import corpus
from slsa_models.errors import SlsaModelsError
from slsa_models.verify.artifact import Artifact
from slsa_models.verify.bundle import LoadedProvenance, load_provenance
from slsa_models.verify.report import Report

Target = Callable[[bytes], object]

IN_TOTO = "application/vnd.in-toto+json"
ARTIFACT = Artifact("binary-linux-amd64", corpus.GENERATOR_SHA256)
ARTIFACTS = (ARTIFACT, Artifact("custom-issuer-artifact", corpus.ATTESTATION_SHA256))


class Finding(AssertionError):
    """An outcome that is neither the expected result nor a typed one-line error."""


def fuzz_policies() -> tuple[Any, ...]:
    """A permissive and a strict policy, each trusting every kind: the generator's and the
    attestation's repositories, and the fuzz key for the local builder."""
    from slsa_models.verify import TrustedKey
    from slsa_models.verify.policy import AttestationPolicy, GeneratorPolicy, LocalBuilderPolicy, Policy

    key = TrustedKey("fuzz", corpus.FUZZ_KEY.public_key(), builder_id=corpus.FUZZ_BUILDER_ID,
                     source_uri="github.com/acme/models")
    local = LocalBuilderPolicy(keys=(key,))
    permissive = Policy(GeneratorPolicy(source_uri="github.com/slsa-framework/example-package"),
                        AttestationPolicy(source_uri="github.com/too-legit/attest"), local,
                        accept_unnamed=True)
    rules = {"source_branch": "main", "source_versioned_tag": "v14", "build_workflow_inputs": {"epochs": "5"},
             "triggers": ("push", "workflow_dispatch")}
    strict = Policy(
        GeneratorPolicy(source_uri="github.com/slsa-framework/example-package", **rules,
                        builder_id="https://github.com/slsa-framework/slsa-github-generator/.github/"
                                   "workflows/generator_generic_slsa3.yml@v2.1.0"),
        AttestationPolicy(source_uri="github.com/too-legit/attest", **rules), local,
        require=("slsa-github-generator", "local-builder"),
    )
    return permissive, strict


@functools.cache
def _policies() -> tuple[Any, ...]:
    return fuzz_policies()


@functools.cache
def _seed_payloads() -> frozenset[bytes]:
    return frozenset(corpus.payloads())


def _render(report: Report) -> None:
    """What the CLI and the deploy do with a report: print it, store it as JSON."""
    from slsa_models.commands.verify_artifact import print_outcome

    print_outcome(report, io.StringIO())
    json.dumps(report.to_dict())
    for check in report.checks:
        if "\n" in check.message or "\r" in check.message:
            raise Finding(f"check message is not one line: {check.message!r}")


def provenance(data: bytes) -> LoadedProvenance:
    """``load_provenance``: Sigstore bundles, legacy DSSE envelopes, key-signed bundles."""
    loaded = load_provenance(data)
    if not isinstance(loaded, LoadedProvenance):
        raise Finding(f"load_provenance returned {type(loaded).__name__}")
    return loaded


def verify(data: bytes) -> list[Report]:
    """The verifier's whole path: load, verify the signature, parse, check, report.

    Mutations cannot forge a signature, so a pass must carry a seed's payload.
    """
    return _verify(data, forged=False)


def _verify(data: bytes, *, forged: bool) -> list[Report]:
    from slsa_models.verify import verify_loaded

    loaded = load_provenance(data)
    reports = []
    for policy in _policies():
        report = verify_loaded(loaded, (ARTIFACT,), policy)
        if not isinstance(report, Report):
            raise Finding(f"verify_loaded returned {type(report).__name__}")
        _render(report)
        if report.passed and not forged and report.payload not in _seed_payloads():
            raise Finding(f"a mutated provenance passed with payload {report.payload!r:.200}")
        reports.append(report)
    return reports


@functools.cache
def _identities() -> dict[str, Any]:
    """The verified identities of the real generator and attestation certificates."""
    from slsa_models.verify.github import identity_from_certificate

    found = {}
    for raw in corpus.real_bundles()[:1] + [(corpus.SEEDS / "custom-issuer.sigstore.json").read_bytes()]:
        loaded = load_provenance(raw)
        found[loaded.kind + str(len(found))] = identity_from_certificate(loaded.bundle.signing_certificate)
    generator, attestation = found.values()
    return {"https://slsa.dev/provenance/v0.2": generator, "https://slsa.dev/provenance/v1": attestation}


def statement(data: bytes) -> list[Report]:
    """``parse_statement`` on a Sigstore payload, then every policy check against the
    identity of the real certificate that signed that kind of statement."""
    from slsa_models.verify import checks
    from slsa_models.verify.report import artifact_results
    from slsa_models.verify.statement import parse_statement

    parsed = parse_statement(IN_TOTO, data)
    identity = _identities()[parsed.predicate_type]
    reports = []
    for policy in _policies():
        rules = policy.for_kind(parsed.kind)
        found = checks.evaluate(identity, parsed, rules, ARTIFACTS)
        results = artifact_results(found, ARTIFACTS, parsed.subject_names())
        report = Report(passed=all(c.passed for c in found) and all(r.passed for r in results),
                        checks=found, artifacts=results, builder_id=identity.signer, source_uri=None,
                        commit=identity.commit, provenance_sha256="0" * 64, kind=parsed.kind)
        _render(report)
        reports.append(report)
    return reports


def local_statement(data: bytes) -> list[Report]:
    """The bytes as the payload of a bundle signed by the trusted fuzz key, verified end to
    end: ``parse_local_statement`` and the local builder's checks."""
    return _verify(corpus.key_signed(data), forged=True)


def policy(data: bytes) -> object:
    """``load_policy`` on a file holding the bytes (next to the example public key)."""
    from slsa_models.verify import load_policy

    path = _policy_dir() / "policy.toml"
    path.write_bytes(data)
    loaded = load_policy(path)
    if type(loaded).__name__ != "Policy":
        raise Finding(f"load_policy returned {type(loaded).__name__}")
    return loaded


@functools.cache
def _policy_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="slsa-models-fuzz-"))
    shutil.copy(corpus.POLICIES / "local-builder.pub.pem", folder)
    import atexit

    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def record(data: bytes) -> object:
    """A deployment record (current.json, history): the bytes as the statement of a record
    signed by the trusted deployer key, opened as the deploy and serving open one."""
    from slsa_models.deploy.records import open_record

    signed = open_record(corpus.key_signed(data), (_deployer(),), "deployments/digits-cnn/current.json")
    read_record(signed.record)
    return signed


@functools.cache
def _deployer() -> Any:
    from slsa_models.verify import TrustedKey

    return TrustedKey("deployer", corpus.FUZZ_KEY.public_key())


def read_record(parsed: Any) -> None:
    """What the deploy, its summary and serving do with a record they opened."""
    from slsa_models.deploy import summary

    _ = parsed.object.get("key"), parsed.object.get("version_id"), parsed.sha256  # serving
    summary.summary_rows(parsed)
    summary.check_rows(parsed)
    summary.history_rows([parsed])
    json.dumps(parsed.to_dict())


def manifest(data: bytes) -> object:
    """A folder model's manifest as the gate reads it from the store, then what it does with it:
    the store key of every file, and the comparison against itself and against nothing."""
    from slsa_models.manifest import Manifest, compare_files
    from slsa_models.store import layout
    from slsa_models.verify.names import check_model_files

    parsed = Manifest.parse(data)
    key = layout.folder_key("fuzz", parsed.digest.hex, "folder")
    for entry in parsed.files:
        try:
            layout.folder_file_key(key, entry.path)
        except SlsaModelsError:
            pass  # a path the store cannot hold: the gate reports the file missing
    files = parsed.digests()
    assert compare_files(files, files) == []
    check_model_files(files, {})
    return parsed


TARGETS: dict[str, Target] = {
    "provenance": provenance,
    "verify": verify,
    "statement": statement,
    "local-statement": local_statement,
    "policy": policy,
    "record": record,
    "manifest": manifest,
}


def run(name: str, data: bytes) -> object:
    """The target's result or the SlsaModelsError it raised; anything else propagates."""
    try:
        result = TARGETS[name](data)
    except SlsaModelsError as error:
        message = str(error)
        if not message or "\n" in message or "\r" in message:
            raise Finding(f"{type(error).__name__} message is not one line: {message!r:.300}") from error
        return error
    return result
