"""Progress reporting: one protocol for every long loop. The library never draws anything.

A library function that takes a while accepts an optional ``progress`` (default
:class:`NullProgress`) and tells it, as far as it knows:

* ``start(total, items=...)`` once the work is planned: ``total`` units of work (``None`` when
  unknown) spread over ``items`` items (files). The fetch engine calls it with the bytes still
  to receive and the files still to fetch; a loop whose size its caller already knows may skip it;
* ``update(n)`` as ``n`` more units are done: one per file hashed, verified or indexed; the
  bytes of each chunk received or written;
* ``finished(item)`` when one item is finished, whatever its outcome (a file fetched or failed).

Calls may come from worker threads: an implementation that keeps state locks it. The CLI passes
a terminal bar (``reprocal.cli._progress.Bar``, which stays silent when stderr is not a
terminal); a notebook passes its own object or nothing.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What long work tells a display (see the module docstring)."""

    def start(self, total: int | None, *, items: int | None = None) -> None: ...

    def update(self, n: int = 1) -> None: ...

    def finished(self, item: str) -> None: ...


class NullProgress:
    """Does nothing; the default for library calls."""

    def start(self, total: int | None, *, items: int | None = None) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def finished(self, item: str) -> None:
        return None


def or_null(progress: Progress | None) -> Progress:
    """``progress``, or a :class:`NullProgress` when there is none."""
    return progress if progress is not None else NullProgress()


__all__ = ["NullProgress", "Progress", "or_null"]
