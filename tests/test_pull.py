"""``slsa-models pull``: the verified deployed model into DEST, or nothing (S3 on moto over HTTP,
the real generator vector, records signed by a real deployer key)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from slsa_models import deploy
from slsa_models.cli import main
from slsa_models.provenance.keys import generate_key_pair, load_private_key
from slsa_models.provenance.signers import KeySigner
from slsa_models.publishing import publish_model, publish_provenance
from slsa_models.store import ArtifactStore, layout, open_store
from slsa_models.verify import TrustedKey
from tests.policies import github_policy

VECTORS = Path(__file__).parent / "vectors"
BINARY = VECTORS / "binary-linux-amd64"
SHA = "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
SOURCE = "github.com/slsa-framework/example-package"
MODEL = "served"


@pytest.fixture
def deployed(s3_store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The vector deployed with a deployer key, and a serving policy file trusting that key."""
    monkeypatch.setenv("SLSA_MODELS_HOME", str(tmp_path / "home"))
    generate_key_pair(tmp_path / "deployer.pem", tmp_path / "deployer.pub.pem")
    key = load_private_key(tmp_path / "deployer.pem")
    deployer = deploy.Deployer(KeySigner(key), (TrustedKey("deployer", key.public_key()),))
    store = open_store(s3_store_uri)
    model_key = publish_model(store, MODEL, BINARY).key
    publish_provenance(store, model_key, VECTORS / "binary-linux-amd64-push-v14.intoto.jsonl")
    (tmp_path / "work").mkdir()
    verdict, _ = deploy.Gate(store, MODEL, github_policy(source_uri=SOURCE)).run(tmp_path / "work")
    assert deploy.promote(store, verdict, deploy.SmokeResult("skipped", "test"), deployer=deployer,
                          policy={}).deployed
    policy = tmp_path / "serving.toml"
    policy.write_text(f'version = 2\naccept-unnamed = true\n[slsa-github-generator]\nsource-uri = "{SOURCE}"\n'
                      f'[deployer.prod]\npublic-key = "{tmp_path / "deployer.pub.pem"}"\n')
    return {"store": store, "uri": s3_store_uri, "policy": policy, "key": model_key}


def pull(deployed: dict[str, object], dest: Path, *extra: str) -> int:
    return main(["pull", "--store", str(deployed["uri"]), "--model-name", MODEL,
                 "--policy", str(deployed["policy"]), *extra, str(dest)])


