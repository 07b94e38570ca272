"""Withdrawals as dates: the rule's step 0, the kept and pruned mirrors side by side, and the
valid subset."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Reason, Rule, Selector, mirror_outcomes, select
from reprocal.core._subset import valid_subset
from reprocal.core._withdrawal import Withdrawal, Withdrawals

D = CalDate.parse


def C(issue: int, valdate: str, evaldate: str | None = None, subdate: str = "1999-01-01",
      typeid: str = "CTI", category: str = "XMMCCF") -> Constituent:
    return Constituent(ConstituentName("EPN", typeid, issue), valdate=valdate, evaldate=evaldate,
                       subdate=subdate, category=category)


OLD, NEW = C(1, "2000-01-01"), C(2, "2000-01-01", subdate="2010-01-01")
GONE = Withdrawals([Withdrawal(NEW.filename, D("2015-06-01"))])


@pytest.mark.parametrize(("an", "issue"), [
    ("2009-12-31", 1),             # before issue 2 was submitted
    ("2015-05-31T23:59:59", 2),    # one second before the withdrawal: users had it
    ("2015-06-01", 1),             # the withdrawal's own date: a --delete mirror lacks it
    ("2030-01-01", 1),             # any later date
])
def test_step_0_withdrawal_dates(an: str, issue: int) -> None:
    """A withdrawn constituent is a candidate before its withdrawal date and not from it on."""
    chosen = select([OLD, NEW], D("2005-01-01"), D(an), withdrawals=GONE).chosen
    assert [c.issue for c in chosen] == [issue]


def test_withdrawal_listed_again_ends_it() -> None:
    """A withdrawal with an end (the mirror listed the name again) covers only its period."""
    back = Withdrawals([Withdrawal(NEW.filename, D("2015-06-01"), D("2016-01-01"))])
    s = Selector([OLD, NEW], withdrawals=back)
    assert [c.issue for c in s.select(D("2005-01-01"), D("2015-12-31"))] == [1]
    assert [c.issue for c in s.select(D("2005-01-01"), D("2016-01-01"))] == [2]


def test_why_not_and_skipped() -> None:
    """The rule names step 0, and the selection lists what it skipped, with the withdrawal."""
    rule = Rule(D("2005-01-01"), D("2020-01-01"))
    assert rule.why_not(NEW, GONE) is Reason.WITHDRAWN
    assert rule.why_not(NEW) is None
    sel = Selector([OLD, NEW], withdrawals=GONE).apply(rule)
    assert sel.skipped == ((NEW, GONE.as_of(NEW.filename, D("2020-01-01"))),)


def test_without_withdrawals_the_rule_is_cifbuilds() -> None:
    """No withdrawal known: the same selection as before, nothing skipped."""
    plain = select([OLD, NEW], D("2005-01-01"), D("2020-01-01"))
    assert [c.issue for c in plain] == [2] and plain.skipped == ()


@st.composite
def histories(draw):  # type: ignore[no-untyped-def]
    """Issues of two types and withdrawals of some, on days of 2000-2001."""
    def day(n: int) -> str:
        return f"20{n // 12:02d}-{n % 12 + 1:02d}-01"

    cs = []
    for typeid in ("CTI", "QE"):
        for issue in range(1, draw(st.integers(1, 6)) + 1):
            v = draw(st.integers(0, 20))
            end = draw(st.one_of(st.none(), st.integers(v, 24)))
            cs.append(C(issue, day(v), day(end) if end is not None else None,
                        subdate=day(draw(st.integers(0, 24))), typeid=typeid))
    ws = []
    for c in cs:
        if draw(st.booleans()):
            since = draw(st.integers(0, 24))
            until = draw(st.one_of(st.none(), st.integers(since + 1, 30)))
            ws.append(Withdrawal(c.filename, D(day(since)), D(day(until)) if until else None))
    return cs, Withdrawals(ws), day


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 24), st.integers(0, 26))
def test_withdrawals_equal_selection_over_what_a_pruned_mirror_held(h, obs: int, an: int) -> None:  # type: ignore[no-untyped-def]
    """Step 0 is exactly "select over the files not withdrawn at the analysis date": what
    cifbuild saw on a mirror that followed --delete, run that day."""
    cs, ws, day = h
    o, a = D(day(obs)), D(day(an))
    pruned = [c for c in cs if ws.as_of(c.filename, a) is None]
    assert select(cs, o, a, withdrawals=ws).chosen == select(pruned, o, a).chosen


def test_mirror_outcomes_after_the_withdrawal() -> None:
    """Analysis after the withdrawal: reprocal and a pruned mirror skip it, a kept mirror (and
    so a cifbuild drop-in) gives it, and the effect says so."""
    out = mirror_outcomes([OLD, NEW], Rule(D("2005-01-01"), D("2020-01-01")), GONE)
    assert [c.issue for c in out.selection] == [1]
    assert [c.issue for c in out.kept] == [2]
    assert [c.issue for c in out.pruned] == [1]
    (e,) = out.effects
    assert (e.withdrawn, e.selected, e.kept, e.pruned, e.before_analysis) == (NEW, OLD, NEW, OLD,
                                                                            True)
    assert e.describe() == (
        "EPN_CTI_0002.CCF was withdrawn from the archive on 2015-06-01T00:00:00, before the "
        "analysis date: skipped, as cifbuild on a mirror following ESA's --delete would, so "
        "issue 1 (EPN_CTI_0001.CCF) is used; a mirror that kept the file gives EPN_CTI_0002.CCF")


def test_mirror_outcomes_before_the_withdrawal() -> None:
    """Analysis before the withdrawal: reprocal keeps the file (users then had it), but a
    mirror pruned since lacks it: the effect warns, the selection is the kept mirror's."""
    out = mirror_outcomes([OLD, NEW], Rule(D("2005-01-01"), D("2012-01-01")), GONE)
    assert [c.issue for c in out.selection] == [2] == [c.issue for c in out.kept]
    assert [c.issue for c in out.pruned] == [1]
    (e,) = out.effects
    assert not e.before_analysis
    assert "after the analysis date: it is used, as users then had it" in e.describe()
    # looked at before the withdrawal happened, the pruned mirror still had it: no effect
    early = mirror_outcomes([OLD, NEW], Rule(D("2005-01-01"), D("2012-01-01")), GONE,
                            pruned_on=D("2014-01-01"))
    assert early.effects == () and [c.issue for c in early.pruned] == [2]


