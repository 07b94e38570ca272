"""Synthetic CCF repositories: seeded, realistic constituent files for tests, demos, benchmarks.

A repository is planned first (pure: a seed in, constituents with their sizes out), then written
(one FITS file per constituent, atomically). The plan follows the shape of the real archive:

* the 118 real calibration types of ``data/ccf_types.csv`` (scope, type, extension names, whether
  successive issues are time slices, the real size of a recent issue, the highest issue seen);
* issue histories from 1998 to ``end``: each issue is submitted after the previous one;
* time-sliced types tile time with 1-second gaps (issue k ends at ``T``, issue k+1 starts at
  ``T+1s``), the newest slice is open-ended; other types are open-ended, and their re-issues
  often reach back to the first validity date (a reprocessing), sometimes start later, rarely
  start after their submission;
* at ``scale=1.0`` about 1550 files and 4 GB, sizes multiples of 2880 (most small, the largest
  ~70 MB); ``scale`` multiplies sizes, never the file count.

Everything is deterministic for a seed: histories come from ``random.Random(str).random()``
only (the part of ``random`` Python keeps stable across versions; no hash randomisation, no
libm), data bytes from SHAKE-128 keyed by seed, file and extension (the same bytes on every
machine), and the CHECKSUM comments carry the file's own DATE instead of the wall clock.

Each file: primary header with ``TELESCOP``, ``SCOPE``, ``TYPEID``, ``ISSUE``, ``VALDATE``,
``EVALDATE`` (only when closed), ``SUBDATE``, ``DATE``, ``CATEGORY``, ``CREATOR``, ``EXTSEQU``,
``EXTSEQID``, ``MD5``; then one binary table per EXTSEQID name (``EXTNAME`` set) carrying the
data; ``CHECKSUM``/``DATASUM`` on every HDU.

The ``MD5`` keyword stands for the value the real CALINDEX ``MD5`` column carries (32 hex
digits; its meaning is unverified, and no real constituent header has been seen), so the path
from a header keyword to the CIF column is exercised. A generated file's value is an md5 keyed
by the seed and the file name (:func:`synthetic_md5`), not a digest of anything; a replayed
row keeps its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

import attrs

from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Selection, Selector
from reprocal.errors import InputError
from reprocal.progress import Progress
from reprocal.testing._ccfwrite import BLOCK, min_size, write_constituent, write_table_constituent

__all__ = [
    "BLOCK", "CcfType", "SyntheticRepo", "ccf_types", "corrupt", "generate", "min_size", "plan",
    "replay", "synthetic_md5", "touch_all", "truncate", "write_constituent",
    "write_table_constituent",
]

FULL_SCALE_FILES = 1550
"""About how many constituents the whole archive holds."""

MAX_SIZE = 24170 * BLOCK
"""No synthetic file is larger than the largest real one (XRT PSFs, ~70 MB)."""
SIZE_SPREAD = 0.25
"""Earlier issues' sizes vary by up to this fraction around the real size."""
SIZE_BOOST = 1.2
"""Calibrates the sizes so the full archive is ~4 GB (the real one: ~4.3 GB, 1550 files)."""

_EPOCH = CalDate.parse("1970-01-01").to_datetime()
_DAY = 86400
MIN_SPAN = 30 * _DAY
"""The shortest history (``end - start``) a plan accepts."""


# --- the real calibration types -----------------------------------------------------------


@attrs.frozen
class CcfType:
    """One real calibration type (a row of ``data/ccf_types.csv``)."""

    scope: str
    """Calibration scope, e.g. ``EPN``."""
    typeid: str
    """Calibration type, e.g. ``CTI``."""
    sliced: bool
    """Whether successive issues cover successive time windows (real rows have VALDATE-END)."""
    fsize: int
    """Size in bytes of a recent real issue (the type's size class)."""
    max_issue: int
    """Highest issue seen in the real CIFs (the type's update rate)."""
    extnames: tuple[str, ...]
    """EXTNAMEs of the extensions, in order (the real EXTSEQID, split)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.scope, self.typeid)

    @property
    def extseqid(self) -> str:
        return " ".join(self.extnames)


@lru_cache(maxsize=1)
def ccf_types() -> tuple[CcfType, ...]:
    """The real calibration types, sorted by (scope, typeid)."""
    text = resources.files("reprocal").joinpath("data/ccf_types.csv").read_text("ascii")
    rows = csv.DictReader(io.StringIO(text))
    types = [
        CcfType(
            scope=r["scope"], typeid=r["typeid"], sliced=r["sliced"] == "1",
            fsize=int(r["fsize"]), max_issue=int(r["max_issue"]),
            extnames=tuple(r["extseqid"].split()),
        )
        for r in rows
    ]
    return tuple(sorted(types, key=lambda t: t.key))


# --- the repository record ------------------------------------------------------------------


@attrs.frozen(eq=False)
class SyntheticRepo:
    """A repository written by :func:`generate` or :func:`replay`."""

    root: Path
    """The directory holding the files (flat)."""
    constituents: tuple[Constituent, ...]
    """What each file's header says, sorted by file name; ``fsize`` is the file's size."""
    paths: Mapping[str, Path]
    """File name -> path of every written file."""
    seed: int
    """The seed the repository was made with."""
    scale: float
    """The size factor (1.0: real sizes)."""

    @property
    def files(self) -> Mapping[str, Path]:
        """Alias of :attr:`paths`."""
        return self.paths

    @property
    def total_size(self) -> int:
        return sum(c.fsize or 0 for c in self.constituents)

    def selected(
        self, obs_date: CalDate | str, analysis_date: CalDate | str, *,
        category: str = DEFAULT_CATEGORY,
    ) -> Selection:
        """cifbuild's selection over this repository (see :mod:`reprocal.core._select`)."""
        return Selector(self.constituents).select(
            CalDate.parse(obs_date, field="obs_date"),
            CalDate.parse(analysis_date, field="analysis_date"), category=category,
        )


