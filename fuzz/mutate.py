"""Structure-aware mutations of JSON and TOML seeds, driven by a ``random.Random``.

JSON seeds are parsed and changed where an attacker would: a value of the
wrong type, a key deleted or added, a subtree nested thousands deep, a number
of 5,000 digits, odd unicode, a base64 payload whose JSON is itself mutated
(the statement inside a DSSE envelope). TOML seeds are changed line by line
with the policy vocabulary. Then, sometimes, a byte-level change: truncation,
a second line, a BOM, a flipped byte, UTF-16.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
from collections.abc import Iterator
from typing import Any

# A value that cannot be built as a Python object and dumped (too deep, too many
# digits) is written as a sentinel string and substituted into the JSON text.
_SENTINEL = re.compile(r'"\\u0000(DEEPL|DEEPD|HUGE)(\d+)\\u0000"')

WRONG_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**63, -(2**64), 1.5, 1e308, -0.0, float("inf"), float("nan"),
    "", " ", "\x00", "\ud800", "\u202e", "é", "日本", "\n", "a" * 10_000,
    "sha256:", "https://", "github.com/", "refs/tags/", "refs/heads/", "@", "git+https://github.com/a/b@",
    [], {}, [None], [[]], [{}], {"": None}, {"sha256": 1}, ["a"] * 3,
)

STRING_EDITS = ("empty", "truncate", "double", "upper", "nul", "newline", "unicode", "long", "at")

TOML_VALUES: tuple[str, ...] = (
    "1", "0", "-1", "true", "1.5", "nan", "inf", "[]", "{}", "[1, \"a\"]", '""', '" "', '"\\u0000"',
    '"\\n"', "'literal'", '"""multi\nline"""', "1979-05-27", "1979-05-27T07:32:00",
    "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00", "2027-01-01T00:00:00Z", "07:32:00",
    '"9999-12-31T23:00:00-05:00"', '"2027-01-01T00:00:00"', '"2027-13-45"', '"v1"', '"v1.2.3.4"',
    '"v01"', '"github.com/a/b"', '"github.com/"', '"https://github.com/a/b/c"', '"a@b"',
    '"local-builder.pub.pem"', '"missing.pem"', '"."', '"/dev/null"', '"-----BEGIN PUBLIC KEY-----"',
    '["push", 1]', '[""]', '{ a = 1 }', '{ epochs = 5 }', "9" * 5000, '"' + "x" * 5000 + '"',
    "[" * 3000 + "]" * 3000, "{ a = " * 1200 + "1" + " }" * 1200,
)
TOML_KEYS = ("version", "trusted-root", "source-uri", "builder-id", "source-tag", "source-versioned-tag",
             "source-branch", "triggers", "public-key", "public-key-pem", "expires", "epochs", "extra")
TOML_HEADERS = ("[github]", "[local.a]", "[local.\"\"]", "[[github]]", "[[local]]",
                "[github.build-workflow-inputs]", "[local]", "[other]", "[local.a.b]")


MAX_SIZE = 300_000


def mutate(seed: bytes, rng: random.Random, rounds: int = 1, max_size: int = MAX_SIZE) -> bytes:
    """``seed`` changed ``rounds`` times, JSON- or TOML-aware when it parses as one.

    Each round's output is cut to ``max_size`` bytes: a list copied a hundredfold
    or a string doubled two hundredfold compounds over rounds, and unbounded it
    took a fuzzing worker past its memory limit while still mutating.
    """
    data = seed[:max_size]
    for _ in range(rounds):
        data = _mutate_once(data, rng)[:max_size]
    return data


def _mutate_once(data: bytes, rng: random.Random) -> bytes:
    document = _json(data)
    if document is not None and rng.random() < 0.85:
        try:
            data = dump(mutate_tree(document, rng))
        except RecursionError:  # a seed already nested too deep to walk
            return mutate_bytes(data, rng)
    elif _looks_like_toml(data) and rng.random() < 0.85:
        data = mutate_toml(data.decode("utf-8"), rng).encode("utf-8", "surrogatepass")
    else:
        return mutate_bytes(data, rng)
    return mutate_bytes(data, rng) if rng.random() < 0.15 else data


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _looks_like_toml(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "=" in text


def dump(value: Any) -> bytes:
    """JSON text of ``value`` with the sentinels expanded."""
    text = json.dumps(value)
    return _SENTINEL.sub(_expand, text).encode("utf-8", "surrogatepass")


def _expand(match: re.Match[str]) -> str:
    kind, count = match.group(1), int(match.group(2))
    if kind == "HUGE":
        return "9" * count
    if kind == "DEEPL":
        return "[" * count + "0" + "]" * count
    return '{"a":' * count + "0" + "}" * count


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def mutate_tree(document: Any, rng: random.Random) -> Any:
    """One structural change at a random node of a parsed JSON document."""
    paths = list(_paths(document))
    path = rng.choice(paths)
    node = _get(document, path)
    operation = rng.choice(("wrong", "wrong", "delete", "add", "deep", "huge", "string", "copy",
                            "swap", "base64", "base64"))
    if operation == "base64" and isinstance(node, str):
        replacement = _mutate_base64(node, rng)
    elif operation == "base64":
        # Aim at a nested payload when the node itself is not one.
        candidates = [p for p in paths if isinstance(_get(document, p), str) and len(_get(document, p)) > 40]
        if candidates:
            path = rng.choice(candidates)
            replacement = _mutate_base64(_get(document, path), rng)
        else:
            replacement = rng.choice(WRONG_VALUES)
    elif operation == "delete" and path:
        parent = _get(document, path[:-1])
        del parent[path[-1]]
        return document
    elif operation == "add" and isinstance(node, dict | list):
        return _add(document, path, node, rng)
    elif operation == "deep":
        kind = rng.choice(("DEEPL", "DEEPD"))
        replacement = f"\x00{kind}{rng.choice((3, 64, 900, 1100, 5000, 100_000))}\x00"
    elif operation == "huge":
        replacement = f"\x00HUGE{rng.choice((20, 400, 4301, 10_000))}\x00"
    elif operation == "string" and isinstance(node, str):
        replacement = edit_string(node, rng)
    elif operation == "copy" and isinstance(node, list) and node:
        replacement = node * rng.choice((2, 100))
    elif operation == "swap":
        replacement = _get(document, rng.choice(paths))
        replacement = json.loads(json.dumps(replacement))  # a copy: no cycles
    else:
        replacement = rng.choice(WRONG_VALUES)
    if not path:
        return replacement
    _get(document, path[:-1])[path[-1]] = replacement
    return document


def _add(document: Any, path: tuple[Any, ...], node: dict[str, Any] | list[Any],
         rng: random.Random) -> Any:
    value = rng.choice(WRONG_VALUES)
    if isinstance(node, list):
        node.insert(rng.randrange(len(node) + 1), value)
        return document
    key = rng.choice(("x", "", "_type", "mediaType", "payload", "signatures", "cert", "sig",
                      "publicKey", "digest", "sha256", "format", "name", "\x00", "é"))
    node[key] = value
    return document


def _mutate_base64(text: str, rng: random.Random) -> Any:
    """A base64 string whose decoded JSON is mutated and re-encoded, else an edited string."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return edit_string(text, rng)
    inner = _json(raw)
    if inner is not None:
        raw = dump(mutate_tree(inner, rng))
    else:
        raw = mutate_bytes(raw, rng)
    encoded = base64.b64encode(raw).decode("ascii")
    if rng.random() < 0.2:
        encoded = encoded.rstrip("=") if rng.random() < 0.5 else encoded.replace("+", "-").replace("/", "_")
    return encoded


