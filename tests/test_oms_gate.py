"""OMS signatures through the gate (slsa_models.deploy): stored next to the model as one more
piece of evidence, judged by an OMS-only policy, a provenance-only policy and a policy that
requires both; a signature naming another model is refused."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.oms.sign import sign_model
from slsa_models.oms.trust import OMSKey
from slsa_models.provenance.bundle import key_signed_bundle
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.statement import build_statement
from slsa_models.publishing import publish_model, publish_path, publish_provenance
from slsa_models.serving import VerifiedDeployment
from slsa_models.store import ArtifactStore, open_store
from slsa_models.verify import LocalBuilderPolicy, Policy, TrustedKey
from slsa_models.verify.policy import OMSPolicy

MODEL = "demo"
BUILDER = "https://ci.example.com/builders/gpu-box"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    for name in ("builder", "release"):
        generate_key_pair(folder / f"{name}.pem", folder / f"{name}.pub.pem")
    return folder


def policies(keys: Path) -> dict[str, Policy]:
    oms = OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),))
    local = LocalBuilderPolicy((TrustedKey("builder", (keys / "builder.pub.pem").read_bytes(), builder_id=BUILDER),))
    return {"oms": Policy(oms), "provenance": Policy(local),
            "both": Policy(local, oms, require=["local-builder", "oms"])}


def provenance(keys: Path, subjects: list[tuple[str, str]]) -> bytes:
    now = datetime.now(timezone.utc)
    statement = build_statement(subjects, builder_id=BUILDER, external_parameters={"model_name": MODEL},
                                started_on=now, finished_on=now)
    return key_signed_bundle(load_private_key(keys / "builder.pem"), statement).encode()


def gate(store: ArtifactStore, tmp_path: Path, policy: Policy, digest: str | None = None) -> deploy.Verdict:
    """Find (the latest, or ``digest``), fetch and verify as the deploy flow does."""
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    gate = deploy.Gate(store, MODEL, policy)
    candidate = gate.find(None if digest is None else f"sha256:{digest}")
    evidence = deploy.fetch_evidence(store, candidate.key, None, delays=(0.0,))
    model = gate.fetch_model(candidate, work) if any(piece.usable for piece in evidence) else None
    return gate.verify(candidate, evidence, model)


def one_file_model(store: ArtifactStore, tmp_path: Path, keys: Path, *, oms: bool, slsa: bool,
                   signed_as: str = MODEL) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(b"keras model bytes")
    key = publish_model(store, MODEL, path).key
    if slsa:
        publish_provenance(store, key, provenance(keys, [(f"{MODEL}/model.keras",
                                                          hashlib.sha256(path.read_bytes()).hexdigest())]))
    if oms:
        publish_provenance(store, key, sign_model(path, keys / "release.pem", model_name=signed_as))


@pytest.mark.parametrize(("evidence", "policy", "reason"), [
    ({"oms"}, "oms", None),
    ({"oms"}, "provenance", "SLSA verification failed: evidence-kind: expected local-builder, got an OMS "
                            "signature (model_signing) (the policy does not trust oms evidence (add a [oms] "
                            "table to trust it))"),
    ({"slsa"}, "oms", "SLSA verification failed: evidence-kind: expected oms, got key-signed provenance "
                      "(a local builder) (the policy does not trust local-builder evidence (add a "
                      "[local-builder.NAME] table to trust it))"),
    ({"slsa"}, "provenance", None),
    ({"oms", "slsa"}, "both", None),
    ({"slsa"}, "both", "SLSA verification failed: the policy requires local-builder and oms; no evidence of "
                       "oms passed"),
    ({"oms"}, "both", "SLSA verification failed: the policy requires local-builder and oms; no evidence of "
                      "local-builder passed"),
])
def test_a_one_file_model_through_the_gate(file_store_uri: str, tmp_path: Path, keys: Path,
                                           evidence: set[str], policy: str, reason: str | None) -> None:
    store = open_store(file_store_uri)
    one_file_model(store, tmp_path, keys, oms="oms" in evidence, slsa="slsa" in evidence)
    verdict = gate(store, tmp_path, policies(keys)[policy])
    assert (verdict.passed, verdict.reason) == (reason is None, reason)


def test_a_signature_naming_another_model_is_refused(file_store_uri: str, tmp_path: Path, keys: Path) -> None:
    store = open_store(file_store_uri)
    one_file_model(store, tmp_path, keys, oms=True, slsa=False, signed_as="other")
    verdict = gate(store, tmp_path, policies(keys)["oms"])
    assert verdict.reason == ("SLSA verification failed: model-name: expected demo, got other (the evidence was "
                              "made for model 'other')")


def test_a_folder_model_through_the_gate(file_store_uri: str, tmp_path: Path, keys: Path) -> None:
    """The gate compares the OMS subjects (relative paths, no <model>/ prefix) with the folder;
    the same signature next to other bytes is refused naming the file."""
    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights")
    signature = sign_model(signed, keys / "release.pem", model_name=MODEL)
    good = publish_path(store, MODEL, signed)
    publish_provenance(store, good.key, signature)
    verdict = gate(store, tmp_path / "one", policies(keys)["oms"], good.sha256)
    assert verdict.passed, verdict.reason
    assert verdict.report is not None and verdict.report.kind == "oms"
    assert {"model-name", "model-digest", "model-files", "model-file"} <= {c.name for c in verdict.report.checks}
    bad = publish_path(store, MODEL, folder_model(tmp_path / "tampered" / MODEL, b"other weights"))
    publish_provenance(store, bad.key, signature)
    verdict = gate(store, tmp_path / "two", policies(keys)["oms"], bad.sha256)
    assert verdict.reason == (
        "SLSA verification failed: model-files: expected the 2 signed files, got 1 differing (changed) "
        f"(sub/weights.bin: sha256:{hashlib.sha256(b'other weights').hexdigest()[:12]}... differs from the"
        f" signed sha256:{hashlib.sha256(b'weights').hexdigest()[:12]}...)"), verdict.reason


def folder_model(folder: Path, weights: bytes) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_bytes(b"{}\n")
    (folder / "sub" / "weights.bin").write_bytes(weights)
    return folder


SKIPPED = deploy.SmokeResult("skipped", "set up by the test")


@pytest.fixture()
def deployer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> deploy.Deployer:
    from slsa_models.provenance.signers import KeySigner

    monkeypatch.setenv("SLSA_MODELS_HOME", str(tmp_path / "home"))  # serving remembers what it loaded
    generate_key_pair(tmp_path / "deployer.pem", tmp_path / "deployer.pub.pem")
    key = load_private_key(tmp_path / "deployer.pem")
    return deploy.Deployer(KeySigner(key), (TrustedKey("deployer", key.public_key()),))


def deploy_then_serve(store: ArtifactStore, policy: Policy, deployer: deploy.Deployer,
                      tmp_path: Path) -> VerifiedDeployment:
    """Gate, promote with ``deployer``, then verify the deployed model as a server does."""
    from slsa_models.serving import verify_deployed

    (tmp_path / "work").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, policy).run(tmp_path / "work")
    assert verdict.passed, verdict.reason
    assert deploy.promote(store, verdict, SKIPPED, deployer=deployer, policy={}).deployed
    (tmp_path / "serve").mkdir()
    return verify_deployed(store, MODEL, policy, tmp_path / "serve")


def test_serving_judges_the_oms_signature_again(file_store_uri: str, tmp_path: Path, keys: Path,
                                                deployer: deploy.Deployer) -> None:
    """Deployed under "provenance AND OMS"; serving verifies both again, and a serving policy
    trusting another release key refuses the deployed model."""
    from slsa_models.errors import VerificationFailed
    from slsa_models.serving import verify_deployed

    store = open_store(file_store_uri)
    one_file_model(store, tmp_path, keys, oms=True, slsa=True)
    both = policies(keys)["both"]
    policy = Policy(*both.kinds, require=both.require, deployers=deployer.trusted)
    verified = deploy_then_serve(store, policy, deployer, tmp_path)
    assert verified.report.passed
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    other = OMSPolicy(public_keys=(OMSKey("other", (tmp_path / "other.pub.pem").read_bytes()),))
    strict = Policy(both.kinds[0], other, require=both.require, deployers=deployer.trusted)
    (tmp_path / "serve2").mkdir()
    with pytest.raises(VerificationFailed) as raised:
        verify_deployed(store, MODEL, strict, tmp_path / "serve2")
    assert str(raised.value) == ("SLSA verification failed: policy: expected the policy satisfied, got not "
                                 "satisfied (the policy requires local-builder and oms; no evidence of oms passed)")


@pytest.mark.parametrize(("extra", "reason"), [
    (["--model-name", MODEL], None),
    ([], "SLSA verification failed: model-name: expected demo, got model.keras (the evidence was made for "
         "model 'model.keras')"),  # model_signing's default subject: the signed file's name
])
def test_the_signature_names_the_model(file_store_uri: str, tmp_path: Path, keys: Path,
                                       capsys: pytest.CaptureFixture[str], extra: list[str],
                                       reason: str | None) -> None:
    from slsa_models.cli import main

    store = open_store(file_store_uri)
    path = tmp_path / "model.keras"
    path.write_bytes(b"keras model bytes")
    signature = tmp_path / "model.sig"
    assert main(["sign", "key", str(path), "--signature", str(signature), "--private-key",
                 str(keys / "release.pem"), *extra]) == 0
    capsys.readouterr()
    publish_provenance(store, publish_model(store, MODEL, path).key, signature)
    verdict = gate(store, tmp_path, policies(keys)["oms"])
    assert (verdict.passed, verdict.reason) == (reason is None, reason)


def test_files_the_oms_policy_leaves_out_are_not_compared(keys: Path, tmp_path: Path) -> None:
    """names.compared_files: the folder's files minus those the [oms] policy (ignore-paths,
    ignore-unsigned-files) or the signer left out; other kinds are held to every file."""
    from slsa_models.verify import load_provenance, verify_loaded
    from slsa_models.verify.artifact import Artifact
    from slsa_models.verify.names import compared_files, signed_files

    folder = folder_model(tmp_path / MODEL, b"weights")
    signature = load_provenance(sign_model(folder, keys / "release.pem", model_name=MODEL))
    files = {"config.json": hashlib.sha256(b"{}\n").hexdigest(),
             "sub/weights.bin": hashlib.sha256(b"weights").hexdigest(),
             "docs/README.md": hashlib.sha256(b"later").hexdigest()}
    artifacts = [Artifact(path, digest) for path, digest in files.items()]
    oms = OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),),
                    ignore_paths=("docs",))
    report = verify_loaded(signature, artifacts, Policy(oms))
    assert report.passed
    assert compared_files(report, Policy(oms), files) == signed_files(report.subjects, MODEL, report.kind)
    unsigned = OMSPolicy(public_keys=oms.public_keys, ignore_unsigned_files=True)
    assert set(compared_files(verify_loaded(signature, artifacts, Policy(unsigned)), Policy(unsigned), files)) == \
        {"config.json", "sub/weights.bin"}
    assert compared_files(report, policies(keys)["provenance"], files) == files  # no [oms] table: every file


def test_a_folder_with_a_file_the_policy_leaves_out(file_store_uri: str, tmp_path: Path, keys: Path) -> None:
    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights")
    signature = sign_model(signed, keys / "release.pem", model_name=MODEL)
    (signed / "README.md").write_bytes(b"added after signing\n")
    stored = publish_path(store, MODEL, signed)
    publish_provenance(store, stored.key, signature)
    oms = OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),),
                    ignore_paths=("README.md",))
    verdict = gate(store, tmp_path, Policy(oms), stored.sha256)
    assert verdict.passed, verdict.reason
    assert verdict.model is not None and verdict.model.dropped == ("README.md",)
    assert verdict.model.dropped_line() == ("deleted 1 file that no passing evidence signs (left out by the "
                                            "policy or the signer): README.md")
    served = sorted(str(path.relative_to(verdict.model.path)) for path in verdict.model.path.rglob("*"))
    assert served == ["config.json", "sub", "sub/weights.bin"]  # the unsigned file is gone before smoke-load
    assert dict(verdict.model.files or {}) == {"config.json": hashlib.sha256(b"{}\n").hexdigest(),
                                               "sub/weights.bin": hashlib.sha256(b"weights").hexdigest()}


def test_unsigned_files_never_reach_a_server(file_store_uri: str, tmp_path: Path, keys: Path,
                                             deployer: deploy.Deployer, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder whose OMS policy ignores a docs/ folder added after signing is deployed, but
    the server's folder holds only the signed files; with provenance that binds every file
    too, nothing is deleted."""
    from slsa_models.cli import main

    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights")
    signature = sign_model(signed, keys / "release.pem", model_name=MODEL)
    (signed / "docs" / "deep").mkdir(parents=True)
    (signed / "docs" / "deep" / "run.py").write_bytes(b"import os  # not signed\n")
    stored = publish_path(store, MODEL, signed)
    publish_provenance(store, stored.key, signature)
    oms = OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),),
                    ignore_paths=("docs",))
    policy = Policy(oms, deployers=deployer.trusted)
    verified = deploy_then_serve(store, policy, deployer, tmp_path)
    assert verified.model.dropped == ("docs/deep/run.py",)
    assert sorted(str(p.relative_to(verified.model.path)) for p in verified.model.path.rglob("*")) == \
        ["config.json", "sub", "sub/weights.bin"]  # docs/ and docs/deep/ went with the file
    policy_file = tmp_path / "serving.toml"
    policy_file.write_text(f'version = 2\n[oms]\npublic-key = ["{keys / "release.pub.pem"}"]\n'
                           f'ignore-paths = ["docs"]\n[deployer.prod]\npublic-key = "{tmp_path / "deployer.pub.pem"}"\n')
    assert main(["pull", "--store", file_store_uri, "--model-name", MODEL, "--policy", str(policy_file),
                 str(tmp_path / "dest")]) == 0
    assert capsys.readouterr().err == (
        f"pulled {tmp_path / 'dest' / MODEL} (sha256:{stored.sha256}): deployment #0 verified\n"
        "deleted 1 file that no passing evidence signs (left out by the policy or the signer): docs/deep/run.py\n")
    assert not (tmp_path / "dest" / MODEL / "docs").exists()
    for _ in range(2):  # the cached copy lacks the deleted file, so it no longer matches its manifest:
        assert main(["pull", "--store", file_store_uri, "--model-name", MODEL, "--policy", str(policy_file),
                     "--cache", str(tmp_path / "cache"), str(tmp_path / "dest2")]) == 0  # downloaded anew
        assert capsys.readouterr().err.startswith(f"pulled {tmp_path / 'dest2' / MODEL} ")
    assert sorted(p.name for p in (tmp_path / "dest2" / MODEL).rglob("*")) == ["config.json", "sub", "weights.bin"]

    files = {path: hashlib.sha256((signed / path).read_bytes()).hexdigest()
             for path in ("config.json", "sub/weights.bin", "docs/deep/run.py")}
    publish_provenance(store, stored.key, provenance(keys, [(f"{MODEL}/{path}", digest)
                                                              for path, digest in files.items()]))
    local = LocalBuilderPolicy((TrustedKey("builder", (keys / "builder.pub.pem").read_bytes(),
                                           builder_id=BUILDER),))
    (tmp_path / "work2").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, Policy(local, oms)).run(tmp_path / "work2")
    assert verdict.passed and verdict.model is not None and verdict.model.dropped == ()
    assert (verdict.model.path / "docs" / "deep" / "run.py").is_file()  # provenance signs it


