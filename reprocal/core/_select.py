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

This module never opens a file and never reads the clock: ``now`` is resolved at the edge.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence

import attrs

from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate


class Reason(enum.Enum):
    """Why a constituent is not a candidate (the step of the rule it fails)."""

    CATEGORY = "category differs"
    NOT_YET_VALID = "validity starts after the observation date"
    EXPIRED = "validity ended before the observation date"
    NOT_YET_SUBMITTED = "submitted after the analysis date"


@attrs.frozen
class Rule:
    """The parameters of one selection: cifbuild's ``observationdate``, ``analysisdate``,
    ``category``, ``ignorecategory`` and ``masterindex``."""

    obs_date: CalDate
    analysis_date: CalDate
    category: str = DEFAULT_CATEGORY
    ignore_category: bool = False
    master_index: bool = False

    def why_not(self, c: Constituent) -> Reason | None:
        """``None`` when ``c`` is a candidate, else the first step of the rule it fails."""
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

    def eligible(self, c: Constituent) -> bool:
        return self.why_not(c) is None


@attrs.frozen
class Selection:
    """The outcome of the rule: one winner per type, sorted by (SCOPE, TYPEID)."""

    rule: Rule
    chosen: tuple[Constituent, ...]

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
    """

    def __init__(self, constituents: Iterable[Constituent]):
        groups: dict[tuple[str, str], list[Constituent]] = defaultdict(list)
        for c in constituents:
            groups[c.key].append(c)
        self._groups: list[tuple[tuple[str, str], list[Constituent]]] = [
            (key, sorted(group, key=lambda c: c.issue, reverse=True))
            for key, group in sorted(groups.items())
        ]
        # The hot loop compares canonical date strings (fixed width, so string order is time
        # order) instead of CalDate objects: the same rule as Rule.why_not, ~10x cheaper.
        self._rows = [
            [(c.category, c.valdate.text, c.evaldate.text if c.evaldate else None,
              c.subdate.text, c) for c in group]
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
        """Apply ``rule``: for each type, the highest issue passing steps 1-4 (see module doc)."""
        obs, an = rule.obs_date.text, rule.analysis_date.text
        category = None if rule.ignore_category else rule.category
        check_end = not rule.master_index
        chosen = []
        for rows in self._rows:
            for cat, valdate, evaldate, subdate, c in rows:  # highest issue first: step 5
                if ((category is None or cat == category)                     # step 1
                        and valdate <= obs                                     # step 2
                        and (not check_end or evaldate is None or evaldate >= obs)  # step 3
                        and subdate <= an):                                    # step 4
                    chosen.append(c)
                    break
        return Selection(rule, tuple(chosen))

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
) -> Selection:
    """Apply cifbuild's rule once. See :class:`Selector` to apply it many times."""
    return Selector(constituents).select(
        obs_date, analysis_date, category=category, ignore_category=ignore_category,
        master_index=master_index,
    )
