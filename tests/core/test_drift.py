"""Calibration drift: newer eligible issues than the pinned ones (reprocal.core._drift)."""

from __future__ import annotations

from pathlib import Path

from support.constituents import write_constituent

from reprocal.core._dates import CalDate
from reprocal.core._drift import NewerIssue, newer_issues
from reprocal.fits._headers import read_constituent
from reprocal.state._manifest import PinnedObservation

A, B, C = "EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF", "EMOS1_QE_0003.CCF"


def test_newer_issue_reported_under_today_and_pinned_dates(tmp_path: Path) -> None:
    """B (submitted 2005) is newer than the pinned A: eligible today; at the pinned analysis
    date only if submitted by then; nothing when B is absent."""
    write_constituent(tmp_path, A)
    write_constituent(tmp_path, B, subdate="2005-01-01T00:00:00")
    write_constituent(tmp_path, C)
    present = [read_constituent(tmp_path / n) for n in (A, B, C)]
    obs = PinnedObservation("0201901401", CalDate.parse("2003-01-01"),
                            CalDate.parse("2002-01-01"), "XMMCCF", (C, A))
    today = CalDate.parse("2026-01-01")
    assert newer_issues([("0201901401", obs)], present, today=today) == [
        NewerIssue("0201901401", A, B, False)]
    late = PinnedObservation(None, CalDate.parse("2003-01-01"), CalDate.parse("2006-01-01"),
                             "XMMCCF", (A,))
    (n,) = newer_issues([("obs1", late)], present, today=today)
    assert n.at_pinned_dates
    assert n.describe() == ("obs1: EPN_CTI_0002.CCF is newer than the pinned EPN_CTI_0001.CCF "
                            "(even at the pinned analysis date)")
    assert newer_issues([("obs1", obs)], present[:1] + present[2:], today=today) == []


def test_a_withdrawn_issue_is_not_newer(tmp_path: Path) -> None:
    """A newer issue withdrawn by today is not eligible today (cifbuild's step 0), so verify
    must not tell the user to re-pin to it; withdrawn only after the pinned analysis date,
    it stays newer at the pinned dates. (``newer_issues`` took the withdrawals and ignored
    them.)"""
    from reprocal.core._withdrawal import Withdrawal, Withdrawals

    write_constituent(tmp_path, A)
    write_constituent(tmp_path, B, subdate="2005-01-01T00:00:00")
    present = [read_constituent(tmp_path / n) for n in (A, B)]
    obs = PinnedObservation(None, CalDate.parse("2003-01-01"), CalDate.parse("2006-01-01"),
                            "XMMCCF", (A,))
    today = CalDate.parse("2026-01-01")
    gone = Withdrawals([Withdrawal(B, CalDate.parse("2010-01-01"))])
    assert newer_issues([("obs1", obs)], present, today=today, withdrawals=gone) == []
    back = Withdrawals([Withdrawal(B, CalDate.parse("2010-01-01"), CalDate.parse("2011-01-01"))])
    assert newer_issues([("obs1", obs)], present, today=today, withdrawals=back) == [
        NewerIssue("obs1", A, B, True)]


def test_not_yet_valid_or_other_category_is_not_newer(tmp_path: Path) -> None:
    """A newer issue whose validity starts after the observation is not eligible."""
    write_constituent(tmp_path, A)
    write_constituent(tmp_path, B, valdate="2010-01-01T00:00:00")
    present = [read_constituent(tmp_path / n) for n in (A, B)]
    obs = PinnedObservation(None, CalDate.parse("2003-01-01"), CalDate.parse("2002-01-01"),
                            "XMMCCF", (A,))
    assert newer_issues([("obs1", obs)], present, today=CalDate.parse("2026-01-01")) == []


def test_many_observations_find_what_each_finds_alone() -> None:
    """Observations that share a class of dates share their findings; each list is the one
    the observation gets alone (a planned repository, every pinned set one issue behind)."""
    import random

    from reprocal.testing._synthetic import plan

    known = list(plan(seed=4, files=300))
    older: dict[tuple[str, str], str] = {}
    for c in sorted(known, key=lambda c: (c.key, c.issue)):
        older.setdefault(c.key, c.filename)  # the first issue of each type
    rng = random.Random(4)
    today = CalDate.parse("2026-01-01")
    labelled = []
    for i in range(120):
        obs = CalDate.parse(f"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-01")
        an = CalDate.parse(rng.choice(["2010-01-01", "2020-06-01"]))
        files = tuple(sorted(rng.sample(sorted(older.values()), 20)))
        labelled.append((f"o{i}", PinnedObservation(f"o{i}", obs, an, "XMMCCF", files)))
    labelled += labelled[:10]  # the same observations twice
    together = newer_issues(labelled, known, today=today)
    alone = [n for pair in labelled for n in newer_issues([pair], known, today=today)]
    assert together == alone and together