def test_failing_evidence_signs_no_file(file_store_uri: str, tmp_path: Path, keys: Path) -> None:
    """Provenance naming every file, but from a builder the policy does not trust, fails; the OMS
    signature (docs/run.py left out by the policy) passes: the unsigned file is deleted all the
    same, and its folder stays for the signed file beside it."""
    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights")
    (signed / "docs").mkdir()
    (signed / "docs" / "guide.md").write_bytes(b"# signed\n")
    signature = sign_model(signed, keys / "release.pem", model_name=MODEL)
    (signed / "docs" / "run.py").write_bytes(b"import os  # not signed\n")
    stored = publish_path(store, MODEL, signed)
    publish_provenance(store, stored.key, signature)
    publish_provenance(store, stored.key, provenance(keys, [
        (f"{MODEL}/{path}", hashlib.sha256((signed / path).read_bytes()).hexdigest())
        for path in ("config.json", "docs/guide.md", "docs/run.py", "sub/weights.bin")]))
    oms = OMSPolicy(public_keys=(OMSKey("release", (keys / "release.pub.pem").read_bytes()),),
                    ignore_paths=("docs/run.py",))
    other_builder = LocalBuilderPolicy((TrustedKey("builder", (keys / "builder.pub.pem").read_bytes(),
                                                   builder_id="https://ci.example.com/builders/other"),))
    verdict = gate(store, tmp_path, Policy(other_builder, oms), stored.sha256)
    assert verdict.passed, verdict.reason
    assert [report.passed for report in verdict.reports if report is not None] == [True, False]
    assert verdict.model is not None and verdict.model.dropped == ("docs/run.py",)
    assert sorted(str(path.relative_to(verdict.model.path)) for path in verdict.model.path.rglob("*")) == \
        ["config.json", "docs", "docs/guide.md", "sub", "sub/weights.bin"]


