"""Constituents: the calibration attributes of one CCF file (a CALINDEX row, in parsed types).

A :class:`Constituent` carries exactly what a CALINDEX row holds (and so what the selection rule
and the CIF writer need). It is built from primary-header keywords (:func:`from_header`, fed by
:mod:`reprocal.fits` during a repository scan), a CALINDEX row (a CIF, an event list, a master
index) or a manifest entry. Pure: nothing here opens a file.

``SCOPE``/``TYPEID``/``ISSUE`` come from the header when present, else from the file name; where
both exist and disagree the file is reported, not guessed.
"""

from __future__ import annotations

import os

import attrs

from reprocal.core._dates import CalDate, parse_optional
from reprocal.core._names import ConstituentName
from reprocal.errors import FitsFormatError, InputError

DEFAULT_CATEGORY = "XMMCCF"


def _opt_date(value: CalDate | str | None) -> CalDate | None:
    if value is None or isinstance(value, CalDate):
        return value
    return parse_optional(value)


def _date(value: CalDate | str) -> CalDate:
    return CalDate.parse(value)


@attrs.frozen(order=False, cache_hash=True)
class Constituent:
    """One calibration file's indexing attributes (a CALINDEX row, in parsed types)."""

    name: ConstituentName
    """Scope, type and issue."""
    valdate: CalDate = attrs.field(converter=_date)
    """Start of validity (inclusive)."""
    evaldate: CalDate | None = attrs.field(converter=_opt_date, default=None)
    """End of validity (inclusive); ``None`` means no end."""
    subdate: CalDate = attrs.field(converter=_date, default=CalDate("1998-01-01T00:00:00"))
    """Submission (publication) date, compared with the analysis date."""
    date: CalDate | None = attrs.field(converter=_opt_date, default=None)
    """Creation date of the file."""
    category: str = DEFAULT_CATEGORY
    """``XMMCCF`` for real constituents, ``SCISIMCCF`` for simulator ones."""
    telescop: str = "XMM"
    creator: str = ""
    extsequ: str = "ANY"
    extseqid: str = ""
    """Space-separated EXTNAMEs of the extensions."""
    md5: str = ""
    """The CALINDEX ``MD5`` column, kept verbatim (its meaning is unverified): from the
    constituent's ``MD5`` header keyword when it carries one, from a master index or CALINDEX
    row; ``""`` when unknown, never computed by reprocal."""
    fsize: int | None = None
    """Size in bytes, when known."""

    @property
    def scope(self) -> str:
        return self.name.scope

    @property
    def typeid(self) -> str:
        return self.name.typeid

    @property
    def issue(self) -> int:
        return self.name.issue

    @property
    def key(self) -> tuple[str, str]:
        return self.name.key

    @property
    def filename(self) -> str:
        return self.name.filename


def from_header(
    header: dict[str, object], filename: str, *, path: str | os.PathLike[str] | None = None,
    fsize: int | None = None,
) -> Constituent:
    """Build a constituent from primary-header keywords and its file name.

    The name gives scope/type/issue when the header lacks them; a disagreement is an error.
    """
    where = path if path is not None else filename
    try:
        from_name = ConstituentName.parse(filename)
    except InputError as exc:
        raise FitsFormatError(exc.message, path=where) from None
    scope = header.get("SCOPE", from_name.scope)
    typeid = header.get("TYPEID", from_name.typeid)
    issue = header.get("ISSUE", from_name.issue)
    if (scope == from_name.scope and typeid == from_name.typeid
            and (issue == from_name.issue or isinstance(issue, str) and issue.isascii() and issue.isdigit()
                 and int(issue) == from_name.issue)):
        name = from_name  # the header spells the name's own values: nothing to convert
    else:
        try:
            name = ConstituentName(str(scope), str(typeid), int(issue))  # type: ignore[call-overload]
        except (InputError, ValueError, TypeError) as exc:
            raise FitsFormatError(f"bad SCOPE/TYPEID/ISSUE keywords: {exc}", path=where) from None
    if name != from_name:
        raise FitsFormatError(
            f"header says {name.filename} but the file is named {filename}",
            path=where,
            hint="rename the file or fix its header; reprocal will not guess",
        )
    if "VALDATE" not in header:
        raise FitsFormatError("missing VALDATE keyword: not a CCF constituent", path=where)
    try:
        return Constituent(
            name=name,
            valdate=CalDate.parse(str(header["VALDATE"]), field="VALDATE"),
            evaldate=parse_optional(_str(header.get("EVALDATE")), field="EVALDATE"),
            subdate=CalDate.parse(str(header.get("SUBDATE", header["VALDATE"])), field="SUBDATE"),
            date=parse_optional(_str(header.get("DATE")), field="DATE"),
            category=_str(header.get("CATEGORY")) or DEFAULT_CATEGORY,
            telescop=_str(header.get("TELESCOP")) or "XMM",
            creator=_str(header.get("CREATOR")),
            extsequ=_str(header.get("EXTSEQU")) or "ANY",
            extseqid=_str(header.get("EXTSEQID")),
            md5=md5_keyword(header.get("MD5")),
            fsize=fsize,
        )
    except InputError as exc:
        raise FitsFormatError(exc.message, path=where) from None


COMPARED = ("valdate", "evaldate", "subdate", "category", "fsize", "md5")
"""The attributes that tell two descriptions of one constituent name apart: the selection
attributes, the size and the MD5 column."""


def differences(a: Constituent, b: Constituent) -> list[tuple[str, object, object]]:
    """``(FIELD, a's value, b's value)`` for each of :data:`COMPARED` that differs between two
    descriptions of a constituent (say, a product's row and a catalogue's copy). A size or an
    MD5 one side does not know (``None``, ``""``) is not a difference; an open end of validity
    (``evaldate`` ``None``) is a value.

    >>> from reprocal.core._names import ConstituentName as N
    >>> a = Constituent(N("EPN", "CTI", 5), valdate="2000-01-01", fsize=2880, md5="ab")
    >>> differences(a, attrs.evolve(a, fsize=None, md5=""))
    []
    >>> differences(a, attrs.evolve(a, fsize=5760, evaldate="2010-01-01"))
    [('EVALDATE', None, CalDate('2010-01-01T00:00:00')), ('FSIZE', 2880, 5760)]
    """
    out = []
    for f in COMPARED:
        va, vb = getattr(a, f), getattr(b, f)
        if f in ("fsize", "md5") and (va in (None, "") or vb in (None, "")):
            continue
        if va != vb:
            out.append((f.upper(), va, vb))
    return out


MD5_WIDTH = 32
"""The width of the CALINDEX ``MD5`` column (``32A``)."""


def md5_keyword(value: object) -> str:
    """The ``MD5`` header keyword as the CALINDEX column keeps it: the text, stripped, when it
    fits the column (printable ASCII, at most 32 characters); ``""`` when the header lacks it or
    holds something the column cannot (it is not ours to repair or invent).

    >>> md5_keyword("95935089382338c0ce336cda1c31437f"), md5_keyword(None), md5_keyword("x" * 40)
    ('95935089382338c0ce336cda1c31437f', '', '')
    """
    text = _str(value)
    if len(text) > MD5_WIDTH or not all(" " <= ch <= "~" for ch in text):
        return ""
    return text


def _str(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()
