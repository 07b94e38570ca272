"""Campaigns on the embedded LocalCluster (no server to start), as a user runs them: the CLI with
``--json``, placeholders substituted per argument and never through a shell, a failure that stops
nothing, ``campaign status`` and ``campaign resume`` going on from the ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from reprocal import api
from reprocal.fits._stamp import read_stamp
from reprocal.provenance._record import load_record
from reprocal.state._manifest import load_manifest

pytestmark = pytest.mark.network  # the local cluster's scheduler and workers listen on loopback

# Writes what it was given (argv, environment) as argv.json and a FITS product from its CIF;
# fails while a file named after the observation is in the "fail" directory.
ECHO = """\
import json, os, shutil, sys
obs, faildir = sys.argv[1], sys.argv[2]
with open(os.path.join(faildir, "..", "journal"), "a") as j:
    j.write(obs + "\\n")
print("running", obs, flush=True)
if os.path.exists(os.path.join(faildir, obs)):
    print("no ODF for", obs, file=sys.stderr)
    sys.exit(5)
json.dump({"argv": sys.argv[1:], "SAS_ODF": os.environ.get("SAS_ODF"),
           "SAS_CCF": os.environ["SAS_CCF"],
           "REPROCAL_CALIBRATION_ID": os.environ["REPROCAL_CALIBRATION_ID"]},
          open("argv.json", "w"))
