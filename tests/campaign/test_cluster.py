"""Campaigns on a real Dask cluster on loopback (``dask scheduler`` and two ``dask worker``
processes the tests start): many short tasks complete, each product in place once; a task that
always fails is reported with its log and stops nothing; a worker killed mid-campaign has its
tasks run elsewhere, leaving no duplicate and no half-written product; a client killed
mid-campaign resumes from the ledger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from reprocal import api
from reprocal.campaign import Ledger
from reprocal.fits._calindex import read_calindex, rows_digest
from reprocal.fits._stamp import read_stamp
from reprocal.provenance._record import load_record
from reprocal.state._manifest import load_manifest

pytestmark = pytest.mark.network


def _products(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}


def _left_behind(out: Path) -> list[str]:
    return sorted(p.name for p in (out / ".campaign" / "tasks").iterdir())


def test_many_short_tasks_complete(campaign_world, dask_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Twelve tasks of tens of ms on the two workers: each observation's product directory is
    in place once, holding a FITS product made with that observation's own CIF (stamped with
    its observation id) and its provenance record; nothing is left in .campaign/tasks; the
    ledger and the summary name each observation's calibration id; both workers worked."""
    w = campaign_world
    journal = tmp_path / "journal"
    r = api.campaign_run(w.manifest, w.command(journal), output=tmp_path / "out",
                         ccf_path=w.ccf, scheduler=dask_cluster.address)
    assert r.ok and r.exit_code == 0, r.to_json()
    m = load_manifest(w.manifest)
    out = tmp_path / "out"
    assert _products(out) == set(m.labels())
    assert Counter(w.runs(journal)) == Counter(m.labels())
    assert _left_behind(out) == []
    workers = set()
    for label, obs, obs_id in zip(m.labels(), m.observations, m.observation_ids, strict=True):
        product = out / label / f"{label}_evt.fits"
        assert rows_digest(read_calindex(product).rows) == rows_digest(m.constituents_for(obs))
        stamp = read_stamp(product)
        assert stamp is not None and stamp.calibration_id == str(obs_id)
        doc = json.loads((out / label / "reprocal-task.json").read_text())
        rec = load_record(out / label / doc["record"])
        assert rec.calibration_id == str(obs_id) and rec.exit_status == 0
        assert f"task {label} calibration {obs_id}" in (out / label / "reprocal-task.log").read_text()
        workers.add(doc["worker"])
    assert len(workers) == 2
    with Ledger(out, readonly=True) as ledger:
        entries = ledger.entries()
    assert sorted(e.observation for e in entries.values()) == sorted(m.labels())
    assert all(e.done and e.attempts == 1 for e in entries.values())
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["counts"] == {"done": 12, "failed": 0, "pending": 0}
    assert [(o["observation"], o["calibration_id"]) for o in summary["observations"]] == [
        (label, str(i)) for label, i in zip(m.labels(), m.observation_ids, strict=True)]
    assert summary["manifest"]["state_id"] == m.calibration_id
    again = api.campaign_run(w.manifest, w.command(journal), output=out, ccf_path=w.ccf,
                             scheduler=dask_cluster.address)
    assert (again.report.ran, len(again.report.skipped)) == ((), 12)
    assert len(w.runs(journal)) == 12  # nothing ran twice


