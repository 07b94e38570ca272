"""The selection rule of cifbuild, pure: constituents and two dates in, a selection out.

cifbuild's rule, quoted step by step. For an observation date ``t_obs`` and an analysis date
``t_an``, for each ``(SCOPE, TYPEID)``::

    candidates: CATEGORY == category (unless ignorecategory)      -> step 1
                VALDATE  <= t_obs                                  -> step 2
                EVALDATE missing or EVALDATE >= t_obs              -> step 3 (skipped in
                                                                      master-index mode)
                SUBDATE  <= t_an                                   -> step 4
    winner:     the candidate with the highest ISSUE               -> step 5

A type with no candidate is absent. Rows are sorted by SCOPE, then TYPEID.

**Withdrawals** (:mod:`reprocal.core._withdrawal`) are one more input, as data: a constituent
the archive withdrew on date ``W`` is not a candidate for an analysis date ``t_an >= W``
(step 0 below). That is what cifbuild does on a mirror that followed ESA's ``rsync --delete``:
the file was deleted there when the withdrawal reached it, so cifbuild run on that mirror at
any later analysis date never saw it; a later analysis date reproduces exactly that. An analysis
date before ``W`` keeps the file, as users then had it. Without withdrawals (the default) the
rule is cifbuild's own, on a mirror that kept every file. :func:`mirror_outcomes` puts the
two mirrors side by side for a cifbuild replacement that must behave like cifbuild on a mirror
that kept the file, and warn::

    step 0: not withdrawn as of t_an (withdrawal dates given by the caller)

This module never opens a file and never reads the clock: ``now`` is resolved at the edge, and
withdrawal dates come from the caller (the catalogue, or the mirror history of
:mod:`reprocal.repo._history`).
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._withdrawal import NONE, Withdrawal, WithdrawalEffect, Withdrawals


class Reason(enum.Enum):
    """Why a constituent is not a candidate (the step of the rule it fails)."""

    CATEGORY = "category differs"
    NOT_YET_VALID = "validity starts after the observation date"
    EXPIRED = "validity ended before the observation date"
    NOT_YET_SUBMITTED = "submitted after the analysis date"
    WITHDRAWN = "withdrawn from the archive on or before the analysis date"


@attrs.frozen
class Rule:
    """The parameters of one selection: cifbuild's ``observationdate``, ``analysisdate``,
    ``category``, ``ignorecategory`` and ``masterindex``."""

    obs_date: CalDate
    analysis_date: CalDate
    category: str = DEFAULT_CATEGORY
    ignore_category: bool = False
    master_index: bool = False

    def why_not(self, c: Constituent, withdrawals: Withdrawals = NONE) -> Reason | None:
        """``None`` when ``c`` is a candidate, else the first step of the rule it fails
        (``withdrawals``: step 0, see the module docstring)."""
        # step 0: not withdrawn as of t_an
        if withdrawals and withdrawals.as_of(c.filename, self.analysis_date) is not None:
            return Reason.WITHDRAWN
        # step 1: CATEGORY == category (unless ignorecategory)
        if not self.ignore_category and c.category != self.category:
            return Reason.CATEGORY
        # step 2: VALDATE <= t_obs
        if c.valdate > self.obs_date:
            return Reason.NOT_YET_VALID
        # step 3: EVALDATE missing or EVALDATE >= t_obs (inclusive); not in master-index mode
        if not self.master_index and c.evaldate is not None and c.evaldate < self.obs_date:
            return Reason.EXPIRED
        # step 4: SUBDATE <= t_an
        if c.subdate > self.analysis_date:
            return Reason.NOT_YET_SUBMITTED
        return None

    def eligible(self, c: Constituent, withdrawals: Withdrawals = NONE) -> bool:
        return self.why_not(c, withdrawals) is None


@attrs.frozen
class Selection:
    """The outcome of the rule: one winner per type, sorted by (SCOPE, TYPEID)."""

    rule: Rule
    chosen: tuple[Constituent, ...]
    skipped: tuple[tuple[Constituent, Withdrawal], ...] = ()
    """Withdrawn constituents step 0 skipped that would otherwise have won their type, with the
    withdrawal that covers the analysis date."""

    def by_key(self) -> dict[tuple[str, str], Constituent]:
        return {c.key: c for c in self.chosen}

    def __len__(self) -> int:
        return len(self.chosen)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.chosen)


class Selector:
    """The rule applied to one set of constituents, many times.

    Groups by type once and orders each group by issue, highest first, so a selection costs one
    pass over the groups stopping at the first candidate: thousands of observations are cheap.

    >>> from reprocal.core._names import ConstituentName as N
    >>> a = Constituent(N("EPN", "CTI", 1), valdate="2000-01-01", subdate="2000-01-01")
    >>> b = Constituent(N("EPN", "CTI", 2), valdate="2000-01-01", subdate="2010-01-01")
    >>> s = Selector([a, b])
    >>> [c.issue for c in s.select(CalDate.parse("2005-01-01"), CalDate.parse("2009-12-31"))]
    [1]
    >>> [c.issue for c in s.select(CalDate.parse("2005-01-01"), CalDate.parse("2010-01-01"))]
    [2]

    With issue 2 withdrawn on 2015-01-01, an analysis date from then on selects issue 1 (as
    cifbuild on a mirror that followed ``--delete``), an earlier one still issue 2:

    >>> from reprocal.core._withdrawal import Withdrawal, Withdrawals
    >>> w = Selector([a, b], withdrawals=Withdrawals([Withdrawal(b.filename, CalDate.parse("2015-01-01"))]))
    >>> [c.issue for c in w.select(CalDate.parse("2005-01-01"), CalDate.parse("2015-01-01"))]
    [1]
    >>> [c.issue for c in w.select(CalDate.parse("2005-01-01"), CalDate.parse("2014-12-31"))]
    [2]
    """

    def __init__(self, constituents: Iterable[Constituent], *,
                 withdrawals: Withdrawals = NONE):
        groups: dict[tuple[str, str], list[Constituent]] = defaultdict(list)
        for c in constituents:
            groups[c.key].append(c)
        self._groups: list[tuple[tuple[str, str], list[Constituent]]] = [
            (key, sorted(group, key=lambda c: c.issue, reverse=True))
            for key, group in sorted(groups.items())
        ]
        self._edges: tuple[list[str], list[str]] | None = None
        # The hot loop compares canonical date strings (fixed width, so string order is time
        # order) instead of CalDate objects: the same rule as Rule.why_not, ~10x cheaper.
        self.withdrawals = withdrawals
        self._rows = [
            [(c.category, c.valdate.text, c.evaldate.text if c.evaldate else None,
              c.subdate.text, withdrawals.intervals(c.filename) if withdrawals else (), c)
             for c in group]
            for _key, group in self._groups
        ]

    def select(
        self,
        obs_date: CalDate,
        analysis_date: CalDate,
        *,
        category: str = DEFAULT_CATEGORY,
        ignore_category: bool = False,
        master_index: bool = False,
    ) -> Selection:
        rule = Rule(obs_date, analysis_date, category, ignore_category, master_index)
        return self.apply(rule)

    def apply(self, rule: Rule) -> Selection:
        """Apply ``rule``: for each type, the highest issue passing steps 0-4 (see module doc)."""
        obs, an = rule.obs_date.text, rule.analysis_date.text
        category = None if rule.ignore_category else rule.category
        check_end = not rule.master_index
        chosen = []
        skipped = []
        for rows in self._rows:
            first_skipped = None
            for cat, valdate, evaldate, subdate, gone, c in rows:  # highest issue first: step 5
                if ((category is None or cat == category)                     # step 1
                        and valdate <= obs                                     # step 2
                        and (not check_end or evaldate is None or evaldate >= obs)  # step 3
                        and subdate <= an):                                    # step 4
                    if gone and any(s <= an and (u is None or an < u) for s, u in gone):
                        if first_skipped is None:                              # step 0
                            first_skipped = c
                        continue
                    chosen.append(c)
                    break
            if first_skipped is not None:
                w = self.withdrawals.as_of(first_skipped.filename, rule.analysis_date)
                assert w is not None
                skipped.append((first_skipped, w))
        return Selection(rule, tuple(chosen), tuple(skipped))

    def rule_class(self, rule: Rule) -> tuple[Any, ...]:
        """A key equal for any two rules this selector cannot tell apart: the observation date
        enters the rule only as ``valdate <= obs`` and ``evaldate >= obs``, so two dates with as
        many valdates at or before them and as many evaldates before them make every
        constituent equally eligible (thousands of observations fall in a few hundred classes).
        """
        if self._edges is None:
            rows = [r for group in self._rows for r in group]
            self._edges = (sorted({r[1] for r in rows}), sorted({r[2] for r in rows if r[2]}))
        valdates, evaldates = self._edges
        obs = rule.obs_date.text
        return (bisect_right(valdates, obs), bisect_left(evaldates, obs), rule.analysis_date.text,
                rule.category, rule.ignore_category, rule.master_index)

    def history(self, key: tuple[str, str]) -> Sequence[Constituent]:
        """All known issues of one type, highest first."""
        for k, group in self._groups:
            if k == key:
                return tuple(group)
        return ()

    def keys(self) -> list[tuple[str, str]]:
        return [k for k, _ in self._groups]


def select(
    constituents: Iterable[Constituent],
    obs_date: CalDate,
    analysis_date: CalDate,
    *,
    category: str = DEFAULT_CATEGORY,
    ignore_category: bool = False,
    master_index: bool = False,
    withdrawals: Withdrawals = NONE,
) -> Selection:
    """Apply cifbuild's rule once. See :class:`Selector` to apply it many times."""
    return Selector(constituents, withdrawals=withdrawals).select(
        obs_date, analysis_date, category=category, ignore_category=ignore_category,
        master_index=master_index,
    )


