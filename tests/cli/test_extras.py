"""Calibration beyond the CCF as a user handles it: ``pin --esas-caldb TARBALL --extra
responses=DIR``, ``verify`` at every level, ``fetch`` into an empty directory from loopback
mirrors (with fallback, from the tarball for the caldb), and the ``--script`` doing the same."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support.servers import Fault, MirrorServer

from reprocal.state._manifest import load_manifest
from reprocal.testing import caldb_tarball, write_responses
from reprocal.testing._extras import CALDB_FILES, CALDB_TOP

pytestmark = pytest.mark.network
PIN = ["pin", "--obs-date", "2012-03-04T05:06:07", "--analysis-date", "2020-01-01"]


@pytest.fixture
def pinned(synthetic_repo, tmp_path, cli):  # type: ignore[no-untyped-def]
    """A copy of the synthetic repository with a caldb (from its tarball) and a response area
    pinned into it; ``(tmp, repo, manifest)``."""
    repo = tmp_path / "ccf"
    shutil.copytree(synthetic_repo.root, repo)
    tb = caldb_tarball(tmp_path / "downloads" / "esas_caldb.tar.gz")
    write_responses(tmp_path / "responses", mos_epochs=2)
    proc = cli(*PIN, "--ccf-path", str(repo), "-o", str(tmp_path / "m.json"), "--esas-caldb",
               str(tb), "--extra", f"responses={tmp_path / 'responses'}", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(x["label"], x["kind"], x["tarball"]) for x in doc["extras"]] == [
        ("esas-caldb", "esas-caldb", "esas_caldb.tar.gz"), ("responses", "other", None)]
    return tmp_path, repo, tmp_path / "m.json"


def _verify(cli, manifest: Path, repo: Path, level: str = "full"):  # type: ignore[no-untyped-def]
    proc = cli("verify", str(manifest), "--ccf-path", str(repo), "--level", level, "--json")
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None


def test_pinned_sets_live_in_the_repository_and_verify_at_every_level(pinned, cli):
    tmp, repo, manifest = pinned
    m = load_manifest(manifest)
    assert m.caldb is not None and m.caldb.root == CALDB_TOP
    for name in CALDB_FILES:
        assert (repo / "extras" / "esas-caldb" / CALDB_TOP / name).is_file()
    assert (repo / "extras" / "esas_caldb.tar.gz").is_file()  # the repository mirrors the tarball
    for level in ("stat", "fits", "full"):
        proc, doc = _verify(cli, manifest, repo, level)
        assert proc.returncode == 0, proc.stderr
        assert doc["ok"] and doc["extras"]["counts"]["ok"] == sum(len(x.files) for x in m.extras)
    # one changed byte in a caldb file: every level that reads says which, stat by the cache
    victim = repo / "extras" / "esas-caldb" / CALDB_TOP / "pn-fwc.fits.gz"
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    for level in ("stat", "full"):
        proc, doc = _verify(cli, manifest, repo, level)
        assert proc.returncode == 1
        bad = [r for r in doc["extras"]["results"] if r["status"] != "ok"]
        assert [(r["set"], r["path"]) for r in bad] == [("esas-caldb", f"{CALDB_TOP}/pn-fwc.fits.gz")]
    text = cli("verify", str(manifest), "--ccf-path", str(repo), "--level", "full")
    assert "esas-caldb/esas_caldb/pn-fwc.fits.gz" in text.stdout
    assert "extra calibration sets are not as pinned" in text.stderr


def test_fetch_into_an_empty_directory_from_a_loopback_mirror(pinned, cli):
    """The first mirror lacks the sets (404): the second serves every file and the tarball; the
    caldb is unpacked from its tarball, the responses come one file at a time."""
    tmp, repo, manifest = pinned
    dest = tmp / "empty"
    with MirrorServer(repo, nested=True) as bad, MirrorServer(repo, nested=True) as good:
        bad.faults = {"extras/esas_caldb.tar.gz": Fault("404"),
                      "extras/responses/Version.txt": Fault("corrupt")}
        proc = cli("fetch", str(manifest), "--ccf-path", str(dest), "--mirror", bad.url,
                   "--mirror", good.url, "--retries", "0", "--json")
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        files = {f["filename"]: f for f in report["files"]}
        caldb = files[f"esas-caldb/{CALDB_TOP}/pn-fwc.fits.gz"]
        assert caldb["status"] == "fetched" and caldb["mirror"] == "(unpacked from esas_caldb.tar.gz)"
        version = files["responses/Version.txt"]
        assert version["mirror"] == good.url + "extras/responses/"
        assert [a["kind"] for a in version["attempts"]] == ["hash-mismatch"]
        assert good.gets("extras/esas_caldb.tar.gz")
    proc, doc = _verify(cli, manifest, dest)
    assert proc.returncode == 0 and doc["extras"]["counts"]["ok"] > 100, proc.stderr
    # a second fetch finds everything present and downloads nothing
    proc = cli("fetch", str(manifest), "--ccf-path", str(dest), "--mirror", "http://127.0.0.1:9/",
               "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"]["fetched"] == 0


def test_a_damaged_caldb_file_is_restored_from_the_kept_tarball(pinned, cli):
    tmp, repo, manifest = pinned
    victim = repo / "extras" / "esas-caldb" / CALDB_TOP / "mos1-fwc.fits.gz"
    victim.write_bytes(b"damaged")
    proc = cli("fetch", str(manifest), "--ccf-path", str(repo), "--mirror",
               "http://127.0.0.1:9/", "--json")  # nothing reachable: the tarball is here
    assert proc.returncode == 0, proc.stderr
    assert _verify(cli, manifest, repo)[0].returncode == 0


def test_dry_run_lists_the_tarball_and_the_files(pinned, cli):
    tmp, repo, manifest = pinned
    proc = cli("fetch", str(manifest), "--ccf-path", str(tmp / "empty"), "--mirror",
               str(repo), "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    names = {p["filename"] for p in json.loads(proc.stdout)["to_fetch"]}
    assert "esas-caldb: esas_caldb.tar.gz" in names and "responses/Version.txt" in names
    assert not (tmp / "empty" / "extras").exists()


def test_the_fetch_script_brings_the_sets_too(pinned, cli):
    tmp, repo, manifest = pinned
    with MirrorServer(repo, nested=True) as good:
        proc = cli("fetch", str(manifest), "--mirror", good.url, "--script",
                   str(tmp / "fetch.sh"))
        assert proc.returncode == 0, proc.stderr
        run = subprocess.run(["sh", str(tmp / "fetch.sh"), str(tmp / "byscript")],
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _verify(cli, manifest, tmp / "byscript")[0].returncode == 0
    assert not list((tmp / "byscript" / "extras").glob(".unpack*"))


def test_a_changed_caldb_is_another_state(pinned, cli):
    tmp, repo, manifest = pinned
    tb = caldb_tarball(tmp / "newer" / "esas_caldb.tar.gz", changed=["pn-diag.rsp.gz"])
    proc = cli(*PIN, "--ccf-path", str(repo), "-o", str(tmp / "m2.json"), "--esas-caldb",
               str(tb), "--extra", f"responses={tmp / 'responses'}")
    assert proc.returncode == 0, proc.stderr
    one, two = load_manifest(manifest), load_manifest(tmp / "m2.json")
    assert one.observation_ids == two.observation_ids
    assert one.calibration_id != two.calibration_id
    assert one.extra("responses").id == two.extra("responses").id
    proc = cli("diff", str(manifest), str(tmp / "m2.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["counts"] == {"changed": 0, "added": 0, "removed": 0}
    assert [(c["set"], c["path"], c["kind"]) for c in doc["extras"]["esas-caldb"]] == [
        ("esas-caldb", f"{CALDB_TOP}/pn-diag.rsp.gz", "changed")]
    assert list(doc["extras"]) == ["esas-caldb"]  # the responses are the same
    text = cli("diff", str(manifest), str(tmp / "m2.json")).stdout
    assert "extra set esas-caldb: 1 file(s) differ" in text
    assert f"changed {CALDB_TOP}/pn-diag.rsp.gz" in text


ESAS_TASK = ("import os, json; d = os.environ.get('ESAS_CALDB'); json.dump({'caldb': d, "
             "'files': sorted(os.listdir(d)) if d else None}, open('env.json', 'w'))")


def test_run_exports_the_pinned_caldb_and_records_its_files(pinned, cli):
    """``run --manifest`` points ESAS_CALDB at the pinned caldb (not the shell's), after
    checking its files, and the record lists each file of the sets as a dependency."""
    import sys

    from reprocal.provenance._record import load_record

    tmp, repo, manifest = pinned
    work = tmp / "work"
    work.mkdir()
    proc = cli("run", "--manifest", str(manifest), "--ccf-path", str(repo), "--record",
               str(work / "run.prov.json"), "--", sys.executable, "-c", ESAS_TASK, cwd=work,
               env={"ESAS_CALDB": "/somewhere/else"})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((work / "env.json").read_text())
    assert seen["caldb"] == str((repo / "extras" / "esas-caldb" / CALDB_TOP).resolve())
    assert seen["files"] == sorted(CALDB_FILES)
    deps = load_record(work / "run.prov.json").dependencies
    extra = {d.name: d for d in deps if d.role == "extra"}
    assert f"extras/esas-caldb/{CALDB_TOP}/pn-fwc.fits.gz" in extra
    assert "extras/responses/Version.txt" in extra
    # a damaged caldb file: the run is refused before the command starts, naming the file
    (repo / "extras" / "esas-caldb" / CALDB_TOP / "pn-diag.rsp.gz").write_bytes(b"x")
    (work / "env.json").unlink()
    proc = cli("run", "--manifest", str(manifest), "--ccf-path", str(repo), "--",
               sys.executable, "-c", ESAS_TASK, cwd=work)
    assert proc.returncode == 1
    assert "esas-caldb/esas_caldb/pn-diag.rsp.gz" in proc.stderr
    assert not (work / "env.json").exists()


RESPONSE = ["--camera", "pn", "--mode", "ff20", "--patterns", "s", "--position", "Y9",
            "--label", "canned"]


def test_response_chooses_the_epoch_says_why_pins_and_fetches(pinned, cli):
    """The observation (2012-03-04) is in pn epoch e2: that matrix and Version.txt are pinned
    with the choice; the state id changes; a fetch into an empty directory brings them."""
    tmp, repo, manifest = pinned
    (tmp / "responses" / "PN" / "epn_e2_ff20_sY9_odd_extra.rmf").write_bytes(b"x")
    proc = cli("response", str(manifest), "--source", str(tmp / "responses"), *RESPONSE,
               "--ccf-path", str(repo), "-o", str(tmp / "m3.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["path"] for c in doc["chosen"]] == ["PN/epn_e2_ff20_sY9.rmf"]
    assert "is in pn epoch e2 (2007-01-01 to 2014-01-01" in doc["chosen"][0]["reason"]
    assert doc["set"]["files"] == ["PN/epn_e2_ff20_sY9.rmf", "Version.txt"]
    assert "rmfgen" in proc.stderr
    assert "PN/epn_e2_ff20_sY9_odd_extra.rmf" in proc.stderr  # reported, not guessed at
    m3 = load_manifest(tmp / "m3.json")
    assert m3.calibration_id != load_manifest(manifest).calibration_id
    (choice,) = m3.extra("canned").choices
    assert (choice.epoch, choice.epoch_start.date, choice.observations) == (
        "e2", "2007-01-01", ("obs1",))
    assert (repo / "extras" / "canned" / "PN" / "epn_e2_ff20_sY9.rmf").is_file()
    with MirrorServer(repo, nested=True) as good:
        proc = cli("fetch", str(tmp / "m3.json"), "--ccf-path", str(tmp / "empty"), "--mirror",
                   good.url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert _verify(cli, tmp / "m3.json", tmp / "empty")[0].returncode == 0


def test_response_from_a_mirror_listing_chooses_the_same(pinned, cli):
    tmp, repo, manifest = pinned
    area = tmp / "server"
    shutil.copytree(tmp / "responses", area / "extras" / "responses")
    with MirrorServer(area, nested=True) as srv:
        proc = cli("response", str(manifest), "--source", srv.url + "extras/responses/",
                   *RESPONSE, "--ccf-path", str(repo), "-o", str(tmp / "m3.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["path"] for c in doc["chosen"]] == ["PN/epn_e2_ff20_sY9.rmf"]
    x = load_manifest(tmp / "m3.json").extra("canned")
    assert x.url == srv.url + "extras/responses/"
    assert (repo / "extras" / "canned" / "Version.txt").read_bytes() == (
        tmp / "responses" / "Version.txt").read_bytes()


@pytest.mark.parametrize(("args", "says"), [
    (["--camera", "pn", "--mode", "bu", "--patterns", "s", "--position", "Y9"],
     "no canned matrix for pn burst"),
    (["--camera", "m1", "--mode", "im", "--patterns", "pall", "--position", "c"],
     "no source says where that epoch ends"),
    (["--camera", "m3", "--mode", "im", "--patterns", "pall", "--position", "c"],
     "--camera: 'm3' is not an EPIC camera"),
    (["--camera", "pn", "--mode", "ff", "--patterns", "q", "--position", "Y9"],
     "--patterns: 'q'"),
])
def test_response_refusals_are_one_line_and_write_nothing(pinned, cli, args, says):
    tmp, repo, manifest = pinned
    proc = cli("response", str(manifest), "--source", str(tmp / "responses"), *args, "--label",
               "canned", "--ccf-path", str(repo), "-o", str(tmp / "m3.json"))
    assert proc.returncode == 2
    assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp / "m3.json").exists() and not (repo / "extras" / "canned").exists()


def test_response_for_mos_with_an_epoch_table(pinned, cli):
    tmp, repo, manifest = pinned
    (tmp / "mos.csv").write_text("camera,epoch,start,end,source\n"
                                 "m1,e1,2000-01-01,2010-01-01,my table\nm1,e2,2010-01-01,,my table\n")
    proc = cli("response", str(manifest), "--source", str(tmp / "responses"), "--camera", "mos1",
               "--mode", "im", "--patterns", "all", "--position", "centre", "--epochs",
               str(tmp / "mos.csv"), "--label", "canned", "--ccf-path", str(repo), "-o",
               str(tmp / "m3.json"))
    assert proc.returncode == 0, proc.stderr
    assert "MOS/m1_e2_im_pall_c.rmf" in proc.stdout and "my table" in proc.stdout
    (tmp / "bad.csv").write_text("camera,epoch,start,end\nm1,e1,2000-01-01,2011-01-01\n"
                                 "m1,e2,2010-01-01,\n")
    proc = cli("response", str(manifest), "--source", str(tmp / "responses"), "--camera", "m1",
               "--mode", "im", "--patterns", "pall", "--position", "c", "--epochs",
               str(tmp / "bad.csv"), "--ccf-path", str(repo), "-o", str(tmp / "m4.json"))
    assert proc.returncode == 2 and "overlap" in proc.stderr
    assert not (tmp / "m4.json").exists()


def test_the_image_holds_the_sets_and_sets_esas_caldb(pinned, cli):
    """image build puts each set under /ccf/extras/<label>/ in its own layer, lists its files
    in SHA256SUMS, sets ESAS_CALDB; image verify checks them all."""
    from reprocal.image._archive import read_image_tar

    tmp, repo, manifest = pinned
    proc = cli("image", "build", str(manifest), "--ccf-path", str(repo), "-o", str(tmp / "i.tar"))
    assert proc.returncode == 0, proc.stderr
    proc = cli("image", "verify", str(tmp / "i.tar"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["extra calibration sets"]["ok"]
    want = f"ESAS_CALDB=/ccf/extras/esas-caldb/{CALDB_TOP}"
    assert want in checks["env"]["detail"]
    img = read_image_tar(tmp / "i.tar")
    assert want in img.config["config"]["Env"]
    names = [h["created_by"] for h in img.config["history"]]
    assert any(n.endswith("extra set esas-caldb") for n in names)
    assert any(n.endswith("extra set responses") for n in names)
    # a set file missing from the repository: no image, one line naming it
    (repo / "extras" / "responses" / "Version.txt").unlink()
    proc = cli("image", "build", str(manifest), "--ccf-path", str(repo), "-o", str(tmp / "j.tar"))
    assert proc.returncode == 1 and "responses/Version.txt: missing" in proc.stderr
    assert not (tmp / "j.tar").exists()


def test_round_trip_with_both_kinds_of_extras(pinned, cli):
    """pin (caldb tarball) -> response (canned matrix) -> verify -> fetch into an empty
    directory from a loopback mirror -> image from that directory -> bundle -> bundle verify."""
    tmp, repo, manifest = pinned
    state = tmp / "state.json"
    proc = cli("response", str(manifest), "--source", str(tmp / "responses"), *RESPONSE,
               "--ccf-path", str(repo), "-o", str(state))
    assert proc.returncode == 0, proc.stderr
    m = load_manifest(state)
    assert sorted(x.kind for x in m.extras) == ["canned-response", "esas-caldb", "other"]
    assert _verify(cli, state, repo)[0].returncode == 0
    dest = tmp / "fresh"
    with MirrorServer(repo, nested=True) as mirror:
        proc = cli("fetch", str(state), "--ccf-path", str(dest), "--mirror", mirror.url)
    assert proc.returncode == 0, proc.stderr
    assert _verify(cli, state, dest)[0].returncode == 0
    proc = cli("image", "build", str(state), "--ccf-path", str(dest), "-o", str(tmp / "img.tar"))
    assert proc.returncode == 0, proc.stderr
    proc = cli("bundle", str(state), "-o", str(tmp / "bundle"), "--image", str(tmp / "img.tar"),
               "--license", "CC-BY-4.0", "--author", "Jane Doe", "--publisher",
               "ESA ESAC <https://www.cosmos.esa.int/web/esac>")
    assert proc.returncode == 0, proc.stderr
    readme = (tmp / "bundle" / "README.md").read_text()
    assert "## Calibration beyond the CCF" in readme and "ESAS_CALDB" in readme
    assert "`canned/PN/epn_e2_ff20_sY9.rmf` was chosen for obs1" in readme
    assert str(m.caldb.id) in readme  # type: ignore[union-attr]
    proc = cli("bundle", "verify", str(tmp / "bundle.tar"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_audit_reports_the_canned_matrix_a_spectrum_names(pinned, cli):
    """A spectrum whose RESPFILE names a canned matrix: audit says so, which manifest pins it,
    and whether the local copy is the pinned one (beside the product, else in the set's home)."""
    from reprocal.testing import write_spectrum

    tmp, repo, manifest = pinned
    state = tmp / "state.json"
    assert cli("response", str(manifest), "--source", str(tmp / "responses"), *RESPONSE,
               "--ccf-path", str(repo), "-o", str(state)).returncode == 0
    assert cli("rebuild", str(state), "--ccf-path", str(repo), "-o",
               str(tmp / "cif")).returncode == 0
    spec = write_spectrum(tmp / "pn.pha", respfile="epn_e2_ff20_sY9.rmf",
                          cif=tmp / "cif" / "obs1" / "ccf.cif")

    def uses() -> list[dict]:  # type: ignore[type-arg]
        proc = cli("audit", str(spec), str(state), "--ccf-path", str(repo), "--json")
        assert "names 1 canned response matrix" in proc.stderr and "rmfgen" in proc.stderr
        entries = json.loads(proc.stdout)
        return next(e for e in entries if e["kind"] == "spectrum")["canned_matrices"]

    (use,) = uses()
    assert (use["keyword"], use["canned"], use["local"]) == ("RESPFILE", True, "matches")
    assert use["pinned"] == [f"{state}: canned/PN/epn_e2_ff20_sY9.rmf",  # chosen by response
                             f"{state}: responses/PN/epn_e2_ff20_sY9.rmf"]  # the whole area
    (tmp / "epn_e2_ff20_sY9.rmf").write_bytes(b"another matrix beside the spectrum")
    (use,) = uses()
    assert use["local"] == "differs" and use["local_path"] == str(tmp / "epn_e2_ff20_sY9.rmf")
    text = cli("audit", str(spec), str(state), "--ccf-path", str(repo)).stdout
    assert "RESPFILE = epn_e2_ff20_sY9.rmf: a canned response matrix; pinned by" in text


def test_rebuild_copies_each_set_beside_the_cifs(pinned, cli):
    tmp, repo, manifest = pinned
    proc = cli("rebuild", str(manifest), "--ccf-path", str(repo), "-o", str(tmp / "out"),
               "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert sorted(doc["extras"]) == ["esas-caldb", "responses"]
    out = tmp / "out" / "extras"
    for x in load_manifest(manifest).extras:
        for f in x.files:
            assert (out / x.label / f.path).stat().st_size == f.size
    assert sorted(p.name for p in (out / "esas-caldb" / CALDB_TOP).iterdir()) == sorted(CALDB_FILES)
    # a damaged caldb file: nothing copied, one line naming it
    (repo / "extras" / "esas-caldb" / CALDB_TOP / "pn-fwc.fits.gz").write_bytes(b"x")
    proc = cli("rebuild", str(manifest), "--ccf-path", str(repo), "-o", str(tmp / "out2"))
    assert proc.returncode == 1 and "esas-caldb/esas_caldb/pn-fwc.fits.gz" in proc.stderr
    assert not (tmp / "out2" / "extras").exists()