def test_a_local_copy_is_judged_file_by_file(file_store_uri: str, tmp_path: Path, keys: Path,
                                             deployer: deploy.Deployer) -> None:
    """A copy on disk (pull's DEST or cache) is hashed in place of a download, every file of it:
    the same files verify (the copy's size is its own), one file more is not the deployed
    folder, even a git file that publishing leaves out of the manifest."""
    from slsa_models.errors import VerificationFailed
    from slsa_models.manifest import Manifest
    from slsa_models.serving import verify_deployed

    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights")
    stored = publish_path(store, MODEL, signed)
    publish_provenance(store, stored.key, sign_model(signed, keys / "release.pem", model_name=MODEL))
    policy = Policy(policies(keys)["oms"].kinds[0], deployers=deployer.trusted)
    deploy_then_serve(store, policy, deployer, tmp_path)
    served = verify_deployed(store, MODEL, policy, tmp_path / "serve", local=lambda key: signed)
    assert served.model.path == signed and served.model.sha256 == stored.sha256
    (signed / ".gitattributes").write_bytes(b"*.bin filter=lfs\n")
    with pytest.raises(VerificationFailed) as error:
        verify_deployed(store, MODEL, policy, tmp_path / "serve", local=lambda key: signed)
    with_git_file = Manifest.from_digests({  # the copy's three files
        path: hashlib.sha256((signed / path).read_bytes()).hexdigest()
        for path in (".gitattributes", "config.json", "sub/weights.bin")}).digest.hex
    assert str(error.value) == (
        f"SLSA verification failed: model-digest: expected sha256:{stored.sha256}, got sha256:{with_git_file}"
        " (the stored bytes are not the ones their key names: they were replaced)")

    model = tmp_path / "model.keras"
    model.write_bytes(b"keras model bytes")
    single = publish_model(store, "single", model)
    unsized = dataclasses.replace(single, size=-1)  # serving's candidate: a record holds no size
    copy = deploy.Gate(store, "single", policy).local_model(unsized, model)
    assert (copy.sha256, copy.stored.size) == (single.sha256, len(b"keras model bytes"))