def test_withdrawn_single_issue_leaves_the_type_absent() -> None:
    """The only issue of a type withdrawn: a pruned mirror has no such type at all."""
    only = Withdrawals([Withdrawal(OLD.filename, D("2001-01-01"))])
    out = mirror_outcomes([OLD], Rule(D("2005-01-01"), D("2020-01-01")), only)
    assert out.selection.chosen == () and out.effects[0].pruned is None
    assert "--delete would, so the type is absent; a mirror that kept" in out.effects[0].describe()


# --- the valid subset ----------------------------------------------------------------------

SLICES = [C(4, "2000-01-01", "2004-05-29T04:41:12", subdate="2004-06-01"),
          C(5, "2004-05-29T04:41:13", subdate="2004-06-01"),
          C(3, "1998-01-01", subdate="2001-01-01")]  # a lower, open-ended issue


def test_valid_subset_tiling_has_no_gap_winner() -> None:
    """Slices tiling time with a 1-second gap: the lower open-ended issue never wins at a whole
    second between them (it would "just after" issue 4's end in real numbers)."""
    assert valid_subset(SLICES, D("2010-01-01")) == {"EPN_CTI_0004.CCF", "EPN_CTI_0005.CCF",
                                                     "EPN_CTI_0003.CCF"}
    # issue 3 wins only before issue 4's validity: remove that window and it is not valid
    later = [C(4, "1998-01-01", "2004-05-29T04:41:12", subdate="2004-06-01"), *SLICES[1:]]
    assert valid_subset(later, D("2010-01-01")) == {"EPN_CTI_0004.CCF", "EPN_CTI_0005.CCF"}


def test_valid_subset_categories_and_withdrawals() -> None:
    """Each category on its own (category=None); a withdrawn issue is not valid after its date."""
    sim = C(1, "2000-01-01", category="SCISIMCCF", typeid="QE")
    assert valid_subset([OLD, NEW, sim], D("2020-01-01"), category=None) == {
        "EPN_CTI_0002.CCF", "EPN_QE_0001.CCF"}
    assert valid_subset([OLD, NEW], D("2020-01-01"), withdrawals=GONE) == {"EPN_CTI_0001.CCF"}
    assert valid_subset([OLD, NEW], D("2012-01-01"), withdrawals=GONE) == {"EPN_CTI_0002.CCF"}


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 26))
def test_valid_subset_equals_every_selection(h, an: int) -> None:  # type: ignore[no-untyped-def]
    """Differential: the subset is exactly the union of the selections at every observation
    date that matters (every start, end and the second after each end, and dates between)."""
    cs, ws, day = h
    a = D(day(an))
    probes = {D("1997-01-01")}
    for c in cs:
        probes.add(c.valdate)
        if c.evaldate is not None:
            probes |= {c.evaldate, c.evaldate.next_second()}  # type: ignore[arg-type]
    probes |= {D(day(n)) for n in range(0, 26)} | {D(day(n)).next_second() for n in range(26)}  # type: ignore[misc]
    brute = set()
    s = Selector(cs, withdrawals=ws)
    for t in probes:
        brute |= {c.filename for c in s.select(t, a)}
    assert valid_subset(cs, a, withdrawals=ws) == brute