# --- planning (pure) ------------------------------------------------------------------------


def _secs(d: CalDate) -> int:
    return int((d.to_datetime() - _EPOCH).total_seconds())


def _date(secs: int) -> CalDate:
    return CalDate.from_datetime(_EPOCH + timedelta(seconds=secs))


class _Draws:
    """Seeded draws built only on ``random.Random.random()``, whose sequence Python guarantees
    across versions (``sample``, ``choices``, ``gauss`` may change), with plain arithmetic
    only (no libm function whose last bit could differ between machines)."""

    def __init__(self, key: str):
        self._rng = random.Random(key)  # str seeds hash with SHA-512: no hash randomisation

    def random(self) -> float:
        return self._rng.random()

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self._rng.random()

    def weighted(self, options: Sequence[str], weights: Sequence[float]) -> str:
        x = self._rng.random() * sum(weights)
        for option, w in zip(options, weights, strict=True):
            if x < w:
                return option
            x -= w
        return options[-1]

    def distinct(self, lo: int, hi: int, k: int) -> list[int]:
        """``k`` distinct integers of ``[lo, hi]``, sorted."""
        if k > hi - lo + 1:
            raise ValueError(f"cannot draw {k} distinct integers from [{lo}, {hi}]")
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.add(lo + int(self._rng.random() * (hi - lo + 1)))
        return sorted(chosen)

    def size_factor(self) -> float:
        """Triangular on [1 - SIZE_SPREAD, 1 + SIZE_SPREAD], mean 1."""
        return 1.0 + SIZE_SPREAD * (self._rng.random() + self._rng.random() - 1.0)


def synthetic_md5(seed: int, filename: str) -> str:
    """The ``MD5`` keyword of a generated file: 32 hex digits, deterministic for the seed and
    file name (a stand-in value, not a digest of the file)."""
    return hashlib.md5(f"reprocal.synthetic:{seed}:{filename}:md5".encode(),
                       usedforsecurity=False).hexdigest()


def _base_valdate(t: CcfType, rng: _Draws) -> str:
    """First validity of a type: real ones are 1998/1999/2000-01-01 (mirrors 2000-01-13)."""
    if t.scope.startswith("XRT"):
        return "2000-01-13"
    return rng.weighted(("1998-01-01", "1999-01-01", "2000-01-01"), (5, 2, 3))


def _creator(subdate: int) -> str:
    """The CCF delivery tool of the era (the real CREATOR values)."""
    if subdate < _secs(CalDate.parse("2000-07-01")):
        return "deceit"
    if subdate < _secs(CalDate.parse("2002-07-01")):
        return "/data/xmm/saslib/installed/deceit/lib/perl5/deceit.pl 1.21"
    return "/home/ccflib/sas/lib/perl5/deceit.pl 1.22"


def _blocks(nbytes: float, extnames: Sequence[str]) -> int:
    """``nbytes`` rounded to a multiple of 2880, at least :func:`min_size`."""
    return max(min_size(extnames), round(nbytes / BLOCK) * BLOCK)


