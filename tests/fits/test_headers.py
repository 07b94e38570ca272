"""Primary headers read by the one parser (reprocal.fits._headers)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from astropy.io import fits
from support.constituents import write_constituent

from reprocal.errors import FitsFormatError
from reprocal.fits._headers import read_constituent, read_primary_header

NAME = "EPN_CTI_0001.CCF"


def test_reads_what_astropy_reads(tmp_path: Path) -> None:
    """Every keyword of the primary header, as text; the constituent they make."""
    path = write_constituent(tmp_path, NAME, valdate="2003-04-05T06:07:08")
    header = read_primary_header(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fits.getheader(path)
    assert header["ISSUE"] == "1" and header["SIMPLE"] == "T"
    assert {k: str(v) for k, v in theirs.items() if isinstance(v, str)} == {
        k: v for k, v in header.items() if isinstance(theirs[k], str)}
    c = read_constituent(path)
    assert (c.filename, c.valdate.text, c.fsize) == (NAME, "2003-04-05T06:07:08",
                                                     path.stat().st_size)


def _mutate(raw: bytes, kind: str) -> bytes:
    if kind == "text":
        return b"<html>Not Found</html>"
    if kind == "cut":
        return raw[:1000]
    if kind == "no-end":
        return raw[:2880].replace(b"END" + b" " * 77, b"XND" + b" " * 77) + raw[2880:]
    return raw.replace(b"SIMPLE  =                    T", b"SIMPLE  =                    F", 1)


@pytest.mark.parametrize(("kind", "message"), [
    ("text", "not a FITS file (no SIMPLE card)"),
    ("cut", "truncated: the file ends inside the primary header"),
    ("no-end", "the primary header has no END card"),
    ("simple-f", "not a standard FITS file (SIMPLE = F)"),
])
def test_not_a_primary_header(tmp_path: Path, kind: str, message: str) -> None:
    """Each way a file fails to start with a FITS primary header is one line naming it."""
    good = write_constituent(tmp_path, NAME)
    bad = tmp_path / "bad.fits"
    bad.write_bytes(_mutate(good.read_bytes(), kind))
    with pytest.raises(FitsFormatError) as info:
        read_primary_header(bad)
    assert info.value.one_line() == f"{bad}: {message}"


def test_missing_file(tmp_path: Path) -> None:
    """A file that cannot be opened says so."""
    with pytest.raises(FitsFormatError, match=r"gone\.fits: cannot read: No such file"):
        read_primary_header(tmp_path / "gone.fits")


def _bare(tmp_path: Path, cards: dict[str, object], name: str = NAME) -> Path:
    """A one-HDU FITS file with exactly ``cards`` in its primary header."""
    h = fits.Header()
    for k, v in cards.items():
        h[k] = v
    path = tmp_path / name
    fits.PrimaryHDU(header=h).writeto(path, overwrite=True)
    return path


def test_md5_keyword_is_kept_verbatim(tmp_path: Path) -> None:
    """The MD5 keyword becomes the constituent's CALINDEX MD5; a header without it gives ''
    (nothing is computed in its place)."""
    with_md5 = _bare(tmp_path, {"VALDATE": "2000-01-01T00:00:00",
                                "MD5": "95935089382338c0ce336cda1c31437f"})
    assert read_constituent(with_md5).md5 == "95935089382338c0ce336cda1c31437f"
    without = _bare(tmp_path, {"VALDATE": "2000-01-01T00:00:00"}, "EPN_CTI_0002.CCF")
    assert read_constituent(without).md5 == ""


def test_md5_the_column_cannot_hold_is_not_kept(tmp_path: Path) -> None:
    """A value longer than the 32-character column is not truncated into something else."""
    path = _bare(tmp_path, {"VALDATE": "2000-01-01T00:00:00", "MD5": "x" * 40})
    assert read_constituent(path).md5 == ""


def test_a_header_with_only_valdate_is_a_constituent(tmp_path: Path) -> None:
    """Every keyword the synthetic headers carry but VALDATE may be absent: scope, type and issue
    come from the name, SUBDATE from VALDATE, the rest take the CALINDEX defaults."""
    c = read_constituent(_bare(tmp_path, {"VALDATE": "2003-04-05T06:07:08"}))
    assert (c.scope, c.typeid, c.issue) == ("EPN", "CTI", 1)
    assert (c.valdate.text, c.subdate.text, c.evaldate, c.date) == (
        "2003-04-05T06:07:08", "2003-04-05T06:07:08", None, None)
    assert (c.category, c.telescop, c.creator, c.extsequ, c.extseqid, c.md5) == (
        "XMMCCF", "XMM", "", "ANY", "", "")
