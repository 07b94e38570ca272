"""What every result that can fail has: ``ok`` and ``raise_if_failed()``.

A result carries the failure it found instead of raising it, so a notebook user can look at
the whole report first; ``raise_if_failed()`` raises it (the CLI maps it to its exit code).
"""

from __future__ import annotations

from reprocal.errors import ReprocalError


class Checked:
    """Mixed into the frozen result classes that hold a ``failure`` field."""

    __slots__ = ()
    failure: ReprocalError | None

    @property
    def ok(self) -> bool:
        """Nothing failed (results with a report say it from the report)."""
        return self.failure is None

    def raise_if_failed(self) -> None:
        """Raise :attr:`failure`, if any (a :class:`~reprocal.errors.ReprocalError`)."""
        if self.failure is not None:
            raise self.failure


__all__ = ["Checked"]
