"""A SAS user's first session, through the CLI: rebuild's export lines, diff's dates and exit
status, the calibration type -> SAS task table per instrument."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from reprocal.audit._diff import task_fits_scope, type_tasks

AN = "2018-07-27T17:25:14"


@pytest.fixture(scope="module")
def ccf(synthetic_repo) -> Path:  # type: ignore[no-untyped-def]
    return synthetic_repo.root


def test_rebuild_prints_an_export_line_per_observation_with_absolute_paths(cli, ccf: Path,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    """Two observations, relative paths given: one `export` line each, absolute and quoted, that
    a shell can run as it is."""
    (tmp_path / "obs.csv").write_text("obs_id,obs_date\n0201903501,2004-06-17T10:38:28\n"
                                      "0404910601,2006-05-27T09:57:27\n")
    shutil.copytree(ccf, tmp_path / "my ccf")
    pin = cli("pin", "--obs-list", "obs.csv", "--analysis-date", AN, "--ccf-path", "my ccf",
              "-o", "m.json", cwd=tmp_path)
    assert pin.returncode == 0, pin.stderr
    r = cli("rebuild", "m.json", "--ccf-path", "my ccf", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    at = lines.index("Use it (in the shell that runs SAS for each observation):")
    dirs = shlex.quote(str(tmp_path / "my ccf"))
    assert lines[at + 1:] == [
        f"  {obs}: export SAS_CCFPATH={dirs} SAS_CCF={tmp_path / 'out' / obs / 'ccf.cif'}"
        for obs in ("0201903501", "0404910601")]


def test_diff_shows_both_dates_and_exits_as_diff_does(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each side's OBSVDATE and ANALDATE; exit 1 when the states differ, 0 when identical."""
    evt = str(samples / "0404910601" / "calindex_from_mos1_exp1_clean_evts.fits")
    cif = str(samples / "0404910601" / "ccf.cif")
    r = cli("diff", evt, cif)
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines()[:2] == [
        f"A: {evt} (observation date 2006-05-27T09:39:57, analysis date 2014-05-08T13:54:47)",
        f"B: {cif} (observation date 2006-05-27T09:57:27, analysis date 2018-07-27T18:24:32)"]
    same = cli("diff", cif, cif)
    assert same.returncode == 0, same.stderr
    assert "0 calibration type(s) differ" in same.stdout
    assert cli("diff", cif, cif, "--json").returncode == 0
    assert cli("diff", evt, cif, "--json").returncode == 1


