"""Progress reporting: a bar on a terminal, silence otherwise.

Library functions take an optional ``progress`` callable-free object with ``update(n)``; the CLI
passes a tqdm bar (which disables itself when stderr is not a terminal), a notebook passes its own
or nothing.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...


class NullProgress:
    """Does nothing; the default for library calls."""

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, s: str) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def bar(total: int | None, desc: str, *, unit: str = "file", unit_scale: bool = False,
        enabled: bool | None = None) -> Any:
    """A tqdm bar on stderr, shown only when stderr is a terminal (or ``enabled`` says so)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return NullProgress()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, leave=False,
                file=sys.stderr, dynamic_ncols=True)
