"""CALINDEX tables: read them from any FITS file that has one, write CIFs and master indexes.

A CALINDEX table is a binary table ``EXTNAME = 'CALINDEX'`` with one row per constituent. It is
the whole content of a CIF (``ccf.cif``), and is embedded in every SAS event list, in the archive
product ``P<obsid>OBX000CALIND0000.FTZ`` and in master index files (``XMM_CALINDEX_nnnn.CCF``,
one row per constituent of the archive). "Any dataset with a CALINDEX extension can be used as a
CIF", so :func:`read_calindex` takes any of them, plain or gzip-compressed.

Reading walks the HDU headers itself (:mod:`reprocal.fits._walk`), skipping the data of every
other HDU, and parses only the CALINDEX data. Writing reproduces the layout of cifbuild's output
card for card, without a wall-clock date, so that the same selection always gives the same bytes:
astropy renders the headers, the checksum engine (:mod:`reprocal.fits._checksum`) fills in their
CHECKSUM/DATASUM, and the file is written atomically.

The identity of a CIF's content is :func:`rows_digest`, not its bytes: the bytes hold absolute
paths and creation dates.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs

from reprocal._version import __version__
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import DateError, FitsFormatError, InputError
from reprocal.fits._cards import BLOCK
from reprocal.fits._checksum import with_checksums
from reprocal.fits._walk import Table, find_table
from reprocal.fs._atomic import atomic_file

EXTNAME = "CALINDEX"

_DATE_UNIT = "yyyy:dd:mmZhh:mm:ss"  # cifbuild's (bogus) unit on date columns, kept for fidelity

COLUMNS: tuple[tuple[str, str, str | None, str], ...] = (
    # TTYPE, TFORM, TUNIT, TTYPE comment: exactly as cifbuild 4.8 writes them.
    ("TELESCOP", "4A", None, "Telescope"),
    ("SCOPE", "6A", None, "Calibration scope"),
    ("TYPEID", "32A", None, "Calibration data type"),
    ("ISSUE", "I", None, "Constituent issue number"),
    ("VALDATE", "19A", _DATE_UNIT, "Start of validity"),
    ("VALDATE-END", "19A", _DATE_UNIT, "End of validity"),
    ("FNAME", "256A", None, "Constituent file path"),
    ("DATE", "19A", _DATE_UNIT, "Creation date"),
    ("FSIZE", "J", "byte", "Constituent size"),
    ("SUBDATE", "19A", _DATE_UNIT, "Submission date"),
    ("EXTSEQU", "32A", None, "Extension sequence"),
    ("EXTSEQID", "256A", None, "Extension sequence identifiers"),
    ("MD5", "32A", None, "MD5 digital signature"),
    ("CREATOR", "64A", None, "File creator"),
)
"""The 14 CALINDEX columns in cifbuild's order."""

REQUIRED = ("SCOPE", "TYPEID", "ISSUE", "VALDATE", "VALDATE-END", "SUBDATE")
"""Columns a table must have: the selection rule needs them. The others default when absent."""

MASTER_KEYWORD = "MASTERIX"
"""Table keyword (``T``) that :func:`write_master_index` writes, in place of OBSVDATE/ANALDATE."""


@attrs.frozen
class CalIndex:
    """A CALINDEX table, parsed: its rows and its table keywords."""

    rows: tuple[Constituent, ...]
    """One constituent per row, in the table's order."""
    fnames: tuple[str, ...]
    """The raw ``FNAME`` of each row (stripped; absolute paths kept as written)."""
    category: str | None = None
    """Table keyword ``CATEGORY`` (absent in a master index)."""
    obs_date: CalDate | None = None
    """Table keyword ``OBSVDATE``: the observation date the CIF was built for."""
    analysis_date: CalDate | None = None
    """Table keyword ``ANALDATE``: the analysis date the CIF was built for."""
    path: str | None = None
    """The file it was read from."""

    def by_key(self) -> dict[tuple[str, str], Constituent]:
        """``(scope, typeid) -> row``; where a key has several issues (a master index), the
        highest issue."""
        out: dict[tuple[str, str], Constituent] = {}
        for c in self.rows:
            if c.key not in out or c.issue > out[c.key].issue:
                out[c.key] = c
        return out

    @property
    def is_master_index(self) -> bool:
        """True when the table has no OBSVDATE/ANALDATE: not built for one observation."""
        return self.obs_date is None and self.analysis_date is None

    def __len__(self) -> int:
        return len(self.rows)


