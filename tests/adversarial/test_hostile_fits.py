"""Hostile FITS files and ODF summaries, for the commands that read them (``show``, ``audit``,
``index --import-index``, ``cif --odf``, ``audit --uses``).

Headers that announce 10^15 rows or 10^16-byte rows, headers of megabytes without ``END``,
``NAXIS2 = 'abc'``, ``BITPIX = 0``, an ``ISSUE`` of 79.5, gzip bombs, truncations, a FIFO or
``/dev/zero`` as the file; ODF summaries with two ``OBSERVATION`` records. Each is exit 2 with one
line naming the file, read within the limits (set small here) and under the memory limit.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support.hostile import check

from reprocal.core._constituent import Constituent
from reprocal.core._names import ConstituentName
from reprocal.fits._calindex import write_cif
from reprocal.fits._cards import BLOCK, CARD

ROWS = [Constituent(ConstituentName(s, t, i), valdate="2000-01-01", subdate="2001-01-01")
        for s, t, i in (("EPN", "CTI", 45), ("EMOS1", "ADUCONV", 79), ("XMM", "MISCDATA", 22))]
SMALL = ["--limit", "header-size=64KiB", "--limit", "table-size=1MiB",
         "--limit", "unpacked-size=4MiB"]


@pytest.fixture(scope="module")
def cif(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("hostile-cif") / "ccf.cif"
    write_cif(path, ROWS, obs_date="2004-05-09T13:00:16", analysis_date="2018-07-27T17:25:14")
    return path.read_bytes()


def _table_start(data: bytes) -> int:
    return data.index(b"XTENSION= 'BINTABLE'")


def _card(key: str, value: str) -> Callable[[bytes], bytes]:
    """Set ``key`` in the CALINDEX header to the raw value text ``value``."""
    def make(data: bytes) -> bytes:
        start = _table_start(data)
        at = data.index(key.ljust(8).encode() + b"= ", start)
        card = f"{key.ljust(8)}= {value}".ljust(CARD).encode()[:CARD]
        return data[:at] + card + data[at + CARD:]
    return make


def _no_end(blocks: int) -> Callable[[bytes], bytes]:
    """The CALINDEX header's END card blanked and ``blocks`` blocks of comment cards after."""
    def make(data: bytes) -> bytes:
        start = _table_start(data)
        at = data.index(b"END" + b" " * 77, start)
        filler = (b"COMMENT".ljust(CARD)) * (BLOCK // CARD) * blocks
        return data[:at] + b" " * CARD + data[at + CARD:_header_end(data, start)] + filler
    return make


def _header_end(data: bytes, start: int) -> int:
    at = data.index(b"END" + b" " * 77, start)
    return -(-(at + CARD) // BLOCK) * BLOCK


def _float_issue(data: bytes) -> bytes:
    """A CALINDEX whose ISSUE column is a float holding 79.5 (written by astropy)."""
    import io

    import numpy as np
    from astropy.io import fits

    cols = [fits.Column("SCOPE", "6A", array=np.array(["EMOS1"])),
            fits.Column("TYPEID", "32A", array=np.array(["ADUCONV"])),
            fits.Column("ISSUE", "E", array=np.array([79.5], dtype=np.float32)),
            fits.Column("VALDATE", "19A", array=np.array(["2000-01-01T00:00:00"])),
            fits.Column("VALDATE-END", "19A", array=np.array([""])),
            fits.Column("SUBDATE", "19A", array=np.array(["2001-01-01T00:00:00"]))]
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="CALINDEX")]
                 ).writeto(out)
    return out.getvalue()


def _gzip_bomb(data: bytes) -> bytes:
    """A gzip-compressed FITS file whose primary HDU holds 64 MiB of zeros, then the table."""
    primary = b"".join(c.ljust(CARD).encode() for c in (
        "SIMPLE  =                    T", "BITPIX  =                    8",
        "NAXIS   =                    1", f"NAXIS1  = {64 << 20:>20}", "END"))
    primary = primary.ljust(BLOCK, b" ")
    table = data[_table_start(data):]
    return gzip.compress(primary + b"\0" * (64 << 20) + table, compresslevel=1)


PAYLOADS: dict[str, Callable[[bytes], bytes]] = {
    "rows-10e15": _card("NAXIS2", "1000000000000000"),
    "row-bytes-10e16": _card("NAXIS1", "10000000000000000"),
    "rows-not-a-number": _card("NAXIS2", "'abc'"),
    "bitpix-zero": _card("BITPIX", "0"),
    "bitpix-seven": _card("BITPIX", "7"),
    "naxis-negative": _card("NAXIS", "-1"),
    "naxis-1000": _card("NAXIS", "1000"),
    "tfields-text": _card("TFIELDS", "'x'"),
    "tform-lies": _card("TFORM4", "'K'"),
    "header-without-end": _no_end(64),
    "header-without-end-to-eof": _no_end(0),
    "truncated-in-header": lambda d: d[: _table_start(d) + 1000],
    "truncated-in-data": lambda d: d[: _header_end(d, _table_start(d)) + 100],
    "issue-79.5": _float_issue,
    "gzip-bomb": _gzip_bomb,
    "gzip-truncated": lambda d: gzip.compress(d)[:200],
    "not-fits": lambda d: b"hello, this is text\n" * 200,
    "empty": lambda d: b"",
    "only-primary": lambda d: d[: _table_start(d)],
}