def _issue_counts(types: Sequence[CcfType], files: int | None, rng: _Draws) -> list[int]:
    """Issues per type: proportional to the real update rate, ~1550 in all, or ``files`` in all.

    With ``files`` smaller than the number of types, a seeded subset of types gets one issue
    each (the others get none).
    """
    # the factor that makes sum(max(1, max_issue * factor)) ~ FULL_SCALE_FILES (bisection)
    lo, hi = 0.0, float(FULL_SCALE_FILES)
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(max(1.0, t.max_issue * mid) for t in types) < FULL_SCALE_FILES:
            lo = mid
        else:
            hi = mid
    full = [max(1, round(t.max_issue * lo * rng.uniform(0.85, 1.15))) for t in types]
    if files is None:
        return full
    if files < 1:
        raise InputError(f"files={files}: a repository needs at least one file")
    if files < len(types):
        chosen = set(rng.distinct(0, len(types) - 1, files))
        return [1 if i in chosen else 0 for i in range(len(types))]
    # everyone gets one, sliced types two (to have a tiling) while the budget allows
    counts = [1] * len(types)
    budget = files - len(types)
    for i, t in enumerate(types):
        if budget and t.sliced and full[i] >= 2:
            counts[i] += 1
            budget -= 1
    # the rest in proportion to the full counts (largest remainder, ties by type order)
    weights = [max(0, f - c) for f, c in zip(full, counts, strict=True)]
    if sum(weights) == 0:
        weights = full
    total = sum(weights)
    shares = [budget * w / total for w in weights]
    extra = [math.floor(s) for s in shares]
    left = budget - sum(extra)
    order = sorted(range(len(types)), key=lambda i: (-(shares[i] - extra[i]), i))
    for i in order[:left]:
        extra[i] += 1
    return [c + e for c, e in zip(counts, extra, strict=True)]


def _history(
    t: CcfType, n: int, *, seed: int, scale: float, start: int, end: int,
) -> list[Constituent]:
    """The ``n`` issues of one type (issues 1..n), sizes included."""
    rng = _Draws(f"reprocal.synthetic:{seed}:{t.scope}:{t.typeid}")
    base = max(start, _secs(CalDate.parse(_base_valdate(t, rng))))
    if end - base < MIN_SPAN:  # a short history: everything starts at `start`
        base = start
    span = end - base
    # submission dates: the first soon after the base date, the rest spread until the type
    # stops being updated (busy types: until `end`)
    first = base if rng.random() < 0.3 else base + int(rng.uniform(0, min(700 * _DAY, span / 4)))
    until = end if t.max_issue >= 10 else first + int(rng.uniform(0.1, 1.0) * (end - first))
    if until - first < n:
        until = min(end, first + n)
    rest = rng.distinct(first + 1, until, n - 1) if n > 1 else []
    subdates = [first, *rest]

    valdates: list[int] = [base]
    for k in range(1, n):
        if t.sliced:
            prev = valdates[-1]
            # a new slice starts between the previous slice's start and its own submission
            valdates.append(prev + 1 + int(rng.uniform(0.3, 1.0) * (subdates[k] - prev - 1)))
            continue
        u = rng.random()
        if u < 0.45:  # a reprocessing: the new issue covers the whole mission again
            valdates.append(base)
        elif u < 0.5:  # submitted in advance of its validity
            valdates.append(min(end, subdates[k] + int(rng.uniform(1, 60 * _DAY))))
        else:  # valid from some time before its submission
            back = int(rng.uniform(0, 400 * _DAY))
            valdates.append(max(base, subdates[k] - back))
    evaldates: list[int | None] = [None] * n
    if t.sliced:
        for k in range(n - 1):
            evaldates[k] = valdates[k + 1] - 1  # tiles time with a 1-second gap

    out = []
    for k in range(n):
        sub = subdates[k]
        created = sub if sub == base else max(start, sub - int(rng.uniform(0, 3 * _DAY)))
        # sizes vary around the real one, never above the largest real file (~70 MB)
        factor = 1.0 if k == n - 1 else rng.size_factor()
        nbytes = min(max(t.fsize, MAX_SIZE), t.fsize * factor * SIZE_BOOST)
        out.append(Constituent(
            name=ConstituentName(t.scope, t.typeid, k + 1),
            valdate=_date(valdates[k]),
            evaldate=_date(evaldates[k]) if evaldates[k] is not None else None,  # type: ignore[arg-type]
            subdate=_date(sub),
            date=_date(created),
            category=DEFAULT_CATEGORY,
            telescop="XMM",
            creator=_creator(sub),
            extsequ="ANY",
            extseqid=t.extseqid,
            md5=synthetic_md5(seed, ConstituentName(t.scope, t.typeid, k + 1).filename),
            fsize=_blocks(nbytes * scale, t.extnames),
        ))
    return out


def plan(
    *, seed: int = 0, scale: float = 0.001, files: int | None = None,
    start: str = "1998-01-01", end: str = "2026-11-01",
    types: Sequence[CcfType] | None = None,
) -> tuple[Constituent, ...]:
    """The constituents :func:`generate` would write (pure, no I/O), sorted by file name.

    ``fsize`` of each is the size its file will have.
    """
    if not scale > 0:
        raise InputError(f"scale={scale}: must be a positive size factor")
    t0, t1 = _secs(CalDate.parse(start, field="start")), _secs(CalDate.parse(end, field="end"))
    if t1 - t0 < MIN_SPAN:
        raise InputError(f"end {end!r} is not at least 30 days after start {start!r}")
    types = ccf_types() if types is None else tuple(types)
    counts = _issue_counts(types, files, _Draws(f"reprocal.synthetic:{seed}:counts"))
    planned: list[Constituent] = []
    for t, n in zip(types, counts, strict=True):
        if n:
            planned.extend(_history(t, n, seed=seed, scale=scale, start=t0, end=t1))
    return tuple(sorted(planned, key=lambda c: c.filename))


