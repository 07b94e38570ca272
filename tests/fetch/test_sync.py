"""``sync`` against loopback mirrors that change between syncs: new files, withdrawals, bytes
changed under the same name, listings that lie; never a deletion or a replacement; a kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.archive import Archive, C, clock, served, sha256
from support.components import needs, program

from reprocal import api
from reprocal.errors import CheckFailed
from reprocal.repo._history import history_path, read_history
from reprocal.repo._historylog import HistoryLog

# the warnings api.sync gives (a directory created, a withdrawal) are the CLI tests' subject
pytestmark = [pytest.mark.network,
              pytest.mark.filterwarnings("ignore::reprocal.errors.ReprocalWarning")]

NAMES = ["EPN_CTI_0001.CCF", "EPN_QE_0001.CCF", "EMOS1_ADUCONV_0001.CCF", "RGS1_EFFAREA_0001.CCF",
         "XRT1_XAREAEF_0001.CCF", "OM_FILTER_0001.CCF"]
KINDS = ["nginx", "apache-table", "rsync", "directory"]


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    a = Archive(tmp_path / "mirror")
    for i, n in enumerate(NAMES):
        a.publish(C(n, blocks=3 + i))
    return a


def _need_rsync(kind: str) -> None:
    if kind == "rsync":
        program("rsync")


def local_files(d: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(d.glob("*.CCF"))}


@pytest.mark.parametrize("kind", KINDS)
def test_first_sync_installs_and_records_everything(tmp_path: Path, archive: Archive,
                                                    kind: str) -> None:
    """Every listed file arrives checked by its FITS sums; the history records each with the
    sha256 of the bytes installed and the mirror it came from."""
    _need_rsync(kind)
    dest = tmp_path / "ccf"
    with served(kind, archive.root, tmp_path / "rsyncd") as url:
        r = api.sync(url, ccf_path=str(dest), clock=clock("2014-04-20"))
    assert r.ok and len(r.report.arrived) == len(NAMES)
    assert local_files(dest) == archive.held()
    h = read_history(dest)
    arrived = {x["name"]: x for x in h.records if x["event"] == "arrived"}
    assert {n: x["sha256"] for n, x in arrived.items()} == archive.held()
    assert {x["mirror"] for x in arrived.values()} == {url} and \
        {x["checked"] for x in arrived.values()} == {"fits"}
    assert [x["event"] for x in h.records[:1]] == ["sync-started"]
    assert h.records[-1]["event"] == "sync-finished"


@pytest.mark.parametrize("kind", ["nginx", "rsync"])
def test_a_mirror_changed_between_syncs(tmp_path: Path, archive: Archive, kind: str) -> None:
    """Day 2: two new files, one withdrawn, one changed in size, one in bytes only. The new
    files arrive; the withdrawn one stays and is dated; the size change is a conflict (ours
    kept, both recorded, exit 1); the same-size change is seen only by --deep, which keeps the
    mirror's bytes beside ours."""
    _need_rsync(kind)
    dest = tmp_path / "ccf"
    with served(kind, archive.root, tmp_path / "rsyncd") as url:
        api.sync(url, ccf_path=str(dest), clock=clock("2014-04-20"))
        before = local_files(dest)
        archive.publish(C("EPN_CTI_0002.CCF", subdate="2014-04-21"))
        archive.publish(C("EPN_QE_0002.CCF", subdate="2014-04-21"))
        archive.withdraw("EMOS1_ADUCONV_0001.CCF")
        theirs = archive.change("RGS1_EFFAREA_0001.CCF", blocks=9)
        same = archive.change("XRT1_XAREAEF_0001.CCF")
        r = api.sync(url, ccf_path=str(dest), clock=clock("2014-04-22"))
        assert not r.ok and isinstance(r.failure, CheckFailed)
        assert "RGS1_EFFAREA_0001.CCF" in r.failure.one_line()
        rep = r.report
        assert sorted(x.filename for x in rep.arrived) == ["EPN_CTI_0002.CCF", "EPN_QE_0002.CCF"]
        assert rep.withdrawn == ("EMOS1_ADUCONV_0001.CCF",)
        assert [c.name for c in rep.conflicts] == ["RGS1_EFFAREA_0001.CCF"]
        after = local_files(dest)
        assert {n: after[n] for n in before} == before  # nothing replaced, nothing deleted
        h = read_history(dest)
        (w,) = h.withdrawals()
        assert (w.name, w.since, w.last_listed) == ("EMOS1_ADUCONV_0001.CCF",
                                                    api.CalDate.parse("2014-04-22"),
                                                    api.CalDate.parse("2014-04-20"))
        (c,) = h.conflicts().values()
        assert c["local"] == {"size": 2880 * 6, "sha256": before["RGS1_EFFAREA_0001.CCF"]}
        assert c["upstream"]["size"] == 2880 * 9 and c["kept"] == "local"
        # the same conflict is known, not recorded again; --deep finds the same-size change
        d = api.sync(url, ccf_path=str(dest), clock=clock("2014-04-23"), deep=True)
    assert [(x.name, x.known) for x in d.report.conflicts] == [
        ("RGS1_EFFAREA_0001.CCF", True), ("XRT1_XAREAEF_0001.CCF", False)]
    deep = d.report.conflicts[1]
    assert deep.upstream_sha256 == same and deep.local_sha256 == before["XRT1_XAREAEF_0001.CCF"]
    assert sha256(dest / deep.copy) == same  # type: ignore[operator]
    assert local_files(dest)["XRT1_XAREAEF_0001.CCF"] == before["XRT1_XAREAEF_0001.CCF"]
    assert not (dest / ".reprocal" / "deep").exists()
    # held and listed: the 6 + 2 new, less the withdrawn one and the known conflict
    assert d.report.deep_checked == 6
    assert theirs != before["RGS1_EFFAREA_0001.CCF"]
    assert len(read_history(dest).conflicts()) == 2


