"""``reprocal run --manifest`` through the real command line: the command gets the manifest's
calibration (not the shell's SAS_CCF), a conflicting SAS_CCF is refused or, when asked, used
and described; --json is one document."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from reprocal.fits._calindex import read_calindex, rows_digest
from reprocal.fits._stamp import read_stamp
from reprocal.provenance._record import load_record
from reprocal.state._manifest import load_manifest

OBS, AN = "2006-05-27T09:57:27", "2018-07-27T17:25:14"

# A stand-in for a SAS task: copies the CIF $SAS_CCF names into its product (SAS tasks carry
# the CALINDEX into what they write), notes the calibration variables, talks on stdout.
TASK = ("import os, shutil, sys, json; shutil.copyfile(os.environ['SAS_CCF'], sys.argv[1]); "
        "json.dump({k: os.environ.get(k) for k in ('SAS_CCF', 'SAS_CCFPATH', "
        "'REPROCAL_CALIBRATION_ID')}, open('env.json', 'w')); print('task: wrote', sys.argv[1])")


@pytest.fixture
def world(cli, synthetic_repo, tmp_path: Path) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """A working directory with a pinned manifest of one observation (``m.json``), one of two
    (``two.json``), and a CIF of the same observation made at another analysis date."""
    ccf = synthetic_repo.root
    work = tmp_path / "work"
    work.mkdir()
    env = {"REPROCAL_CATALOG": str(tmp_path / "c.sqlite")}
    for args in (("pin", "--obs-date", OBS, "--analysis-date", AN, "--obs-id", "0404910601",
                  "-o", str(work / "m.json")),
                 ("cif", "--obs-date", OBS, "--analysis-date", "2005-01-01",
                  "-o", str(tmp_path / "old.cif"))):
        done = cli(*args, "--ccf-path", str(ccf), env=env)
        assert done.returncode == 0, done.stderr
    (tmp_path / "obs.csv").write_text(f"obs_id,obs_date,analysis_date\n0404910601,{OBS},{AN}\n"
                                      "0201903501,2004-06-17T10:38:28,2014-05-08T13:54:01\n")
    done = cli("pin", "--obs-list", str(tmp_path / "obs.csv"), "--ccf-path", str(ccf),
               "-o", str(work / "two.json"), env=env)
    assert done.returncode == 0, done.stderr
    return {"ccf": ccf, "work": work, "old": tmp_path / "old.cif", "catalog": tmp_path / "c.sqlite"}


def _run(cli, world, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return cli("run", *args, "--", sys.executable, "-c", TASK, "pn.fits", cwd=world["work"],
               env={"REPROCAL_CATALOG": str(world["catalog"]), **(env or {})})


def test_the_command_gets_the_manifests_cif(cli, world) -> None:  # type: ignore[no-untyped-def]
    """No SAS_CCF in the shell: the command is given a CIF built from the manifest, so the
    product's CALINDEX (rows and dates) is the manifest's; SAS_CCFPATH and the id are
    exported; the CIF's private directory is gone afterwards; audit agrees with the stamp."""
    m = load_manifest(world["work"] / "m.json")
    obs, obs_id = m.observations[0], str(m.observation_ids[0])
    done = _run(cli, world, "--manifest", "m.json", "--ccf-path", str(world["ccf"]))
    assert done.returncode == 0, done.stderr
    product = read_calindex(world["work"] / "pn.fits")
    assert (product.obs_date, product.analysis_date) == (obs.obs_date, obs.analysis_date)
    assert rows_digest(product.rows) == rows_digest(m.constituents_for(obs))
    assert all(Path(f).parent == world["ccf"] for f in product.fnames)  # the checked files
    seen = json.loads((world["work"] / "env.json").read_text())
    assert seen["SAS_CCFPATH"] == str(world["ccf"]) and seen["REPROCAL_CALIBRATION_ID"] == obs_id
    assert not Path(seen["SAS_CCF"]).exists()
    stamp = read_stamp(world["work"] / "pn.fits")
    assert stamp is not None and stamp.calibration_id == obs_id
    rec = load_record(world["work"] / "pn.fits.prov.json")
    (cif,) = rec.by_role("cif")
    assert (cif.annotations["builtFrom"], cif.annotations["rowsDigest"], cif.uri) == (
        "manifest", rows_digest(m.constituents_for(obs)), None)
    assert rec.environment["SAS_CCF"] == seen["SAS_CCF"]
    audit = cli("audit", "pn.fits", "--ccf-path", str(world["ccf"]), "--json",
                "--catalog", str(world["catalog"]), cwd=world["work"])
    doc = json.loads(audit.stdout)
    assert (audit.returncode, doc["calibration_id"], doc["agrees"]) == (0, obs_id, True), \
        audit.stdout