@pytest.mark.parametrize(("count", "named"), [
    (1, "1 file that no passing evidence signs (left out by the policy or the signer): f1"),
    (2, "2 files that no passing evidence signs (left out by the policy or the signer): f1, f2"),
    (5, "5 files that no passing evidence signs (left out by the policy or the signer): f1, f2, f3, f4, f5"),
    (6, "6 files that no passing evidence signs (left out by the policy or the signer): f1, f2, f3, f4, f5 and 1 more"),
    (7, "7 files that no passing evidence signs (left out by the policy or the signer): f1, f2, f3, f4, f5 and 2 more"),
])
def test_the_deleted_files_line_names_five_then_counts(count: int, named: str) -> None:
    from slsa_models.store import StoredObject

    model = deploy.FetchedModel(Path("m"), StoredObject("k", "file:///k", "0" * 64, 0),
                                dropped=tuple(f"f{n}" for n in range(1, count + 1)))
    assert model.dropped_line() == f"deleted {named}"
    assert dataclasses.replace(model, dropped=()).dropped_line() is None


@pytest.mark.parametrize("durable", [False, True])
@pytest.mark.parametrize("shape", ["folder", "file"])
def test_a_model_is_fsynced_only_when_asked(file_store_uri: str, tmp_path: Path, keys: Path,
                                           count_fsyncs: Callable[[], list[int]], durable: bool, shape: str) -> None:
    """A deploy's scratch copy skips the fsyncs (the default); a server's kept copy (durable) has
    every downloaded file on disk before it is renamed into place."""
    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights") if shape == "folder" else \
        tmp_path / "model.keras"
    if shape == "file":
        signed.write_bytes(b"keras model bytes")
    stored = publish_path(store, MODEL, signed) if shape == "folder" else publish_model(store, MODEL, signed)
    publish_provenance(store, stored.key, sign_model(signed, keys / "release.pem", model_name=MODEL))
    synced = count_fsyncs()
    (tmp_path / "work").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, policies(keys)["oms"]).run(
        tmp_path / "work", **({"durable": True} if durable else {}))
    assert verdict.passed, verdict.reason
    files = 3 if shape == "folder" else 1  # a folder: the manifest and its two files
    assert len(synced) == (files if durable else 0)


