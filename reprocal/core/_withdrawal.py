"""Withdrawals: the dates on which the archive stopped listing a constituent, as data.

ESA's mirroring recipe (``rsync ... --delete``) deletes locally what the archive no longer
lists, so on such a mirror cifbuild cannot select a withdrawn constituent once the withdrawal
has reached it. reprocal never deletes: a withdrawn file stays on disk, and its withdrawal is a
*date* (the first sync that found it missing, :mod:`reprocal.repo._history`). The selection rule
takes those dates as one more input (:class:`reprocal.core._select.Selector`), so that

* an analysis date on or after the withdrawal skips the constituent, as cifbuild run then on a
  mirror that followed ``--delete`` would have;
* an earlier analysis date keeps it, as users then had it.

This module holds the values (:class:`Withdrawal`, :class:`Withdrawals`,
:class:`WithdrawalEffect`); the comparison a cifbuild replacement needs is
:func:`reprocal.core._select.mirror_outcomes`: for one rule, what reprocal selects, what
cifbuild selects on a mirror that kept every file, and what it selects on a mirror that
followed ``--delete`` until a given day, with one :class:`WithdrawalEffect` per type where they
differ. Pure: the dates come from the caller (the catalogue or the history); no file, no clock.

>>> from reprocal.core._dates import CalDate
>>> w = Withdrawals([Withdrawal("EPN_CTI_0002.CCF", CalDate.parse("2020-01-01"))])
>>> w.as_of("EPN_CTI_0002.CCF", CalDate.parse("2019-12-31")) is None
True
>>> w.as_of("EPN_CTI_0002.CCF", CalDate.parse("2020-01-01")).since
CalDate('2020-01-01T00:00:00')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName


def _name(value: str) -> str:
    return ConstituentName.parse(value).filename


@attrs.frozen
class Withdrawal:
    """One period during which a mirror no longer listed a constituent."""

    name: str = attrs.field(converter=_name)
    """Canonical constituent file name."""
    since: CalDate
    """The first time it was seen missing (the sync that noticed): from then on a mirror
    following ``--delete`` lacks it."""
    until: CalDate | None = None
    """When a mirror listed it again (``None``: still withdrawn)."""
    mirror: str = ""
    """The mirror whose listing lost it."""
    last_listed: CalDate | None = None
    """The last sync that still saw it listed (the withdrawal happened between the two)."""

    def covers(self, date: CalDate) -> bool:
        """Withdrawn at ``date``: ``since <= date`` and (no ``until`` or ``date < until``)."""
        return self.since <= date and (self.until is None or date < self.until)

    def describe(self) -> str:
        back = f", listed again {self.until}" if self.until is not None else ""
        where = f" from {self.mirror}" if self.mirror else ""
        return f"withdrawn{where} since {self.since}{back}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "since": self.since.text,
                "until": self.until.text if self.until else None, "mirror": self.mirror,
                "last_listed": self.last_listed.text if self.last_listed else None}


class Withdrawals:
    """Every withdrawal known, by constituent name (immutable).

    A name may have several periods (withdrawn, listed again, withdrawn again)."""

    def __init__(self, items: Iterable[Withdrawal] = ()):
        by_name: dict[str, list[Withdrawal]] = {}
        for w in items:
            by_name.setdefault(w.name, []).append(w)
        self._by_name = {k: tuple(sorted(v, key=lambda w: w.since.text))
                         for k, v in sorted(by_name.items())}

    def as_of(self, name: str, date: CalDate) -> Withdrawal | None:
        """The withdrawal covering ``date`` for ``name`` (any case), or ``None``: is this
        constituent withdrawn as of that analysis date?"""
        for w in self._by_name.get(_name(name), ()):
            if w.covers(date):
                return w
        return None

    def names_as_of(self, date: CalDate) -> frozenset[str]:
        """The constituents withdrawn at ``date``."""
        return frozenset(n for n, ws in self._by_name.items() if any(w.covers(date) for w in ws))

    def periods(self, name: str) -> tuple[Withdrawal, ...]:
        """Every withdrawal of ``name``, oldest first."""
        return self._by_name.get(_name(name), ())

    def intervals(self, name: str) -> tuple[tuple[str, str | None], ...]:
        """``(since, until)`` as canonical date texts (the selector's hot loop compares text)."""
        return tuple((w.since.text, w.until.text if w.until else None)
                     for w in self._by_name.get(name, ()))

    def __iter__(self) -> Iterator[Withdrawal]:
        for ws in self._by_name.values():
            yield from ws

    def __len__(self) -> int:
        return sum(len(ws) for ws in self._by_name.values())

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Withdrawals) and self._by_name == other._by_name

    def __hash__(self) -> int:
        return hash(tuple(self._by_name.items()))

    def __repr__(self) -> str:
        return f"Withdrawals({list(self)!r})"


NONE = Withdrawals()
"""No withdrawal known: the rule is cifbuild's own."""


@attrs.frozen
class WithdrawalEffect:
    """A calibration type whose selection depends on a withdrawal."""

    key: tuple[str, str]
    """``(SCOPE, TYPEID)``."""
    withdrawn: Constituent
    """The withdrawn constituent a mirror that kept it gives."""
    withdrawal: Withdrawal
    """Its withdrawal (the period that matters here)."""
    selected: Constituent | None
    """What reprocal's rule selects (withdrawals as of the analysis date)."""
    kept: Constituent | None
    """What cifbuild selects on a mirror that kept every file (``rsync`` without
    ``--delete``, or reprocal's own): the withdrawn file."""
    pruned: Constituent | None
    """What cifbuild selects on a mirror that followed ``--delete`` until the day compared
    with (``None``: the type would be absent)."""
    before_analysis: bool
    """The withdrawal happened on or before the analysis date: reprocal skips the file;
    otherwise reprocal keeps it (users then had it) and only a pruned mirror lacks it."""

    def describe(self) -> str:
        w, then, p = self.withdrawn.filename, self.withdrawal.since, self.pruned
        if self.before_analysis:
            instead = (f"issue {p.issue} ({p.filename}) is used" if p is not None
                       else "the type is absent")
            return (f"{w} was withdrawn from the archive on {then}, before the analysis date: "
                    f"skipped, as cifbuild on a mirror following ESA's --delete would, so "
                    f"{instead}; a mirror that kept the file gives {w}")
        instead = (f"gives issue {p.issue} ({p.filename})" if p is not None
                   else "has no issue of the type")
        return (f"{w} was withdrawn from the archive on {then}, after the analysis date: it is "
                f"used, as users then had it; a mirror that followed --delete since lacks it "
                f"and {instead}")

    def to_json(self) -> dict[str, Any]:
        def name(c: Constituent | None) -> str | None:
            return c.filename if c is not None else None

        return {"scope": self.key[0], "typeid": self.key[1], "withdrawn": self.withdrawn.filename,
                "withdrawal": self.withdrawal.to_json(), "selected": name(self.selected),
                "kept_mirror": name(self.kept), "pruned_mirror": name(self.pruned),
                "before_analysis": self.before_analysis}


__all__ = ["NONE", "Withdrawal", "WithdrawalEffect", "Withdrawals"]
