"""`reprocal run`: outputs found, FITS stamped, record written, exit status passed on; audit of
the stamped output gives the calibration back."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from support.constituents import sha256, write_constituent

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError
from reprocal.fits._headers import read_constituent
from reprocal.fits._stamp import read_stamp
from reprocal.provenance._record import load_record, record_errors
from reprocal.provenance._run import changed, named_inputs, run, snapshot
from reprocal.state._manifest import build, load_manifest, save_manifest

ROWS = [Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05", fsize=2880),
        Constituent(ConstituentName("EPN", "REDIST", 12), valdate="2000-01-01",
                    subdate="2014-06-04T06:21:14", fsize=5760)]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working directory with an event list and ``m.json``, pinning two constituents that
    ``../ccf`` holds (``$SAS_CCFPATH`` in these tests)."""
    ccf = tmp_path / "ccf"
    for row, n in zip(ROWS, (8, 800), strict=True):
        write_constituent(ccf, row.filename, subdate=row.subdate.text, rows=n)
    rows = [read_constituent(ccf / r.filename) for r in ROWS]
    w = tmp_path / "work"
    w.mkdir()
    m = build([("0201903501", CalDate.parse("2004-06-17T10:38:28"),
                CalDate.parse("2018-07-27T17:50:42"), "XMMCCF", rows)],
              {c.filename: ((ccf / c.filename).stat().st_size, sha256(ccf / c.filename))
               for c in rows})
    save_manifest(m, w / "m.json")
    (w / "evts.fits").write_bytes(_fits_bytes(w / "tmp.fits"))
    (w / "tmp.fits").unlink()
    return w


def _ccf(work: Path) -> dict[str, str]:
    return {"SAS_CCFPATH": str(work.parent / "ccf")}


def _fits_bytes(path: Path) -> bytes:
    cols = [fits.Column("PI", "J", array=np.arange(4))]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="SPECTRUM")]
                 ).writeto(path, checksum=True)
    return path.read_bytes()


def _fake_sas(status: int = 0):  # type: ignore[no-untyped-def]
    """An executor standing in for evselect: writes a spectrum and a log."""
    def execute(command: Sequence[str], cwd: Path, env: Mapping[str, str],
                stdout_to_stderr: bool = False) -> int:
        _fits_bytes(cwd / "pn.pha")
        (cwd / "log.txt").write_text(" ".join(command))
        return status
    return execute


def test_run_records_and_stamps(work: Path) -> None:
    """Outputs are found and stamped; the record names them, the inputs and the manifest."""
    result = run(["evselect", "table=evts.fits", "spectrumset=pn.pha"], cwd=work,
                 manifest_path=work / "m.json", environ={"SAS_VERBOSITY": "4", **_ccf(work)},
                 executor=_fake_sas())
    assert result.exit_status == 0
    assert [o.name for o in result.outputs] == ["pn.pha", "log.txt"]
    assert [o.name for o in result.stamped] == ["pn.pha"]
    assert result.record_path == work / "pn.pha.prov.json"  # named after the FITS output
    rec = load_record(result.record_path)
    assert record_errors(json.loads(result.record_path.read_bytes())) == []
    assert rec.command == ("evselect", "table=evts.fits", "spectrumset=pn.pha")
    assert [s.name for s in rec.subjects] == ["pn.pha", "log.txt"]
    assert [(d.name, d.role) for d in rec.dependencies] == [
        ("EPN_CTI_0045.CCF", "constituent"), ("EPN_REDIST_0012.CCF", "constituent"),
        ("m.json", "manifest"), ("ccf.cif", "cif"), ("evts.fits", "input")]  # relative names
    obs_id = str(load_manifest(work / "m.json").observation_ids[0])
    assert rec.environment == {"SAS_VERBOSITY": "4", "SAS_CCFPATH": str(work.parent / "ccf"),
                               "SAS_CCF": rec.environment["SAS_CCF"],
                               "REPROCAL_CALIBRATION_ID": obs_id}
    assert not Path(rec.environment["SAS_CCF"]).exists()  # the private CIF is gone
    stamp = read_stamp(work / "pn.pha")
    assert stamp is not None
    assert stamp.calibration_id == rec.calibration_id
    assert stamp.manifest_digest == rec.manifest_digest
    assert stamp.invocation_id == rec.invocation_id
    assert stamp.record == "pn.pha.prov.json"
    # the record's subject digest is of the stamped bytes
    from reprocal.fs._hashing import sha256_file

    assert rec.subjects[0].sha256 == sha256_file(work / "pn.pha")