def test_pull_puts_the_verified_file_into_dest(deployed: dict[str, object], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "models"
    assert pull(deployed, dest, "--digest", f"sha256:{SHA}") == 0
    assert sorted(os.listdir(dest)) == [BINARY.name]
    assert (dest / BINARY.name).read_bytes() == BINARY.read_bytes()
    assert capsys.readouterr().err == f"pulled {dest / BINARY.name} (sha256:{SHA}): deployment #0 verified\n"


def test_tampered_bytes_leave_dest_untouched(deployed: dict[str, object], tmp_path: Path,
                                             s3_client: object, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "old-model").write_bytes(b"what the server had")
    bucket = str(deployed["uri"]).removeprefix("s3://").split("/")[0]
    s3_client.put_object(Bucket=bucket, Key=f"prefix/{deployed['key']}", Body=b"swapped")  # type: ignore[attr-defined]
    assert pull(deployed, dest) == 1
    assert capsys.readouterr().err == (
        f"error: SLSA verification failed: subject-digest: expected sha256:{hashlib.sha256(b'swapped').hexdigest()},"
        " got no subject with this digest (the provenance covers gha_generic-binary-linux-amd64-v14;"
        " the artifact's bytes differ)\n")
    assert sorted(os.listdir(dest)) == ["old-model"]  # nothing added, no scratch left behind


def test_a_pinned_digest_that_is_not_deployed_is_refused(deployed: dict[str, object], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    store = deployed["store"]
    assert isinstance(store, ArtifactStore)
    dest = tmp_path / "models"
    other = "ab" * 32
    assert pull(deployed, dest, "--digest", f"sha256:{other}") == 1
    assert capsys.readouterr().err == (
        f"error: {store.object_uri(layout.current_key(MODEL))} deploys sha256:{SHA}, not the pinned "
        f"sha256:{other}: nothing loaded\n")
    assert os.listdir(dest) == []


def test_a_forged_record_pulls_nothing(deployed: dict[str, object], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    store = deployed["store"]
    assert isinstance(store, ArtifactStore)
    _, tag = store.read_with_tag(layout.current_key(MODEL))  # type: ignore[misc]
    store.compare_and_swap(layout.current_key(MODEL), b'{"format": "hand-edited"}', tag)
    dest = tmp_path / "models"
    assert pull(deployed, dest) == 2  # not a record at all: unusable input
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"error: {store.object_uri(layout.current_key(MODEL))} is not a signed deployment record (provenance:"
        " neither a Sigstore bundle (no mediaType) nor a DSSE envelope; expected the .intoto.jsonl file the"
        " SLSA generator wrote); fix or remove it")
    assert os.listdir(dest) == []


def _delete_model_bytes(deployed: dict[str, object], s3_client: object) -> None:
    """Remove the model object from the bucket: a pull that succeeds now did not download it."""
    bucket = str(deployed["uri"]).removeprefix("s3://").split("/")[0]
    s3_client.delete_object(Bucket=bucket, Key=f"prefix/{deployed['key']}")  # type: ignore[attr-defined]


def test_the_cache_is_reused_after_verifying_it_again(deployed: dict[str, object], tmp_path: Path,
                                                      s3_client: object, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    cached = cache / MODEL / f"sha256-{SHA}" / BINARY.name
    assert pull(deployed, tmp_path / "first", "--cache", str(cache)) == 0
    assert cached.read_bytes() == BINARY.read_bytes()
    _delete_model_bytes(deployed, s3_client)
    capsys.readouterr()
    assert pull(deployed, tmp_path / "second", "--cache", str(cache)) == 0
    assert (tmp_path / "second" / BINARY.name).read_bytes() == BINARY.read_bytes()
    assert capsys.readouterr().err == (
        f"pulled {tmp_path / 'second' / BINARY.name} (sha256:{SHA}): deployment #0 verified\n")
    cached.write_bytes(b"poisoned cache")  # a cache is re-checked, never trusted: this one fails...
    assert pull(deployed, tmp_path / "third", "--cache", str(cache)) == 2  # ...and the store has no bytes
    assert capsys.readouterr().err == f"error: {deployed['store'].object_uri(deployed['key'])}: no such object\n"  # type: ignore[attr-defined]
    assert os.listdir(tmp_path / "third") == []


def test_a_poisoned_cache_is_downloaded_anew_and_repaired(deployed: dict[str, object], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cached = cache / MODEL / f"sha256-{SHA}" / BINARY.name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"poisoned cache")
    assert pull(deployed, tmp_path / "dest", "--cache", str(cache)) == 0
    assert (tmp_path / "dest" / BINARY.name).read_bytes() == BINARY.read_bytes()
    assert cached.read_bytes() == BINARY.read_bytes()


def test_a_dest_that_holds_the_deployed_bytes_is_verified_in_place(
        deployed: dict[str, object], tmp_path: Path, s3_client: object, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "models"
    assert pull(deployed, dest) == 0
    before = (dest / BINARY.name).stat().st_ino
    _delete_model_bytes(deployed, s3_client)
    capsys.readouterr()
    assert pull(deployed, dest) == 0
    assert capsys.readouterr().err == (
        f"{dest / BINARY.name} is already the deployed model (sha256:{SHA}): deployment #0 verified\n")
    assert (dest / BINARY.name).stat().st_ino == before and sorted(os.listdir(dest)) == [BINARY.name]


def test_an_interrupted_download_leaves_dest_untouched(deployed: dict[str, object], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C (or SIGTERM, which the CLI turns into the same) arrives once the bytes are on disk
    but before they were verified and moved: the interruption is simulated by raising
    KeyboardInterrupt from inside the real download, the one part that is not real here."""
    from slsa_models.store.base import ArtifactStore as Base

    real = Base.download

    def interrupted(self: Base, *args: object, **kwargs: object) -> object:
        real(self, *args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(Base, "download", interrupted)
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / BINARY.name).write_bytes(b"what the server had")
    assert pull(deployed, dest) == 130
    assert capsys.readouterr().err.splitlines()[-1] == "error: interrupted"
    assert sorted(os.listdir(dest)) == [BINARY.name]
    assert (dest / BINARY.name).read_bytes() == b"what the server had"