# --- reading ----------------------------------------------------------------------------------


def read_calindex(path: str | os.PathLike[str]) -> CalIndex:
    """Read the CALINDEX table of a CIF, event list, master index or product (gzip or not).

    Raises :class:`FitsFormatError` naming the file (and the row and column of a bad cell).
    """
    table = find_table(path, EXTNAME)
    columns = table.columns()
    for name in REQUIRED:
        if name not in columns:
            raise FitsFormatError(
                f"{EXTNAME} table lacks the required column {name}", path=path,
                hint=f"columns present: {', '.join(columns) or 'none'}",
            )
    keyword_category = _keyword(table, "CATEGORY", path)
    obs = _keyword_date(table, "OBSVDATE", path)
    an = _keyword_date(table, "ANALDATE", path)

    category = keyword_category or DEFAULT_CATEGORY
    rows, fnames = [], []
    data = [table.column(name) for name in columns]
    for n, values in enumerate(zip(*data, strict=True), start=1):
        row, fname = _row(n, dict(zip(columns, values, strict=True)), category, path)
        rows.append(row)
        fnames.append(fname)
    return CalIndex(rows=tuple(rows), fnames=tuple(fnames), category=keyword_category,
                    obs_date=obs, analysis_date=an, path=str(path))


def _keyword(table: Table, key: str, path: str | os.PathLike[str]) -> str | None:
    try:
        value = table.header.get(key)
    except Exception as exc:  # astropy's VerifyError/ValueError on a card it cannot parse
        raise FitsFormatError(f"{EXTNAME} keyword {key}: unreadable card ({exc})".rstrip(),
                              path=path, hint="the file is damaged; fetch or re-make it") from None
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _keyword_date(table: Table, key: str, path: str | os.PathLike[str]) -> CalDate | None:
    text = _keyword(table, key, path)
    if text is None:
        return None
    try:
        return CalDate.parse(text, field=f"{EXTNAME} keyword {key}")
    except DateError as exc:
        raise FitsFormatError(exc.message, path=path) from None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _whole(value: object, column: str) -> int:
    """An integer cell: a number with a fraction (``ISSUE`` 79.5) is refused, never truncated."""
    if isinstance(value, (bool, bytes)) or value is None:
        raise ValueError(f"{column} {value!r} is not an integer")
    number = float(value) if not isinstance(value, (int, str)) else value  # type: ignore[arg-type]  # numpy scalars
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(f"{column} {value!r} is not a whole number")
    return int(number)