@attrs.frozen
class MirrorOutcomes:
    """One rule on three mirrors: reprocal's selection, cifbuild's on a mirror that kept every
    file, and cifbuild's on a mirror that followed ``--delete`` until ``pruned_on``."""

    selection: Selection
    """reprocal's: withdrawals as of the analysis date (step 0)."""
    kept: Selection
    """cifbuild on a mirror that kept every file (no withdrawal applies)."""
    pruned: Selection
    """cifbuild on a mirror that deleted every file withdrawn by ``pruned_on``."""
    pruned_on: CalDate | None
    """The day the pruned mirror is looked at (``None``: every withdrawal known)."""
    effects: tuple[WithdrawalEffect, ...]
    """One per type where a withdrawal changes (or would change) the outcome, sorted."""


def mirror_outcomes(constituents: Iterable[Constituent], rule: Rule, withdrawals: Withdrawals,
                    *, pruned_on: CalDate | None = None) -> MirrorOutcomes:
    """What cifbuild would do on a kept mirror and on a pruned one, against reprocal's rule.

    This is the question a cifbuild replacement asks: *is the constituent it would select
    withdrawn as of the analysis date, and what would cifbuild on a kept or a pruned mirror
    select?* It behaves as cifbuild on a mirror that kept the file (:attr:`MirrorOutcomes.kept`)
    and warns with each effect's :meth:`~reprocal.core._withdrawal.WithdrawalEffect.describe`.

    A type has an effect when the kept mirror's choice is withdrawn at the analysis date
    (reprocal skips it) or by ``pruned_on`` (default: any withdrawal known, i.e. the mirror as
    pruned today): then a pruned mirror gives another issue, or none.
    """
    return MirrorSelectors(constituents, withdrawals, pruned_on=pruned_on).outcomes(rule)