def test_a_task_that_always_fails_is_reported_with_its_log(campaign_world, dask_cluster,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    """One observation's task exits 3 every time: it is tried 1 + retries times, recorded as
    failed with its exit status and the log of its last attempt (what it printed), and the
    eleven others are done; status says so; the next run tries only that one again."""
    w = campaign_world
    bad = w.root and "0500000004"
    journal, out = tmp_path / "journal", tmp_path / "out"
    r = api.campaign_run(w.manifest, w.command(journal, fail=bad), output=out, ccf_path=w.ccf,
                         scheduler=dask_cluster.address, retries=1)
    assert (r.ok, r.exit_code, r.status.counts) == (False, 1, {"done": 11, "failed": 1,
                                                               "pending": 0})
    assert Counter(w.runs(journal))[bad] == 2
    (failure,) = r.to_json()["failures"]
    assert failure["observation"] == bad and failure["error"] == "exit status 3"
    assert Path(failure["log"]) == out / ".campaign" / "failed" / bad / "log.txt"
    assert f"cannot calibrate {bad}" in failure["log_tail"]
    assert bad not in _products(out)
    status = api.campaign_status(out)
    assert status.exit_code == 1
    (t,) = status.status.of("failed")
    assert (t.observation, t.entry.attempts, t.entry.exit_status) == (bad, 2, 3)
    assert f"cannot calibrate {bad}" in t.log
    again = api.campaign_run(w.manifest, w.command(journal, fail=bad), output=out,
                             ccf_path=w.ccf, scheduler=dask_cluster.address, retries=0)
    assert again.report.ran == (bad,) and len(again.report.skipped) == 11


def test_a_worker_killed_mid_campaign(campaign_world, own_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL one of the two workers while tasks run on it: its tasks are run again on the
    other; every observation ends done with one product directory holding one product, none
    half-written (each product's sha256 is the one its record gives), none left under
    .campaign/tasks, and at least one task needed a second attempt (the ledger counts the
    attempts each task was started, the dead worker's included)."""
    w = campaign_world
    journal, out = tmp_path / "journal", tmp_path / "out"
    victim = own_cluster.workers[0]

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            running = [line.split() for line in (journal.read_text().splitlines()
                                                 if journal.exists() else [])]
            if len(running) >= 3:
                os.kill(victim.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    import threading

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    r = api.campaign_run(w.manifest, w.command(journal, sleep=0.4), output=out, ccf_path=w.ccf,
                         scheduler=own_cluster.address, retries=2)
    killer.join()
    assert victim.poll() is not None  # it was killed
    assert r.ok, r.to_json()
    m = load_manifest(w.manifest)
    assert _products(out) == set(m.labels())
    assert _left_behind(out) == []
    with Ledger(out, readonly=True) as ledger:
        entries = list(ledger.entries().values())
    assert max(e.attempts for e in entries) >= 2
    # the dead worker's attempt may have died before its command started (building the CIF)
    assert len(w.runs(journal)) >= 12
    for label in m.labels():
        files = sorted(p.name for p in (out / label).iterdir())
        assert [f for f in files if f.endswith(".fits")] == [f"{label}_evt.fits"]
        doc = json.loads((out / label / "reprocal-task.json").read_text())
        rec = load_record(out / label / doc["record"])
        (subject,) = [s for s in rec.subjects if s.name.endswith(".fits")]
        from reprocal.fs._hashing import sha256_file

        assert sha256_file(out / label / subject.name) == subject.sha256


def _client_argv(world, journal: Path, out: Path, address: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [sys.executable, "-m", "reprocal", "campaign", "run", str(world.manifest), "-o", str(out),
            "--ccf-path", str(world.ccf), "--scheduler", address, "--",
            *world.command(journal, sleep=0.3)]


def _client(world, journal: Path, out: Path, address: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen(_client_argv(world, journal, out, address),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_done(out: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if (out / "campaign.sqlite").exists():
            try:
                with Ledger(out, readonly=True) as ledger:
                    if sum(e.done for e in ledger.entries().values()) >= n:
                        return
            except Exception:
                pass
        time.sleep(0.05)
    raise AssertionError("the campaign did not get going")


def test_a_client_killed_mid_campaign_resumes(campaign_world, dask_cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the `reprocal campaign run` process once three tasks are recorded: the ledger
    keeps what it recorded, no product is half in place; the same command again runs only what
    was not done (tasks recorded before the kill are not run again) and completes."""
    w = campaign_world
    journal, out = tmp_path / "journal", tmp_path / "out"
    proc = _client(w, journal, out, dask_cluster.address)
    _wait_for_done(out, 3, proc)
    proc.kill()
    proc.communicate()
    with Ledger(out, readonly=True) as ledger:
        before = {e.observation for e in ledger.entries().values() if e.done}
    assert len(before) >= 3
    for label in _products(out):  # whatever is in place is whole
        assert (out / label / "reprocal-task.json").is_file()
    time.sleep(1.0)  # let the tasks the dead client left running end
    ran_before = Counter(w.runs(journal))
    done = subprocess.run(_client_argv(w, journal, out, dask_cluster.address),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    m = load_manifest(w.manifest)
    assert _products(out) == set(m.labels())
    ran = Counter(w.runs(journal))
    assert all(ran[label] == ran_before[label] for label in before)  # not run again
    assert _left_behind(out) == []
    status = api.campaign_status(out)
    assert status.ok and status.status.counts["done"] == 12


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(campaign_world, dask_cluster,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    """SIGINT to the client while tasks run: exit 130, one note saying how far it got and that
    the same command goes on; the ledger holds what finished, nothing is left half in place;
    running the command again completes the campaign."""
    w = campaign_world
    journal, out = tmp_path / "journal", tmp_path / "out"
    proc = _client(w, journal, out, dask_cluster.address)
    _wait_for_done(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "reprocal: note: campaign interrupted: " in stderr
    assert "the same command again goes on from there" in stderr
    assert stderr.rstrip().endswith("reprocal: interrupted")
    assert "Traceback" not in stderr
    status = api.campaign_status(out)
    assert 2 <= status.status.counts["done"] < 12
    assert _left_behind(out) == []
    done = subprocess.run(_client_argv(w, journal, out, dask_cluster.address),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert api.campaign_status(out).ok
