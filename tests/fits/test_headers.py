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
