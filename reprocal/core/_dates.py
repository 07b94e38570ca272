"""Calibration dates: validated ``YYYY-MM-DDThh:mm:ss`` values.

cifbuild compares dates as fixed-width ISO strings, naive (UTC). We keep that form as the value
itself, so nothing is lost on a round trip (historic values may carry a leap second ``:60``, which
``datetime`` rejects), and ordering is plain string ordering.

>>> CalDate.parse("2004-05-09T13:00:16.000")
CalDate('2004-05-09T13:00:16')
>>> CalDate.parse("2004-05-09")
CalDate('2004-05-09T00:00:00')
>>> CalDate.parse("2004-05-09") < CalDate.parse("2004-05-09T00:00:01")
True

``now`` is never a value inside the library: it is resolved once, at the edge, by
:func:`resolve` (which takes the clock as a parameter) and recorded as a literal.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import attrs

from reprocal.errors import DateError

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.\d+)?)?Z?\Z",
    re.ASCII,  # "２００４-…" is not a date, though \d and int() would take its digits
)


_CANONICAL_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\Z", re.ASCII)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _canonical(text: str) -> bool:
    """``text`` is already canonical and a possible date (the fast path of :func:`_check`: what
    manifests, catalogues and CIF headers hold)."""
    m = _CANONICAL_RE.match(text)
    if m is None:
        return False
    y, mo, d, h, mi, s = map(int, m.groups())
    if not 1 <= mo <= 12 or h > 23 or mi > 59 or s > 60:
        return False
    last = 29 if mo == 2 and calendar.isleap(y) else _MONTH_DAYS[mo - 1]
    return 1 <= d <= last


def _check(text: str, field: str) -> str:
    """The canonical form of ``text`` (pure; canonical text, what manifests, catalogues and
    headers hold, takes the fast path)."""
    if _canonical(text):
        return text
    m = _DATE_RE.match(text.strip())
    if not m:
        raise DateError(
            f"{field}: {text!r} is not a date; expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss"
        )
    y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    h, mi, s = (int(m[k]) if m[k] is not None else 0 for k in ("h", "mi", "s"))
    if not 1 <= mo <= 12:
        raise DateError(f"{field}: {text!r} has month {mo:02d}; expected 01..12")
    last = calendar.monthrange(y, mo)[1]
    if not 1 <= d <= last:
        raise DateError(f"{field}: {text!r} has day {d:02d}; {y:04d}-{mo:02d} has {last} days")
    if h > 23 or mi > 59 or s > 60:
        raise DateError(f"{field}: {text!r} has an impossible time of day")
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


@attrs.frozen(order=False, repr=False)
class CalDate:
    """A calibration date, canonical ``YYYY-MM-DDThh:mm:ss`` (whole seconds, naive UTC)."""

    text: str = attrs.field()
    """The canonical text; ordering and equality are on it."""

    # ordering on the text, written out: attrs' generated comparisons build a tuple of each
    # side, and verify of 10,000 observations compares 20,000 pairs of dates
    def __lt__(self, other: object) -> bool:
        return self.text < other.text if isinstance(other, CalDate) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.text <= other.text if isinstance(other, CalDate) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.text > other.text if isinstance(other, CalDate) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.text >= other.text if isinstance(other, CalDate) else NotImplemented

    @text.validator
    def _validate(self, _attr: attrs.Attribute, value: str) -> None:
        if _check(value, "date") != value:
            raise DateError(f"date: {value!r} is not canonical; use CalDate.parse()")

    @classmethod
    def parse(cls, value: str | CalDate | datetime, *, field: str = "date") -> CalDate:
        """Parse a date in any accepted form: date-only, with time, fractional seconds
        (truncated, as cifbuild does), a trailing ``Z``. ``now`` is refused here: use
        :func:`resolve`."""
        if isinstance(value, CalDate):
            return value
        if isinstance(value, datetime):
            return cls.from_datetime(value)
        if not isinstance(value, str):
            raise DateError(f"{field}: expected a date string, got {type(value).__name__}")
        if value.strip().lower() == "now":
            raise DateError(f"{field}: 'now' is not allowed here; pin a literal date")
        return cls._of_checked(_check(value, field))

    @classmethod
    def _of_checked(cls, text: str) -> CalDate:
        """The date of ``text`` that :func:`_check` returned (canonical): without the validator
        checking it a second time (a manifest of 10,000 observations holds 20,000 dates)."""
        date = object.__new__(cls)
        object.__setattr__(date, "text", text)
        return date

    @classmethod
    def from_datetime(cls, value: datetime) -> CalDate:
        """From an aware (converted to UTC) or naive (taken as UTC) datetime."""
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return cls(value.strftime("%Y-%m-%dT%H:%M:%S"))

    def to_datetime(self) -> datetime:
        """As an aware UTC datetime (a leap second ``:60`` becomes ``:59``)."""
        text = self.text[:-2] + "59" if self.text.endswith(":60") else self.text
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)

    def next_second(self) -> CalDate | None:
        """The next whole second (``None`` after 9999-12-31T23:59:59); a leap second ``:60``
        and the ``:59`` before it are both followed by the next minute's ``:00``.

        >>> CalDate.parse("2004-05-29T04:41:12").next_second()
        CalDate('2004-05-29T04:41:13')
        >>> CalDate.parse("2016-12-31T23:59:60").next_second()
        CalDate('2017-01-01T00:00:00')
        """
        try:
            return CalDate.from_datetime(self.to_datetime() + timedelta(seconds=1))
        except OverflowError:
            return None

    def epoch(self) -> int:
        """Seconds since 1970-01-01T00:00:00 UTC (integer; for image timestamps)."""
        return int(self.to_datetime().timestamp())

    @property
    def date(self) -> str:
        """The ``YYYY-MM-DD`` part."""
        return self.text[:10]

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"CalDate({self.text!r})"


def utcnow() -> datetime:
    """The wall clock, in UTC. Only the CLI edge calls this (through :func:`resolve`)."""
    return datetime.now(timezone.utc)


def resolve(
    value: str | CalDate, *, field: str = "date", clock: Callable[[], datetime] = utcnow
) -> CalDate:
    """Parse a user-supplied date, resolving ``now`` with ``clock`` (once, here, at the edge).

    >>> from datetime import datetime
    >>> resolve("now", clock=lambda: datetime(2020, 1, 2, 3, 4, 5, 999))
    CalDate('2020-01-02T03:04:05')
    """
    if isinstance(value, str) and value.strip().lower() == "now":
        return CalDate.from_datetime(clock())
    return CalDate.parse(value, field=field)


def parse_optional(value: str | None, *, field: str = "date") -> CalDate | None:
    """Parse a date that may be absent: ``None`` or blank means "no date" (an open end)."""
    if value is None or not str(value).strip():
        return None
    return CalDate.parse(str(value), field=field)
