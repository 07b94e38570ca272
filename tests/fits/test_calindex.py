"""CALINDEX tables: reading real SAS files, writing CIFs as cifbuild does, master indexes, digests,
and exact errors for bad inputs."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import warnings
from pathlib import Path

import attrs
import pytest
from astropy.io import fits
from hypothesis import given
from hypothesis import strategies as st

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName as N
from reprocal.core._select import Rule
from reprocal.errors import FitsFormatError, InputError
from reprocal.fits._calindex import (
    COLUMNS,
    read_calindex,
    rows_digest,
    write_cif,
    write_master_index,
)

# --- real samples -----------------------------------------------------------------------------

REAL_TABLES = [  # (file, OBSVDATE, ANALDATE) from the samples README
    ("0201901401/ccf.cif", "2004-05-09T13:00:16", "2018-07-27T17:25:14"),
    ("0201903501/ccf.cif", "2004-06-17T10:38:28", "2018-07-27T17:50:42"),
    ("0404910601/ccf.cif", "2006-05-27T09:57:27", "2018-07-27T18:24:32"),
    ("0201901401/mos1_exp1_clean_evts.fits", "2004-05-09T12:33:40", "2015-01-26T11:36:21"),
    ("0201903501/calindex_from_mos1_exp1_clean_evts.fits", "2004-06-17T10:20:58",
     "2014-05-08T13:54:01"),
    ("0404910601/calindex_from_mos1_exp1_clean_evts.fits", "2006-05-27T09:39:57",
     "2014-05-08T13:54:47"),
]
REAL_CIFS = [t for t in REAL_TABLES if t[0].endswith("ccf.cif")]
EVENT_LIST = "0201901401/mos1_exp1_clean_evts.fits"


def _header(path: Path, ext: int = 1) -> fits.Header:
    with open(path, "rb") as f, fits.open(f) as hdul:
        return hdul[ext].header.copy()


def _data(path: Path) -> list[tuple[object, ...]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open(path, "rb") as f, fits.open(f) as hdul:
            return [tuple(v.rstrip() if isinstance(v, str) else v for v in row)
                    for row in hdul["CALINDEX"].data.tolist()]


@pytest.mark.parametrize(("name", "obs", "an"), REAL_TABLES)
def test_real_tables_read(samples: Path, name: str, obs: str, an: str) -> None:
    """Every real table (CIF, event list, derived copies) reads 118 rows and its dates."""
    t = read_calindex(samples / name)
    assert len(t.rows) == len(t.fnames) == 118
    assert (t.obs_date, t.analysis_date) == (CalDate(obs), CalDate(an))
    assert t.category == "XMMCCF" and t.path == str(samples / name)
    assert not t.is_master_index
    assert all(f.startswith("/") and f.endswith("/" + c.filename)
               for c, f in zip(t.rows, t.fnames, strict=True))
    assert len(t.by_key()) == 118


@pytest.mark.parametrize(("name", "obs", "an"), REAL_TABLES)
def test_real_rows_satisfy_the_rule(samples: Path, name: str, obs: str, an: str) -> None:
    """Every row of every real table is eligible under its own OBSVDATE/ANALDATE."""
    t = read_calindex(samples / name)
    rule = Rule(CalDate(obs), CalDate(an))
    assert [(c.filename, rule.why_not(c)) for c in t.rows if rule.why_not(c) is not None] == []


def test_real_first_row_parsed(samples: Path) -> None:
    """Cells become parsed fields: dates, open end, size, md5 verbatim."""
    t = read_calindex(samples / "0201901401/ccf.cif")
    first, second = t.rows[0], t.rows[1]
    assert first == Constituent(
        N("EMOS1", "ADUCONV", 79), valdate="2003-11-09T18:00:01",
        evaldate="2005-01-21T18:00:00", subdate="2012-02-17T06:00:02",
        date="2012-02-16T13:00:08", category="XMMCCF", telescop="XMM",
        creator="/home/ccflib/sas/lib/perl5/deceit.pl 1.22", extsequ="ANY",
        extseqid="ADUCOEFF OFFSET_GAIN ENERGY_COMBINE",
        md5="95935089382338c0ce336cda1c31437f", fsize=25920,
    )
    assert second.filename == "EMOS1_BACKGROUND_0001.CCF" and second.evaldate is None


@pytest.mark.parametrize(("name", "obs", "an"), REAL_CIFS)
def test_written_cif_matches_real_column_for_column(
    samples: Path, tmp_path: Path, name: str, obs: str, an: str
) -> None:
    """write_cif of a real CIF's rows reproduces its table: TTYPE/TFORM/TUNIT and their
    comments, EXTNAME, keywords, and every cell (FNAME as the base name)."""
    real = samples / name
    t = read_calindex(real)
    shuffled = list(t.rows)
    random.Random(1).shuffle(shuffled)
    out = write_cif(tmp_path / "ccf.cif", shuffled, obs_date=obs, analysis_date=an)
    mine, theirs = _header(out), _header(real)
    for key in ("XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT",
                "TFIELDS", "EXTNAME", "CATEGORY", "OBSVDATE", "ANALDATE"):
        assert (key, mine[key], mine.comments[key]) == (key, theirs[key], theirs.comments[key])
    for j in range(1, 15):
        for key in (f"TTYPE{j}", f"TFORM{j}", f"TUNIT{j}"):
            assert (key in mine) == (key in theirs)
            if key in theirs:
                assert (mine[key], mine.comments[key]) == (theirs[key], theirs.comments[key])
    # Same cards in the same order; ours adds CHECKSUM/DATASUM.
    assert [k for k in mine if k not in ("CHECKSUM", "DATASUM")] == list(theirs)
    expected = [row[:6] + (os.path.basename(str(row[6])),) + row[7:] for row in _data(real)]
    assert _data(out) == expected


@pytest.mark.parametrize(("name", "obs", "an"), REAL_CIFS)
def test_fullpath_cif_has_the_real_data_bytes(
    samples: Path, tmp_path: Path, name: str, obs: str, an: str
) -> None:
    """With the real paths (fullpath), the table data is byte-identical to cifbuild's, padding
    included."""
    real = samples / name
    t = read_calindex(real)
    paths = {c.filename: f for c, f in zip(t.rows, t.fnames, strict=True)}
    out = write_cif(tmp_path / "ccf.cif", t.rows, obs_date=obs, analysis_date=an, paths=paths)
    assert read_calindex(out).fnames == t.fnames
    size = 2880 * 3  # primary header, two blocks of table header
    assert out.read_bytes()[size:] == real.read_bytes()[size:]
    assert out.stat().st_size == real.stat().st_size


def test_real_digest_ignores_paths_and_layout(samples: Path, tmp_path: Path) -> None:
    """The digest of a real CIF equals that of its rewrite; the event-list table of another
    analysis date (10 constituents differ) has another digest."""
    t = read_calindex(samples / "0201903501/ccf.cif")
    out = write_cif(tmp_path / "c.cif", t.rows, obs_date="2000-01-01", analysis_date="2001-01-01")
    assert rows_digest(read_calindex(out).rows) == rows_digest(t.rows)
    evt = read_calindex(samples / "0201903501/calindex_from_mos1_exp1_clean_evts.fits")
    assert len(set(t.rows) - set(evt.rows)) == 10
    assert rows_digest(evt.rows) != rows_digest(t.rows)


def test_real_cif_gzip_copy_reads(samples: Path, tmp_path: Path) -> None:
    """A gzip-compressed copy (a PPS *CALIND*.FTZ product) reads like the original."""
    ftz = tmp_path / "P0201901401OBX000CALIND0000.FTZ"
    ftz.write_bytes(gzip.compress((samples / EVENT_LIST).read_bytes(), compresslevel=1))
    assert read_calindex(ftz).rows == read_calindex(samples / EVENT_LIST).rows


_EV_CUTS = [  # (bytes kept, message); offsets of the real event list's HDUs
    (5000, "truncated: the file ends inside the header of HDU #0"),
    (100_000, "truncated: the file ends inside the data of HDU #1 (EVENTS)"),
    (1_316_160 + 100, "truncated: the file ends inside the header of HDU #24"),
    (1_321_920 + 500, "truncated: the file ends inside the data of HDU #24 (500 of 90152 bytes)"),
    (1_316_160, "no CALINDEX extension (HDUs: PRIMARY, EVENTS, OFFSETS, EXPOSU01, BADPIX01, "
     "EXPOSU02, BADPIX02, EXPOSU03, ... (24 HDUs))"),
]


@pytest.mark.parametrize(("keep", "message"), _EV_CUTS)
def test_real_event_list_cut_short(samples: Path, tmp_path: Path, keep: int, message: str) -> None:
    """An event list cut anywhere before the end of its CALINDEX data says where it ends (a cut
    exactly between two HDUs can only read as a file without CALINDEX)."""
    cut = tmp_path / "evts.fits"
    cut.write_bytes((samples / EVENT_LIST).read_bytes()[:keep])
    with pytest.raises(FitsFormatError) as info:
        read_calindex(cut)
    assert info.value.message == message


def test_real_event_list_without_final_padding_reads(samples: Path, tmp_path: Path) -> None:
    """A file that ends right after the CALINDEX data (padding missing) still reads."""
    cut = tmp_path / "evts.fits"
    cut.write_bytes((samples / EVENT_LIST).read_bytes()[:1_321_920 + 90_152])
    assert len(read_calindex(cut).rows) == 118


# --- small tables built here ------------------------------------------------------------------


def _rows() -> list[Constituent]:
    return [
        Constituent(N("XMM", "MISCDATA", 22), valdate="1998-01-01", subdate="2005-01-01",
                    md5="00ff", extseqid="A B"),
        Constituent(N("EPN", "CTI", 5), valdate="2000-01-01T00:00:00",
                    evaldate="2004-05-29T04:41:12", subdate="2004-06-01T00:00:00",
                    date="2004-05-30T10:00:00", fsize=28800, creator="deceit",
                    md5="0123456789abcdef0123456789abcdef", extseqid="CTI_EXTRA"),
        Constituent(N("EMOS1", "ADUCONV", 79), valdate="2003-11-09T18:00:01",
                    subdate="2012-02-17T06:00:02", fsize=25920),
    ]


def _write(tmp_path: Path, name: str = "ccf.cif", **kw: object) -> Path:
    args: dict[str, object] = dict(obs_date="2004-05-09T13:00:16",
                                   analysis_date="2018-07-27T17:25:14")
    args.update(kw)
    return write_cif(tmp_path / name, _rows(), **args)  # type: ignore[arg-type]


def test_round_trip(tmp_path: Path) -> None:
    """Rows read back equal the rows written, sorted by SCOPE then TYPEID; FNAME is the base
    name; the keywords come back parsed."""
    t = read_calindex(_write(tmp_path))
    assert t.rows == tuple(sorted(_rows(), key=lambda c: (c.scope, c.typeid)))
    assert [c.scope for c in t.rows] == ["EMOS1", "EPN", "XMM"]
    assert t.fnames == tuple(c.filename for c in t.rows)
    assert (t.category, t.obs_date, t.analysis_date) == (
        "XMMCCF", CalDate("2004-05-09T13:00:16"), CalDate("2018-07-27T17:25:14"))


def test_same_selection_same_bytes(tmp_path: Path) -> None:
    """Writing the same selection twice, in any order, gives identical bytes (no wall clock)."""
    a = _write(tmp_path, "a.cif")
    b = write_cif(tmp_path / "b.cif", list(reversed(_rows())), obs_date="2004-05-09T13:00:16",
                  analysis_date=CalDate("2018-07-27T17:25:14"))
    assert a.read_bytes() == b.read_bytes()
    primary = _header(a, 0)
    assert primary["CREATOR"].startswith("reprocal ") and "DATE" not in primary


def test_checksums_verify(tmp_path: Path) -> None:
    """CHECKSUM/DATASUM are written and valid (astropy warns on a mismatch; warnings are
    errors)."""
    path = _write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open(path, "rb") as f, fits.open(f, checksum=True) as hdul:
            assert all("CHECKSUM" in h.header and "DATASUM" in h.header for h in hdul)
            assert len(hdul[1].data) == 3


@pytest.mark.parametrize("kind", ["cif", "master"])
def test_checksums_are_the_ones_astropy_writes(tmp_path: Path, kind: str) -> None:
    """The bytes are those astropy gives when it sums the same HDUs itself (with the same
    fixed comments): the checksum engine writes what the reference writes, nothing else."""
    path = _write(tmp_path) if kind == "cif" else write_master_index(tmp_path / "m.fits", _rows())
    raw = path.read_bytes()
    with fits.open(io.BytesIO(raw)) as hdul:
        for hdu in hdul:
            for key in ("CHECKSUM", "DATASUM"):
                del hdu.header[key]
            hdu.add_datasum(when="data unit checksum")
            hdu.add_checksum(when="HDU checksum", override_datasum=True)
        out = io.BytesIO()
        hdul.writeto(out, checksum=False)
    assert out.getvalue() == raw


def test_layout(tmp_path: Path) -> None:
    """Empty primary, one CALINDEX table with the 14 columns, units and comments of cifbuild."""
    path = _write(tmp_path)
    with open(path, "rb") as f, fits.open(f) as hdul:
        assert len(hdul) == 2 and hdul[0].data is None
        h = hdul[1].header
    assert (h["EXTNAME"], h.comments["EXTNAME"]) == ("CALINDEX", "The name of this table")
    got = [(h[f"TTYPE{j}"], h[f"TFORM{j}"], h.get(f"TUNIT{j}"), h.comments[f"TTYPE{j}"])
           for j in range(1, 15)]
    assert got == list(COLUMNS)
    assert "TTYPE15" not in h and "MASTERIX" not in h


def test_fullpath(tmp_path: Path) -> None:
    """With paths, FNAME holds absolute paths; the rows are unchanged."""
    paths = {c.filename: Path("repo") / c.filename for c in _rows()}
    t = read_calindex(_write(tmp_path, paths=paths))
    assert t.fnames == tuple(os.path.abspath(Path("repo") / c.filename) for c in t.rows)
    assert rows_digest(t.rows) == rows_digest(_rows())


@pytest.mark.parametrize(("kw", "message"), [
    ({"paths": {}}, "{target}: no path given for EMOS1_ADUCONV_0079.CCF; "
     "fullpath needs the location of every constituent"),
    ({"paths": {c.filename: f"/r/{c.filename}" for c in _rows()}
      | {"EPN_CTI_0005.CCF": "/r/EPN_CTI_0006.CCF"}},
     "{target}: path /r/EPN_CTI_0006.CCF given for EPN_CTI_0005.CCF names another file"),
    ({"obs_date": "now"}, "OBSVDATE: 'now' is not allowed here; pin a literal date"),
    ({"analysis_date": "2018-07-32"}, "ANALDATE: '2018-07-32' has day 32; 2018-07 has 31 days"),
])
def test_write_refuses(tmp_path: Path, kw: dict[str, object], message: str) -> None:
    """Bad write arguments raise one clear line and leave no file."""
    with pytest.raises(InputError) as info:
        _write(tmp_path, **kw)
    assert str(info.value) == message.replace("{target}", str(tmp_path / "ccf.cif"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("extra", "message"), [
    (Constituent(N("EPN", "CTI", 6), valdate="2000-01-01"),
     "two issues of EPN CTI (5 and 6) for one CIF; a CIF holds one issue per calibration type"),
    (Constituent(N("OM", "BADPIX", 1), valdate="2000-01-01", creator="x" * 65),
     f"row OM_BADPIX_0001.CCF, column CREATOR: {'x' * 65!r} is not ASCII of at most 64 "
     "characters"),
    (Constituent(N("OM", "BADPIX", 1), valdate="2000-01-01", md5="é"),
     "row OM_BADPIX_0001.CCF, column MD5: 'é' is not ASCII of at most 32 characters"),
    (Constituent(N("OM", "BADPIX", 1), valdate="2000-01-01", fsize=2**31),
     "row OM_BADPIX_0001.CCF, column FSIZE: 2147483648 does not fit the J column"),
])
def test_failed_write_keeps_the_old_file(tmp_path: Path, extra: Constituent, message: str) -> None:
    """A write that fails leaves the previous file untouched and no temporary file behind."""
    target = _write(tmp_path)
    before = target.read_bytes()
    with pytest.raises(InputError) as info:
        write_cif(target, [*_rows(), extra], obs_date="2004-01-01", analysis_date="2005-01-01")
    assert str(info.value) == f"{target}: {message}"
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccf.cif"]


@pytest.mark.parametrize(("target", "message"), [
    ("no/such/dir/ccf.cif", "cannot write: No such file or directory"),
    ("is-a-dir", "cannot write: Is a directory"),
])
def test_unwritable_target(tmp_path: Path, target: str, message: str) -> None:
    """An unwritable target is one clear line, and leaves no temporary file."""
    (tmp_path / "is-a-dir").mkdir()
    with pytest.raises(InputError) as info:
        write_cif(tmp_path / target, _rows(), obs_date="2004-01-01", analysis_date="2005-01-01")
    assert str(info.value) == f"{tmp_path / target}: {message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is-a-dir"]
    assert list((tmp_path / "is-a-dir").iterdir()) == []


@pytest.mark.parametrize("name", ["ccf.cif.gz", "PCALIND0000.FTZ", "plain-name"])
def test_gzip_compressed_reads(tmp_path: Path, name: str) -> None:
    """Gzip-compressed tables read whatever their name (recognised by magic bytes)."""
    plain = _write(tmp_path)
    packed = tmp_path / name
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_calindex(packed) == attrs.evolve(read_calindex(plain), path=str(packed))


def test_truncated_gzip(tmp_path: Path) -> None:
    """A gzip stream cut short is reported as truncated, not as a missing extension."""
    packed = tmp_path / "c.FTZ"
    packed.write_bytes(gzip.compress(_write(tmp_path).read_bytes())[:300])
    with pytest.raises(FitsFormatError) as info:
        read_calindex(packed)
    assert str(info.value) == (f"{packed}: truncated: the compressed stream ends early; "
                               "the file is incomplete; copy or download it again")


def test_master_index_round_trip(tmp_path: Path) -> None:
    """A master index holds every issue, sorted by scope, typeid, issue, without OBSVDATE and
    ANALDATE; read back it equals the input; by_key picks the highest issue."""
    rows = [*_rows(), Constituent(N("EPN", "CTI", 4), valdate="1999-01-01",
                                  evaldate="1999-12-31T23:59:59", subdate="1999-01-01")]
    path = write_master_index(tmp_path / "XMM_CALINDEX_0001.CCF", rows)
    t = read_calindex(path)
    assert [c.filename for c in t.rows] == [
        "EMOS1_ADUCONV_0079.CCF", "EPN_CTI_0004.CCF", "EPN_CTI_0005.CCF", "XMM_MISCDATA_0022.CCF"]
    assert set(t.rows) == set(rows)
    assert t.is_master_index and (t.obs_date, t.analysis_date, t.category) == (
        None, None, "XMMCCF")
    assert t.by_key()[("EPN", "CTI")].issue == 5
    h = _header(path)
    assert h["MASTERIX"] is True and "OBSVDATE" not in h and "ANALDATE" not in h
    assert [h[f"TTYPE{j}"] for j in range(1, 15)] == [c[0] for c in COLUMNS]


def test_master_index_keeps_mixed_categories(tmp_path: Path) -> None:
    """Rows of several categories keep theirs (an extra CATEGORY column, no keyword)."""
    sim = Constituent(N("EPN", "CTI", 7), valdate="2000-01-01", category="SCISIMCCF")
    path = write_master_index(tmp_path / "m.ccf", [*_rows(), sim])
    t = read_calindex(path)
    assert t.category is None and set(t.rows) == {*_rows(), sim}
    assert _header(path)["TTYPE15"] == "CATEGORY"


def test_master_index_refuses_duplicates(tmp_path: Path) -> None:
    """The same constituent twice is refused."""
    with pytest.raises(InputError, match="EPN_CTI_0005.CCF appears twice"):
        write_master_index(tmp_path / "m.ccf", [*_rows(), _rows()[1]])


def _table(path: Path, columns: dict[str, tuple[str, list[object]]], *,
           keywords: dict[str, str] | None = None, before: int = 0, after: int = 0,
           extname: str = "CALINDEX") -> Path:
    """A FITS file with a table built by astropy (other HDUs around it, like an event list)."""
    cols = [fits.Column(name=n, format=f, array=v,
                        unit="yyyy:dd:mmZhh:mm:ss" if "DATE" in n else None)
            for n, (f, v) in columns.items()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = fits.BinTableHDU.from_columns(cols, name=extname)
    for k, v in (keywords or {}).items():
        table.header[k] = v
    other = [fits.BinTableHDU.from_columns([fits.Column("TIME", "D", array=[1.0, 2.0])],
                                           name=f"GTI{i}") for i in range(before + after)]
    fits.HDUList([fits.PrimaryHDU(), *other[:before], table, *other[before:]]).writeto(path)
    return path


def _cols(**override: tuple[str, list[object]] | None) -> dict[str, tuple[str, list[object]]]:
    cols: dict[str, tuple[str, list[object]] | None] = {
        "EXTRA": ("E", [1.5, 2.5]),
        "ISSUE": ("I", [5, 22]),
        "SCOPE": ("6A", ["EPN", "XMM"]),
        "TYPEID": ("32A", ["CTI", "MISCDATA"]),
        "FNAME": ("256A", ["/data/ccf/EPN_CTI_0005.CCF", "xmm_miscdata_0022.ccf"]),
        "VALDATE": ("19A", ["2000-01-01T00:00:00", "1998-01-01"]),
        "VALDATE-END": ("19A", ["", "2010-01-01T00:00:00"]),
        "SUBDATE": ("19A", ["2001-01-01T00:00:00", "1998-01-01T00:00:00"]),
    }
    cols.update(override)
    return {k: v for k, v in cols.items() if v is not None}


def test_columns_by_name_extra_and_missing_optional(tmp_path: Path) -> None:
    """Columns are found by name in any order, extra columns are ignored, absent optional ones
    default; the table is found by EXTNAME among other HDUs; no UnitsWarning escapes."""
    path = _table(tmp_path / "evts.fits", _cols(), keywords={"OBSVDATE": "2004-05-09T13:00:16"},
                  before=3, after=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = read_calindex(path)
    assert t.fnames == ("/data/ccf/EPN_CTI_0005.CCF", "xmm_miscdata_0022.ccf")
    assert t.rows == (
        Constituent(N("EPN", "CTI", 5), valdate="2000-01-01", subdate="2001-01-01"),
        Constituent(N("XMM", "MISCDATA", 22), valdate="1998-01-01", evaldate="2010-01-01",
                    subdate="1998-01-01"),
    )
    assert (t.category, t.obs_date, t.analysis_date) == (None, CalDate("2004-05-09T13:00:16"),
                                                         None)


_BAD_TABLES = [  # (columns override, keywords, message)
    ({"ISSUE": None}, {}, "CALINDEX table lacks the required column ISSUE; columns present: "
     "EXTRA, SCOPE, TYPEID, FNAME, VALDATE, VALDATE-END, SUBDATE"),
    ({"VALDATE": ("19A", ["2000-01-01T00:00:00", "1998-13-01"])}, {},
     "CALINDEX row 2, column VALDATE: '1998-13-01' has month 13; expected 01..12"),
    ({"SUBDATE": ("19A", ["", "1998-01-01"])}, {},
     "CALINDEX row 1, column SUBDATE: '' is not a date; expected YYYY-MM-DD or "
     "YYYY-MM-DDThh:mm:ss"),
    ({"VALDATE-END": ("19A", ["soon", ""])}, {},
     "CALINDEX row 1, column VALDATE-END: 'soon' is not a date; expected YYYY-MM-DD or "
     "YYYY-MM-DDThh:mm:ss"),
    ({"FNAME": ("256A", ["/data/EPN_CTI_0006.CCF", ""])}, {},
     "CALINDEX row 1: FNAME '/data/EPN_CTI_0006.CCF' does not name EPN_CTI_0005.CCF (its "
     "SCOPE/TYPEID/ISSUE); the table is inconsistent; reprocal will not guess which is right"),
    ({"SCOPE": ("6A", ["EPN", "MARS"])}, {},
     "CALINDEX row 2: bad SCOPE/TYPEID/ISSUE: unknown calibration scope 'MARS'; expected one "
     "of XMM, OM, XRT1, XRT2, XRT3, EMOS1, EMOS2, EPN, RGS1, RGS2, ERM"),
    ({"FSIZE": ("J", [-1, 0])}, {}, "CALINDEX row 1, column FSIZE: -1 is negative"),
    ({}, {"ANALDATE": "2018-02-30T00:00:00"},
     "CALINDEX keyword ANALDATE: '2018-02-30T00:00:00' has day 30; 2018-02 has 28 days"),
]


@pytest.mark.parametrize(("override", "keywords", "message"), _BAD_TABLES)
def test_bad_tables(tmp_path: Path, override: dict[str, tuple[str, list[object]] | None],
                    keywords: dict[str, str], message: str) -> None:
    """A bad cell, column or keyword names the row and column."""
    path = _table(tmp_path / "t.fits", _cols(**override), keywords=keywords)
    with pytest.raises(FitsFormatError) as info:
        read_calindex(path)
    assert str(info.value) == f"{path}: {message}"


def _bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.fits"
    if kind == "text":
        path.write_text("OBSVDATE=2004-05-09\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(_write(tmp_path).read_bytes()[:2880 * 3 + 100])
    elif kind == "header-cut":
        path.write_bytes(_write(tmp_path).read_bytes()[:2880 + 1000])
    elif kind == "no-calindex":
        _table(path, _cols(), extname="EVENTS", after=1)
    elif kind == "image":
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(name="CALINDEX")]).writeto(path)
    elif kind == "no-end":  # the primary header's END card damaged: the table's header follows
        raw = _write(tmp_path).read_bytes()
        path.write_bytes(raw[:2880].replace(b"END" + b" " * 77, b"XND" + b" " * 77) + raw[2880:])
    elif kind == "bad-size":
        raw = _write(tmp_path).read_bytes()
        at = raw.index(b"BITPIX  =", 2880)
        path.write_bytes(raw[:at] + b"BITPIX  =                    7".ljust(80) + raw[at + 80:])
    return path


@pytest.mark.parametrize(("kind", "message"), [
    ("text", "not a FITS file (it does not start with SIMPLE =); expected a CIF, an event list "
     "or a master index"),
    ("empty", "empty file, not FITS"),
    ("missing", "cannot read: No such file or directory"),
    ("truncated", "truncated: the file ends inside the data of HDU #1 (100 of 2292 bytes); "
     "the file is incomplete; copy or download it again"),
    ("header-cut", "truncated: the file ends inside the header of HDU #1; the file is "
     "incomplete; copy or download it again"),
    ("no-calindex", "no CALINDEX extension (HDUs: PRIMARY, EVENTS, GTI0); expected a CIF "
     "(ccf.cif), an event list, a master index or a *CALIND* product"),
    ("image", "HDU #1 is not a binary table (XTENSION = 'IMAGE')"),
    ("no-end", "the header of HDU #0 has no END card"),
    ("bad-size", "HDU #1 (CALINDEX): bad size keywords (BITPIX = 7)"),
])
def test_bad_files(tmp_path: Path, kind: str, message: str) -> None:
    """Unreadable files raise FitsFormatError with one exact line naming the file."""
    path = _bad_file(tmp_path, kind)
    with pytest.raises(FitsFormatError) as info:
        read_calindex(path)
    assert str(info.value) == f"{path}: {message}"


# --- the digest -------------------------------------------------------------------------------


def test_digest_is_the_documented_serialization() -> None:
    """The canonical serialization is a contract: sorted rows, one JSON array of the 14 cells per
    line after a version line; FNAME the canonical name, '' for open dates, 0 for no size."""
    text = "\n".join([
        "reprocal-calindex-rows/1",
        '["XMM","EMOS1","ADUCONV",79,"2003-11-09T18:00:01","","EMOS1_ADUCONV_0079.CCF","",'
        '25920,"2012-02-17T06:00:02","ANY","","",""]',
        '["XMM","EPN","CTI",5,"2000-01-01T00:00:00","2004-05-29T04:41:12","EPN_CTI_0005.CCF",'
        '"2004-05-30T10:00:00",28800,"2004-06-01T00:00:00","ANY","CTI_EXTRA",'
        '"0123456789abcdef0123456789abcdef","deceit"]',
        '["XMM","XMM","MISCDATA",22,"1998-01-01T00:00:00","","XMM_MISCDATA_0022.CCF","",0,'
        '"2005-01-01T00:00:00","ANY","A B","00ff",""]',
    ])
    assert rows_digest(_rows()) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert rows_digest(_rows()) == (
        "sha256:d787f4b37a1c7d03ff78100736d0c7d6074f562b076ee6ddd8d89325c01775d3")


@pytest.mark.parametrize(("change", "same"), [
    (lambda c: c, True),
    (lambda c: Constituent(c.name, c.valdate, c.evaldate, c.subdate, c.date, md5="ff"), False),
    (lambda c: Constituent(c.name, c.valdate, c.evaldate, c.subdate, c.date, c.category,
                           c.telescop, c.creator, c.extsequ, c.extseqid, c.md5,
                           (c.fsize or 0) + 2880), False),
])
def test_digest_sees_every_cell(change, same: bool) -> None:  # type: ignore[no-untyped-def]
    """Changing a cell changes the digest."""
    rows = _rows()
    changed = [change(rows[0]), *rows[1:]]
    assert (rows_digest(changed) == rows_digest(rows)) is same


@given(st.permutations(_rows()))
def test_digest_ignores_order(rows: list[Constituent]) -> None:
    """The digest does not depend on row order."""
    assert rows_digest(rows) == rows_digest(_rows())


def test_digest_ignores_paths_dates_and_layout(tmp_path: Path) -> None:
    """Paths, OBSVDATE/ANALDATE and file layout do not change the digest."""
    a = read_calindex(_write(tmp_path, "a.cif"))
    b = read_calindex(_write(tmp_path, "b.cif", obs_date="2010-01-01", analysis_date="2011-01-01",
                             paths={c.filename: f"/x/{c.filename}" for c in _rows()}))
    m = read_calindex(write_master_index(tmp_path / "m.ccf", _rows()))
    assert rows_digest(a.rows) == rows_digest(b.rows) == rows_digest(m.rows) == rows_digest(_rows())


@pytest.mark.parametrize("card", [b"CATEGORY= 'XMMCCF", b"CATEGORY= XMM'CCF'", b"CATEGORY= \x00\x01"])
def test_an_unparsable_table_keyword_is_one_line(tmp_path: Path, card: bytes) -> None:
    """A damaged CATEGORY card is a FitsFormatError naming the keyword, not astropy's
    VerifyError (found by the adversarial property test)."""
    from reprocal.core import CalDate, Constituent, ConstituentName
    from reprocal.errors import FitsFormatError
    from reprocal.fits._calindex import read_calindex, write_cif

    c = Constituent(ConstituentName("EPN", "CTI", 3), valdate="2000-01-01", subdate="2001-01-01",
                    fsize=2880)
    cif = tmp_path / "x.cif"
    write_cif(cif, [c], obs_date=CalDate.parse("2004-01-01"),
              analysis_date=CalDate.parse("2018-01-01"), category="XMMCCF")
    data = bytearray(cif.read_bytes())
    i = data.find(b"CATEGORY=")
    data[i:i + 80] = card.ljust(80)
    cif.write_bytes(bytes(data))
    with pytest.raises(FitsFormatError, match=r"x\.cif: CALINDEX keyword CATEGORY: unreadable card"):
        read_calindex(cif)