def test_a_listing_that_lies_about_sizes(tmp_path: Path, archive: Archive) -> None:
    """An index page showing the wrong size: the file is refused (size-mismatch), nothing is
    installed under its name, no arrival is recorded; a held file shown with another size is
    a conflict, and ours stays."""
    from support.servers import MirrorServer

    dest = tmp_path / "ccf"
    with MirrorServer(archive.root, index="nginx") as srv:
        api.sync(srv.url, ccf_path=str(dest), clock=clock("2014-04-20"))
        archive.publish(C("EPN_CTI_0002.CCF", subdate="2014-04-21"))
        srv.listing_sizes = {"EPN_CTI_0002.CCF": 2880 * 50, "EPN_QE_0001.CCF": 999}
        r = api.sync(srv.url, ccf_path=str(dest), clock=clock("2014-04-22"))
    assert not r.ok
    (failed,) = r.report.fetched.failed  # type: ignore[union-attr]
    assert failed.filename == "EPN_CTI_0002.CCF"
    assert {a.kind for a in failed.attempts} == {"size-mismatch"}
    assert not (dest / "EPN_CTI_0002.CCF").exists()
    assert not [p for p in dest.iterdir() if p.name.endswith(".part")]
    assert "EPN_CTI_0002.CCF" not in read_history(dest).held()
    assert [c.name for c in r.report.conflicts] == ["EPN_QE_0001.CCF"]
    assert sha256(dest / "EPN_QE_0001.CCF") == archive.held()["EPN_QE_0001.CCF"]


def test_files_already_here_are_found_never_replaced(tmp_path: Path, archive: Archive) -> None:
    """A first sync into a repository that already holds files (an rsync mirror switching to
    reprocal): each is recorded as found with its sha256; one that differs from the mirror's
    is a conflict and is kept; files the mirror does not list are left alone."""
    dest = tmp_path / "ccf"
    dest.mkdir()
    shutil.copy(archive.root / "EPN_CTI_0001.CCF", dest)
    (dest / "EPN_QE_0001.CCF").write_bytes(b"\0" * 2880)  # ours, not the mirror's
    (dest / "EPN_OLD_0007.CCF").write_bytes(b"\1" * 2880)  # the mirror never had it
    mine = local_files(dest)
    r = api.sync(str(archive.root), ccf_path=str(dest), clock=clock("2014-04-20"))
    assert sorted(f.name for f in r.report.plan.found) == sorted(mine)
    assert [c.name for c in r.report.conflicts] == ["EPN_QE_0001.CCF"]
    assert {n: local_files(dest)[n] for n in mine} == mine
    found = {x["name"]: x["sha256"] for x in read_history(dest).of("found")}
    assert found == mine
    assert len(r.report.arrived) == len(NAMES) - 2