class MirrorSelectors:
    """The three selectors of :func:`mirror_outcomes`, built once for many rules (``pin
    --obs-list`` resolves thousands of observations against one repository)."""

    def __init__(self, constituents: Iterable[Constituent], withdrawals: Withdrawals,
                 *, pruned_on: CalDate | None = None):
        pool = list(constituents)
        self.withdrawals = withdrawals
        self.pruned_on = pruned_on
        self._kept = Selector(pool)
        self._mine = Selector(pool, withdrawals=withdrawals) if withdrawals else self._kept
        day = pruned_on
        self._pruned_names = (withdrawals.names_as_of(day) if day is not None
                              else frozenset(w.name for w in withdrawals if w.until is None))
        self._pruned = (Selector(c for c in pool if c.filename not in self._pruned_names)
                        if self._pruned_names else self._kept)

    def outcomes(self, rule: Rule) -> MirrorOutcomes:
        """:func:`mirror_outcomes` for one rule."""
        withdrawals, day, pruned_names = self.withdrawals, self.pruned_on, self._pruned_names
        kept = self._kept.apply(rule)
        selection = self._mine.apply(rule) if self._mine is not self._kept else kept
        pruned = self._pruned.apply(rule) if self._pruned is not self._kept else kept
        if not withdrawals:
            return MirrorOutcomes(selection, kept, pruned, day, ())
        mine, theirs = selection.by_key(), pruned.by_key()
        effects = []
        for c in kept.chosen:
            now = withdrawals.as_of(c.filename, rule.analysis_date)
            later = None
            if c.filename in pruned_names:
                later = next((w for w in withdrawals.periods(c.filename)
                              if day is None or w.covers(day)), None)
            w = now or later
            if w is None:
                continue
            effects.append(WithdrawalEffect(c.key, c, w, mine.get(c.key), c, theirs.get(c.key),
                                            now is not None))
        return MirrorOutcomes(selection, kept, pruned, day, tuple(effects))