def _write_all(
    root: str | os.PathLike[str], constituents: Iterable[Constituent], *, seed: int,
    scale: float, progress: Progress | None = None,
) -> SyntheticRepo:
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    written: list[Constituent] = []
    paths: dict[str, Path] = {}
    for c in sorted(constituents, key=lambda c: c.filename):
        path = base / c.filename
        size = write_constituent(path, c, seed=seed)
        if c.fsize is not None and size != c.fsize:
            raise AssertionError(f"{c.filename}: wrote {size} bytes, planned {c.fsize}")
        written.append(attrs.evolve(c, fsize=size))
        paths[c.filename] = path
        if progress is not None:
            progress.update(1)
    return SyntheticRepo(root=base, constituents=tuple(written), paths=paths, seed=seed,
                         scale=scale)


def generate(
    root: str | os.PathLike[str], *, seed: int = 0, scale: float = 0.001,
    files: int | None = None, start: str = "1998-01-01", end: str = "2026-11-01",
    progress: Progress | None = None,
) -> SyntheticRepo:
    """Write a synthetic repository of real calibration types into ``root`` (created).

    ``scale`` multiplies sizes (1.0: ~4 GB in all); ``files`` sets the file count (default
    ~1550); ``progress`` gets ``update(1)`` per file written.
    """
    planned = plan(seed=seed, scale=scale, files=files, start=start, end=end)
    return _write_all(root, planned, seed=seed, scale=scale, progress=progress)


def replay(
    root: str | os.PathLike[str], rows: Iterable[Constituent], *, scale: float = 0.001,
    seed: int = 0, progress: Progress | None = None,
) -> SyntheticRepo:
    """Write one file per row with exactly its metadata (e.g. a real CIF's CALINDEX rows).

    Sizes are ``FSIZE * scale`` rounded to 2880, at least a header block per HDU and a data block
    per extension (the real type's size when the row has no FSIZE). The returned constituents are
    what the files' headers say: the rows with ``fsize`` the written size; a row's ``md5`` is
    written as the file's ``MD5`` keyword (a row without one gives a header without it).
    """
    if not scale > 0:
        raise InputError(f"scale={scale}: must be a positive size factor")
    known = {t.key: t.fsize for t in ccf_types()}
    sized: dict[str, Constituent] = {}
    for row in rows:
        if row.filename in sized:
            raise InputError(f"{row.filename}: given twice; replay writes one file per name")
        extnames = row.extseqid.split()
        fsize = row.fsize if row.fsize is not None else known.get(row.key, 0)
        sized[row.filename] = attrs.evolve(row, fsize=_blocks(fsize * scale, extnames))
    return _write_all(root, sized.values(), seed=seed, scale=scale, progress=progress)


# --- tampering (for tests of verify/audit) -------------------------------------------------


def corrupt(path: str | os.PathLike[str], *, offset: int | None = None) -> int:
    """Flip one byte of a file's data area (headers intact, so only a checksum notices).

    Default: the middle byte of the first HDU that has data. Returns the offset flipped.
    """
    from astropy.io import fits

    p = Path(path)
    if offset is None:
        with fits.open(p, lazy_load_hdus=False) as hdul:
            spans = [
                (info["datLoc"], info["datSpan"])
                for info in (hdul.fileinfo(i) for i in range(len(hdul))) if info["datSpan"]
            ]
        if not spans:
            raise InputError(f"{p}: no HDU has data; pass offset= to flip a header byte")
        start, size = spans[0]
        offset = start + size // 2
    with open(p, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        if len(byte) != 1:
            raise InputError(f"{p}: offset {offset} is beyond the end of the file")
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    return offset


def truncate(path: str | os.PathLike[str], nbytes: int) -> None:
    """Cut a file to its first ``nbytes`` bytes (as a partial download leaves it)."""
    os.truncate(path, nbytes)


def touch_all(root: str | os.PathLike[str], *, mtime: float = 946684800.0) -> int:
    """Set the mtime (and atime) of every ``*.CCF`` under ``root``; returns how many.

    The default, 2000-01-01T00:00:00Z, differs from any time a test runs at.
    """
    count = 0
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and p.suffix.upper() == ".CCF":
            os.utime(p, (mtime, mtime))
            count += 1
    return count