def test_dry_run_writes_nothing(tmp_path: Path, archive: Archive) -> None:
    """--dry-run lists what would be fetched and recorded; the destination is not even made."""
    dest = tmp_path / "ccf"
    r = api.sync(str(archive.root), ccf_path=str(dest), dry_run=True, clock=clock("2014-04-20"))
    assert r.report.dry_run and [e.name for e in r.report.plan.to_fetch] == sorted(NAMES)
    assert not dest.exists()
    api.sync(str(archive.root), ccf_path=str(dest), clock=clock("2014-04-20"))
    archive.withdraw("EPN_CTI_0001.CCF")
    snapshot = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    r = api.sync(str(archive.root), ccf_path=str(dest), dry_run=True, clock=clock("2014-04-21"))
    assert r.report.plan.departed == ("EPN_CTI_0001.CCF",)
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == snapshot


def test_one_sync_at_a_time(tmp_path: Path, archive: Archive) -> None:
    """A second sync waits for the history lock (saying so), then finds the work done."""
    dest = tmp_path / "ccf"
    api.sync(str(archive.root), ccf_path=str(dest), clock=clock("2014-04-20"))
    archive.publish(C("EPN_CTI_0002.CCF", subdate="2014-04-21"))
    done: list[object] = []
    with HistoryLog(dest, run="holder", clock=lambda: api.CalDate.parse("2014-04-21")):
        t = threading.Thread(target=lambda: done.append(api.sync(
            str(archive.root), ccf_path=str(dest), clock=clock("2014-04-22"))))
        t.start()
        time.sleep(0.5)
        assert not done
    t.join(30)
    assert done and [x.filename for x in done[0].report.arrived] == ["EPN_CTI_0002.CCF"]  # type: ignore[attr-defined]


def test_fetch_into_a_synced_repository_records_its_arrivals(tmp_path: Path,
                                                            archive: Archive) -> None:
    """A file `reprocal fetch` installs into a repository with a history is recorded too
    (checked against its pin: sha256), so the history still says what the repository held."""
    from support.servers import write_manifest

    from reprocal.fetch._item import FetchItem

    dest = tmp_path / "ccf"
    api.sync(str(archive.root), ccf_path=str(dest), clock=clock("2014-04-20"))
    other = Archive(tmp_path / "elsewhere")
    path = other.publish(C("EPN_CTI_0005.CCF"))
    manifest = write_manifest(tmp_path / "m.json",
                              [FetchItem(path.name, path.stat().st_size, sha256(path))])
    assert api.fetch(manifest, ccf_path=str(dest), mirrors=[str(other.root)]).ok
    (x,) = [r for r in read_history(dest).records if r.get("name") == "EPN_CTI_0005.CCF"]
    assert (x["event"], x["checked"], x["sha256"]) == ("arrived", "sha256", sha256(path))