def _row(n: int, cells: dict[str, object], default_category: str,
         path: str | os.PathLike[str]) -> tuple[Constituent, str]:
    """Row ``n`` (1-based, as FITS counts; ``cells`` by column name) as a constituent and its
    raw FNAME. Absent optional columns take the :class:`Constituent` defaults."""
    where = f"{EXTNAME} row {n}"

    def get(column: str, default: object = "") -> object:
        return cells.get(column, default)

    def date(column: str, optional: bool) -> CalDate | None:
        text = _text(get(column))
        if not text and optional:
            return None
        try:
            return CalDate.parse(text, field=f"{where}, column {column}")
        except DateError as exc:
            raise FitsFormatError(exc.message, path=path) from None

    try:
        issue = _whole(get("ISSUE"), "ISSUE")
        name = ConstituentName(_text(get("SCOPE")), _text(get("TYPEID")), issue)
    except (InputError, ValueError, TypeError) as exc:
        detail = exc.message if isinstance(exc, InputError) else str(exc)
        raise FitsFormatError(f"{where}: bad SCOPE/TYPEID/ISSUE: {detail}", path=path) from None
    fname = _text(get("FNAME"))
    if fname:
        base = fname.replace("\\", "/").rsplit("/", 1)[-1]
        try:
            named = ConstituentName.parse(base)
        except InputError:
            named = None
        if named != name:
            raise FitsFormatError(
                f"{where}: FNAME {fname!r} does not name {name.filename} "
                "(its SCOPE/TYPEID/ISSUE)", path=path,
                hint="the table is inconsistent; reprocal will not guess which is right",
            )
    fsize = get("FSIZE", None)
    try:
        size = None if fsize is None else _whole(fsize, "FSIZE")
    except (TypeError, ValueError):
        raise FitsFormatError(f"{where}, column FSIZE: {fsize!r} is not a size",
                              path=path) from None
    if size is not None and size < 0:
        raise FitsFormatError(f"{where}, column FSIZE: {size} is negative", path=path)
    category = _text(get("CATEGORY")) or default_category  # a master index's extra column
    row = Constituent(
        name=name,
        valdate=date("VALDATE", optional=False),  # type: ignore[arg-type]
        evaldate=date("VALDATE-END", optional=True),
        subdate=date("SUBDATE", optional=False),  # type: ignore[arg-type]
        date=date("DATE", optional=True),
        category=category,
        telescop=_text(get("TELESCOP")) or "XMM",
        creator=_text(get("CREATOR")),
        extsequ=_text(get("EXTSEQU", "ANY")),  # the Constituent default when absent
        extseqid=_text(get("EXTSEQID")),
        md5=_text(get("MD5")),
        fsize=size or None,  # 0 is how an unknown size is written
    )
    return row, fname


# --- the canonical cells of a row -------------------------------------------------------------


def _cells(c: Constituent, fname: str) -> tuple[object, ...]:
    """The 14 cell values of a row, in :data:`COLUMNS` order, as they are written."""
    return (
        c.telescop, c.scope, c.typeid, c.issue, str(c.valdate),
        str(c.evaldate) if c.evaldate is not None else "", fname,
        str(c.date) if c.date is not None else "", c.fsize or 0, str(c.subdate),
        c.extsequ, c.extseqid, c.md5, c.creator,
    )


def _sort_key(c: Constituent) -> tuple[str, str, int]:
    return (c.scope, c.typeid, c.issue)


def rows_digest(constituents: Iterable[Constituent]) -> str:
    """The identity of a CALINDEX table's content: ``'sha256:<hex>'``.

    Independent of paths, header dates and byte layout. Definition (version 1): sort the rows by
    (SCOPE, TYPEID, ISSUE); serialise each as the JSON array of its 14 cells in column order
    (compact separators, UTF-8), where FNAME is the canonical file name ``SCOPE_TYPEID_NNNN.CCF``
    (never a directory), dates are canonical ``YYYY-MM-DDThh:mm:ss`` with ``""`` for an open end
    or an unknown creation date, ISSUE and FSIZE are integers (``0`` for an unknown size); join
    the lines with ``\\n`` after the header line ``reprocal-calindex-rows/1``; hash with sha256.
    Table keywords (CATEGORY, OBSVDATE, ANALDATE) are not part of it.

    >>> from reprocal.core._names import ConstituentName as N
    >>> a = Constituent(N("EPN", "CTI", 5), valdate="2000-01-01", subdate="2001-01-01")
    >>> b = Constituent(N("OM", "PSF1DRB", 2), valdate="2000-01-01", subdate="2001-01-01")
    >>> rows_digest([a, b]) == rows_digest([b, a])
    True
    >>> rows_digest([a])[:7]
    'sha256:'
    """
    lines = ["reprocal-calindex-rows/1"]
    for c in sorted(constituents, key=_sort_key):
        lines.append(json.dumps(_cells(c, c.filename), separators=(",", ":"), ensure_ascii=False))
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


