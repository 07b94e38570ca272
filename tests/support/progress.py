"""A progress display that remembers what it was told (the one protocol, thread-safe)."""

from __future__ import annotations

import threading


class RecordingProgress:
    """Implements :class:`reprocal.progress.Progress`; ``calls`` in the order they came."""

    def __init__(self) -> None:
        self.starts: list[tuple[int | None, int | None]] = []
        self.updates: list[int] = []
        self.finished_items: list[str] = []
        self._lock = threading.Lock()

    def start(self, total: int | None, *, items: int | None = None) -> None:
        with self._lock:
            self.starts.append((total, items))

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.updates.append(n)

    def finished(self, item: str) -> None:
        with self._lock:
            self.finished_items.append(item)

    @property
    def done(self) -> int:
        return sum(self.updates)