def test_redistribution_is_rmfgen_for_epic_and_rgsrmfgen_for_rgs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A change of EPN_REDIST names rmfgen (EPIC's response), never RGS's rgsrmfgen."""
    from reprocal.core._constituent import Constituent
    from reprocal.core._dates import CalDate
    from reprocal.core._names import ConstituentName
    from reprocal.fits._calindex import write_cif

    def one(scope: str, issue: int, name: str) -> str:
        c = Constituent(ConstituentName(scope, "REDIST", issue), valdate="2000-01-01",
                        subdate=f"201{issue}-01-01")
        write_cif(tmp_path / name, [c], obs_date=CalDate.parse("2005-01-01"),
                  analysis_date=CalDate.parse("2019-01-01"))
        return str(tmp_path / name)

    r = cli("diff", one("EPN", 1, "a.cif"), one("EPN", 2, "b.cif"), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["affected_tasks"] == {"rmfgen": ["EPN_REDIST"]}
    r = cli("diff", one("RGS1", 1, "c.cif"), one("RGS1", 2, "d.cif"), "--json")
    assert json.loads(r.stdout)["affected_tasks"] == {"rgsrmfgen": ["RGS1_REDIST"]}


def test_no_type_is_mapped_to_another_instrument_s_task() -> None:
    """Every calibration type the archive has: the table never gives an EPIC type an RGS or OM
    task, an RGS type an EPIC one, and so on (shared scopes, XMM and the mirrors, aside)."""
    from importlib import resources

    table = type_tasks()
    text = resources.files("reprocal").joinpath("data/ccf_types.csv").read_text()
    wrong = [(scope, typeid, task)
             for scope, typeid, *_ in (ln.split(",") for ln in text.splitlines()[1:] if ln)
             for task in table.tasks(scope, typeid) if not task_fits_scope(task, scope)]
    assert wrong == []


def test_show_reads_sas_ccf_filters_and_shows_fname(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No file: $SAS_CCF (a CIF, or the directory holding ccf.cif), as SAS reads it;
    --scope/--type filter the rows; FNAME is shown as the CIF wrote it."""
    d = samples / "0201903501"
    r = cli("show", "--scope", "epn", "--type", "CTI", env={"SAS_CCF": str(d)})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == (f"{d / 'ccf.cif'}: 1 constituents; OBSVDATE 2004-06-17T10:38:28, "
                        "ANALDATE 2018-07-27T17:50:42, CATEGORY XMMCCF")
    assert lines[1].split() == ["SCOPE", "TYPEID", "ISSUE", "VALDATE", "VALDATE-END", "SUBDATE",
                                "FNAME"]
    assert lines[2].split() == ["EPN", "CTI", "45", "2000-01-01T00:00:00", "-",
                                "2014-09-06T06:00:05",
                                "/lustre/scratch/astro/pr83/code/ccf/EPN_CTI_0045.CCF"]
    doc = json.loads(cli("show", str(d / "ccf.cif"), "--type", "cti", "--json").stdout)
    assert [c["file"] for c in doc["constituents"]] == [
        "EMOS1_CTI_0067.CCF", "EMOS2_CTI_0068.CCF", "EPN_CTI_0045.CCF", "RGS1_CTI_0009.CCF",
        "RGS2_CTI_0009.CCF"]
    none = cli("show", env={"SAS_CCF": ""})
    assert none.returncode == 2
    assert none.stderr == ("reprocal: error: no CIF given and SAS_CCF is not set; give the file "
                           "(PATH) or set SAS_CCF to the CIF (or to the directory holding "
                           "ccf.cif)\n")


def test_show_lists_a_manifest_per_observation(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A manifest: each pinned observation's constituents, with its dates; filters apply."""
    (tmp_path / "obs.csv").write_text("obs_id,obs_date\n0201903501,2004-06-17T10:38:28\n"
                                      "0404910601,2006-05-27T09:57:27\n")
    assert cli("pin", "--obs-list", "obs.csv", "--analysis-date", AN, "--ccf-path", str(ccf),
               "-o", "m.json", cwd=tmp_path).returncode == 0
    r = cli("show", "m.json", "--scope", "EPN", "--type", "CTI", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    heads = [ln for ln in r.stdout.splitlines() if not ln.startswith("  ")]
    assert heads == [
        f"m.json observation 0201903501: 1 constituents; OBSVDATE 2004-06-17T10:38:28, "
        f"ANALDATE {AN}, CATEGORY XMMCCF",
        f"m.json observation 0404910601: 1 constituents; OBSVDATE 2006-05-27T09:57:27, "
        f"ANALDATE {AN}, CATEGORY XMMCCF"]
    doc = json.loads(cli("show", "m.json", "--json", cwd=tmp_path).stdout)
    assert [o["label"] for o in doc["observations"]] == ["0201903501", "0404910601"]
    assert all(o["constituents"] for o in doc["observations"])


def test_audit_without_a_product_audits_sas_ccf(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`reprocal audit` alone audits $SAS_CCF, the CIF the SAS tasks of this shell read."""
    cif = samples / "0201903501" / "ccf.cif"
    r = cli("audit", env={"SAS_CCF": str(cif), "SAS_CCFPATH": "",
                          "REPROCAL_CATALOG": str(tmp_path / "c.db")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{cif}: 118 constituents; OBSVDATE 2004-06-17T10:38:28")
    none = cli("audit", env={"SAS_CCF": ""})
    assert (none.returncode, none.stderr.splitlines()[-1]) == (
        2, "reprocal: error: no CIF given and SAS_CCF is not set; give the file (PRODUCTS) or "
           "set SAS_CCF to the CIF (or to the directory holding ccf.cif)")


def test_reverse_impact_tells_listing_from_possible_use(cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    """An event list embeds the whole CIF: a MOS1 event list only lists EPN_CTI_0045 (not
    MOS1's calibration) but could have used EMOS1_CTI; a CIF lists both, for any instrument."""
    evt = samples / "0201901401" / "mos1_exp1_clean_evts.fits"
    r = cli("audit", "--uses", "EPN_CTI_0045", str(samples))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ("4 use(s) of EPN_CTI_0045.CCF in 6 candidate file(s); 0 by a product of "
                        "an instrument that reads it:")
    assert (f"  {evt}: CALINDEX of EMOS1 only lists EPN_CTI_0045.CCF: it embeds the whole CIF, "
            "and the constituent is not EMOS1's (OBSVDATE 2004-05-09T12:33:40, ANALDATE "
            "2015-01-26T11:36:21)") in lines
    assert (f"  {samples / '0201901401' / 'ccf.cif'}: CALINDEX lists EPN_CTI_0045.CCF (OBSVDATE "
            "2004-05-09T13:00:16, ANALDATE 2018-07-27T17:25:14)") in lines
    doc = json.loads(cli("audit", "--uses", "EMOS1_CTI", str(samples), "--json").stdout)
    by_path = {u["path"]: u for u in doc["uses"]}
    assert (by_path[str(evt)]["relevance"], by_path[str(evt)]["instrument"]) == (
        "could have used", "EMOS1")
    assert by_path[str(samples / "0201901401" / "ccf.cif")]["relevance"] == "listed"