# --- writing ----------------------------------------------------------------------------------

_TFORM_COMMENT = {"A": "ASCII Character", "I": "2-byte INTEGER", "J": "4-byte INTEGER"}
_STRUCTURE_COMMENTS = {
    "XTENSION": "binary table extension", "BITPIX": "8-bit bytes",
    "NAXIS": "2-dimensional binary table", "NAXIS1": "width of table in bytes",
    "NAXIS2": "number of rows in table", "PCOUNT": "size of special data area",
    "GCOUNT": "one data group (required keyword)", "TFIELDS": "number of fields in each row",
}
_PRIMARY_COMMENTS = {
    "SIMPLE": "file does conform to FITS standard", "BITPIX": "number of bits per data pixel",
    "NAXIS": "number of data axes", "EXTEND": "FITS dataset may contain extensions",
}


def write_cif(
    path: str | os.PathLike[str],
    constituents: Iterable[Constituent],
    *,
    obs_date: CalDate | str,
    analysis_date: CalDate | str,
    category: str = DEFAULT_CATEGORY,
    paths: Mapping[str, str | os.PathLike[str]] | None = None,
) -> Path:
    """Write a CIF exactly as cifbuild lays it out: rows sorted by SCOPE then TYPEID.

    ``FNAME`` is the base name, or with ``paths`` (``{filename: path}``, cifbuild's
    ``fullpath=yes``) the absolute path. No wall-clock date is written: the same selection gives
    the same bytes. Written atomically; returns the path.
    """
    rows = sorted(constituents, key=_sort_key)
    seen: dict[tuple[str, str], Constituent] = {}
    for c in rows:
        if c.key in seen:
            raise InputError(
                f"two issues of {c.scope} {c.typeid} ({seen[c.key].issue} and {c.issue}) for "
                f"one CIF", path=path, hint="a CIF holds one issue per calibration type",
            )
        seen[c.key] = c
    keywords = [
        ("CATEGORY", category, None),
        ("OBSVDATE", str(CalDate.parse(obs_date, field="OBSVDATE")), None),
        ("ANALDATE", str(CalDate.parse(analysis_date, field="ANALDATE")), None),
    ]
    _write(path, rows, _fnames(rows, paths, path), keywords)
    return Path(path)


def write_master_index(
    path: str | os.PathLike[str], constituents: Iterable[Constituent]
) -> Path:
    """Write a master index: one row per constituent (every issue), the CALINDEX layout, sorted
    by (SCOPE, TYPEID, ISSUE), without OBSVDATE/ANALDATE (keyword ``MASTERIX = T`` instead).

    CATEGORY is a table keyword when all rows share one; otherwise an extra ``CATEGORY`` column
    (16A) keeps each row's, which :func:`read_calindex` reads back.
    """
    rows = sorted(constituents, key=_sort_key)
    seen: set[str] = set()
    for c in rows:
        if c.filename in seen:
            raise InputError(f"{c.filename} appears twice", path=path,
                             hint="a master index holds one row per constituent")
        seen.add(c.filename)
    categories = sorted({c.category for c in rows})
    keywords: list[tuple[str, object, str | None]] = [
        (MASTER_KEYWORD, True, "master index: every issue of every type"),
    ]
    extra = None
    if len(categories) == 1:
        keywords.insert(0, ("CATEGORY", categories[0], None))
    elif categories:
        extra = [c.category for c in rows]
    _write(path, rows, [c.filename for c in rows], keywords, category_column=extra)
    return Path(path)


