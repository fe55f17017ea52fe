"""The store key layout: names, model keys, deployment keys, history keys."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from slsa_models.errors import InputError
from slsa_models.store.layout import (
    current_key,
    history_key,
    history_prefix,
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
    with pytest.raises(InputError, match="not a SHA-256 digest: 'abc'"):
        model_key("digits", "abc", "f.pth")
    with pytest.raises(InputError) as error:
        model_key("digits", HEX, "../f.pth")
    assert str(error.value) == (
        "invalid file name '../f.pth': use letters, digits and '._+=@,~-', no '/', not starting with '.'"
    )
    with pytest.raises(InputError, match="invalid model name"):
        model_key("a/b", HEX, "f.pth")


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


def test_history_key_is_sortable_unique_and_utc() -> None:
    key = history_key("digits", WHEN, "promoted", HEX)
    assert re.fullmatch(
        rf"deployments/digits/history/20260102T030405\.678901Z-promoted-{HEX[:12]}-[0-9a-f]{{8}}\.json",
        key,
    )
    validate_key(key)
    assert history_key("digits", WHEN, "promoted", HEX) != key
    plus_two = WHEN.astimezone(timezone(timedelta(hours=2)))
    assert history_key("digits", plus_two, "refused", HEX).startswith(
        "deployments/digits/history/20260102T030405.678901Z-refused-"
    )
    times = [WHEN + timedelta(microseconds=1), WHEN + timedelta(days=400), WHEN]
    keys = [history_key("digits", when, "refused", HEX) for when in times]
    assert sorted(keys) == [keys[2], keys[0], keys[1]]


def test_history_key_rejects_bad_input() -> None:
    with pytest.raises(InputError) as error:
        history_key("digits", datetime(2026, 1, 1), "promoted", HEX)
    assert str(error.value) == (
        "history time must be a timezone-aware datetime, got datetime.datetime(2026, 1, 1, 0, 0)"
    )
    with pytest.raises(InputError) as error:
        history_key("digits", WHEN, "Promoted!", HEX)
    assert str(error.value) == (
        "invalid history outcome 'Promoted!': use 1-32 lowercase letters, digits, '_' or '-'"
    )


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
    assert str(error.value).startswith(f"invalid store key {key!r}: {reason}")
    assert "\n" not in str(error.value)


def test_too_long_key() -> None:
    with pytest.raises(InputError, match="longer than 1024 characters"):
        validate_key("a/" * 600)


@pytest.mark.parametrize("prefix", ["", "models/", "models/dig", "deployments/x/history/"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "../", "a/../b/", "a/.x", "a//"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InputError):
        validate_prefix(prefix)
