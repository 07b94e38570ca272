"""The cifbuild drop-in as SAS users and their scripts run it: cifbuild's parameters, SAS's
generic options, the CIF `reprocal cif` writes, a manifest beside it, every silent downgrade
warned about and recorded; and the shell-script acceptance with the shim first on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reprocal.fits._calindex import read_calindex
from reprocal.fits._odf import demo_summary_path
from reprocal.state._manifest import load_manifest

AN = "2018-07-27T17:25:14"
SHIM = Path(sys.executable).with_name("reprocal-cifbuild")


@pytest.fixture(scope="module")
def ccf(synthetic_repo) -> Path:  # type: ignore[no-untyped-def]
    return synthetic_repo.root


@pytest.fixture
def sas_env(ccf: Path, tmp_path: Path) -> dict[str, str]:
    """What `sasinit` and an analysis script set: SAS_CCFPATH and SAS_ODF."""
    odf = tmp_path / "odf"
    odf.mkdir()
    shutil.copy(demo_summary_path(), odf / "0001_0999990101_SCX00000SUM.SAS")
    return {"SAS_CCFPATH": str(ccf), "SAS_ODF": str(odf),
            "REPROCAL_CATALOG": str(tmp_path / "catalog.sqlite")}


def _rows(path: Path) -> list[tuple]:  # type: ignore[type-arg]
    t = read_calindex(path)
    return [(c.filename, c.valdate, c.evaldate, c.subdate, c.fsize, c.extseqid, c.md5)
            for c in t.rows] + [("keywords", t.obs_date, t.analysis_date, t.category)]


def test_cifbuild_writes_the_cif_reprocal_cif_writes_and_a_manifest(cli, sas_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`reprocal cifbuild calindexset=... analysisdate=...` writes the rows `reprocal cif` writes
    for the same dates, and a manifest beside it whose state rebuilds the same rows."""
    r = cli("cifbuild", "calindexset=ccf.cif", f"analysisdate={AN}", env=sas_env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("cifbuild (reprocal): wrote CIF ccf.cif: ")
    assert "(complete)" in r.stdout
    d = cli("cif", "--analysis-date", AN, "-o", str(tmp_path / "direct.cif"), env=sas_env)
    assert d.returncode == 0, d.stderr
    assert _rows(tmp_path / "ccf.cif") == _rows(tmp_path / "direct.cif")
    m = load_manifest(tmp_path / "ccf.manifest.json")
    obs = m.observations[0]
    assert (obs.label, str(obs.analysis_date), obs.gaps) == ("0999990101", AN, ())
    assert [c.filename for c in m.constituents_for(obs)] == [
        c.filename for c in read_calindex(tmp_path / "ccf.cif").rows]
    assert m.generator.method.startswith("cifbuild (reprocal's drop-in)")
    v = cli("verify", str(tmp_path / "ccf.manifest.json"), "--level", "full", env=sas_env)
    assert v.returncode == 0, v.stdout + v.stderr


def test_now_is_written_as_the_literal_date(cli, sas_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """analysisdate=now (cifbuild's default): the CIF's ANALDATE and the manifest carry the
    literal time, and the output says which."""
    r = cli("cifbuild", env=sas_env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    an = read_calindex(tmp_path / "ccf.cif").analysis_date
    assert f"analysisdate=now is {an}" in r.stdout
    assert str(load_manifest(tmp_path / "ccf.manifest.json").observations[0].analysis_date) == str(an)


def test_silent_downgrade_is_made_warned_and_recorded(cli, ccf: Path, sas_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A newer eligible issue the catalogue knows but the repository lacks: the CIF uses the
    older one, as cifbuild would, with a warning; the manifest records the incomplete state."""
    repo = tmp_path / "repo"
    shutil.copytree(ccf, repo)
    env = {**sas_env, "SAS_CCFPATH": str(repo)}
    assert cli("cifbuild", f"analysisdate={AN}", env=env, cwd=tmp_path).returncode == 0
    newest = max(read_calindex(tmp_path / "ccf.cif").rows, key=lambda c: (c.issue > 1, c.subdate))
    assert newest.issue > 1
    (repo / newest.filename).unlink()
    r = cli("cifbuild", f"analysisdate={AN}", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (f"reprocal: warning: cifbuild-compatible downgrade: {newest.filename} (submitted "
            f"{newest.subdate}) is eligible but missing locally; like cifbuild, the CIF uses "
            "issue ") in r.stderr
    assert "1 silent downgrade(s) cifbuild would not have mentioned" in r.stderr
    assert "INCOMPLETE: 1 silent downgrade(s) recorded" in r.stdout
    rows = {c.key: c for c in read_calindex(tmp_path / "ccf.cif").rows}
    assert rows[newest.key].issue < newest.issue
    obs = load_manifest(tmp_path / "ccf.manifest.json").observations[0]
    assert [g.missing for g in obs.gaps] == [newest.filename]
    assert "pinned although incomplete" in load_manifest(tmp_path / "ccf.manifest.json").generator.method


@pytest.mark.parametrize(("args", "message"), [
    (["foo=1"], "reprocal: error: cifbuild has no parameter 'foo' (in 'foo=1'); its parameters: analysisdate, append,"),
    (["calindexset=a.cif", "calindexset=b.cif"], "reprocal: error: cifbuild: parameter calindexset is given twice (calindexset='a.cif' and 'calindexset=b.cif'); give it once"),
    (["fullpath=maybe"], "reprocal: error: fullpath='maybe': not a boolean; give fullpath=yes or fullpath=no"),
    (["ccf.cif"], "reprocal: error: cifbuild: unexpected argument 'ccf.cif'; SAS task parameters are name=value (analysisdate=2018-07-27T17:25:14)"),
    (["-x"], "reprocal: error: cifbuild: unknown option -x; SAS's generic options: -v/--version,"),
    (["-V"], "reprocal: error: cifbuild: option -V needs a value (-V VALUE)"),
    (["-V", "11"], "reprocal: error: verbosity '11': not a level; give -V N with N from 0 to 10"),
    (["-d"], "reprocal: error: cifbuild: option --dialog is not available in reprocal's cifbuild:"),
    (["-m"], "reprocal: error: cifbuild: option --manpage is not available in reprocal's cifbuild:"),
    (["-f", "a.ccf"], "reprocal: error: cifbuild: option --ccffiles is not available in reprocal's cifbuild: a list of CCF files is not implemented"),
    (["append=yes"], "reprocal: error: append=yes is not implemented by reprocal's cifbuild:"),
    (["withccfpath=no", "ccfpath=/elsewhere"], "reprocal: error: ccfpath='/elsewhere' has no effect with withccfpath=no; give withccfpath=yes, or drop ccfpath"),
    (["withobservationdate=yes", "observationdate=2004-13-01"], "reprocal: error: observationdate: "),
    (["analysisdate=yesterday"], "reprocal: error: analysisdate: "),
])
def test_refused_by_name(cli, sas_env, tmp_path: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    """A parameter, value or option the drop-in does not implement is refused, naming it;
    nothing is written."""
    r = cli("cifbuild", *args, env=sas_env, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ccf.cif").exists()


def test_generic_options(cli, sas_env, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """-v, -h, -p answer and exit; -a and -o set SAS_CCFPATH and SAS_ODF; -V 0 prints nothing
    but warnings; --noclobber (and SAS_CLOBBER=0) refuses to replace the CIF."""
    v = cli("cifbuild", "-v", env=sas_env)
    assert v.returncode == 0 and v.stdout.startswith("cifbuild (reprocal-") and "drop-in" in v.stdout
    h = cli("cifbuild", "--help", env=sas_env)
    assert "calindexset=ccf.cif" in h.stdout and "-c, --noclobber" in h.stdout
    p = cli("cifbuild", "-p", env=sas_env)
    assert p.stdout.splitlines()[0] == "calindexset=ccf.cif" and "usecanonicalname=no" in p.stdout
    bare = {"REPROCAL_CATALOG": sas_env["REPROCAL_CATALOG"]}
    r = cli("cifbuild", "-a", str(ccf), "-o", sas_env["SAS_ODF"], "-V", "0", f"analysisdate={AN}",
            env=bare, cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    again = cli("cifbuild", "--noclobber", f"analysisdate={AN}", env=sas_env, cwd=tmp_path)
    assert again.returncode == 7 and "exists, and clobbering is off" in again.stderr
    env0 = {**sas_env, "SAS_CLOBBER": "0"}
    assert cli("cifbuild", f"analysisdate={AN}", env=env0, cwd=tmp_path).returncode == 7
    t = cli("cifbuild", "-t", "-w", "1", f"analysisdate={AN}", "ccfpath=" + str(ccf),
            env=sas_env, cwd=tmp_path)
    assert t.returncode == 0, t.stderr
    assert f"ccfpath={ccf} implies withccfpath=yes" in t.stdout


def test_parameters_select_as_cifbuild_does(cli, sas_env, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """withobservationdate/observationdate, withccfpath/ccfpath, fullpath, usecanonicalname and
    masterindex do what cifbuild's documentation says, through the same selection as
    `reprocal cif`."""
    r = cli("cifbuild", "withobservationdate=yes", "observationdate=2006-05-27T09:57:27",
            f"analysisdate={AN}", "withccfpath=yes", f"ccfpath={ccf}", "fullpath=yes",
            "calindexset=dated.cif", env={"REPROCAL_CATALOG": sas_env["REPROCAL_CATALOG"]},
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = cli("cif", "--obs-date", "2006-05-27T09:57:27", "--analysis-date", AN, "--ccf-path",
            str(ccf), "--fullpath", "-o", str(tmp_path / "direct.cif"), env=sas_env)
    assert d.returncode == 0
    assert _rows(tmp_path / "dated.cif") == _rows(tmp_path / "direct.cif")
    assert all(Path(f).is_absolute() for f in read_calindex(tmp_path / "dated.cif").fnames)
    assert load_manifest(tmp_path / "dated.manifest.json").observations[0].label is None

    c = cli("cifbuild", "usecanonicalname=yes", f"analysisdate={AN}", env=sas_env, cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert (tmp_path / "0950_0999990101.cif").exists()
    assert (tmp_path / "0950_0999990101.manifest.json").exists()

    mi = cli("cifbuild", "masterindex=yes", "calindexset=all.mif", env=sas_env, cwd=tmp_path)
    assert mi.returncode == 0, mi.stderr
    table = read_calindex(tmp_path / "all.mif")
    assert table.is_master_index and len(table.rows) == 150
    assert not (tmp_path / "all.manifest.json").exists()

    w = cli("cifbuild", "withmasterindexset=yes", "masterindexset=all.mif", f"analysisdate={AN}",
            "calindexset=frommif.cif", env=sas_env, cwd=tmp_path)
    assert w.returncode == 0, w.stderr
    d = cli("cif", "--master-index", str(tmp_path / "all.mif"), "--analysis-date", AN,
            "-o", str(tmp_path / "direct-mif.cif"), env=sas_env)
    assert d.returncode == 0, d.stderr
    assert _rows(tmp_path / "frommif.cif") == _rows(tmp_path / "direct-mif.cif")
    assert (tmp_path / "frommif.manifest.json").exists()


def test_no_odf_and_no_date_is_one_line(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """cifbuild's default needs SAS_ODF: without it, one line says what to set."""
    r = cli("cifbuild", env={"SAS_CCFPATH": str(ccf)}, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == ("reprocal: error: SAS_ODF is not set, and withobservationdate=no; set "
                        "SAS_ODF to the ODF directory (or its *SUM.SAS file), or give "
                        "withobservationdate=yes observationdate=DATE\n")


# --- the shim first on PATH --------------------------------------------------------------------


@pytest.fixture
def shim_path(tmp_path: Path) -> str:
    """A PATH as a user sets it after `sasinit`: the shim's directory first, then a SAS
    installation whose own cifbuild must not run, then the system."""
    if not SHIM.exists():
        pytest.skip(f"the reprocal-cifbuild console script is not installed ({SHIM})")
    mine = tmp_path / "reprocal-bin"
    mine.mkdir()
    (mine / "cifbuild").symlink_to(SHIM)
    sas_bin = tmp_path / "sas" / "bin"
    sas_bin.mkdir(parents=True)
    fake = sas_bin / "cifbuild"
    fake.write_text("#!/bin/sh\necho 'SAS cifbuild ran' >&2\nexit 99\n")
    fake.chmod(0o755)
    return os.pathsep.join([str(mine), str(sas_bin), os.environ.get("PATH", "/usr/bin:/bin")])


def test_shell_script_with_the_shim_first_on_path(sas_env, shim_path: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Must show: a shell script calling `cifbuild calindexset=ccf.cif analysisdate=...` with
    the shim first on PATH writes a CIF whose rows equal `reprocal cif`'s for the same dates,
    and a manifest."""
    script = tmp_path / "reduce.sh"
    script.write_text("#!/bin/sh\nset -e\ncd \"$1\"\n"
                      f"cifbuild calindexset=ccf.cif analysisdate={AN}\n"
                      "export SAS_CCF=$PWD/ccf.cif\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, **sas_env, "PATH": shim_path}
    r = subprocess.run(["sh", str(script), str(work)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "SAS cifbuild ran" not in r.stderr
    assert "cifbuild (reprocal): wrote CIF ccf.cif" in r.stdout
    direct = subprocess.run([sys.executable, "-m", "reprocal", "cif", "--analysis-date", AN,
                             "-o", str(tmp_path / "direct.cif")], env=env, capture_output=True,
                            text=True, timeout=300)
    assert direct.returncode == 0, direct.stderr
    assert _rows(work / "ccf.cif") == _rows(tmp_path / "direct.cif")
    doc = json.loads((work / "ccf.manifest.json").read_text())
    assert doc["state_id"].startswith("rpcal:2:state:")


def test_pysas_style_call_with_every_parameter(sas_env, shim_path: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """pySAS's task wrapper runs `cifbuild -v`, then `cifbuild` through the shell with every
    parameter of the task, quoted, at its default unless set: the shim takes that line."""
    env = {**os.environ, **sas_env, "PATH": shim_path}
    version = subprocess.run("cifbuild -v", shell=True, env=env, capture_output=True, text=True,
                             timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("cifbuild (reprocal-")
    line = ("cifbuild calindexset='ccf.cif' withccfpath='no' ccfpath='.' recurse='no' "
            "fileglob='*.ccf|*.CCF' fullpath='no' withobservationdate='no' observationdate='now' "
            f"analysisdate='{AN}' category='XMMCCF' ignorecategory='no' masterindex='no' "
            "withmasterindexset='no' masterindexset='ccf.mif' append='no' usecanonicalname='no' ")
    r = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ccf.cif").exists() and (tmp_path / "ccf.manifest.json").exists()


# --- reprocal cif with cifbuild's spelling ---------------------------------------------------


def test_cif_reads_cifbuild_spelling_with_a_hint(cli, sas_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`reprocal cif analysisdate=... calindexset=...` is read as --analysis-date and -o, with
    one note per parameter, instead of "unexpected extra argument"."""
    r = cli("cif", f"analysisdate={AN}", "calindexset=sas.cif", "fullpath=no", env=sas_env,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"reprocal: note: analysisdate={AN} is cifbuild's spelling; reprocal cif reads it as "
        f"--analysis-date {AN} (reprocal cifbuild takes cifbuild's parameters as they are)",
        "reprocal: note: calindexset=sas.cif is cifbuild's spelling; reprocal cif reads it as "
        "--output sas.cif (reprocal cifbuild takes cifbuild's parameters as they are)",
        "reprocal: note: fullpath=no is cifbuild's spelling; reprocal cif reads it as no "
        "--fullpath (reprocal cifbuild takes cifbuild's parameters as they are)",
    ]
    assert cli("cif", "--analysis-date", AN, "-o", str(tmp_path / "direct.cif"), env=sas_env).returncode == 0
    assert _rows(tmp_path / "sas.cif") == _rows(tmp_path / "direct.cif")


@pytest.mark.parametrize(("args", "message"), [
    ([f"analysisdate={AN}", "--analysis-date", "2019-01-01"], f"reprocal: error: analysisdate={AN} and --analysis-date 2019-01-01 disagree; give one of them"),
    (["usecanonicalname=yes"], "reprocal: error: usecanonicalname= is a cifbuild parameter `reprocal cif` has no option for; run `reprocal cifbuild` (or reprocal-cifbuild), which takes cifbuild's parameters as they are"),
    (["foo=1"], "reprocal: error: reprocal cif has no parameter 'foo' (in 'foo=1'); its parameters:"),
    (["ccf.cif"], "reprocal: error: reprocal cif: unexpected argument 'ccf.cif'; SAS task parameters are name=value"),
])
def test_cif_refuses_what_it_cannot_read(cli, sas_env, tmp_path: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    """What `reprocal cif` has no option for, or a disagreement, is one line naming it."""
    r = cli("cif", *args, env=sas_env, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(message), r.stderr
    assert "unexpected extra argument" not in r.stderr