def edit_string(text: str, rng: random.Random) -> str:
    """One edit of a string value."""
    edit = rng.choice(STRING_EDITS)
    if edit == "empty":
        return ""
    if edit == "truncate":
        return text[: rng.randrange(len(text) + 1)]
    if edit == "double":
        return text + text
    if edit == "upper":
        return text.upper()
    if edit == "nul":
        return text + "\x00"
    if edit == "newline":
        return text + "\n"
    if edit == "unicode":
        cut = rng.randrange(len(text) + 1)
        return text[:cut] + rng.choice(("\ud800", "\u202e", "é", "\u0130", "\ufeff", "\U0001f600")) + text[cut:]
    if edit == "long":
        return text * 200 if text else "a" * 10_000
    return text + "@" + text


def mutate_toml(text: str, rng: random.Random) -> str:
    """One change to a TOML document: a value, a key, a line or a table header."""
    lines = text.splitlines() or [""]
    index = rng.randrange(len(lines))
    line = lines[index]
    operation = rng.choice(("value", "value", "value", "key", "insert", "header", "delete", "duplicate"))
    if operation == "value" and "=" in line and not line.lstrip().startswith("#"):
        key = line.split("=", 1)[0]
        lines[index] = f"{key}= {rng.choice(TOML_VALUES)}"
    elif operation == "key" and "=" in line:
        lines[index] = f"{rng.choice(TOML_KEYS)} ={line.split('=', 1)[1]}"
    elif operation == "header":
        lines.insert(index, rng.choice(TOML_HEADERS))
    elif operation == "delete":
        del lines[index]
    elif operation == "duplicate":
        lines.insert(index, line)
    else:
        lines.insert(index, f"{rng.choice(TOML_KEYS)} = {rng.choice(TOML_VALUES)}")
    return "\n".join(lines) + "\n"


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """A byte-level change: truncation, two lines, a BOM, a flipped byte, UTF-16, or junk."""
    operation = rng.choice(("truncate", "truncate", "lines", "bom", "flip", "utf16", "insert", "empty"))
    if operation == "truncate":
        return data[: rng.randrange(len(data) + 1)]
    if operation == "lines":
        return data.rstrip(b"\n") + b"\n" + data
    if operation == "bom":
        return b"\xef\xbb\xbf" + data
    if operation == "flip" and data:
        index = rng.randrange(len(data))
        return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1:]
    if operation == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if operation == "insert":
        index = rng.randrange(len(data) + 1)
        return data[:index] + rng.choice((b"\x00", b"\xff", b"\n", b'"', b"{", b"]", b"\\u")) + data[index:]
    return b""
