"""Read input this program does not control: regular files only, bounded reads, shallow JSON.

``read_regular_file`` opens without blocking (a FIFO would wait for a writer
forever), refuses anything but a regular file (``/dev/zero`` never ends) and
reads at most ``max_bytes``. ``loads_json`` refuses JSON nested deeper than
``MAX_JSON_DEPTH`` instead of letting a RecursionError escape later.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from slsa_models.errors import InputError, SlsaModelsError

MAX_JSON_DEPTH = 64
_CHUNK = 1 << 16

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO", "a directory"...)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def amount(size: int) -> str:
    """A file size for messages: "200.0 MiB", or "N bytes" below one MiB."""
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} bytes"


def open_regular_file(path: str | os.PathLike[str], *, what: str,
                      error: type[SlsaModelsError] = InputError) -> int:
    """A blocking read-only descriptor of the regular file ``path``; ``error`` otherwise.

    Opened with O_NONBLOCK first, so a FIFO cannot hang the open, then checked
    with fstat: a directory, FIFO, device or socket is refused in one line.
    """
    label = os.fspath(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{label}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{label}: is a directory, not a {what}") from None
    except PermissionError:
        raise error(f"{label}: permission denied reading the {what}") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(f"{label!r}: cannot read the {what}: {reason}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise error(f"{label}: is a directory, not a {what}")
        raise error(f"{label}: not a regular file ({file_kind(mode)}); give the {what} itself")
    os.set_blocking(fd, True)
    return fd


def read_regular_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    what: str,
    error: type[SlsaModelsError] = InputError,
    hint: str = "",
) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes``; ``error`` otherwise.

    ``what`` names the file in messages ("key file"); ``hint`` is appended to the
    too-large message.
    """
    label = os.fspath(path)
    fd = open_regular_file(path, what=what, error=error)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise error(f"{label}: {amount(size)} is larger than the {_limit(max_bytes)} limit"
                        f" for a {what}{hint}")
        data = _read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        raise error(f"{label}: cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew while being read
        raise error(f"{label}: more than the {_limit(max_bytes)} limit for a {what}{hint}")
    return data


def _read_at_most(fd: int, count: int) -> bytes:
    parts: list[bytes] = []
    left = count
    while left > 0:
        part = os.read(fd, min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _limit(max_bytes: int) -> str:
    mib, rest = divmod(max_bytes, 2**20)
    return f"{mib} MiB" if mib and not rest else f"{max_bytes}-byte"


def loads_json(
    data: bytes | str,
    where: str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    error: type[SlsaModelsError] = InputError,
) -> Any:
    """``json.loads``, refusing documents nested deeper than ``max_depth`` with ``error``.

    Other decoding errors (json.JSONDecodeError, UnicodeDecodeError) are left to
    the caller, who knows how to describe them.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        value = None
        too_deep = True
    except ValueError as problem:
        if "integer string conversion" not in str(problem):
            raise  # JSONDecodeError, UnicodeDecodeError: the caller describes those
        raise error(f"{where}: a JSON number with more than 4300 digits; refusing to read it") from None
    else:
        too_deep = _deeper_than(value, max_depth)
    if too_deep:
        raise error(f"{where}: JSON nested more than {max_depth} levels deep; refusing to read it")
    return value


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether lists and objects nest more than ``max_depth`` levels (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
