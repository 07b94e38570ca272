"""The terminal's progress bar: the CLI's implementation of :class:`reprocal.progress.Progress`.

A tqdm bar on stderr, switched off (tqdm's ``disable``) when stderr is not a terminal, so a
pipe, a log file or a test runner sees nothing of it. Units are what the library reports
(files, or bytes with ``unit="B"``); items finished, when the work says how many there are,
are counted in the postfix (``3/39 files``). Safe to call from worker threads.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from reprocal.cli._common import stderr_is_tty


class Bar:
    """``with Bar("indexing") as progress: library_call(progress=progress)``."""

    def __init__(self, desc: str, *, total: int | None = None, unit: str = "file",
                 unit_scale: bool = False, enabled: bool | None = None,
                 file: TextIO | None = None):
        self._lock = threading.Lock()
        self._items: int | None = None
        self._done = 0
        self._tqdm: Any = _Off()
        if stderr_is_tty() if enabled is None else enabled:  # tqdm is imported only to draw
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale,
                              leave=False, file=file or sys.stderr, dynamic_ncols=True)

    def start(self, total: int | None, *, items: int | None = None) -> None:
        with self._lock:
            self._tqdm.total = total
            self._tqdm.reset(total=total)
            self._items, self._done = items, 0
            if items is not None:
                self._tqdm.set_postfix_str(f"0/{items} files")

    def update(self, n: int = 1) -> None:
        with self._lock:
            self._tqdm.update(n)

    def finished(self, item: str) -> None:
        with self._lock:
            self._done += 1
            if self._items is not None:
                self._tqdm.set_postfix_str(f"{self._done}/{self._items} files")

    def close(self) -> None:
        with self._lock:
            self._tqdm.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Off:
    """A bar that draws nothing (stderr is no terminal), without importing tqdm."""

    total: int | None = None

    def reset(self, total: int | None = None) -> None:
        self.total = total

    def set_postfix_str(self, text: str) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


__all__ = ["Bar"]
