"""The "mirror is down" circuit breaker of one fetch run.

The first attempt that cannot connect to a mirror at all (kind ``unreachable``: a host name that
does not resolve, a refused connection, a connect timeout) marks that mirror down for the rest
of the run; every later file skips it at once instead of trying (and retrying) it again. A run
on an offline machine therefore costs one failed connection per mirror, not one per file and
retry, and the report can say in one line per mirror why nothing was fetched.
"""

from __future__ import annotations

import threading


class MirrorHealth:
    """Which mirrors are down in this run, and why (shared by the worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, str] = {}

    def down(self, mirror: object) -> str | None:
        """Why ``mirror`` is down, or ``None`` when it may be tried."""
        with self._lock:
            return self._down.get(str(mirror))

    def mark_down(self, mirror: object, reason: str) -> None:
        """Record the first reason ``mirror`` could not be reached."""
        with self._lock:
            self._down.setdefault(str(mirror), reason)

    def reasons(self) -> tuple[tuple[str, str], ...]:
        """``(mirror, reason)`` of every mirror marked down, in the order they went down."""
        with self._lock:
            return tuple(self._down.items())
