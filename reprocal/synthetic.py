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

Everything is deterministic for a seed: histories come from ``random.Random`` seeded with strings
(no hash randomisation), data bytes from SHAKE-128 keyed by seed, file and extension (the same
bytes on every machine and Python), and the CHECKSUM comments carry the file's own DATE instead
of the wall clock.

Each file: primary header with ``TELESCOP``, ``SCOPE``, ``TYPEID``, ``ISSUE``, ``VALDATE``,
``EVALDATE`` (only when closed), ``SUBDATE``, ``DATE``, ``CATEGORY``, ``CREATOR``, ``EXTSEQU``,
``EXTSEQID``; then one binary table per EXTSEQID name (``EXTNAME`` set) carrying the data;
``CHECKSUM``/``DATASUM`` on every HDU.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import math
import os
import random
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from .constituent import DEFAULT_CATEGORY, Constituent
from .dates import CalDate
from .errors import InputError
from .names import ConstituentName
from .select import Selection, Selector

BLOCK = 2880
"""FITS block size: every HDU, and so every file, is a multiple of it."""

FULL_SCALE_FILES = 1550
"""About how many constituents the whole archive holds."""

MAX_SIZE = 24170 * BLOCK
"""No synthetic file is larger than the largest real one (XRT PSFs, ~70 MB)."""
SIZE_SPREAD = 0.25
SIZE_BOOST = 1.2

_EPOCH = CalDate.parse("1970-01-01").to_datetime()
_DAY = 86400


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
        """cifbuild's selection over this repository (see :mod:`reprocal.select`)."""
        return Selector(self.constituents).select(
            CalDate.parse(obs_date, field="obs_date"),
            CalDate.parse(analysis_date, field="analysis_date"), category=category,
        )


# --- planning (pure) ------------------------------------------------------------------------


def _secs(d: CalDate) -> int:
    return int((d.to_datetime() - _EPOCH).total_seconds())


def _date(secs: int) -> CalDate:
    return CalDate.from_datetime(_EPOCH + timedelta(seconds=secs))


def _base_valdate(t: CcfType, rng: random.Random) -> str:
    """First validity of a type: real ones are 1998/1999/2000-01-01 (mirrors 2000-01-13)."""
    if t.scope.startswith("XRT"):
        return "2000-01-13"
    return rng.choices(("1998-01-01", "1999-01-01", "2000-01-01"), (5, 2, 3))[0]


def _creator(subdate: int) -> str:
    """The CCF delivery tool of the era (the real CREATOR values)."""
    if subdate < _secs(CalDate.parse("2000-07-01")):
        return "deceit"
    if subdate < _secs(CalDate.parse("2002-07-01")):
        return "/data/xmm/saslib/installed/deceit/lib/perl5/deceit.pl 1.21"
    return "/home/ccflib/sas/lib/perl5/deceit.pl 1.22"


def min_size(extnames: Sequence[str]) -> int:
    """Smallest file for these extensions: a header block per HDU and a data block (one table
    row) per extension, so every extension carries data. A file without extensions: one block."""
    return BLOCK * (1 + 2 * len(extnames))


def _blocks(nbytes: float, extnames: Sequence[str]) -> int:
    """``nbytes`` rounded to a multiple of 2880, at least :func:`min_size`."""
    return max(min_size(extnames), round(nbytes / BLOCK) * BLOCK)


def _issue_counts(types: Sequence[CcfType], files: int | None, rng: random.Random) -> list[int]:
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
        chosen = set(rng.sample(range(len(types)), files))
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
    rng = random.Random(f"reprocal.synthetic:{seed}:{t.scope}:{t.typeid}")
    base = max(start, _secs(CalDate.parse(_base_valdate(t, rng))))
    if base >= end:
        base = start
    span = end - base
    # submission dates: the first soon after the base date, the rest spread until the type
    # stops being updated (busy types: until `end`)
    first = base if rng.random() < 0.3 else base + int(rng.uniform(0, min(700 * _DAY, span / 4)))
    until = end if t.max_issue >= 10 else first + int(rng.uniform(0.1, 1.0) * (end - first))
    if until - first < n:
        until = min(end, first + n)
    rest = sorted(rng.sample(range(first + 1, until + 1), n - 1)) if n > 1 else []
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
        factor = 1.0 if k == n - 1 else math.exp(rng.gauss(0.0, SIZE_SPREAD))
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
    if t1 <= t0:
        raise InputError(f"end {end!r} is not after start {start!r}")
    types = ccf_types() if types is None else tuple(types)
    counts = _issue_counts(types, files, random.Random(f"reprocal.synthetic:{seed}:counts"))
    planned: list[Constituent] = []
    for t, n in zip(types, counts, strict=True):
        if n:
            planned.extend(_history(t, n, seed=seed, scale=scale, start=t0, end=t1))
    return tuple(sorted(planned, key=lambda c: c.filename))


# --- writing --------------------------------------------------------------------------------


def _data(seed: int, filename: str, index: int, nbytes: int) -> bytes:
    """Deterministic pseudo-random bytes for one HDU (SHAKE-128: the same everywhere)."""
    if nbytes == 0:
        return b""
    key = f"reprocal.synthetic:{seed}:{filename}:{index}".encode()
    return hashlib.shake_128(key).digest(nbytes)


def _card(header: Any, key: str, value: object, comment: str) -> None:
    """Set a keyword, with its comment only when it fits on the card (no truncation warning)."""
    fits_comment = not isinstance(value, str) or len(value) + len(comment) <= 52
    header[key] = (value, comment) if fits_comment else value


