"""Manifest v2 through the CLI: one id however a state is pinned, v1 manifests and stamps still
recognised, hand edits and hostile labels refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reprocal.fits._odf import demo_summary_path
from reprocal.fits._stamp import Stamp, read_stamp, stamp_file
from reprocal.state._manifest import load_manifest

V1 = Path(__file__).resolve().parents[1] / "state" / "data" / "v1-manifest.json"
AN = "2018-07-27T17:25:14"


@pytest.fixture(scope="module")
def ccf(synthetic_repo) -> Path:  # type: ignore[no-untyped-def]
    return synthetic_repo.root


def _pin(cli, ccf: Path, out: Path, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    done = cli("pin", *args, "--analysis-date", AN, "--ccf-path", str(ccf), "-o", str(out),
               "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_three_ways_of_pinning_give_one_id(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--odf, --obs-date with the same date, and another --obs-id label: one observation id and
    one state id (labels are in no id)."""
    odf = _pin(cli, ccf, tmp_path / "odf.json", "--odf", str(demo_summary_path()))
    date = _pin(cli, ccf, tmp_path / "date.json", "--obs-date", "2005-03-14T08:30:00")
    other = _pin(cli, ccf, tmp_path / "other.json", "--obs-date", "2005-03-14T08:30:00.000",
                 "--obs-id", "someone-elses-name")
    assert odf["calibration_id"] == date["calibration_id"] == other["calibration_id"]
    assert odf["calibration_id"].startswith("rpcal:2:state:")
    ids = [list(d["observation_ids"].values()) for d in (odf, date, other)]
    assert ids[0] == ids[1] == ids[2] and ids[0][0].startswith("rpcal:2:obs:")
    assert list(odf["observation_ids"]) == ["0999990101"]
    assert list(other["observation_ids"]) == ["someone-elses-name"]