def test_failed_command_still_recorded(work: Path) -> None:
    """A failing command's status is returned and recorded."""
    result = run(["evselect"], cwd=work, record=work / "r.json", executor=_fake_sas(3),
                 environ={})
    assert result.exit_status == 3
    assert load_record(work / "r.json").exit_status == 3


def test_explicit_output_must_exist(work: Path) -> None:
    """--output naming a file the command did not write is an error."""
    with pytest.raises(InputError) as exc:
        run(["evselect"], cwd=work, outputs=["nope.fits"], executor=_fake_sas(), environ={})
    assert exc.value.one_line() == f"outputs {work / 'nope.fits'} was not written by the command"


def test_unrunnable_command(work: Path) -> None:
    """A program that does not exist: exit 2, nothing recorded."""
    with pytest.raises(InputError) as exc:
        run(["no-such-program-xyz"], cwd=work, environ={"PATH": "/nonexistent"})
    assert exc.value.one_line() == ("cannot run 'no-such-program-xyz': no such program; check the "
                                    "command after `--` (and $PATH)")
    assert not list(work.glob("*.json.prov.json")) and not list(work.glob("reprocal-run-*"))


def test_snapshot_and_changes(tmp_path: Path) -> None:
    """Created and modified files are outputs; .git is ignored."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "a").write_text("1")
    before = snapshot(tmp_path)
    (tmp_path / "a").write_text("22")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("b")
    (tmp_path / ".git" / "index").write_text("x")
    assert changed(before, snapshot(tmp_path)) == ["a", "sub/b"]


def test_named_inputs(tmp_path: Path) -> None:
    """Files named as arguments or SAS parameters are inputs; others are not."""
    (tmp_path / "evts.fits").write_text("x")
    (tmp_path / "gti.fits").write_text("x")
    assert named_inputs(["evselect", "table=evts.fits", "gti.fits", "expression=PI>10",
                         "missing.fits"], tmp_path) == ["evts.fits", "gti.fits"]


def test_cif_in_sas_ccf_is_a_dependency(work: Path) -> None:
    """Without a manifest, $SAS_CCF's CIF and its constituents are recorded; local copies in
    $SAS_CCFPATH are hashed."""
    from reprocal.fits._calindex import write_cif

    ccf = work.parent / "other-ccf"
    ccf.mkdir()
    (ccf / ROWS[0].filename).write_bytes(b"x" * 2880)
    cif = write_cif(work.parent / "ccf.cif", ROWS, obs_date="2004-06-17", analysis_date="2018-07-27")
    result = run(["evselect"], cwd=work, executor=_fake_sas(),
                 environ={"SAS_CCF": str(cif), "SAS_CCFPATH": str(ccf)})
    rec = result.record
    (cif_dep,) = rec.by_role("cif")
    assert cif_dep.annotations["rowsDigest"].startswith("sha256:")
    assert cif_dep.annotations["obsDate"] == "2004-06-17T00:00:00"
    cti, redist = rec.by_role("constituent")
    assert cti.sha256 is not None and cti.uri == (ccf / ROWS[0].filename).as_uri()
    assert redist.sha256 is None and redist.uri == ROWS[1].filename
    stamp = read_stamp(work / "pn.pha")
    assert stamp is not None and stamp.cif_digest == cif_dep.annotations["rowsDigest"]


WRITER = ("import sys, numpy as np; from astropy.io import fits; "
          "fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns("
          "[fits.Column('PI', 'J', array=np.arange(3))], name='SPECTRUM')]).writeto(sys.argv[1])")


def test_cli_run_then_audit(cli_process, work: Path) -> None:  # type: ignore[no-untyped-def]
    """`reprocal run` passes the exit status on; `audit` of the stamped output finds the record
    and gives back the calibration id."""
    done = cli_process("run", "--manifest", "m.json", "--json", "--", sys.executable, "-c",
                       WRITER, "pn.pha", cwd=work, env=_ccf(work))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    calib = str(load_manifest(work / "m.json").observation_ids[0])
    assert doc["calibration_id"] == calib
    assert doc["stamped"] == [str(work / "pn.pha")]
    audit = cli_process("audit", "pn.pha", "--json", cwd=work)
    assert audit.returncode == 0, audit.stderr
    found = json.loads(audit.stdout)
    assert found["kind"] == "stamped FITS"  # no CALINDEX: the stamp leads to the record
    assert found["calibration_id"] == calib
    assert found["record"] == "pn.pha.prov.json"
    assert [f["used"] for f in found["findings"]] == [r.filename for r in ROWS]
    failing = cli_process("run", "--", sys.executable, "-c", "raise SystemExit(7)", cwd=work)
    assert failing.returncode == 7


def test_cli_audit_pin_reproduces_the_calibration_id(cli, work: Path) -> None:  # type: ignore[no-untyped-def]
    """`audit --pin` of a stamped output writes a manifest whose observation id is the product's
    stamp (and whose state id is the original's: labels are in no id); the record itself audits
    the same way; diff of the two manifests is empty."""
    assert cli("run", "--manifest", "m.json", "--", sys.executable, "-c", WRITER, "pn.pha",
               cwd=work, env=_ccf(work)).returncode == 0
    original = load_manifest(work / "m.json")
    calib = str(original.observation_ids[0])
    assert read_stamp(work / "pn.pha").calibration_id == calib  # type: ignore[union-attr]
    done = cli("audit", "pn.pha", "--pin", "-o", "again.json", cwd=work, env=_ccf(work))
    assert done.returncode == 0, done.stderr
    assert f"observation id {calib} (the id the product carries)" in done.stdout
    again = load_manifest(work / "again.json")
    assert str(again.observation_ids[0]) == calib
    assert again.calibration_id == original.calibration_id
    rec = json.loads(cli("audit", "pn.pha.prov.json", "--json", cwd=work).stdout)
    assert (rec["kind"], rec["calibration_id"]) == ("record", calib)
    same = json.loads(cli("diff", "m.json", "again.json#0201903501", "--json", cwd=work).stdout)
    assert same["counts"] == {"changed": 0, "added": 0, "removed": 0}


def test_record_whose_manifest_is_gone(work: Path) -> None:
    """A record whose manifest was deleted: constituents come from the catalogue (lookup),
    those it does not know are listed as unresolved, and the reason is noted."""
    from reprocal.audit._product import read_product

    result = run(["evselect"], cwd=work, manifest_path=work / "m.json", executor=_fake_sas(),
                 environ=_ccf(work))
    pinned = {f.filename: f.sha256 for f in load_manifest(work / "m.json").files}
    (work / "m.json").unlink()
    known = {ROWS[0].filename: ROWS[0]}
    (prod,) = read_product(result.record_path, lookup=known.get)
    assert prod.kind == "record"
    assert [c.filename for c in prod.state.constituents] == [ROWS[0].filename]
    assert prod.unresolved == (ROWS[1].filename,)
    assert prod.notes == (f"its manifest {work / 'm.json'} is not there any more",)
    assert prod.pinned == pinned