COMMANDS = ["show", "audit", "import-index"]


def _argv(command: str, path: Path, box: Path) -> list[str | Path]:
    if command == "show":
        return ["show", path]
    (box / "ccf").mkdir(exist_ok=True)
    if command == "audit":
        return ["audit", path, "--catalog", box / "catalog.sqlite", "--ccf-path", box / "ccf"]
    (box / "ccf" / "XMM_MISCDATA_0001.CCF").write_bytes(b"")
    return ["index", "--ccf-path", box / "ccf", "--catalog", box / "catalog.sqlite",
            "--import-index", path]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_hostile_fits_file_is_one_line_naming_it(runner, box, outside, cif, payload, command):
    path = box / "hostile.cif"
    path.write_bytes(PAYLOADS[payload](cif))
    r = runner(*SMALL, *_argv(command, path, box), cwd=box,
               env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, 2, outside=outside, says=str(path), seconds=10)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "symlink-loop"])
def test_a_fits_input_that_is_not_a_regular_file_is_refused(runner, box, outside, kind, command):
    path = box / "x.cif"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(path)
    r = runner(*_argv(command, path, box), cwd=box, env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, 2, outside=outside, seconds=10)


def test_the_valid_cif_still_shows(runner, box, outside, cif):
    (box / "ccf.cif").write_bytes(cif)
    r = runner(*SMALL, "show", box / "ccf.cif", cwd=box)
    check(r, 0, outside=outside, lines=0, says="ADUCONV               79")


# --- ODF summaries ------------------------------------------------------------------------------

SUMMARY = ("// ODF summary\nOBSERVATION\n0201901401 / Observation Identifier\n"
           "0809 / Revolution Identifier\n2004-05-09T13:00:16.000 / Observation Start Time\n"
           "2004-05-09T20:20:16.000 / Observation End Time\n")

ODF: dict[str, Callable[[Path], Path]] = {
    "two-observation-records": lambda d: _write(d, SUMMARY + SUMMARY.replace("13:00:16", "23:00:16")),
    "observation-then-slew": lambda d: _write(d, SUMMARY + "SLEW\n"),
    "slew": lambda d: _write(d, SUMMARY.replace("OBSERVATION\n", "SLEW\n")),
    "truncated": lambda d: _write(d, SUMMARY[:90]),
    "binary": lambda d: _write(d, bytes(range(256)).decode("latin-1") * 4),
    "bad-date": lambda d: _write(d, SUMMARY.replace("2004-05-09T13", "2004-19-09T13")),
    "huge": lambda d: _write(d, "// padding\n" * 200_000),
    "fifo": lambda d: _special(d, "fifo"),
    "dev-zero": lambda d: Path("/dev/zero"),
    "two-summaries": lambda d: _two(d),
}


def _write(d: Path, text: str) -> Path:
    p = d / "0809_0201901401_SCX00000SUM.SAS"
    p.write_text(text, encoding="latin-1")
    return p


def _special(d: Path, kind: str) -> Path:
    p = d / "0809_0201901401_SCX00000SUM.SAS"
    os.mkfifo(p)
    return p


def _two(d: Path) -> Path:
    _write(d, SUMMARY)
    (d / "0810_0201901401_SCX00000SUM.SAS").write_text(SUMMARY)
    return d


@pytest.mark.parametrize("payload", sorted(ODF))
def test_a_hostile_odf_summary_is_one_line(runner, box, outside, payload):
    odf = ODF[payload](box)
    (box / "ccf").mkdir()
    r = runner("--limit", "document-size=1MiB", "cif", "--odf", odf, "--analysis-date",
               "2018-07-27T17:25:14", "--ccf-path", box / "ccf", "-o", box / "out.cif", cwd=box,
               env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, 2, outside=outside, seconds=10)
    assert not (box / "out.cif").exists()


def test_uses_tree_with_a_fifo_and_a_device_link_is_reported_not_read(runner, box, outside, cif):
    """``audit --uses``: a FIFO in the tree would block a reader for ever; it is reported."""
    (box / "tree").mkdir()
    (box / "tree" / "ccf.cif").write_bytes(cif)
    os.mkfifo(box / "tree" / "pipe.fits")
    (box / "tree" / "zero.fits").symlink_to("/dev/zero")
    r = runner("audit", "--uses", "EMOS1_ADUCONV_0079.CCF", box / "tree", cwd=box)
    check(r, (0, 1), outside=outside, lines=None, says="1 use(s)", seconds=10)
    assert "pipe.fits" in r.stderr + r.stdout and "Traceback" not in r.stderr
