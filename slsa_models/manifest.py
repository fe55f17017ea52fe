"""A folder model's manifest: every regular file under it, by relative path, with its SHA-256.

    manifest = build_manifest("checkpoint/")          # hashes on all cores, memory flat
    manifest.to_bytes()   # b"<hex>  config.json\\n<hex>  model-00001-of-00003.safetensors\\n..."
    differences = compare_files(signed, actual)       # changed, missing, added, renamed, swapped

Rules: paths are relative, POSIX ('/'), sorted by code point and unique; a
symlink, device, FIFO or socket anywhere under the folder is refused (a link
could point outside it, a FIFO would hang the hash); ``ignore_paths`` leaves
files or whole folders out explicitly, and git's own files (``.git``,
``.gitattributes``, ``.github``, ``.gitignore``) are left out as model_signing
does. The serialized form is ``sha256sum`` output, so ``sha256sum -c`` checks
a folder against it, and its SHA-256 is the folder's digest in the store.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from slsa_models.digest import Digest, sha256_file
from slsa_models.errors import InputError
from slsa_models.untrusted import file_kind

GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
MAX_FILES = 100_000
MAX_MANIFEST_BYTES = 32 * 2**20
_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


def validate_relative_path(path: str) -> str:
    """Return ``path`` if it is a clean relative POSIX path inside a folder, else raise InputError."""
    if not isinstance(path, str) or not path:
        raise InputError(f"invalid file path {path!r} in a model folder: empty")
    parts = path.split("/")
    bad = not path.isprintable() or "\\" in path or path.startswith("/") \
        or any(part in ("", ".", "..") for part in parts)
    if bad:
        raise InputError(f"invalid file path {path!r} in a model folder: use a relative path "
                         "of '/'-separated names, no '.', '..', backslash or control character")
    return path


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative, POSIX
    sha256: str  # lowercase hex


@dataclass(frozen=True)
class Manifest:
    """The files of a folder, sorted by path."""

    files: tuple[FileEntry, ...]

    def __post_init__(self) -> None:
        paths = [entry.path for entry in self.files]
        for path in paths:
            validate_relative_path(path)
        if paths != sorted(set(paths)):
            raise InputError("a manifest lists its files sorted by path, each once")
        if not paths:
            raise InputError("the model folder has no files")
        folders = {path.rsplit("/", depth)[0] for path in paths for depth in range(1, path.count("/") + 1)}
        both = sorted(folders.intersection(paths))
        if both:
            raise InputError(f"a manifest cannot list {both[0]!r} both as a file and as a folder")
        if len(paths) > MAX_FILES:
            raise InputError(f"the model folder has {len(paths)} files; at most {MAX_FILES} are supported")

    @classmethod
    def from_digests(cls, digests: Mapping[str, str]) -> Manifest:
        return cls(tuple(FileEntry(path, Digest.parse(digests[path]).hex) for path in sorted(digests)))

    def digests(self) -> dict[str, str]:
        """Relative path -> hex SHA-256."""
        return {entry.path: entry.sha256 for entry in self.files}

    def to_bytes(self) -> bytes:
        return "".join(f"{entry.sha256}  {entry.path}\n" for entry in self.files).encode("utf-8")

    @property
    def digest(self) -> Digest:
        """The folder's digest: the SHA-256 of the serialized manifest."""
        import hashlib

        return Digest(hashlib.sha256(self.to_bytes()).hexdigest())

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """Parse a serialized manifest (untrusted): only its exact canonical form is accepted,
        so one folder has one manifest and one digest."""
        if not isinstance(data, bytes) or len(data) > MAX_MANIFEST_BYTES:
            raise InputError(f"not a model manifest: larger than {MAX_MANIFEST_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("not a model manifest: not UTF-8") from None
        if not text.endswith("\n"):
            raise InputError("not a model manifest: empty or no final newline")
        entries = []
        for number, line in enumerate(text[:-1].split("\n"), 1):
            match = _LINE.fullmatch(line)
            if match is None:
                raise InputError(f"not a model manifest: line {number} is not '<sha256 hex>  <path>'")
            entries.append(FileEntry(match.group(2), match.group(1)))
            if len(entries) > MAX_FILES:
                raise InputError(f"not a model manifest: more than {MAX_FILES} files")
        return cls(tuple(entries))


def is_ignored(relative: str, ignore: Iterable[str]) -> bool:
    """``relative`` is one of the ``ignore`` paths or lies under one of them."""
    return any(relative == path or relative.startswith(path + "/") for path in ignore)


def _normalize_ignore(root: Path, ignore_paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Ignore paths as POSIX paths relative to ``root`` (given relative to it, or absolute inside it)."""
    normalized = []
    for given in ignore_paths:
        path = Path(given)
        if path.is_absolute():
            try:
                path = path.resolve().relative_to(root.resolve())
            except ValueError:
                raise InputError(f"ignored path {os.fspath(given)!r} is not inside {os.fspath(root)!r}") from None
        relative = PurePosixPath(path.as_posix()).as_posix().strip("/")
        if relative in ("", "."):
            raise InputError(f"ignored path {os.fspath(given)!r} would ignore the whole model")
        normalized.append(relative)
    return normalized


def _followed_mode(path: Path) -> int:
    """The mode of a symlink's target: a regular file's, else InputError (a symlink to a
    folder could loop or leave the model; a broken one names nothing)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise InputError(f"{os.fspath(path)}: a broken symlink") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{os.fspath(path)}: a symlink to a folder; only symlinks to files are "
                         "followed (leave it out with --ignore-paths)")
    return mode


def list_files(root: str | os.PathLike[str], ignore_paths: Iterable[str | os.PathLike[str]] = (),
               *, ignore_git_paths: bool = True, allow_symlinks: bool = False) -> list[str]:
    """The relative paths of the regular files under ``root``, sorted; refuses anything else.
    With ``allow_symlinks`` (model_signing's --allow_symlinks), a symlink to a regular file
    counts as that file."""
    top = Path(root)
    try:
        mode = os.lstat(top).st_mode
    except OSError:
        raise InputError(f"{os.fspath(root)}: no such model folder") from None
    if not stat.S_ISDIR(mode):
        raise InputError(f"{os.fspath(root)}: not a folder")
    ignore = _normalize_ignore(top, ignore_paths) + (list(GIT_PATHS) if ignore_git_paths else [])
    found: list[str] = []
    pending = [""]
    while pending:
        folder = pending.pop()
        with os.scandir(top / folder if folder else top) as entries:
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                if is_ignored(relative, ignore):
                    continue
                entry_mode = entry.stat(follow_symlinks=False).st_mode
                if allow_symlinks and stat.S_ISLNK(entry_mode):
                    entry_mode = _followed_mode(top / relative)
                if stat.S_ISDIR(entry_mode):
                    pending.append(relative)
                elif stat.S_ISREG(entry_mode):
                    found.append(validate_relative_path(relative))
                    if len(found) > MAX_FILES:
                        raise InputError(f"{os.fspath(root)}: more than {MAX_FILES} files")
                else:
                    what = "a symlink" if stat.S_ISLNK(entry_mode) else file_kind(entry_mode)
                    raise InputError(f"{os.fspath(top / relative)}: is {what}; a model folder holds "
                                     "regular files only (leave it out with --ignore-paths)")
    return sorted(found)


def default_workers() -> int:
    return max(1, min(32, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def hash_files(root: str | os.PathLike[str], paths: Sequence[str], *, workers: int | None = None,
               on_progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """Hex SHA-256 of each file (relative to ``root``), several at a time: hashlib releases the
    GIL, so threads use every core; each holds one 1 MiB buffer, so memory stays flat."""
    top = Path(root)
    count = min(workers or default_workers(), max(1, len(paths)))
    if count == 1:
        return {path: sha256_file(top / path, on_progress) for path in paths}
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="hash") as pool:
        digests = pool.map(lambda path: sha256_file(top / path, on_progress), paths)
        return dict(zip(paths, digests, strict=True))


def build_manifest(root: str | os.PathLike[str], ignore_paths: Iterable[str | os.PathLike[str]] = (),
                   *, workers: int | None = None,
                   on_progress: Callable[[int], None] | None = None) -> Manifest:
    """The manifest of the folder ``root`` (see the module docstring for the rules)."""
    paths = list_files(root, ignore_paths)
    if not paths:
        raise InputError(f"{os.fspath(root)}: the model folder has no files")
    return Manifest.from_digests(hash_files(root, paths, workers=workers, on_progress=on_progress))


@dataclass(frozen=True, slots=True)
class FileDifference:
    """One way a folder differs from the signed file set."""

    kind: str  # changed | missing | added | renamed | swapped
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def compare_files(signed: Mapping[str, str], actual: Mapping[str, str]) -> list[FileDifference]:
    """How ``actual`` (path -> hex) differs from ``signed``; empty when the sets are equal.

    A signed file found under another name is ``renamed``; a file holding another signed
    file's bytes is ``swapped``; other differences are ``changed``, ``missing`` or ``added``.
    """
    by_digest: dict[str, list[str]] = {}
    for path, digest in signed.items():
        by_digest.setdefault(digest, []).append(path)
    differences = []
    for path in sorted(set(signed) | set(actual)):
        want, got = signed.get(path), actual.get(path)
        if want == got:
            continue
        others = [other for other in by_digest.get(got or "", []) if other != path]
        if want is None:
            kind = "renamed" if others and others[0] not in actual else "added"
            detail = f"renamed from {others[0]}" if kind == "renamed" else "not signed (added)"
        elif got is None:
            if any(actual.get(other) == want for other in actual if other not in signed):
                continue  # reported as the rename
            kind, detail = "missing", "signed but missing"
        elif others:
            kind, detail = "swapped", f"holds the signed bytes of {others[0]}"
        else:
            kind, detail = "changed", f"sha256:{got[:12]}... differs from the signed sha256:{want[:12]}..."
        differences.append(FileDifference(kind, path, detail))
    return differences


def describe(differences: Sequence[FileDifference], limit: int = 3) -> str:
    """One line naming the first differences."""
    shown = "; ".join(str(difference) for difference in differences[:limit])
    more = f"; and {len(differences) - limit} more" if len(differences) > limit else ""
    return shown + more


def digest_path(path: str | os.PathLike[str], ignore_paths: Sequence[str | os.PathLike[str]] = (), *,
                on_progress: Callable[[int], None] | None = None) -> str | Manifest:
    """A model file's hex SHA-256, or a model folder's manifest."""
    if Path(path).is_dir():
        return build_manifest(path, ignore_paths, on_progress=on_progress)
    if ignore_paths:
        raise InputError("--ignore-paths applies to a model folder, not a file")
    return sha256_file(path, on_progress)


def model_subjects(paths: Sequence[str | os.PathLike[str]], model_name: str | None = None,
                   ignore_paths: Sequence[str | os.PathLike[str]] = (), *, workers: int | None = None,
                   on_progress: Callable[[int], None] | None = None) -> list[tuple[str, str]]:
    """(name, hex SHA-256) subjects for model files and folders.

    With ``model_name``, a file is named ``<model>/<file name>`` and each file of a
    folder ``<model>/<relative path>``; without it, files keep their names as given
    (as ``sha256sum`` does) and folders are refused: their files are bound to a model.
    """
    from slsa_models.store.layout import validate_model_name
    from slsa_models.verify.names import subject_name

    if model_name is not None:
        validate_model_name(model_name)
    subjects: list[tuple[str, str]] = []
    for path in paths:
        if not Path(path).is_dir():
            name = subject_name(model_name, Path(path).name) if model_name else os.fspath(path)
            subjects.append((name, sha256_file(path, on_progress)))
            continue
        if model_name is None:
            raise InputError(f"{os.fspath(path)}: a model folder's files are named <model>/<path>: "
                             "give --model-name")
        manifest = build_manifest(path, ignore_paths, workers=workers, on_progress=on_progress)
        subjects += [(subject_name(model_name, entry.path), entry.sha256) for entry in manifest.files]
    if ignore_paths and not any(Path(path).is_dir() for path in paths):
        raise InputError("--ignore-paths applies to a model folder, not a file")
    return subjects
