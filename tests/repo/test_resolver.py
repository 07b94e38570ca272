"""Resolving many observations against one snapshot gives what one resolution each gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from reprocal.core._dates import CalDate
from reprocal.core._select import Rule
from reprocal.core._withdrawal import Withdrawal, Withdrawals
from reprocal.errors import DuplicateConstituentError
from reprocal.repo._catalog import LocalFile
from reprocal.repo._resolve import Resolver, resolve
from reprocal.testing._synthetic import plan


def _snapshot(seed: int):  # type: ignore[no-untyped-def]
    """A planned repository with every 7th file missing locally and a few withdrawals."""
    known = list(plan(seed=seed, files=400))
    present = [LocalFile(Path("/r") / c.filename, c) for i, c in enumerate(known) if i % 7]
    gone = Withdrawals([Withdrawal(c.filename, c.subdate, None) for c in known[3::41]])
    return present, known, gone


def _dates(known, rng: random.Random) -> list[str]:  # type: ignore[no-untyped-def]
    """Every constituent's boundaries, a second either side, and random dates."""
    edges = [c.valdate for c in known] + [c.evaldate for c in known if c.evaldate]
    out = []
    for d in edges[::8]:
        after = d.next_second()
        out += [d.text] + ([after.text] if after else [])
    out += [f"{rng.randint(1999, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00" for _ in range(40)]
    return out


@pytest.mark.parametrize("seed", [0, 3])
def test_shared_resolutions_equal_fresh_ones(seed: int) -> None:
    """Observations that fall in one class of dates share a selection; each answer is the one a
    fresh resolution gives (selection, gaps, withdrawal effects, paths, its own rule)."""
    present, known, gone = _snapshot(seed)
    rng = random.Random(seed)
    many = Resolver(present, known, gone)
    ans = ["2026-06-01T00:00:00", known[len(known) // 2].subdate.text]
    for obs in _dates(known, rng):
        for an in ans:
            rule = Rule(CalDate.parse(obs), CalDate.parse(an))
            got, want = many.resolve(rule), resolve(present, known, rule, gone)
            assert got == want, (obs, an)
            assert got.rule == rule and got.selection.rule == rule
    assert 0 < len(many._seen) < len(_dates(known, rng)) * len(ans)


def test_evaldate_boundary_is_a_class_edge() -> None:
    """An observation on a constituent's end of validity and one a second later are told apart."""
    present, known, gone = _snapshot(1)
    c = next(c for c in known if c.evaldate and any(lf.constituent == c for lf in present))
    many = Resolver(present, known, gone)
    an = CalDate.parse("2026-06-01T00:00:00")
    for obs in filter(None, [c.evaldate, c.evaldate.next_second()]):
        rule = Rule(obs, an)
        assert many.resolve(rule) == resolve(present, known, rule, gone)


def test_no_resolution_can_change_anothers_paths() -> None:
    """Resolutions of one class share their paths, read-only: no caller changes another's
    (they were copied for each of 10,000 observations before)."""
    present, known, gone = _snapshot(2)
    many = Resolver(present, known, gone)
    an = CalDate.parse("2026-06-01T00:00:00")
    rule = Rule(CalDate.parse("2010-01-01T00:00:00"), an)
    a, b = many.resolve(rule), many.resolve(rule)
    c = many.resolve(Rule(CalDate.parse("2010-01-01T00:00:01"), an))
    assert a.chosen == b.chosen == c.chosen
    with pytest.raises(TypeError):
        a.paths[a.chosen[0].filename] = Path("/elsewhere")  # type: ignore[index]
    assert dict(a.paths) == dict(b.paths) == dict(c.paths) and b.paths


def test_a_duplicate_is_refused_every_time() -> None:
    """A selected file present twice is refused on each call, not only the first."""
    present, known, gone = _snapshot(0)
    twice = present + [LocalFile(Path("/elsewhere") / present[0].filename, present[0].constituent)]
    many = Resolver(twice, known, gone)
    c = present[0].constituent
    rule = Rule(c.valdate, CalDate.parse("2026-06-01T00:00:00"))
    if c not in resolve(present, known, rule, gone).chosen:
        pytest.skip("the first file is not selected at its own valdate")
    for _ in range(2):
        with pytest.raises(DuplicateConstituentError):
            many.resolve(rule)