def _fnames(rows: Sequence[Constituent], paths: Mapping[str, str | os.PathLike[str]] | None,
            target: str | os.PathLike[str]) -> list[str]:
    if paths is None:
        return [c.filename for c in rows]
    by_name: dict[str, str] = {}
    for key, value in paths.items():
        by_name[ConstituentName.parse(Path(key).name).filename] = os.path.abspath(value)
    out = []
    for c in rows:
        full = by_name.get(c.filename)
        if full is None:
            raise InputError(f"no path given for {c.filename}", path=target,
                             hint="fullpath needs the location of every constituent")
        try:
            named = ConstituentName.parse(os.path.basename(full))
        except InputError:
            named = None
        if named != c.name:
            raise InputError(f"path {full} given for {c.filename} names another file",
                             path=target)
        out.append(full)
    return out


def _write(path: str | os.PathLike[str], rows: Sequence[Constituent], fnames: Sequence[str],
           keywords: Sequence[tuple[str, object, str | None]], *,
           category_column: Sequence[str] | None = None) -> None:
    import numpy as np
    from astropy.io import fits

    cells = [_cells(c, f) for c, f in zip(rows, fnames, strict=True)]
    specs = list(COLUMNS)
    if category_column is not None:
        specs.append(("CATEGORY", "16A", None, "Constituent category"))
        cells = [(*row, cat) for row, cat in zip(cells, category_column, strict=True)]
    dtype = [(name, f"S{tform[:-1]}" if tform.endswith("A") else (">i2" if tform == "I" else
              ">i4")) for name, tform, _unit, _comment in specs]
    # The raw rows, built here rather than by astropy: cifbuild pads strings with blanks,
    # astropy with NULs.
    raw = np.zeros(len(rows), dtype=dtype)
    for j, (name, tform, _unit, _comment) in enumerate(specs):
        values = [row[j] for row in cells]
        if tform.endswith("A"):
            width = int(tform[:-1])
            for i, v in enumerate(values):
                if len(str(v)) > width or not str(v).isascii():
                    raise InputError(
                        f"row {rows[i].filename}, column {name}: {v!r} is not ASCII of at "
                        f"most {width} characters", path=path)
            raw[name] = [str(v).ljust(width).encode("ascii") for v in values]
        else:
            limit = 2**15 - 1 if tform == "I" else 2**31 - 1
            for i, v in enumerate(values):
                if not 0 <= int(v) <= limit:  # type: ignore[call-overload]
                    raise InputError(f"row {rows[i].filename}, column {name}: {v} does not "
                                     f"fit the {tform} column", path=path)
            raw[name] = values

    columns = [fits.Column(name=name, format=tform, unit=unit)
               for name, tform, unit, _comment in specs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=fits.verify.VerifyWarning)
        header = fits.BinTableHDU.from_columns(columns, nrows=len(rows), name=EXTNAME).header
    for key, comment in _STRUCTURE_COMMENTS.items():
        header.comments[key] = comment
    for j, (_name, tform, unit, comment) in enumerate(specs, start=1):
        header.comments[f"TTYPE{j}"] = comment
        header.comments[f"TFORM{j}"] = f"data format of field: {_TFORM_COMMENT[tform[-1]]}"
        if unit is not None:
            header.comments[f"TUNIT{j}"] = "physical unit of field"
    header.comments["EXTNAME"] = "The name of this table"
    for key, value, note in keywords:
        header[key] = (value, note)
    body = raw.tobytes()
    body += b"\0" * (-len(body) % BLOCK)

    primary = fits.PrimaryHDU().header
    primary["EXTEND"] = True
    for key, comment in _PRIMARY_COMMENTS.items():
        primary.comments[key] = comment
    primary["CREATOR"] = (f"reprocal {__version__}", "name of code")
    with atomic_file(path) as f:
        # Fixed checksum comments instead of the wall-clock time astropy would write: same bytes.
        f.write(with_checksums(primary, b""))
        f.write(with_checksums(header, body))
        f.write(body)