shutil.copyfile(os.environ["SAS_CCF"], obs + "_evt.fits")
"""

SHELLY = "$HOME;`touch pwned`|{'a': 1} {nope}"


@pytest.fixture
def echo(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    fail = tmp_path / "fail"
    fail.mkdir()
    return script, fail


def _journal(fail: Path) -> list[str]:
    path = fail.parent / "journal"
    return path.read_text().split() if path.exists() else []


def test_cli_runs_on_the_local_cluster_and_json_reports(campaign_world, echo, cli,  # type: ignore[no-untyped-def]
                                                        tmp_path: Path) -> None:
    """`campaign run MANIFEST --obs-list L --jobs 2 --json -- CMD {obs_id} {odf} ...` on the
    embedded cluster: one JSON document, exit 0; the list's three observations ran (in their
    products: argv with {obs_id}, {odf} and {calibration_id} replaced, shell characters and
    other braces passed as they are, SAS_ODF set, a CIF of their own, a stamped FITS product
    and a record); the others did not; `campaign status --json` agrees."""
    w = campaign_world
    script, fail = echo
    m = load_manifest(w.manifest)
    labels = m.labels()[:3]
    (tmp_path / "odfs").mkdir()
    lst = tmp_path / "obs.csv"
    lst.write_text("obs_id,odf\n" + "".join(f"{o},odfs/{o}\n" for o in labels))
    out = tmp_path / "out"
    r = cli("campaign", "run", w.manifest, "-o", out, "--obs-list", lst, "--ccf-path", w.ccf,
            "--jobs", "2", "--json", "--", sys.executable, script, "{obs_id}", fail, "{odf}",
            "{calibration_id}", SHELLY, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["counts"] == {"done": 3, "failed": 0, "pending": 0}
    assert sorted(doc["ran"]) == sorted(labels) and doc["failures"] == []
    ids = dict(zip(m.labels(), map(str, m.observation_ids), strict=True))
    ccfs = set()
    for label in labels:
        seen = json.loads((out / label / "argv.json").read_text())
        odf = str(tmp_path / "odfs" / label)
        assert seen["argv"] == [label, str(fail), odf, ids[label], SHELLY]
        assert seen["SAS_ODF"] == odf and seen["REPROCAL_CALIBRATION_ID"] == ids[label]
        ccfs.add(seen["SAS_CCF"])
        stamp = read_stamp(out / label / f"{label}_evt.fits")
        assert stamp is not None and stamp.calibration_id == ids[label]
        task = json.loads((out / label / "reprocal-task.json").read_text())
        assert load_record(out / label / task["record"]).calibration_id == ids[label]
    assert len(ccfs) == 3  # each observation had its own CIF
    assert not list(tmp_path.rglob("pwned"))
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        *labels, "campaign.sqlite", "campaign.lock", "campaign.json", "campaign.md"}
    s = cli("campaign", "status", out, "--json")
    assert s.returncode == 0, s.stderr
    status = json.loads(s.stdout)
    assert status["counts"] == {"done": 3, "failed": 0, "pending": 0}
    assert [t["calibration_id"] for t in status["tasks"]] == [ids[o] for o in labels]


def test_a_failure_stops_nothing_and_resume_goes_on(campaign_world, echo, cli,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    """One of four observations fails (exit 5, no retries): the other three are done, the run
    exits 1 naming the failure, its exit status and its log; `campaign status` lists it with
    the end of its log. Once the cause is gone, `campaign resume DIR` (no manifest, command or
    options given again) runs only that one, with the recorded options, and exits 0."""
    w = campaign_world
    script, fail = echo
    labels = load_manifest(w.manifest).labels()[:4]
    bad = labels[2]
    (fail / bad).write_text("")
    lst = tmp_path / "obs.csv"
    lst.write_text("obs_id\n" + "\n".join(labels) + "\n")
    out = tmp_path / "out"
    r = cli("campaign", "run", w.manifest, "-o", out, "--obs-list", lst, "--ccf-path", w.ccf,
            "--jobs", "2", "--retries", "0", "--", sys.executable, script, "{obs_id}", fail)
    assert r.returncode == 1, r.stderr
    assert "1 failed, 0 pending" in r.stderr
    assert f"failed {bad}: exit status 5" in r.stderr
    assert f"| no ODF for {bad}" in r.stderr
    assert sorted(_journal(fail)) == sorted(labels)
    s = cli("campaign", "status", out)
    assert s.returncode == 1
    assert f"failed {bad}, 1 attempt(s): exit status 5" in s.stdout
    assert f"log {out / '.campaign' / 'failed' / bad / 'log.txt'}" in s.stdout
    assert f"| no ODF for {bad}" in s.stdout
    (fail / bad).unlink()
    again = cli("campaign", "resume", out, "--jobs", "1", "--json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["ran"] == [bad] and sorted(doc["skipped"]) == sorted(set(labels) - {bad})
    assert sorted(_journal(fail)) == sorted([*labels, bad])
    assert api.campaign_status(out).ok


def test_resume_refuses_a_changed_manifest_and_a_directory_without_a_ledger(  # type: ignore[no-untyped-def]
        campaign_world, echo, cli, tmp_path: Path) -> None:
    """Resume goes on with the same campaign only: a manifest changed since it started is
    refused in one line (exit 2) before anything runs; so is a directory with no ledger."""
    import shutil

    w = campaign_world
    script, fail = echo
    manifest = tmp_path / "m.json"
    shutil.copyfile(w.manifest, manifest)
    out = tmp_path / "out"
    label = load_manifest(manifest).labels()[0]
    lst = tmp_path / "obs.csv"
    lst.write_text(f"obs_id\n{label}\n")
    r = cli("campaign", "run", manifest, "-o", out, "--obs-list", lst, "--ccf-path", w.ccf,
            "--jobs", "1", "--", sys.executable, script, "{obs_id}", fail)
    assert r.returncode == 0, r.stderr
    manifest.write_text(manifest.read_text() + "\n")
    again = cli("campaign", "resume", out)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        f"reprocal: error: {manifest} is gone or changed since the campaign in {out} started; "
        "run `reprocal campaign run` with the manifest as it is now: what its change leaves "
        "as it was is skipped"]
    empty = tmp_path / "empty"
    empty.mkdir()
    none = cli("campaign", "resume", empty)
    assert none.returncode == 2
    assert none.stderr.splitlines() == [
        f"reprocal: error: {empty} holds no campaign ledger (campaign.sqlite); give the output "
        "directory of `reprocal campaign run`"]
    assert _journal(fail) == [label]


def test_progress_is_reported_per_task(campaign_world, echo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The API reports through the one progress protocol: the number of tasks to run, then one
    step and one finished item per task as its result arrives (the CLI draws it as a bar on a
    terminal)."""
    w = campaign_world
    script, fail = echo
    labels = load_manifest(w.manifest).labels()[:2]
    lst = tmp_path / "obs.csv"
    lst.write_text("obs_id\n" + "\n".join(labels) + "\n")

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, object]] = []

        def start(self, total: int | None, *, items: int | None = None) -> None:
            self.calls.append(("start", total))

        def update(self, n: int = 1) -> None:
            self.calls.append(("update", n))

        def finished(self, item: str) -> None:
            self.calls.append(("finished", item))

    progress = Recorder()
    r = api.campaign_run(w.manifest, [sys.executable, str(script), "{obs_id}", str(fail)],
                         output=tmp_path / "out", obs_list=lst, ccf_path=w.ccf, jobs=1,
                         progress=progress)
    assert r.ok, r.to_json()
    assert progress.calls[0] == ("start", 2)
    assert sorted(c for c in progress.calls[1:] if c[0] == "finished") == [
        ("finished", o) for o in sorted(labels)]
    assert [c for c in progress.calls[1:] if c[0] == "update"] == [("update", 1)] * 2
