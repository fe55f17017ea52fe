"""Progress in the Prefect UI: a progress artifact that follows the bytes of a long transfer."""

from __future__ import annotations

import threading
import time
from types import TracebackType

UPDATE_EVERY = 1.0  # seconds between updates: one API call per second at most


class UIProgress:
    """``on_progress(n)`` and ``add_total(n)`` (see ``slsa_models.progress.Progress``) moving a
    progress artifact of the running task from 0 to 100 %. Safe from several threads; progress
    is cosmetic, so an API error is ignored rather than failing the run."""

    def __init__(self, description: str) -> None:
        self.description, self.total, self.done = description, 0, 0
        self._lock, self._last, self._id = threading.Lock(), 0.0, None
        self._call(lambda: self._create())

    def _create(self) -> None:
        from prefect.artifacts import create_progress_artifact

        self._id = create_progress_artifact(progress=0.0, description=self.description)

    def add_total(self, n: int) -> None:
        with self._lock:
            self.total += max(0, n)

    def __call__(self, n: int) -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            if now - self._last < UPDATE_EVERY:
                return
            self._last = now
        self._update()

    def _update(self) -> None:
        from prefect.artifacts import update_progress_artifact

        if self._id is None or not self.total:
            return
        percent = min(100.0, 100.0 * self.done / self.total)
        self._call(lambda: update_progress_artifact(artifact_id=self._id, progress=percent))

    @staticmethod
    def _call(action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except Exception:  # noqa: BLE001 - the UI's progress never decides a deploy
            pass

    def __enter__(self) -> UIProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            with self._lock:
                self.done = max(self.done, self.total)
            self._update()