def test_a_conflicting_sas_ccf_is_refused(cli, world) -> None:  # type: ignore[no-untyped-def]
    """A SAS_CCF from earlier work (other rows): exit 2 naming it and the manifest, before the
    command runs; nothing written."""
    done = _run(cli, world, "--manifest", "m.json", "--ccf-path", str(world["ccf"]),
                env={"SAS_CCF": str(world["old"])})
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"reprocal: error: SAS_CCF={world['old']} is other calibration than "
                           f"observation 0404910601 of {world['work'] / 'm.json'}: ")
    assert "rows differ" in line and "--use-env-ccf" in line and "unset SAS_CCF" in line
    assert sorted(p.name for p in world["work"].iterdir()) == [
        "m.json", "m.json.prov.json", "two.json", "two.json.prov.json"]


def test_a_sas_ccf_with_the_manifests_rows_is_no_conflict(cli, world) -> None:  # type: ignore[no-untyped-def]
    """SAS_CCF holding what `reprocal rebuild` writes from the manifest: the command runs."""
    assert cli("rebuild", "m.json", "--ccf-path", str(world["ccf"]), "-o", "rebuilt",
               cwd=world["work"]).returncode == 0
    done = _run(cli, world, "--manifest", "m.json", "--ccf-path", str(world["ccf"]),
                env={"SAS_CCF": "rebuilt/0404910601/ccf.cif"})
    assert done.returncode == 0, done.stderr


def test_use_env_ccf_runs_with_it_and_says_so(cli, world) -> None:  # type: ignore[no-untyped-def]
    """--use-env-ccf: the command gets the shell's SAS_CCF, and the record and stamp describe
    that CIF (its rows, its dates, the id its rows and local bytes amount to), not the
    manifest; audit then finds the product's content is the id it carries."""
    m = load_manifest(world["work"] / "m.json")
    done = _run(cli, world, "--manifest", "m.json", "--use-env-ccf",
                env={"SAS_CCF": str(world["old"]), "SAS_CCFPATH": str(world["ccf"])})
    assert done.returncode == 0, done.stderr
    old = read_calindex(world["old"])
    product = read_calindex(world["work"] / "pn.fits")
    assert (product.analysis_date, rows_digest(product.rows)) == (old.analysis_date,
                                                                 rows_digest(old.rows))
    rec = load_record(world["work"] / "pn.fits.prov.json")
    (cif,) = rec.by_role("cif")
    assert cif.annotations["rowsDigest"] == rows_digest(old.rows)
    assert rec.calibration_id is not None and rec.calibration_id.startswith("rpcal:2:obs:")
    assert rec.calibration_id != str(m.observation_ids[0])
    (man,) = rec.by_role("manifest")
    assert man.annotations["used"].startswith("no:")
    stamp = read_stamp(world["work"] / "pn.fits")
    assert stamp is not None and stamp.calibration_id == rec.calibration_id
    assert stamp.cif_digest == rows_digest(old.rows)
    audit = cli("audit", "pn.fits", "--json", "--catalog", str(world["catalog"]),
                cwd=world["work"])
    doc = json.loads(audit.stdout)
    assert doc["calibration_id"] == rec.calibration_id
    assert "content hashes to" not in cli("audit", "pn.fits", "--catalog",
                                          str(world["catalog"]), cwd=world["work"]).stdout


def test_several_observations_need_obs(cli, world) -> None:  # type: ignore[no-untyped-def]
    """A manifest of two observations: --obs says which (its CIF, its dates, its id)."""
    m = load_manifest(world["work"] / "two.json")
    done = _run(cli, world, "--manifest", "two.json", "--ccf-path", str(world["ccf"]))
    assert done.returncode == 2
    assert done.stderr == (f"reprocal: error: --manifest {world['work'] / 'two.json'} holds 2 "
                           "observations (0404910601, 0201903501); each has its own CIF and "
                           "calibration id; say which with --obs LABEL\n")
    done = _run(cli, world, "--manifest", "two.json", "--obs", "0201903501", "--ccf-path",
                str(world["ccf"]))
    assert done.returncode == 0, done.stderr
    product = read_calindex(world["work"] / "pn.fits")
    assert str(product.analysis_date) == "2014-05-08T13:54:01"
    assert read_stamp(world["work"] / "pn.fits").calibration_id == str(  # type: ignore[union-attr]
        m.observation_ids[1])
    done = _run(cli, world, "--manifest", "two.json", "--obs", "nope", "--ccf-path",
                str(world["ccf"]))
    assert done.returncode == 2 and "--obs 'nope': " in done.stderr


