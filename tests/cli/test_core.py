"""The CLI as a user runs it: index, cif, show, pin, rebuild; exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from support.fds import HAVE_PROC, open_fds

from reprocal.fits._calindex import read_calindex
from reprocal.state._manifest import load_manifest


@pytest.fixture(scope="module")
def ccf(synthetic_repo) -> Path:  # type: ignore[no-untyped-def]
    """The session's synthetic repository (read-only here; tests that tamper copy it)."""
    return synthetic_repo.root


def _rows(path: Path) -> list[tuple]:  # type: ignore[type-arg]
    t = read_calindex(path)
    return [(c.filename, c.valdate, c.evaldate, c.subdate, c.fsize, c.extseqid) for c in t.rows]


def test_index_json(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`index --json` reports what was read; a second run reads nothing."""
    env = {"REPROCAL_CATALOG": str(tmp_path / "c.sqlite")}
    first = json.loads(cli("index", "--ccf-path", str(ccf), "--json", env=env).stdout)
    second = json.loads(cli("index", "--ccf-path", str(ccf), "--json", env=env).stdout)
    assert first["read"] == first["scanned"] == 150 and first["constituents"] == 150
    assert second["read"] == 0 and second["unchanged"] == 150


def test_cif_then_pin_then_rebuild_round_trip(cli_process, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Pin -> rebuild gives CIFs whose rows equal a direct `reprocal cif`; rebuilding twice is
    byte-identical."""
    args = ("--obs-date", "2006-05-27T09:57:27", "--analysis-date", "2018-07-27T17:25:14",
            "--ccf-path", str(ccf))
    r = cli_process("cif", *args, "-o", str(tmp_path / "direct.cif"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Wrote ")
    r = cli_process("pin", *args, "--obs-id", "0404910601", "-o", str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stderr
    assert "state id rpcal:2:state:" in r.stdout and "observation 0404910601: rpcal:2:obs:" in r.stdout
    for out in ("r1", "r2"):
        r = cli_process("rebuild", str(tmp_path / "m.json"), "--ccf-path", str(ccf), "-o", str(tmp_path / out))
        assert r.returncode == 0, r.stderr
    rebuilt = tmp_path / "r1" / "0404910601" / "ccf.cif"
    assert _rows(rebuilt) == _rows(tmp_path / "direct.cif")
    assert rebuilt.read_bytes() == (tmp_path / "r2" / "0404910601" / "ccf.cif").read_bytes()


def test_now_is_pinned_as_a_literal(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`--analysis-date now` is resolved once and written as a literal date."""
    r = cli("pin", "--obs-date", "2006-05-27", "--analysis-date", "now", "--ccf-path", str(ccf),
            "-o", str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["observations"][0]["analysis_date"][:2] == "20"
    assert "now" not in (tmp_path / "m.json").read_text()


def test_rebuild_refuses_tampered_repository(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A pinned file whose bytes changed stops rebuild with exit 1 and names it."""
    import shutil

    copy = tmp_path / "ccf"
    shutil.copytree(ccf, copy)
    r = cli("pin", "--obs-date", "2006-05-27", "--analysis-date", "2020-01-01", "--ccf-path",
            str(copy), "-o", str(tmp_path / "m.json"))
    assert r.returncode == 0, r.stderr
    name = load_manifest(tmp_path / "m.json").observations[0].files[0]
    data = bytearray((copy / name).read_bytes())
    data[-1] ^= 0xFF
    (copy / name).write_bytes(bytes(data))
    r = cli("rebuild", str(tmp_path / "m.json"), "--ccf-path", str(copy), "-o", str(tmp_path / "out"))
    assert r.returncode == 1
    assert f"{name}: corrupt (FITS checksum failed" in r.stderr
    assert "sha256 differs from the pinned one" in r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.cif"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("cif", "--obs-date", "2004-13-01"), 2,
         "reprocal: error: --obs-date: '2004-13-01' has month 13; expected 01..12\n"),
        (("cif", "--obs-date", "2004-01-01", "--ccf-path", "/nonexistent"), 3,
         "reprocal: error: --ccf-path: /nonexistent is not a directory; check the path or create it\n"),
        (("cif", "--obs-date", "2004-01-01"), 3,
         "reprocal: error: no calibration directory given (SAS_CCFPATH is empty); pass --ccf-path DIR or set SAS_CCFPATH\n"),
        (("pin", "--obs-date", "2004-01-01", "-o", "m.json"), 2,
         "reprocal: error: --analysis-date is required (a date, or 'now' to pin today's state)\n"),
        (("rebuild", "missing.json"), 2,
         "reprocal: error: missing.json: cannot read: No such file or directory\n"),
    ],
)
def test_bad_input_one_line(cli, tmp_path: Path, args, code, message) -> None:  # type: ignore[no-untyped-def]
    """Bad input: one line on stderr, the documented exit code, no traceback."""
    r = cli(*args, cwd=tmp_path)
    assert (r.returncode, r.stderr) == (code, message)


def test_empty_repository_exit_3(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An empty directory gives exit 3 where cifbuild would write an empty CIF."""
    (tmp_path / "empty").mkdir()
    r = cli("cif", "--obs-date", "2004-01-01", "--ccf-path", str(tmp_path / "empty"), cwd=tmp_path)
    assert r.returncode == 3
    assert "no calibration constituents found" in r.stderr
    assert not (tmp_path / "ccf.cif").exists()


def test_analysis_before_observation_warns(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An analysis date before the observation date is a warning, as in cifbuild."""
    r = cli("cif", "--obs-date", "2010-01-01", "--analysis-date", "2009-01-01", "--ccf-path",
            str(ccf), "-o", str(tmp_path / "x.cif"))
    assert r.returncode == 0
    assert "reprocal: warning: analysis date 2009-01-01T00:00:00 is before the observation date" in r.stderr


def test_incomplete_state_refused_unless_allowed(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """pin refuses a state with a known newer eligible issue missing (exit 4) unless allowed."""
    import shutil

    copy = tmp_path / "ccf"
    shutil.copytree(ccf, copy)
    env = {"REPROCAL_CATALOG": str(tmp_path / "c.sqlite")}
    args = ("--obs-date", "2006-05-27", "--analysis-date", "2020-01-01", "--ccf-path", str(copy))
    assert cli("pin", *args, "-o", str(tmp_path / "a.json"), env=env).returncode == 0
    name = load_manifest(tmp_path / "a.json").observations[0].files[-1]
    (copy / name).unlink()
    r = cli("pin", *args, "-o", str(tmp_path / "b.json"), env=env)
    assert r.returncode == 4
    assert f"{name} (submitted" in r.stderr and "--allow-incomplete" in r.stderr
    assert not (tmp_path / "b.json").exists()
    r = cli("pin", *args, "--allow-incomplete", "-o", str(tmp_path / "b.json"), env=env)
    assert r.returncode == 0
    assert "is eligible but missing locally" in r.stderr


@pytest.mark.skipif(not HAVE_PROC, reason="needs /proc")
def test_commands_close_the_catalogue(ccf: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """index, cif, pin, verify, fetch (by dates) and diff leave no catalogue open behind them."""
    from reprocal.cli import main

    cat = tmp_path / "c.sqlite"
    monkeypatch.setenv("REPROCAL_CATALOG", str(cat))
    dates = ["--obs-date", "2010-01-01", "--analysis-date", "2020-01-01"]
    for argv in (["index"], ["cif", *dates, "-o", str(tmp_path / "c.cif")],
                 ["pin", *dates, "-o", str(tmp_path / "m.json")],
                 ["verify", str(tmp_path / "m.json")],
                 ["fetch", *dates, "--dry-run", "--mirror", str(tmp_path)],
                 ["diff", "obs=2010-01-01,an=2020-01-01", "obs=2010-01-01,an=2021-01-01"]):
        main([*argv, "--ccf-path", str(ccf)])
        assert open_fds(cat) == 0, argv
    assert "Traceback" not in capsys.readouterr().err


def test_md5_travels_from_headers_to_cif_and_manifest(cli, synthetic_repo, tmp_path: Path  # type: ignore[no-untyped-def]
                                                      ) -> None:
    """The MD5 column of a CIF and a manifest is each constituent's MD5 header keyword."""
    args = ("--obs-date", "2006-05-27T09:57:27", "--analysis-date", "2018-07-27T17:25:14",
            "--ccf-path", str(synthetic_repo.root))
    assert cli("cif", *args, "-o", str(tmp_path / "c.cif")).returncode == 0
    assert cli("pin", *args, "-o", str(tmp_path / "m.json")).returncode == 0
    header_md5 = {c.filename: c.md5 for c in synthetic_repo.constituents}
    rows = read_calindex(tmp_path / "c.cif").rows
    assert rows and all(len(c.md5) == 32 and c.md5 == header_md5[c.filename] for c in rows)
    pinned = load_manifest(tmp_path / "m.json").files
    assert {f.filename: f.constituent.md5 for f in pinned} == {c.filename: c.md5 for c in rows}


def test_md5_is_never_invented_and_kept_from_a_master_index(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Headers without MD5 give an empty column (not a digest reprocal made up); a master
    index's MD5 column survives import and selection from it."""
    from support.constituents import write_constituent

    from reprocal.fits._calindex import write_master_index

    repo = tmp_path / "ccf"
    write_constituent(repo, "EPN_CTI_0001.CCF")
    write_constituent(repo, "EPN_REDIST_0001.CCF")
    args = ("--obs-date", "2006-05-27", "--analysis-date", "2018-07-27")
    assert cli("cif", *args, "--ccf-path", str(repo), "-o", str(tmp_path / "c.cif")).returncode == 0
    assert {c.md5 for c in read_calindex(tmp_path / "c.cif").rows} == {""}
    marked = [attrs.evolve(c, md5=f"{i:032x}") for i, c in
              enumerate(read_calindex(tmp_path / "c.cif").rows, start=1)]
    write_master_index(tmp_path / "mi.fits", marked)
    r = cli("cif", *args, "--master-index", str(tmp_path / "mi.fits"), "-o",
            str(tmp_path / "from-mi.cif"))
    assert r.returncode == 0, r.stderr
    assert [c.md5 for c in read_calindex(tmp_path / "from-mi.cif").rows] == [
        f"{1:032x}", f"{2:032x}"]


def test_a_repository_of_bare_headers_is_indexed_and_selected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Real constituent headers may lack keywords the synthetic ones carry: a file whose header
    has VALDATE alone is a constituent (scope, type and issue from its name, SUBDATE from
    VALDATE, no MD5), indexed and written to the CIF."""
    from astropy.io import fits

    repo = tmp_path / "ccf"
    repo.mkdir()
    h = fits.Header()
    h["VALDATE"] = "2000-01-01T00:00:00"
    fits.PrimaryHDU(header=h).writeto(repo / "EPN_CTI_0003.CCF")
    env = {"REPROCAL_CATALOG": str(tmp_path / "c.sqlite")}
    done = cli("index", "--ccf-path", str(repo), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["constituents"] == 1
    done = cli("cif", "--obs-date", "2006-05-27", "--analysis-date", "2018-07-27", "--ccf-path",
               str(repo), "-o", str(tmp_path / "c.cif"), env=env)
    assert done.returncode == 0, done.stderr
    (row,) = read_calindex(tmp_path / "c.cif").rows
    assert (row.filename, row.subdate.text, row.md5, row.category) == (
        "EPN_CTI_0003.CCF", "2000-01-01T00:00:00", "", "XMMCCF")


def test_index_of_an_empty_directory_is_the_error_alone(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`index` on an empty directory prints the error, not an "Indexed ... 0 constituents"
    line before it."""
    (tmp_path / "empty").mkdir()
    r = cli("index", "--ccf-path", str(tmp_path / "empty"),
            env={"REPROCAL_CATALOG": str(tmp_path / "c.sqlite")})
    assert (r.returncode, r.stdout) == (3, "")
    assert r.stderr.startswith(f"reprocal: error: no calibration constituents in {tmp_path / 'empty'}")
    assert len(r.stderr.splitlines()) == 1
