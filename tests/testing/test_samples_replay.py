"""Issue 2's acceptance: over a repository replaying the real samples' metadata, reprocal's CIF
for each real table's own OBSVDATE/ANALDATE selects exactly the rows SAS selected."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprocal.fits._calindex import read_calindex
from reprocal.testing._synthetic import replay

TABLES = [
    "0201901401/ccf.cif",
    "0201901401/mos1_exp1_clean_evts.fits",
    "0201903501/ccf.cif",
    "0201903501/calindex_from_mos1_exp1_clean_evts.fits",
    "0404910601/ccf.cif",
    "0404910601/calindex_from_mos1_exp1_clean_evts.fits",
]


# Rows where SAS's choice was superseded before its own analysis date (a stale mirror).
STALE = {
    "0201901401/mos1_exp1_clean_evts.fits": 0,
    "0201903501/calindex_from_mos1_exp1_clean_evts.fits": 2,  # RGS1/RGS2 EFFAREACORR 0008 -> 0009
    "0404910601/calindex_from_mos1_exp1_clean_evts.fits": 2,  # submitted 2014-04-12, analysed 2014-05-08
}


@pytest.fixture(scope="module")
def replayed(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository holding the union of every real table's rows (each name once)."""
    rows = {}
    for t in TABLES:
        for c in read_calindex(samples / t).rows:
            rows.setdefault(c.filename, c)
    root = tmp_path_factory.mktemp("replay") / "ccf"
    replay(root, rows.values(), scale=1e-5)
    return root


def _key(c):  # type: ignore[no-untyped-def]
    return (c.filename, c.valdate, c.evaldate, c.subdate, c.date, c.category, c.creator,
            c.extsequ, c.extseqid)


@pytest.mark.parametrize("table", TABLES)
def test_cif_matches_what_sas_selected(cli, samples: Path, replayed: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                       table: str) -> None:
    """`reprocal cif` at a real table's dates gives that table's rows (MD5 and FSIZE aside: the
    replayed files are scaled down and the MD5 column's meaning is unverified)."""
    real = read_calindex(samples / table)
    out = tmp_path / "ccf.cif"
    r = cli("cif", "--obs-date", str(real.obs_date), "--analysis-date", str(real.analysis_date),
            "--ccf-path", str(replayed), "-o", str(out))
    assert r.returncode == 0, r.stderr
    mine = read_calindex(out)
    assert (mine.obs_date, mine.analysis_date, mine.category) == (
        real.obs_date, real.analysis_date, real.category)
    assert all(c.fsize == (replayed / c.filename).stat().st_size for c in mine.rows)
    if table.endswith("ccf.cif"):
        assert [_key(c) for c in mine.rows] == [_key(c) for c in real.rows]
        return
    # The event lists were made from a stale mirror: wherever reprocal differs, it chose a newer
    # issue that had been submitted before the event list's own analysis date.
    theirs = {c.key: c for c in real.rows}
    assert [c.key for c in mine.rows] == [c.key for c in real.rows]
    stale = [(c, theirs[c.key]) for c in mine.rows if _key(c) != _key(theirs[c.key])]
    for newer, used in stale:
        assert newer.issue > used.issue
        assert newer.subdate <= real.analysis_date
    assert len(stale) == STALE[table]


def test_layout_matches_real_cif_column_for_column(cli, samples: Path, replayed: Path,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    """Names, formats, units and comments of every column, and the table keywords, as cifbuild."""
    from astropy.io import fits

    real_path = samples / "0201901401" / "ccf.cif"
    real = read_calindex(real_path)
    out = tmp_path / "ccf.cif"
    cli("cif", "--obs-date", str(real.obs_date), "--analysis-date", str(real.analysis_date),
        "--ccf-path", str(replayed), "-o", str(out))
    with fits.open(real_path) as a, fits.open(out) as b:
        ha, hb = a["CALINDEX"].header, b["CALINDEX"].header
        for i in range(1, 15):
            for kw in ("TTYPE", "TFORM", "TUNIT"):
                assert hb.get(f"{kw}{i}") == ha.get(f"{kw}{i}"), f"{kw}{i}"
            assert hb.comments[f"TTYPE{i}"] == ha.comments[f"TTYPE{i}"]
        for kw in ("EXTNAME", "CATEGORY", "OBSVDATE", "ANALDATE", "TFIELDS", "NAXIS1"):
            assert hb[kw] == ha[kw], kw


def test_event_list_and_cif_disagree_on_ten_constituents(samples: Path) -> None:
    """The drift reprocal exists to make visible: same observation, two analysis dates."""
    for obs in ("0201903501", "0404910601"):
        a = {c.key: c.issue for c in read_calindex(samples / obs / "ccf.cif").rows}
        b = {c.key: c.issue for c in read_calindex(
            samples / obs / "calindex_from_mos1_exp1_clean_evts.fits").rows}
        assert sum(a[k] != b[k] for k in a) == 10