@pytest.mark.parametrize(("data", "size", "totals"), [
    (b"x", None, [1]),
    (b"", None, []),  # nothing to expect
    (b"x", -1, []),  # serving's candidate: a record holds no size, so the bar has no total
])
def test_a_file_download_announces_its_size(file_store_uri: str, tmp_path: Path, keys: Path, data: bytes,
                                            size: int | None, totals: list[int],
                                            count_fsyncs: Callable[[], list[int]]) -> None:
    """Also: a plain fetch_model is a scratch copy, not fsynced."""
    store = open_store(file_store_uri)
    (tmp_path / "model.keras").write_bytes(data)
    stored = publish_model(store, MODEL, tmp_path / "model.keras")
    synced = count_fsyncs()  # from here: the fetch
    candidate = stored if size is None else dataclasses.replace(stored, size=size)

    class Heard:
        def __init__(self) -> None:
            self.totals: list[int] = []
            self.done = 0

        def __call__(self, n: int) -> None:
            self.done += n

        def add_total(self, n: int) -> None:
            self.totals.append(n)

    heard = Heard()
    (tmp_path / "work").mkdir()
    model = deploy.Gate(store, MODEL, policies(keys)["oms"]).fetch_model(candidate, tmp_path / "work", progress=heard)
    assert (heard.totals, heard.done, model.sha256) == (totals, len(data), stored.sha256)
    assert synced == []


