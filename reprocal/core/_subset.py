"""The valid subset: the constituents the selection rule can pick, at one analysis date, for
*some* observation date.

ESA publishes a reduced archive (``XMM_VALID_CCF``, ``valid_constituents/``: about 515 of the
~1550 files) holding what cifbuild with ``analysisdate=now`` may select. reprocal computes the
same set locally, for ``now`` or any analysis date ``t_an``, from the constituents' dates:

    valid(t_an) = { winner(t_obs, t_an) for every observation date t_obs }

where ``winner`` is the rule of :mod:`reprocal.core._select` (withdrawals included). For one
type, the winner as a function of ``t_obs`` (whole seconds, as cifbuild reads it) changes only
where some candidate's validity starts (``VALDATE``) or at the first second after one ends
(``EVALDATE`` + 1 s), so evaluating the rule at those seconds visits every winner; nothing else
can win. (Not "just after the end" in real numbers: between ``EVALDATE`` and the next slice's
``VALDATE`` one second later no observation date exists, and a lower open-ended issue that
would "win" there is not valid.) The observation dates are not limited
to the mission (a validity window before launch still counts) nor to dates before ``t_an`` (a
constituent submitted in advance of its validity is valid for future observations).

Pure: constituents, an analysis date and withdrawals in, file names out.

>>> from reprocal.core._names import ConstituentName as N
>>> old = Constituent(N("EPN", "CTI", 1), valdate="2000-01-01", subdate="2000-01-01")
>>> new = Constituent(N("EPN", "CTI", 2), valdate="2000-01-01", subdate="2010-01-01")
>>> sorted(valid_subset([old, new], CalDate.parse("2020-01-01")))
['EPN_CTI_0002.CCF']
>>> sorted(valid_subset([old, new], CalDate.parse("2005-01-01")))
['EPN_CTI_0001.CCF']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._withdrawal import NONE, Withdrawals


def _candidates(group: list[Constituent], analysis_date: CalDate,
                withdrawals: Withdrawals) -> list[Constituent]:
    """Steps 0 and 4 (step 1, the category, made the group), highest issue first."""
    out = [c for c in group
           if c.subdate <= analysis_date
           and not (withdrawals and withdrawals.as_of(c.filename, analysis_date))]
    return sorted(out, key=lambda c: c.issue, reverse=True)


def _winners(candidates: list[Constituent]) -> set[str]:
    """Every winner of one type over all observation dates (steps 2, 3 and 5)."""
    out: set[str] = set()

    def at(t: str) -> None:
        for c in candidates:  # highest issue first
            if c.valdate.text <= t and (c.evaldate is None or c.evaldate.text >= t):
                out.add(c.filename)
                return

    for c in candidates:
        at(c.valdate.text)
        after = c.evaldate.next_second() if c.evaldate is not None else None
        if after is not None:
            at(after.text)  # the first second after c's validity
    return out


def valid_subset(constituents: Iterable[Constituent], analysis_date: CalDate, *,
                 category: str | None = DEFAULT_CATEGORY,
                 withdrawals: Withdrawals = NONE) -> frozenset[str]:
    """The file names the rule can select at ``analysis_date`` for some observation date,
    with cifbuild's ``category`` (``None``: for every category, each on its own: what a mirror
    of the valid set holds, simulator files included)."""
    groups: dict[tuple[str, str, str], list[Constituent]] = defaultdict(list)
    for c in constituents:
        if category is None or c.category == category:
            groups[(c.scope, c.typeid, c.category)].append(c)
    out: set[str] = set()
    for group in groups.values():
        out |= _winners(_candidates(group, analysis_date, withdrawals))
    return frozenset(out)


__all__ = ["valid_subset"]
