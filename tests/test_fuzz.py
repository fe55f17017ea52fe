"""Property tests: every parser of untrusted input ends in a verdict or a typed one-line error.

The targets (``fuzz/targets.py``) cover Sigstore bundles, legacy and bare
DSSE envelopes, key-signed bundles, in-toto statements of each kind (and
the checks run on them), policy files, and deployment records. Inputs are
the real vectors mutated where an attacker would (``fuzz/mutate.py``), raw
bytes, and arbitrary JSON. Each property runs a bounded number of examples;
``scripts/fuzz.py`` runs the longer coverage-guided campaign, and a short
one of it runs here too.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import corpus, mutate, targets
from slsa_models.errors import SlsaModelsError

NAMES = tuple(targets.TARGETS)
ROOT = Path(__file__).resolve().parent.parent
BOUNDED = settings(max_examples=60, deadline=timedelta(seconds=5), database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def mutated(name: str) -> st.SearchStrategy[bytes]:
    """A seed of ``name`` changed one to three times by the structure-aware mutator."""
    return st.builds(mutate.mutate, st.sampled_from(corpus.seeds(name)),
                     st.randoms(use_true_random=False), st.integers(1, 3))


def test_mutations_stay_within_the_size_bound() -> None:
    """Copies and doublings compound over rounds; each round is cut to the bound, so the
    mutator cannot take a fuzzing worker past its memory limit (it once did, in CI)."""
    import random

    seed = b"[" + b'"abcdefghij",' * 2000 + b'"x"]'
    sizes = [len(mutate.mutate(seed, random.Random(index), 8, max_size=30_000)) for index in range(300)]
    assert max(sizes) == 30_000  # reached, and never passed
    assert len(mutate.mutate(seed * 20, random.Random(0), 1, max_size=1_000)) <= 1_000


@pytest.mark.parametrize("name", NAMES)
def test_every_seed_gets_a_verdict(name: str) -> None:
    for seed in corpus.seeds(name):
        targets.run(name, seed)


def test_the_fuzz_policy_passes_untouched_evidence() -> None:
    """Not vacuous: a real generator bundle and the key-signed seed pass the permissive policy."""
    seeds = corpus.seeds("verify")
    for seed in (seeds[0], seeds[len(corpus.real_bundles())]):
        permissive, _ = targets.run("verify", seed)
        assert permissive.passed


@pytest.mark.parametrize("name", NAMES)
@BOUNDED
@given(data=st.data())
def test_mutated_seeds(name: str, data: st.DataObject) -> None:
    targets.run(name, data.draw(mutated(name), label="input"))


@pytest.mark.parametrize("name", NAMES)
@settings(BOUNDED, max_examples=30)
@given(raw=st.binary(max_size=4096))
def test_raw_bytes(name: str, raw: bytes) -> None:
    targets.run(name, raw)


@pytest.mark.parametrize("name", NAMES)
@settings(BOUNDED, max_examples=30)
@given(value=json_values)
def test_arbitrary_json(name: str, value: object) -> None:
    targets.run(name, json.dumps(value).encode())


@BOUNDED
@given(payload_type=st.one_of(st.none(), st.text(max_size=40)), seed=st.sampled_from(corpus.payloads()))
def test_statement_payload_types(payload_type: str | None, seed: bytes) -> None:
    from slsa_models.verify.statement import parse_local_statement, parse_statement

    for parse in (parse_statement, parse_local_statement):
        try:
            parse(payload_type, seed)
        except SlsaModelsError:
            pass


@pytest.mark.parametrize("path", (("_type",), ("predicateType",), ("predicate", "buildType"),
                                  ("predicate", "buildDefinition", "buildType")))
@pytest.mark.parametrize("value", ([], {"": None}, 1, None, "x" * 10_000))
def test_statement_fields_of_the_wrong_type(path: tuple[str, ...], value: object) -> None:
    """Found by the campaign: an unhashable buildType or _type raised TypeError."""
    for seed in corpus.payloads():
        document = json.loads(seed)
        parent = document
        for key in path[:-1]:
            parent = parent.get(key, {})
        if path[-1] in parent:
            parent[path[-1]] = value
            for name in ("statement", "local-statement"):
                outcome = targets.run(name, json.dumps(document).encode())
                if isinstance(outcome, SlsaModelsError):
                    assert len(str(outcome)) < 300


NESTED = (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"0" + b"}" * 5000)
HOSTILE_JSON = (*NESTED, b"9" * 5000, b'{"payloadType": 1, "payload": "", "signatures": [{}]}',
                b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": []}',
                "\ufeff{}".encode(), b"\xff\xfe{", b"{}\n{}", b"",
                # a payload type no one can have signed (a lone surrogate), in a bare envelope
                b'{"payloadType": "\\ud800", "payload": "e30=", "signatures": [{"sig": "AAAA"}]}')


@pytest.mark.parametrize("name", ("provenance", "verify", "statement", "local-statement", "record"))
@pytest.mark.parametrize("raw", HOSTILE_JSON, ids=range(len(HOSTILE_JSON)))
def test_hostile_json(name: str, raw: bytes) -> None:
    targets.run(name, raw)


@pytest.mark.parametrize("raw", (
    b"a = " + b"[" * 3000 + b"]" * 3000, b"a = " + b"{ a = " * 2000 + b"1" + b" }" * 2000,
    b"version = " + b"9" * 5000, b"version = 2\n[local-builder.x]\npublic-key = \"/dev/null\"\n",
    b"version = 2\n[local-builder.x]\nexpires = 9999-12-31T23:00:00-05:00\n",
), ids=range(5))
def test_hostile_policy(raw: bytes) -> None:
    targets.run("policy", raw)


def test_campaign_runs_each_target(tmp_path: Path) -> None:
    """The atheris campaign (or, without atheris, the mutator alone) for a few hundred inputs."""
    runs = "300" if importlib.util.find_spec("atheris") else "100"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--runs", runs,
                           "--findings", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in NAMES:
        assert f"{name}: " in done.stdout


REGRESSIONS = sorted((Path(__file__).parents[1] / "fuzz" / "regressions").glob("*.bin"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[path.name for path in REGRESSIONS])
def test_campaign_findings_stay_fixed(path: Path) -> None:
    """Inputs the atheris campaign once turned into a crash (a path with a newline, a NUL or 5,000
    characters in a policy file; a signed record whose smoke-load or checks lack a key): each now
    ends in a result or a typed, one-line error."""
    from fuzz import targets

    targets.run(path.name.split("-")[0], path.read_bytes())