def test_moving_the_repository_keeps_the_id(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same files in another directory pin to the same id (paths are in no id)."""
    moved = shutil.copytree(ccf, tmp_path / "elsewhere" / "ccf")
    a = _pin(cli, ccf, tmp_path / "a.json", "--obs-date", "2010-01-01")
    b = _pin(cli, Path(moved), tmp_path / "b.json", "--obs-date", "2010-01-01")
    assert a["calibration_id"] == b["calibration_id"]


def test_a_changed_byte_changes_the_id(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One byte of one selected constituent changes the observation id and the state id."""
    copy = Path(shutil.copytree(ccf, tmp_path / "copy"))
    a = _pin(cli, copy, tmp_path / "a.json", "--obs-date", "2010-01-01")
    name = load_manifest(tmp_path / "a.json").files[0].filename
    target = copy / name
    data = bytearray(target.read_bytes())
    data[-1] ^= 1  # in the data padding: still a readable constituent
    target.write_bytes(bytes(data))
    b = _pin(cli, copy, tmp_path / "b.json", "--obs-date", "2010-01-01")
    assert a["calibration_id"] != b["calibration_id"]
    assert a["observation_ids"] != b["observation_ids"]


def test_v1_manifest_verifies_with_one_notice_and_upgrades(cli_process, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A reprocal 0.1 manifest works (one `note:` line), upgrades, and audit names its old id."""
    old = tmp_path / "old.json"
    shutil.copy(V1, old)
    done = cli_process("verify", str(old), "--ccf-path", str(ccf), "--level", "full")
    assert done.returncode == 0, done.stderr
    notes = [ln for ln in done.stderr.splitlines() if ln.startswith("reprocal: note:")]
    assert len(notes) == 1 and "a version-1 manifest (id sha256:385ab1a0" in notes[0]
    up = cli_process("manifest", "upgrade", str(old), "-o", str(tmp_path / "new.json"))
    assert up.returncode == 0, up.stderr
    assert "version 2, state id rpcal:2:state:" in up.stdout and "(was sha256:385ab1a0" in up.stdout
    again = cli_process("verify", str(tmp_path / "new.json"), "--ccf-path", str(ccf))
    assert again.returncode == 0 and "note:" not in again.stderr
    audit = cli_process("audit", str(tmp_path / "new.json"), "--ccf-path", str(ccf))
    assert "upgraded from the version-1 id sha256:385ab1a0" in audit.stdout


def test_upgrade_in_place(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Without -o the manifest is replaced, atomically, by its version-2 form."""
    old = tmp_path / "m.json"
    shutil.copy(V1, old)
    assert cli("manifest", "upgrade", str(old)).returncode == 0
    assert json.loads(old.read_text())["schema"] == "reprocal.manifest/v2"
    assert json.loads(old.read_text())["upgraded_from"].startswith("sha256:385ab1a0")


def test_audit_recognises_a_v1_stamp(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A product stamped by reprocal 0.1 (bare hex RPCALID, no RPCALSCH) is reported as carrying
    a version-1 id."""
    v1_id = json.loads(V1.read_text())["calibration_id"]
    with pytest.warns(UserWarning):
        m = load_manifest(V1)
    (tmp_path / "new.json").write_bytes(m.dumps())
    assert cli("rebuild", str(tmp_path / "new.json"), "--ccf-path", str(ccf), "-o",
               str(tmp_path / "cif")).returncode == 0
    product = tmp_path / "cif" / "0201901401" / "ccf.cif"
    stamp_file(product, Stamp(calibration_id=v1_id, version="0.1.0"))
    from astropy.io import fits

    header = fits.getheader(product)
    assert "RPCALSCH" not in header and header["RPCALID"] == v1_id.split(":")[1]
    assert read_stamp(product).calibration_id == v1_id  # type: ignore[union-attr]
    done = cli("audit", str(product), "--json")
    doc = json.loads(done.stdout)
    assert (doc["calibration_id"], doc["calibration_id_version"]) == (v1_id, 1)
    text = cli("audit", str(product)).stdout
    assert f"calibration id {v1_id} (a version-1 id, from reprocal 0.1" in text


def test_hand_edited_manifest_is_refused_by_rebuild(cli, ccf: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rebuild writes rows from the manifest only when they are the ones its id covers."""
    _pin(cli, ccf, tmp_path / "m.json", "--obs-date", "2010-01-01")
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["constituents"][0]["valdate"] = "1999-01-01T00:00:00"
    (tmp_path / "m.json").write_text(json.dumps(doc))
    done = cli("rebuild", str(tmp_path / "m.json"), "--ccf-path", str(ccf), "-o",
               str(tmp_path / "cif"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "$.state_id is rpcal:2:state:" in done.stderr and "edited by hand" in done.stderr
    assert not (tmp_path / "cif").exists()


@pytest.mark.parametrize("label", ["..", ".", ".hidden", "-rf", "a/b", ""])
def test_hostile_labels_are_refused_everywhere(cli, ccf: Path, tmp_path: Path, label: str) -> None:  # type: ignore[no-untyped-def]
    """A label is a path component of rebuild's output: pin, --obs-list and a hand-edited
    manifest all refuse one that is not a plain name, and nothing is written outside -o."""
    out = tmp_path / "out"
    if label:
        done = cli("pin", "--obs-date", "2010-01-01", "--obs-id", label, "--analysis-date", AN,
                   "--ccf-path", str(ccf), "-o", str(tmp_path / "m.json"))
        assert done.returncode == 2 and "is not a label" in done.stderr, done.stderr
        (tmp_path / "list.csv").write_text(f"obs_id,obs_date\n{label},2010-01-01\n")
        done = cli("pin", "--obs-list", str(tmp_path / "list.csv"), "--analysis-date", AN,
                   "--ccf-path", str(ccf), "-o", str(tmp_path / "m.json"))
        assert done.returncode == 2 and "is not a label" in done.stderr, done.stderr
        assert not (tmp_path / "m.json").exists()
        (tmp_path / "list.csv").unlink()
    _pin(cli, ccf, tmp_path / "ok.json", "--obs-date", "2010-01-01", "--obs-id", "fine")
    doc = json.loads((tmp_path / "ok.json").read_text())
    doc["observations"][0]["label"] = label
    (tmp_path / "evil.json").write_text(json.dumps(doc))
    done = cli("rebuild", str(tmp_path / "evil.json"), "--ccf-path", str(ccf), "-o", str(out))
    assert done.returncode == 2 and "$.observations[0].label" in done.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "evil.json", "ok.json", "ok.json.prov.json"]


# --- the SAS version is captured when pinning -------------------------------------------------

SASVERSION = """#!/bin/sh
echo 'sasversion:- Executing (routine): sasversion  -w 1 -V 4'
echo 'sasversion:- sasversion (sasversion-1.3)  [xmmsas_20230412_1735-21.0.0] started:  2024-02-01T10:00:00.000'
echo 'SAS release: xmmsas_20230412_1735-21.0.0'
"""


@pytest.fixture
def fake_sas(tmp_path: Path) -> dict[str, str]:
    """A `sasversion` on PATH, standing in for an installed SAS 21.0.0."""
    import os

    bin_dir = tmp_path / "sas-bin"
    bin_dir.mkdir()
    exe = bin_dir / "sasversion"
    exe.write_text(SASVERSION)
    exe.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_pin_records_the_sas_that_sasversion_reports(cli, ccf: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     fake_sas: dict[str, str]) -> None:
    """With SAS set up, pin records its version without being told; the image build labels the
    image with it and the bundle README names it. It is in no id."""
    m = tmp_path / "m.json"
    done = cli("pin", "--obs-date", "2010-01-01", "--analysis-date", AN, "--ccf-path", str(ccf),
               "-o", str(m), env=fake_sas)
    assert done.returncode == 0, done.stderr
    assert "SAS version 21.0.0 (from sasversion)" in done.stdout.splitlines()
    assert load_manifest(m).sas_version == "21.0.0"
    plain = _pin(cli, ccf, tmp_path / "plain.json", "--obs-date", "2010-01-01")
    assert plain["sas_version"] is None and plain["calibration_id"] == load_manifest(m).calibration_id
    done = cli("image", "build", str(m), "--ccf-path", str(ccf), "-o", str(tmp_path / "i.tar"))
    assert done.returncode == 0, done.stderr
    from reprocal.image._archive import read_image_tar

    labels = read_image_tar(tmp_path / "i.tar").config["config"]["Labels"]
    assert labels["org.reprocal.sas-version"] == "21.0.0"
    done = cli("bundle", str(m), "--license", "CC-BY-4.0", "--author", "Jane Doe",
               "--publisher", "ESA ESAC <https://www.cosmos.esa.int/web/esac>",
               "-o", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    assert "Pinned for XMM-Newton SAS 21.0.0" in (tmp_path / "b" / "README.md").read_text()


@pytest.mark.parametrize(("given", "sas_dir", "recorded", "source", "warning"), [
    ((), "/opt/sas/xmmsas_20141104_1833-14.0.0", "14.0.0", "SAS_DIR", None),
    (("--sas-version", "20.0.0"), "/opt/sas/xmmsas_20141104_1833-14.0.0", "20.0.0",
     "--sas-version", "--sas-version 20.0.0, but SAS_DIR says SAS 14.0.0 here; the manifest "
                      "records 20.0.0"),
    ((), "/opt/sas", None, None,
     "SAS_DIR=/opt/sas names no SAS release and no `sasversion` is on PATH: the manifest "
     "records no SAS version (give --sas-version V)"),
])
def test_pin_sas_version_from_sas_dir_or_the_option(cli, ccf: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                    given, sas_dir, recorded, source,
                                                    warning) -> None:
    """No `sasversion` on PATH: the release in $SAS_DIR; --sas-version wins (a disagreement is
    warned about); a SAS_DIR naming no release records nothing, and says so."""
    done = cli("pin", "--obs-date", "2010-01-01", "--analysis-date", AN, "--ccf-path", str(ccf),
               "-o", str(tmp_path / "m.json"), "--json", *given, env={"SAS_DIR": sas_dir})
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["sas_version"], doc["sas_version_source"]) == (recorded, source)
    assert load_manifest(tmp_path / "m.json").sas_version == recorded
    warnings = [ln for ln in done.stderr.splitlines() if ln.startswith("reprocal: warning:")]
    assert warnings == ([f"reprocal: warning: {warning}"] if warning else [])
