"""The cifbuild drop-in against its references: the three real CIFs SAS's cifbuild-4.8 wrote
(row for row, and column for column of the table's layout), ``reprocal cif`` for the same dates,
and a withdrawal recorded by the repository's mirror history (selected as cifbuild on a
repository that kept the file selects it, and warned about)."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest
from astropy.io import fits
from support.archive import Archive, C, clock

from reprocal import api
from reprocal.errors import ReprocalWarning
from reprocal.fits._calindex import read_calindex
from reprocal.state._manifest import load_manifest
from reprocal.testing._synthetic import replay

REAL = ["0201901401", "0201903501", "0404910601"]


@pytest.fixture(scope="module")
def replayed(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository holding exactly the real CIFs' constituents (metadata as SAS recorded it,
    contents scaled down)."""
    rows = {}
    for obs in REAL:
        for c in read_calindex(samples / obs / "ccf.cif").rows:
            rows.setdefault(c.filename, c)
    root = tmp_path_factory.mktemp("replay") / "ccf"
    replay(root, rows.values(), scale=1e-5)
    return root


def _row(c):  # type: ignore[no-untyped-def]
    """Every column SAS wrote but FSIZE and MD5 (the replayed files are scaled down; MD5's
    meaning is unverified); FNAME is compared apart (the real ones are paths on SAS's machine)."""
    return (c.scope, c.typeid, c.issue, c.valdate, c.evaldate, c.filename, c.date, c.subdate,
            c.extsequ, c.extseqid, c.creator, c.category)


def _fnames(path: Path) -> list[Path]:
    with fits.open(path) as hdul:
        return [Path(str(f).strip()) for f in hdul["CALINDEX"].data["FNAME"]]


def _layout(path: Path) -> tuple[object, ...]:
    """The CALINDEX table's columns (name, format, unit) and its selection keywords."""
    with fits.open(path) as hdul:
        h = hdul["CALINDEX"]
        cols = tuple((c.name, c.format, c.unit) for c in h.columns)
        return cols, h.header["CATEGORY"], h.header["OBSVDATE"], h.header["ANALDATE"]


