"""The cifbuild selection rule: boundaries, category, master-index mode, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Reason, Rule, Selector, select

D = CalDate.parse


def C(issue: int, valdate: str, evaldate: str | None = None, subdate: str = "1999-01-01",
      category: str = "XMMCCF", typeid: str = "CTI", scope: str = "EPN") -> Constituent:
    return Constituent(ConstituentName(scope, typeid, issue), valdate=valdate, evaldate=evaldate,
                       subdate=subdate, category=category)


# Real tiling: issue 4 ends 2004-05-29T04:41:12, issue 5 starts one second later.
SLICED = [
    C(4, "2000-01-01T00:00:00", "2004-05-29T04:41:12", subdate="2004-06-01T00:00:00"),
    C(5, "2004-05-29T04:41:13", None, subdate="2004-06-01T00:00:00"),
]


@pytest.mark.parametrize(
    ("obs", "an", "issue"),
    [
        ("2004-05-29T04:41:12", "2010-01-01", 4),  # exactly at EVALDATE of 4: inclusive
        ("2004-05-29T04:41:13", "2010-01-01", 5),  # exactly at VALDATE of 5: inclusive
        ("2000-01-01T00:00:00", "2010-01-01", 4),  # exactly at VALDATE of 4
        ("1999-12-31T23:59:59", "2010-01-01", None),  # before any validity: type absent
        ("2004-05-29T04:41:13", "2004-06-01T00:00:00", 5),  # SUBDATE == analysis date: eligible
        ("2004-05-29T04:41:13", "2004-05-31T23:59:59", None),  # one second before SUBDATE
    ],
)
def test_boundaries(obs: str, an: str, issue: int | None) -> None:
    """VALDATE, EVALDATE and SUBDATE comparisons are all inclusive, to the second."""
    chosen = select(SLICED, D(obs), D(an)).chosen
    assert [c.issue for c in chosen] == ([issue] if issue is not None else [])


@pytest.mark.parametrize(
    ("c", "reason"),
    [
        (C(1, "2000-01-01", category="SCISIMCCF"), Reason.CATEGORY),
        (C(1, "2005-01-01"), Reason.NOT_YET_VALID),
        (C(1, "2000-01-01", "2002-12-31T23:59:59"), Reason.EXPIRED),
        (C(1, "2000-01-01", subdate="2010-01-01T00:00:01"), Reason.NOT_YET_SUBMITTED),
        (C(1, "2000-01-01", "2003-01-01", subdate="2010-01-01"), None),
    ],
)
def test_why_not_names_the_failing_step(c: Constituent, reason: Reason | None) -> None:
    """Each failing step of the rule is reported by name (for audit explanations)."""
    rule = Rule(D("2003-01-01"), D("2010-01-01"))
    assert rule.why_not(c) is reason


def test_highest_eligible_issue_wins() -> None:
    """Among candidates the highest issue wins, whatever the input order."""
    cs = [C(3, "2000-01-01", subdate="2001-01-01"), C(7, "2000-01-01", subdate="2001-01-01"),
          C(5, "2000-01-01", subdate="2001-01-01"), C(9, "2000-01-01", subdate="2020-01-01")]
    assert [c.issue for c in select(cs, D("2005-01-01"), D("2010-01-01")).chosen] == [7]


def test_category_and_ignore_category() -> None:
    """Only the requested category is a candidate unless ignore_category."""
    cs = [C(1, "2000-01-01"), C(2, "2000-01-01", category="SCISIMCCF")]
    assert [c.issue for c in select(cs, D("2005-01-01"), D("2010-01-01")).chosen] == [1]
    assert [c.issue for c in select(cs, D("2005-01-01"), D("2010-01-01"),
                                    category="SCISIMCCF").chosen] == [2]
    assert [c.issue for c in select(cs, D("2005-01-01"), D("2010-01-01"),
                                    ignore_category=True).chosen] == [2]


def test_master_index_mode_skips_evaldate() -> None:
    """In master-index mode the documented pseudo-code omits the EVALDATE test."""
    cs = [C(1, "2000-01-01", "2001-01-01")]
    assert select(cs, D("2005-01-01"), D("2010-01-01")).chosen == ()
    assert len(select(cs, D("2005-01-01"), D("2010-01-01"), master_index=True).chosen) == 1


def test_rows_sorted_by_scope_then_type() -> None:
    """The selection is ordered by SCOPE, then TYPEID, one row per pair."""
    cs = [C(1, "2000-01-01", typeid=t, scope=s) for s, t in
          [("XRT1", "XAREAEF"), ("EMOS1", "QUANTUMEF"), ("EMOS1", "ADUCONV"), ("EPN", "CTI")]]
    keys = [c.key for c in select(cs, D("2005-01-01"), D("2010-01-01")).chosen]
    assert keys == sorted(keys)
    assert len(keys) == 4


# --- properties -----------------------------------------------------------------------------

_dates = st.integers(0, 40).map(lambda d: D(f"{2000 + d // 4}-{1 + 3 * (d % 4):02d}-01"))


@st.composite
def _constituents(draw: st.DrawFn) -> list[Constituent]:
    out = []
    for typeid in draw(st.lists(st.sampled_from(["CTI", "REDIST", "BADPIX"]), min_size=1,
                                max_size=3, unique=True)):
        for issue in draw(st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True)):
            v = draw(_dates)
            e = draw(st.none() | _dates.filter(lambda x, v=v: x >= v))
            out.append(C(issue, v.text, e.text if e else None, subdate=draw(_dates).text,
                         typeid=typeid, category=draw(st.sampled_from(["XMMCCF", "SCISIMCCF"]))))
    return out


@settings(max_examples=300)
@given(_constituents(), _dates, _dates)
def test_selection_is_the_brute_force_maximum(cs: list[Constituent], obs: CalDate,
                                              an: CalDate) -> None:
    """For every type the winner is the highest eligible issue, and absent types have none."""
    rule = Rule(obs, an)
    chosen = Selector(cs).apply(rule).by_key()
    for key in {c.key for c in cs}:
        eligible = [c for c in cs if c.key == key and rule.eligible(c)]
        if eligible:
            assert chosen[key].issue == max(c.issue for c in eligible)
        else:
            assert key not in chosen


@settings(max_examples=200)
@given(_constituents(), _dates, _dates, _dates)
def test_later_analysis_date_never_downgrades(cs: list[Constituent], obs: CalDate, a1: CalDate,
                                              a2: CalDate) -> None:
    """Candidates only grow with the analysis date, so no type's issue goes down."""
    early, late = sorted([a1, a2])
    s = Selector(cs)
    before = s.select(obs, early).by_key()
    after = s.select(obs, late).by_key()
    for key, c in before.items():
        assert after[key].issue >= c.issue


def test_many_observations_share_one_selector() -> None:
    """One Selector serves many observations without re-grouping."""
    s = Selector(SLICED)
    issues = [tuple(c.issue for c in s.select(D(f"{y}-01-01"), D("2010-01-01")).chosen)
              for y in range(1999, 2008)]
    assert issues == [(), (4,), (4,), (4,), (4,), (4,), (5,), (5,), (5,)]