def test_kill_9_mid_sync_then_rerun(tmp_path: Path) -> None:
    """``reprocal sync`` killed with SIGKILL while files trickle in: only whole, checked files
    are under constituent names, the history reads, and a re-run completes with every file
    recorded once (an installed-but-unrecorded one as found) and nothing wrong installed."""
    from support.servers import Fault, MirrorServer

    a = Archive(tmp_path / "mirror")
    for i in range(12):
        a.publish(C(f"EPN_T{i:02d}_0001.CCF", blocks=20))
    dest = tmp_path / "ccf"
    with MirrorServer(a.root, index="nginx") as srv:
        srv.faults = {n: Fault("trickle", chunk=2880, delay=0.004) for n in a.published}
        proc = subprocess.Popen([sys.executable, "-m", "reprocal", "sync", "--mirror", srv.url,
                                 "--ccf-path", str(dest), "--jobs", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while len(srv.completed()) < 4 and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        held = local_files(dest)
        assert 0 < len(held) < 12
        assert all(held[n] == a.held()[n] for n in held)  # whole, right files only
        read_history(dest)  # readable, whatever was cut
        srv.faults = {}
        rerun = subprocess.run([sys.executable, "-m", "reprocal", "sync", "--mirror", srv.url,
                                "--ccf-path", str(dest), "--json"], capture_output=True,
                               text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert local_files(dest) == a.held()
    h = read_history(dest)
    names = [r["name"] for r in h.records if r["event"] in ("arrived", "found")]
    assert sorted(names) == sorted(a.published)  # each once
    assert {n: x.sha256 for n, x in h.held().items()} == a.held()
    assert json.loads(rerun.stdout)["ok"] is True
    assert not [p for p in dest.iterdir() if p.name.endswith(".part")]


def _writers(dest: Path) -> list[str]:
    """Command lines of live processes naming ``dest`` (a transfer writing into it)."""
    out = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(dest) in cmd and proc.name != str(os.getpid()):
            out.append(cmd)
    return out


@needs("rsync")
@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("setpriv"),
                    reason="needs Linux and setpriv (util-linux)")
def test_kill_9_mid_rsync_sync_leaves_no_rsync_writing(tmp_path: Path, archive: Archive) -> None:
    """``reprocal sync`` from an rsync module killed with SIGKILL while its rsync transfers
    run: no rsync outlives it to write into a .part file that the next run would resume and
    install; the re-run completes with the mirror's bytes and nothing else."""
    from support.servers import RsyncDaemon

    real = program("rsync")
    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "rsync").write_text(  # transfers wait (a slow mirror); listings do not
        "#!/bin/sh\ncase \"$*\" in *--list-only*) exec " + f"{real}" + " \"$@\";; esac\n"
        "sleep 10\nexec " + f"{real}" + " \"$@\"\n")
    (slow / "rsync").chmod(0o755)
    dest = tmp_path / "ccf"
    (tmp_path / "rsyncd").mkdir()
    with RsyncDaemon(archive.root, tmp_path / "rsyncd") as daemon:
        env = {**os.environ, "PATH": f"{slow}:{os.environ['PATH']}"}
        proc = subprocess.Popen([sys.executable, "-m", "reprocal", "sync", "--mirror",
                                 daemon.url, "--ccf-path", str(dest), "--jobs", "2"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            # a transfer: one file (--inplace into its .part) or the batch (--files-from)
            while not [c for c in _writers(dest) if "--inplace" in c or "--files-from" in c]:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.01)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        deadline = time.monotonic() + 3  # an orphan would still be waiting to transfer
        while _writers(dest) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _writers(dest) == []
        rerun = subprocess.run([sys.executable, "-m", "reprocal", "sync", "--mirror", daemon.url,
                                "--ccf-path", str(dest), "--json"], capture_output=True,
                               text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert local_files(dest) == archive.held()
    assert {n: x.sha256 for n, x in read_history(dest).held().items()} == archive.held()
    assert not [p for p in dest.iterdir() if p.name.endswith(".part")]


def test_history_survives_esas_rsync_recipe(tmp_path: Path, archive: Archive) -> None:
    """Someone runs ESA's own recipe (--delete, *.CCF, no directories) into a synced
    repository: rsync excludes the history's directory, so it is still there."""
    program("rsync")
    dest = tmp_path / "ccf"
    api.sync(str(archive.root), ccf_path=str(dest), clock=clock("2014-04-20"))
    before = history_path(dest).read_bytes()
    subprocess.run(["rsync", "-a", "--delete", "--delete-after", "--force", "--include=*.CCF",
                    "--exclude=*/", f"{archive.root}/", f"{dest}/"], check=True)
    assert history_path(dest).read_bytes() == before
    assert os.path.isdir(dest / ".reprocal")
