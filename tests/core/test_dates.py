"""Calibration dates: accepted forms, canonical text, ordering, errors, `now` at the edge."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._dates import CalDate, parse_optional, resolve
from reprocal.errors import DateError


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2004-05-09T13:00:16", "2004-05-09T13:00:16"),
        ("2004-05-09T13:00:16.000", "2004-05-09T13:00:16"),
        ("2004-05-09T13:00:16.999", "2004-05-09T13:00:16"),  # truncated, as cifbuild does
        ("2004-05-09", "2004-05-09T00:00:00"),
        ("2004-05-09 13:00:16", "2004-05-09T13:00:16"),
        ("2004-05-09T13:00:16Z", "2004-05-09T13:00:16"),
        ("1998-12-31T23:59:60", "1998-12-31T23:59:60"),  # historic leap second kept
        (" 2004-05-09T13:00:16 ", "2004-05-09T13:00:16"),
    ],
)
def test_accepted_forms(text: str, canonical: str) -> None:
    """Every accepted spelling parses to the canonical fixed-width text."""
    assert CalDate.parse(text).text == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2004-13-01", "date: '2004-13-01' has month 13; expected 01..12"),
        ("2004-02-30", "date: '2004-02-30' has day 30; 2004-02 has 29 days"),
        ("2004-05-09T24:00:00", "date: '2004-05-09T24:00:00' has an impossible time of day"),
        ("2004-05-09T12:60:00", "date: '2004-05-09T12:60:00' has an impossible time of day"),
        ("09/05/2004", "date: '09/05/2004' is not a date; expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss"),
        ("", "date: '' is not a date; expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss"),
        ("now", "date: 'now' is not allowed here; pin a literal date"),
    ],
)
def test_bad_dates(text: str, message: str) -> None:
    """Bad dates are refused with a message naming the value and the expected form."""
    with pytest.raises(DateError) as err:
        CalDate.parse(text)
    assert err.value.one_line() == message


def test_field_is_named() -> None:
    """The error names the field it came from."""
    with pytest.raises(DateError, match=r"^--obs-date: '2004' is not a date"):
        CalDate.parse("2004", field="--obs-date")


def test_now_is_resolved_once_with_the_given_clock() -> None:
    """`now` becomes a literal from the injected clock; nothing else reads the wall clock."""
    clock = lambda: datetime(2020, 1, 2, 3, 4, 5, 600000, tzinfo=timezone.utc)  # noqa: E731
    assert resolve("now", clock=clock) == CalDate("2020-01-02T03:04:05")
    assert resolve("NOW", clock=clock) == CalDate("2020-01-02T03:04:05")
    assert resolve("2001-01-01", clock=clock) == CalDate("2001-01-01T00:00:00")


def test_aware_datetime_converted_to_utc() -> None:
    """An aware datetime is converted to UTC before formatting."""
    tz = timezone(timedelta(hours=2))
    assert CalDate.from_datetime(datetime(2020, 1, 1, 1, 0, 0, tzinfo=tz)).text == "2019-12-31T23:00:00"


def test_optional_blank_is_open_end() -> None:
    """A blank or missing end date is no date (an open validity end)."""
    assert parse_optional("") is None
    assert parse_optional(None) is None
    assert parse_optional("  ") is None
    assert parse_optional("2005-01-01") == CalDate("2005-01-01T00:00:00")


def test_constructor_rejects_non_canonical() -> None:
    """CalDate(...) takes only canonical text; parse() is the lenient door."""
    with pytest.raises(DateError):
        CalDate("2004-05-09")


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31)),
       st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31)))
def test_ordering_matches_time(a: datetime, b: datetime) -> None:
    """String ordering of canonical dates is time ordering (whole seconds)."""
    a, b = a.replace(microsecond=0), b.replace(microsecond=0)
    da, db = CalDate.from_datetime(a), CalDate.from_datetime(b)
    assert (da < db) == (a < b)
    assert (da == db) == (a == b)
    assert CalDate.parse(da.text) == da


@settings(max_examples=500, deadline=None)
@given(y=st.integers(0, 9999), mo=st.integers(0, 13), d=st.integers(0, 32),
       h=st.integers(0, 25), mi=st.integers(0, 61), s=st.integers(0, 61))
def test_the_canonical_fast_path_agrees_with_the_full_check(y: int, mo: int, d: int, h: int,
                                                            mi: int, s: int) -> None:
    """What the fast path accepts is what the full parse accepts and leaves unchanged; what it
    refuses, the full parse refuses (with its message) or rewrites."""
    from reprocal.core._dates import _canonical

    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    try:
        full: str | None = CalDate.parse(text.replace("T", " ") + ".5").text
    except DateError:
        full = None
    assert _canonical(text) == (full == text)