def test_files_missing_from_the_store_are_named_three_at_most(file_store_uri: str, tmp_path: Path,
                                                              keys: Path) -> None:
    from slsa_models.store import layout

    store = open_store(file_store_uri)
    folder = tmp_path / "signed" / MODEL
    folder.mkdir(parents=True)
    for name in "abcde":
        (folder / f"{name}.bin").write_bytes(name.encode())
    stored = publish_path(store, MODEL, folder)
    for name in "abcd":
        Path(store.object_uri(layout.folder_file_key(stored.key, f"{name}.bin")).removeprefix("file://")).unlink()
    (tmp_path / "work").mkdir()
    model = deploy.Gate(store, MODEL, policies(keys)["oms"]).fetch_model(stored, tmp_path / "work")
    assert model.problem == "not in the store: a.bin, b.bin, c.bin"
    assert dict(model.files or {}) == {"e.bin": hashlib.sha256(b"e").hexdigest()}


def test_a_refused_folder_keeps_every_file(file_store_uri: str, tmp_path: Path, keys: Path) -> None:
    """Unsigned files are deleted only from a folder that passed: a refused one stays as it was
    downloaded, to be looked at (it is never promoted or served)."""
    store = open_store(file_store_uri)
    signed = folder_model(tmp_path / "signed" / MODEL, b"weights")
    stored = publish_path(store, MODEL, signed)
    publish_provenance(store, stored.key, sign_model(signed, keys / "builder.pem", model_name=MODEL))
    verdict = gate(store, tmp_path, policies(keys)["oms"], stored.sha256)
    assert not verdict.passed
    assert verdict.model is not None and verdict.model.dropped == ()
    assert sorted(str(path.relative_to(verdict.model.path)) for path in verdict.model.path.rglob("*")) == \
        ["config.json", "sub", "sub/weights.bin"]
