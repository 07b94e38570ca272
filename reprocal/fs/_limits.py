"""The bounds on every read: one object, documented defaults, settable by the user.

Every reader that takes something from outside (a download, a JSON document, a FITS header, a
CALINDEX table, a gzip stream, an image index) asks :func:`current_limits` how far it may go and
stops with a one-line error past that, before allocating what a hostile input announces. The CLI
sets them from ``--limit NAME=VALUE`` (repeatable) and ``$REPROCAL_LIMITS`` (``NAME=VALUE``
separated by commas or spaces); the library takes them from :func:`use_limits`.

====================  ==========  ==============================================================
name                  default     what it bounds
====================  ==========  ==============================================================
download-size         1 GiB       a download whose size is not pinned (no manifest size, FSIZE 0)
min-rate              1 KiB/s     slowest transfer accepted, averaged over ``rate-window``
rate-window           60 s        the window of ``min-rate``
file-deadline         2 h         the longest one file's download may take, over all tries
connect-timeout       10 s        waiting for a TCP connection to a mirror or registry
read-timeout          60 s        waiting for the next byte of an answer
document-size         64 MiB      one JSON document (manifest, record, image JSON, registry answer)
json-depth            64          nesting of a JSON document
header-size           16 MiB      one FITS header (its cards up to ``END``)
table-size            256 MiB     the data of one CALINDEX table read into memory
unpacked-size         64 GiB      what one gzip stream may expand to (base layers, bundles)
index-depth           8           image indexes nested in image indexes
catalog-wait          30 s        waiting for a catalogue another process holds locked
====================  ==========  ==============================================================

Sizes take ``B``, ``KiB``, ``MiB``, ``GiB`` (or ``K``, ``M``, ``G``: powers of 1024); times
``s``, ``min``, ``h``; rates are sizes per second (``1KiB`` or ``1KiB/s``).

>>> Limits.parse(["download-size=10MiB", "min-rate=2KiB/s"]).download_size
10485760
>>> current_limits().json_depth
64
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import attrs

from reprocal.errors import InputError

T = TypeVar("T")

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30

_UNITS = {"": 1, "b": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB,
          "g": GIB, "gb": GIB, "gib": GIB, "t": GIB << 10, "tib": GIB << 10}
_TIMES = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0, "h": 3600.0}


def _size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d{1,15}(?:\.\d{1,6})?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError("a size such as 64MiB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _rate(text: str) -> int:
    return _size(text[:-2] if text.lower().endswith("/s") else text)


def _seconds(text: str) -> float:
    m = re.fullmatch(r"\s*(\d{1,9}(?:\.\d{1,6})?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _TIMES:
        raise ValueError("a time such as 60s, 5min or 2h")
    return float(m.group(1)) * _TIMES[m.group(2).lower()]


def _count(text: str) -> int:
    if not re.fullmatch(r"\s*\d{1,6}\s*", text):
        raise ValueError("a whole number")
    return int(text)


def _positive(_self: object, attribute: attrs.Attribute, value: float) -> None:  # type: ignore[type-arg]
    if value <= 0:
        raise InputError(f"limit {attribute.name.replace('_', '-')}: {value} must be positive")


@attrs.frozen
class Limits:
    """The bounds (see the module docstring for the table). Sizes in bytes, times in seconds."""

    download_size: int = attrs.field(default=GIB, validator=_positive)
    min_rate: int = attrs.field(default=KIB, validator=_positive)
    rate_window: float = attrs.field(default=60.0, validator=_positive)
    file_deadline: float = attrs.field(default=7200.0, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    read_timeout: float = attrs.field(default=60.0, validator=_positive)
    document_size: int = attrs.field(default=64 * MIB, validator=_positive)
    json_depth: int = attrs.field(default=64, validator=_positive)
    header_size: int = attrs.field(default=16 * MIB, validator=_positive)
    table_size: int = attrs.field(default=256 * MIB, validator=_positive)
    unpacked_size: int = attrs.field(default=64 * GIB, validator=_positive)
    index_depth: int = attrs.field(default=8, validator=_positive)
    catalog_wait: float = attrs.field(default=30.0, validator=_positive)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The user-facing names, ``download-size`` ..."""
        return tuple(a.name.replace("_", "-") for a in attrs.fields(cls))

    def with_values(self, values: Iterable[str], *, where: str = "--limit") -> Limits:
        """These limits with ``NAME=VALUE`` items applied (later ones win)."""
        changes: dict[str, Any] = {}
        for item in values:
            name, sep, raw = item.partition("=")
            key = name.strip().lower().replace("_", "-")
            if not sep or key not in _PARSERS:
                raise InputError(f"{where}: {item!r} is not NAME=VALUE with NAME one of "
                                 f"{', '.join(self.names())}")
            try:
                changes[key.replace("-", "_")] = _PARSERS[key](raw)
            except ValueError as exc:
                raise InputError(f"{where}: {key}={raw.strip()!r} is not {exc}") from None
        return attrs.evolve(self, **changes)

    @classmethod
    def parse(cls, values: Iterable[str], *, where: str = "--limit") -> Limits:
        return cls().with_values(values, where=where)

    @classmethod
    def from_env(cls, value: str | None, extra: Iterable[str] = ()) -> Limits:
        """Defaults, then ``$REPROCAL_LIMITS`` (``value``), then ``extra`` (``--limit``)."""
        items = [v for v in re.split(r"[\s,]+", value or "") if v]
        return cls().with_values(items, where="$REPROCAL_LIMITS").with_values(extra)


_SIZE_FIELDS = ("download-size", "document-size", "header-size", "table-size", "unpacked-size")
_TIME_FIELDS = ("rate-window", "file-deadline", "connect-timeout", "read-timeout",
                "catalog-wait")
_PARSERS = {**{n: _size for n in _SIZE_FIELDS}, **{n: _seconds for n in _TIME_FIELDS},
            "min-rate": _rate, "json-depth": _count, "index-depth": _count}

DEFAULT_LIMITS = Limits()
_current: contextvars.ContextVar[Limits] = contextvars.ContextVar("reprocal_limits",
                                                                  default=DEFAULT_LIMITS)


def current_limits() -> Limits:
    """The limits in force (the defaults unless :func:`use_limits` or the CLI set others)."""
    return _current.get()


@contextlib.contextmanager
def use_limits(limits: Limits) -> Iterator[Limits]:
    """Run a block with ``limits`` in force (in this thread and context)."""
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)


def set_limits(limits: Limits) -> None:
    """Put ``limits`` in force for the rest of the current context (the CLI's root group)."""
    _current.set(limits)


def carry_context(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` wrapped to run, in whatever thread calls it, in a copy of the context current now
    (so worker threads of a pool see the limits in force where the pool was made)."""
    ctx = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return ctx.copy().run(fn, *args, **kwargs)

    return run