def _primary_header(c: Constituent) -> Any:
    from astropy.io import fits

    h = fits.Header()
    _card(h, "TELESCOP", c.telescop, "Telescope (mission) name")
    _card(h, "SCOPE", c.scope, "Calibration scope")
    _card(h, "TYPEID", c.typeid, "Calibration data type")
    _card(h, "ISSUE", c.issue, "Constituent issue number")
    _card(h, "VALDATE", c.valdate.text, "Start of validity")
    if c.evaldate is not None:
        _card(h, "EVALDATE", c.evaldate.text, "End of validity")
    _card(h, "SUBDATE", c.subdate.text, "Submission date")
    if c.date is not None:
        _card(h, "DATE", c.date.text, "Creation date")
    _card(h, "CATEGORY", c.category, "Calibration category")
    _card(h, "CREATOR", c.creator, "File creator")
    _card(h, "EXTSEQU", c.extsequ, "Extension sequence")
    if len(c.extseqid) > 68:
        _card(h, "LONGSTRN", "OGIP 1.0", "The OGIP long string convention may be used")
    _card(h, "EXTSEQID", c.extseqid, "Extension sequence identifiers")
    return h


def _hdus(c: Constituent, *, seed: int) -> Any:
    """The HDUList of one constituent, ``c.fsize`` bytes once written."""
    import numpy as np
    from astropy.io import fits

    extnames = c.extseqid.split()
    size = c.fsize if c.fsize is not None else min_size(extnames)
    primary = fits.PrimaryHDU(header=_primary_header(c))
    # header blocks: the primary's (with CHECKSUM/DATASUM to come) and one per extension
    head_text = primary.header.tostring(padding=False, endcard=False)
    head_blocks = math.ceil((len(head_text) + 3 * 80) / BLOCK)
    data_blocks = size // BLOCK - head_blocks - len(extnames)
    if size % BLOCK or data_blocks < len(extnames):
        raise InputError(
            f"{c.filename}: size {size} is not a multiple of {BLOCK} of at least "
            f"{BLOCK * (head_blocks + 2 * len(extnames))} bytes "
            "(a header block per HDU, a data block per extension)"
        )
    rng = random.Random(f"reprocal.synthetic:{seed}:{c.filename}:split")
    if not extnames:
        if data_blocks:
            raw = _data(seed, c.filename, 0, data_blocks * BLOCK)
            primary = fits.PrimaryHDU(
                data=np.frombuffer(raw, dtype=np.uint8), header=_primary_header(c)
            )
        return fits.HDUList([primary])
    # one row per extension, the other blocks spread over them (seeded weights)
    spare = data_blocks - len(extnames)
    weights = [rng.random() ** 2 for _ in extnames]
    shares = [spare * w / (sum(weights) or 1.0) for w in weights]
    counts = [math.floor(s) for s in shares]
    for i in sorted(range(len(counts)), key=lambda i: (counts[i] - shares[i], i))[
        : spare - sum(counts)
    ]:
        counts[i] += 1
    counts = [n + 1 for n in counts]
    hdus = [primary]
    for i, (name, rows) in enumerate(zip(extnames, counts, strict=True), start=1):
        raw = _data(seed, c.filename, i, rows * BLOCK)
        array = np.frombuffer(raw, dtype=np.uint8).reshape(rows, BLOCK)
        col = fits.Column(name="BLOCK", format=f"{BLOCK}B", array=array)
        hdu = fits.BinTableHDU.from_columns([col])
        hdu.header["EXTNAME"] = name  # as given: real EXTNAMEs are mixed case
        hdus.append(hdu)
    return fits.HDUList(hdus)


def write_constituent(path: str | os.PathLike[str], c: Constituent, *, seed: int = 0) -> int:
    """Write one constituent file atomically (temp file beside it, then ``os.replace``).

    Returns the size written (``c.fsize``; the minimum when ``None``).
    """
    import warnings

    from astropy.io import fits

    target = Path(path)
    hdul = _hdus(c, seed=seed)
    stamp = (c.date or c.subdate).text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        for hdu in hdul:
            # fixed comments (the file's DATE, not the wall clock) keep the bytes reproducible
            hdu.add_datasum(when=f"data unit checksum updated {stamp}")
            hdu.add_checksum(when=f"HDU checksum updated {stamp}", override_datasum=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            hdul.writeto(f, output_verify="exception", checksum=False)
        written = os.path.getsize(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return written



def _write_all(
    root: str | os.PathLike[str], constituents: Iterable[Constituent], *, seed: int,
    scale: float, progress: Any = None,
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
    progress: Any = None,
) -> SyntheticRepo:
    """Write a synthetic repository of real calibration types into ``root`` (created).

    ``scale`` multiplies sizes (1.0: ~4 GB in all); ``files`` sets the file count (default
    ~1550); ``progress`` gets ``update(1)`` per file written.
    """
    planned = plan(seed=seed, scale=scale, files=files, start=start, end=end)
    return _write_all(root, planned, seed=seed, scale=scale, progress=progress)


def replay(
    root: str | os.PathLike[str], rows: Iterable[Constituent], *, scale: float = 0.001,
    seed: int = 0, progress: Any = None,
) -> SyntheticRepo:
    """Write one file per row with exactly its metadata (e.g. a real CIF's CALINDEX rows).

    Sizes are ``FSIZE * scale`` rounded to 2880, at least one block per HDU (the real type's size
    when the row has none). The returned constituents are what the files' headers say: the rows
    with ``fsize`` the written size and no ``md5`` (a CALINDEX value, not a property of the file).
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
        sized[row.filename] = attrs.evolve(row, md5="", fsize=_blocks(fsize * scale, extnames))
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
            spans = [(h._data_offset, h._data_size) for h in hdul if h._data_size]
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
