"""The store key layout: names, model keys, deployment keys, history keys."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from slsa_models.errors import InputError
from slsa_models.store.layout import (
    current_key,
    evidence_key,
    history_key,
    history_prefix,
    history_sequence,
    is_evidence_of,
    model_key,
    model_prefix,
    parse_model_key,
    provenance_key,
    validate_key,
    validate_model_name,
    validate_prefix,
)

HEX = "ab" * 32
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


@pytest.mark.parametrize("name", ["m", "digits-classifier", "Model_1.2", "a" * 128, "9lives"])
def test_valid_model_names(name: str) -> None:
    assert validate_model_name(name) == name


@pytest.mark.parametrize("name", ["", ".hidden", "-dash", "a/b", "a b", "a" * 129, "é", "..", None])
def test_invalid_model_names(name: object) -> None:
    with pytest.raises(InputError) as error:
        validate_model_name(name)  # type: ignore[arg-type]
    assert str(error.value) == (
        f"invalid model name {name!r}: use 1-128 letters, digits, '.', '_' or '-',"
        " starting with a letter or digit"
    )


def test_model_key_and_provenance_key() -> None:
    key = model_key("digits", f"sha256:{HEX.upper()}", "tensorflow_model.keras")
    assert key == f"models/digits/sha256-{HEX}/tensorflow_model.keras"
    assert provenance_key(key) == key + ".intoto.jsonl"
    assert parse_model_key(key) == ("digits", HEX, "tensorflow_model.keras")
    assert model_prefix("digits") == "models/digits/"


def test_model_key_rejects_bad_parts() -> None:
    with pytest.raises(InputError) as error:
        model_key("digits", "abc", "f.pth")
    assert str(error.value) == "not a SHA-256 digest: 'abc' (expected sha256:<64 hex digits>)"
    with pytest.raises(InputError) as error:
        model_key("digits", HEX, "../f.pth")
    assert str(error.value) == (
        "invalid file name '../f.pth': use letters, digits and '._+=@,~-', no '/', not starting with '.'"
    )
    with pytest.raises(InputError) as error:
        model_key("a/b", HEX, "f.pth")
    assert str(error.value) == (
        "invalid model name 'a/b': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )


@pytest.mark.parametrize(
    "key",
    [
        "deployments/digits/current.json",
        f"models/digits/sha256-{HEX[:-1]}/f.pth",
        f"models/digits/sha256-{HEX}/sub/f.pth",
        f"models/.x/sha256-{HEX}/f.pth",
        f"models/digits/sha256-{HEX}/.f",
    ],
)
def test_parse_model_key_rejects_other_keys(key: str) -> None:
    with pytest.raises(InputError):
        parse_model_key(key)
    with pytest.raises(InputError):
        provenance_key(key)


def test_deployment_keys() -> None:
    assert current_key("digits") == "deployments/digits/current.json"
    assert history_prefix("digits") == "deployments/digits/history/"


def test_history_key_is_the_sequence_and_sorts_in_decision_order() -> None:
    keys = [history_key("digits", sequence) for sequence in (10, 2, 0, 9_999_999_999)]
    assert keys[2] == "deployments/digits/history/0000000000.json"
    assert sorted(keys) == [keys[2], keys[1], keys[0], keys[3]]
    assert [history_sequence(key) for key in keys] == [10, 2, 0, 9_999_999_999]
    for key in keys:
        validate_key(key)
    assert history_sequence("deployments/digits/history/20260102T030405.678901Z-promoted.json") is None


@pytest.mark.parametrize("sequence", [-1, 10**10, True, 1.0, "1"])
def test_history_key_rejects_bad_sequences(sequence: object) -> None:
    with pytest.raises(InputError) as error:
        history_key("digits", sequence)  # type: ignore[arg-type]
    assert str(error.value) == f"invalid history sequence {sequence!r}"


def test_evidence_keys_sit_next_to_the_model() -> None:
    model = f"models/digits/sha256-{HEX}/pytorch_model.pth"
    extra = evidence_key(model, "b" * 64)
    assert extra == f"{model}.bbbbbbbbbbbb.intoto.jsonl"
    assert is_evidence_of(extra, model) and is_evidence_of(model + ".intoto.jsonl", model)
    assert not is_evidence_of(model + ".x.intoto.jsonl", model)
    assert not is_evidence_of(model + ".bbbbbbbbbbbb.intoto.jsonl.bak", model)


@pytest.mark.parametrize("key", ["a", "a/b.c", "models/x/sha256-1/f.intoto.jsonl", "a/b-c_d/e+f=g@h,i~j"])
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "it is empty"),
        ("/abs", "component '' must be"),
        ("a//b", "component '' must be"),
        ("a/", "component '' must be"),
        ("a/../b", "component '..' must be"),
        ("a/.tmp", "component '.tmp' must be"),
        ("a\\b", "component 'a\\\\b' must be"),
        ("a b", "component 'a b' must be"),
        ("a\nb", "component 'a\\nb' must be"),
    ],
)
def test_invalid_keys(key: str, reason: str) -> None:
    with pytest.raises(InputError) as error:
        validate_key(key)
    rule = " letters, digits and '._+=@,~-', not empty and not starting with '.'"
    assert str(error.value) == f"invalid store key {key!r}: {reason}" + (rule if reason.endswith("must be") else "")


def test_too_long_key() -> None:
    with pytest.raises(InputError) as error:
        validate_key("a/" * 600)
    assert str(error.value) == f"invalid store key {('a/' * 20)!r}...: longer than 1024 characters"


@pytest.mark.parametrize("prefix", ["", "models/", "models/dig", "deployments/x/history/"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "a/../b/", "a/.x", "a//"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InputError):
        validate_prefix(prefix)
