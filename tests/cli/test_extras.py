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
