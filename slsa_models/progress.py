"""Progress bars on stderr (bytes, rate, ETA) for long reads, writes and transfers.

One call for every command and step that moves bytes::

    from slsa_models.progress import progress_bar

    with progress_bar(total_bytes, "downloading model.keras") as on_progress:
        store.download(key, dest, on_progress=on_progress)    # on_progress(n) after n more bytes

``on_progress`` is always a callable (a no-op when no bar is shown), safe to call from several
threads at once (concurrent ranged downloads, parallel hashing). A bar is shown only when stderr
is a terminal, the command is not ``-q`` (``slsa_models.verbosity``) and the work takes longer
than ``SLSA_MODELS_PROGRESS_DELAY`` seconds (default 0.5, so small files stay silent); it is
cleared when done. Piped, redirected or in a Prefect worker nothing extra is written.
``total_size(paths)`` gives the total for files and folders. tqdm draws the bar.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TextIO

from slsa_models import verbosity

DELAY_ENV = "SLSA_MODELS_PROGRESS_DELAY"
DEFAULT_DELAY = 0.5  # seconds before a bar appears


def should_show(stream: TextIO | None = None) -> bool:
    """Whether a bar may be drawn on ``stream`` (default stderr): a terminal, and not ``-q``."""
    stream = sys.stderr if stream is None else stream
    if verbosity.quiet() or stream is None:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get(DELAY_ENV, DEFAULT_DELAY)))
    except ValueError:
        return DEFAULT_DELAY


class Progress(Protocol):
    """What long transfers report to: bytes done, and more bytes to expect as they are learnt
    (a folder's total is known only once its files are listed)."""

    def __call__(self, n: int) -> None: ...

    def add_total(self, n: int) -> None: ...


class ProgressBar:
    """A callable ``on_progress(n)`` that advances a bar by ``n`` bytes; a no-op when disabled."""

    def __init__(self, total: int | None, label: str, *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._bar: Any = None
        stream = sys.stderr if stream is None else stream
        show = should_show(stream) if enabled is None else enabled
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=total or None, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
                             file=stream, leave=False, dynamic_ncols=True, delay=_delay(), mininterval=0.2)

    @property
    def active(self) -> bool:
        """Whether a bar is being drawn (False when disabled)."""
        return self._bar is not None

    def __call__(self, n: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(n)

    def add_total(self, n: int) -> None:
        """Expect ``n`` more bytes."""
        if self._bar is not None and n > 0:
            with self._lock:
                self._bar.total = (self._bar.total or 0) + n
                self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.close()
                self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def progress_bar(total: int | None, label: str, *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> ProgressBar:
    """A bar of ``total`` bytes (None or 0: unknown, shows bytes and rate only) named ``label``.
    ``enabled`` None decides by ``should_show()``; True or False forces it (tests, callers that know).
    Use it as a context manager, or call ``close()`` when done."""
    return ProgressBar(total, label, enabled=enabled, stream=stream)


def total_size(paths: Iterable[str | os.PathLike[str]]) -> int:
    """Bytes in these files, and in the regular files below these folders (symlinks not followed).
    Unreadable paths count 0: the work that reads them reports the error, not the bar."""
    total = 0
    for path in paths:
        try:
            if Path(path).is_dir():
                for root, _dirs, files in os.walk(path):
                    for name in files:
                        full = os.path.join(root, name)
                        if not os.path.islink(full):
                            total += os.path.getsize(full)
            else:
                total += os.path.getsize(path)
        except OSError:
            continue
    return total