@pytest.mark.parametrize("obs", REAL)
def test_the_drop_in_writes_what_sas_wrote(cli, samples: Path, replayed: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           obs: str) -> None:
    """With SAS_ODF at the real ODF summary and the real CIF's own analysis date, the drop-in's
    CIF holds SAS's rows in SAS's order and SAS's table layout; `fullpath=yes` (as SAS was run)
    gives absolute FNAMEs into the repository; and `reprocal cif` writes the same rows."""
    real = read_calindex(samples / obs / "ccf.cif")
    odf = tmp_path / "odf"
    odf.mkdir()
    for s in (samples / obs).glob("*SUM.SAS"):
        shutil.copy(s, odf / s.name)
    env = {"SAS_ODF": str(odf), "SAS_CCFPATH": str(replayed),
           "REPROCAL_CATALOG": str(tmp_path / "c.sqlite")}
    r = cli("cifbuild", "calindexset=ccf.cif", "fullpath=yes",
            f"analysisdate={real.analysis_date}", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # the replayed repository is complete: nothing to warn about
    mine = read_calindex(tmp_path / "ccf.cif")
    assert [_row(c) for c in mine.rows] == [_row(c) for c in real.rows]
    assert _layout(tmp_path / "ccf.cif") == _layout(samples / obs / "ccf.cif")
    assert _fnames(tmp_path / "ccf.cif") == [replayed / p.name
                                             for p in _fnames(samples / obs / "ccf.cif")]
    direct = cli("cif", "--analysis-date", str(real.analysis_date), "--fullpath", "-o",
                 str(tmp_path / "direct.cif"), env=env)
    assert direct.returncode == 0, direct.stderr
    assert read_calindex(tmp_path / "direct.cif").rows == mine.rows
    m = load_manifest(tmp_path / "ccf.manifest.json")
    assert [c.filename for c in m.constituents_for(m.observations[0])] == [
        c.filename for c in real.rows]


def test_a_withdrawn_file_is_used_as_cifbuild_would_and_warned_about(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A constituent the mirror history records as withdrawn before the analysis date: cifbuild
    on this repository (which kept the file) selects it, so the drop-in does too, warns once
    naming the withdrawal and what `reprocal cif` and a --delete mirror give, and records it
    in the manifest's method; `reprocal cif` skips it."""
    a = Archive(tmp_path / "mirror")
    for n in ("EPN_CTI_0001.CCF", "EPN_QE_0001.CCF", "OM_FILTER_0001.CCF"):
        a.publish(C(n, subdate="2014-01-01"))
    a.publish(C("EPN_CTI_0002.CCF", subdate="2014-02-01"))
    dest = tmp_path / "ccf"
    dest.mkdir()
    cat = str(tmp_path / "c.sqlite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprocalWarning)
        api.sync(str(a.root), ccf_path=str(dest), catalog=cat, clock=clock("2014-03-01"))
        a.withdraw("EPN_CTI_0002.CCF")
        api.sync(str(a.root), ccf_path=str(dest), catalog=cat, clock=clock("2014-04-01"))
    env = {"SAS_CCFPATH": str(dest), "REPROCAL_CATALOG": cat}
    args = ["withobservationdate=yes", "observationdate=2010-01-01",
            "analysisdate=2014-05-01"]
    r = cli("cifbuild", *args, "--json", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        "reprocal: warning: cifbuild-compatible withdrawal: EPN_CTI_0002.CCF was withdrawn from "
        "the archive on 2014-04-01T00:00:00, before the analysis date; like cifbuild on a "
        "repository that kept it, the CIF uses it (`reprocal cif` skips it and gives issue 1 "
        "(EPN_CTI_0001.CCF); a mirror following --delete gives issue 1 (EPN_CTI_0001.CCF))"]
    doc = json.loads(r.stdout)
    assert doc["withdrawn"] == [r.stderr.splitlines()[0].removeprefix("reprocal: warning: ")]
    names = [c.filename for c in read_calindex(tmp_path / "ccf.cif").rows]
    assert "EPN_CTI_0002.CCF" in names and "EPN_CTI_0001.CCF" not in names
    m = load_manifest(tmp_path / "ccf.manifest.json")
    assert "EPN_CTI_0002.CCF" in [f.filename for f in m.files]
    assert m.generator.method.endswith("withdrawn constituents selected as cifbuild on a "
                                       "repository that kept them: EPN_CTI_0002.CCF")
    d = cli("cif", "--obs-date", "2010-01-01", "--analysis-date", "2014-05-01", "-o",
            str(tmp_path / "direct.cif"), env=env)
    assert d.returncode == 0
    direct = [c.filename for c in read_calindex(tmp_path / "direct.cif").rows]
    assert "EPN_CTI_0002.CCF" not in direct and "EPN_CTI_0001.CCF" in direct
    before = cli("cifbuild", "withobservationdate=yes", "observationdate=2010-01-01",
                 "analysisdate=2014-03-15", "calindexset=early.cif", env=env, cwd=tmp_path)
    assert before.returncode == 0
    assert before.stderr.splitlines() == [
        "reprocal: warning: withdrawal: EPN_CTI_0002.CCF was withdrawn from the archive on "
        "2014-04-01T00:00:00, after the analysis date; the CIF uses it, as users then had it "
        "(a mirror that followed --delete since gives issue 1 (EPN_CTI_0001.CCF))"]
    assert os.path.exists(tmp_path / "early.manifest.json")


@pytest.mark.slow
def test_at_full_size_every_column_but_fname_is_sas_s_bytes(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A repository replaying one real CIF's constituents at their real sizes (300 MB): the
    drop-in's CALINDEX equals SAS's row for row in every attribute (FSIZE and MD5 included),
    and column by column in bytes, FNAME aside (SAS's paths are its machine's)."""
    obs = "0201903501"
    real_path = samples / obs / "ccf.cif"
    real = read_calindex(real_path)
    repo = tmp_path / "ccf"
    replay(repo, real.rows, scale=1.0)
    odf = tmp_path / "odf"
    odf.mkdir()
    for s in (samples / obs).glob("*SUM.SAS"):
        shutil.copy(s, odf / s.name)
    env = {"SAS_ODF": str(odf), "SAS_CCFPATH": str(repo),
           "REPROCAL_CATALOG": str(tmp_path / "c.sqlite")}
    r = cli("cifbuild", "fullpath=yes", f"analysisdate={real.analysis_date}", env=env,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    mine = read_calindex(tmp_path / "ccf.cif")
    assert mine.rows == real.rows
    with fits.open(tmp_path / "ccf.cif") as a, fits.open(real_path) as b:
        ta, tb = a["CALINDEX"], b["CALINDEX"]
        assert ta.columns.names == tb.columns.names
        for name in tb.columns.names:
            if name != "FNAME":
                assert ta.data[name].tobytes() == tb.data[name].tobytes(), name
        for key in ("CATEGORY", "OBSVDATE", "ANALDATE", "EXTNAME"):
            assert ta.header[key] == tb.header[key], key