def test_json_is_one_document_and_errors_are_json(cli, cli_process, world) -> None:  # type: ignore[no-untyped-def]
    """--json: the command's own stdout goes to stderr, stdout is one JSON document; an error
    under --json is a JSON document too (and still one line on stderr). In a real process: the
    command's output reaches the process's own descriptors."""
    done = _run(cli_process, world, "--manifest", "m.json", "--ccf-path", str(world["ccf"]),
                "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # the whole of stdout
    assert doc["observation"] == "0404910601" and doc["cif"] is None
    assert set(doc["environment"]) == {"SAS_CCF", "SAS_CCFPATH", "REPROCAL_CALIBRATION_ID"}
    assert "task: wrote pn.fits" in done.stderr
    refused = _run(cli, world, "--manifest", "m.json", "--ccf-path", str(world["ccf"]), "--json",
                   env={"SAS_CCF": str(world["old"])})
    assert refused.returncode == 2
    err = json.loads(refused.stdout)["error"]
    assert (err["exit_code"], err["kind"]) == (2, "InputError")
    assert refused.stderr == f"reprocal: error: {err['message']}\n"
    usage = cli("run", "--json", "--manifest", cwd=world["work"])
    assert usage.returncode == 2 and json.loads(usage.stdout)["error"]["kind"] == "UsageError"


def test_cif_keeps_the_cif_and_the_record_points_to_it(cli, world) -> None:  # type: ignore[no-untyped-def]
    """--cif PATH: the CIF the command got is kept there, and the record names it by uri."""
    done = _run(cli, world, "--manifest", "m.json", "--ccf-path", str(world["ccf"]),
                "--cif", "given.cif")
    assert done.returncode == 0, done.stderr
    kept = world["work"] / "given.cif"
    (cif,) = load_record(world["work"] / "pn.fits.prov.json").by_role("cif")
    assert (cif.name, cif.uri) == ("given.cif", kept.as_uri())
    assert cif.sha256 == hashlib.sha256(kept.read_bytes()).hexdigest()
    assert rows_digest(read_calindex(kept).rows) == rows_digest(
        read_calindex(world["work"] / "pn.fits").rows)


def test_a_repository_without_the_pinned_bytes_is_refused(cli, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The manifest's constituents must be in the repository as pinned; else nothing runs."""
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _run(cli, world, "--manifest", "m.json", "--ccf-path", str(empty))
    assert done.returncode == 1
    assert "pinned constituent(s) not as pinned" in done.stderr
    assert not (world["work"] / "pn.fits").exists()
    none = _run(cli, world, "--manifest", "m.json")
    assert none.returncode == 2
    assert none.stderr == ("reprocal: error: --manifest: the command needs the repository "
                           "holding the manifest's constituents; give --ccf-path DIRS or set "
                           "SAS_CCFPATH\n")


@pytest.mark.parametrize(("args", "message"), [
    (("--obs", "x"), "--obs goes with --manifest (without one, the command uses $SAS_CCF and "
                     "$SAS_CCFPATH as they are)"),
    (("--ccf-path", "ccf"), "--ccf-path goes with --manifest (without one, the command uses "
                            "$SAS_CCF and $SAS_CCFPATH as they are)"),
    (("--manifest", "m.json", "--use-env-ccf", "--cif", "x.cif"),
     "--cif does not go with --use-env-ccf: the command uses $SAS_CCF and $SAS_CCFPATH as they "
     "are"),
    (("--manifest", "m.json", "--use-env-ccf"),
     "--use-env-ccf: SAS_CCF is not set; set it, or drop --use-env-ccf to run with the "
     "manifest's calibration"),
])
def test_options_that_do_not_go_together(cli, world, args, message) -> None:  # type: ignore[no-untyped-def]
    """Each option combination that cannot mean anything is one line, exit 2, nothing run."""
    done = _run(cli, world, *args)
    assert (done.returncode, done.stderr) == (2, f"reprocal: error: {message}\n")
    assert not (world["work"] / "pn.fits").exists()
