"""``reprocal fetch`` and ``reprocal unused`` as a user runs them, against loopback mirrors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.servers import Fault, MirrorServer, make_files, write_manifest

from reprocal.fetch._engine import LOCK_NAME

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parent.parent


def verified(dest: Path, items) -> bool:  # type: ignore[no-untyped-def]
    return all((dest / i.filename).is_file()
               and hashlib.sha256((dest / i.filename).read_bytes()).hexdigest() == i.sha256
               for i in items)


@pytest.fixture
def world(tmp_path):
    """A mirror directory of 12 files, its manifest, and two servers: faulty first, good second."""
    items = make_files(tmp_path / "mirror", 12)
    manifest = write_manifest(tmp_path / "state.json", items)
    with MirrorServer(tmp_path / "mirror") as faulty, MirrorServer(tmp_path / "mirror") as good:
        yield tmp_path, items, manifest, faulty, good


def test_fetch_completes_a_damaged_repository(world, cli):
    """A third missing, two truncated, one corrupted: one command completes and verifies it; the
    JSON report names the faulty mirror's failures and the good mirror."""
    tmp, items, manifest, faulty, good = world
    dest = tmp / "repo"
    dest.mkdir()
    for i in items[4:]:
        shutil.copy(tmp / "mirror" / i.filename, dest)
    for i in items[4:6]:
        (dest / i.filename).write_bytes(b"truncated")
    (dest / items[6].filename).write_bytes(b"\0" * items[6].size)
    faulty.faults = {i.filename: Fault("404") for i in items[:2]}
    faulty.faults[items[2].filename] = Fault("corrupt")
    faulty.faults[items[3].filename] = Fault("500")
    proc = cli("fetch", str(manifest), "--ccf-path", str(dest), "--mirror", faulty.url,
               "--mirror", good.url, "--retries", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and report["counts"] == {"fetched": 7, "present": 5, "failed": 0}
    files = {f["filename"]: f for f in report["files"]}
    assert [a["kind"] for a in files[items[0].filename]["attempts"]] == ["not-found"]
    assert [a["kind"] for a in files[items[2].filename]["attempts"]] == ["hash-mismatch"]
    assert [a["kind"] for a in files[items[3].filename]["attempts"]] == ["http-error"]
    assert {files[i.filename]["mirror"] for i in items[:4]} == {good.url}
    assert verified(dest, items)


def test_fetch_failure_exits_1_and_names_the_file(world, cli):
    """A file no mirror has: exit 1, the summary lists it with each mirror's failure."""
    tmp, items, manifest, faulty, good = world
    faulty.faults = {items[0].filename: Fault("404")}
    good.faults = {items[0].filename: Fault("corrupt")}
    dest = tmp / "repo"
    proc = cli("fetch", str(manifest), "--ccf-path", str(dest), "--mirror", faulty.url,
               "--mirror", good.url)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{dest}: fetched 11, already present 0, failed 1 (")
    assert lines[1:3] == [f"  FAILED {items[0].filename}:",
                          f"    not-found: {faulty.url}{items[0].filename}: HTTP 404"]
    assert lines[3].startswith("    hash-mismatch: sha256 ")
    assert proc.stderr.splitlines() == [
        f"reprocal: warning: creating repository directory {dest}",
        f"reprocal: error: 1 of 12 files could not be fetched into {dest}; see the failures "
        "above; try another --mirror"]
    assert not (dest / items[0].filename).exists()


def test_mirrors_from_the_environment(world, cli):
    """With no --mirror, $REPROCAL_MIRRORS is used; SAS_CCFPATH's first directory is the target."""
    tmp, items, manifest, faulty, good = world
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    proc = cli("fetch", str(manifest), env={"REPROCAL_MIRRORS": good.url,
                                            "SAS_CCFPATH": f"{tmp / 'a'}:{tmp / 'b'}"})
    assert proc.returncode == 0, proc.stderr
    assert verified(tmp / "a", items) and list((tmp / "b").iterdir()) == []
    assert len(good.gets()) == 12 and faulty.gets() == []


def test_dry_run_text_and_json(world, cli):
    """Dry run lists each needed file, its state and URL; writes and downloads nothing."""
    tmp, items, manifest, faulty, good = world
    dest = tmp / "repo"
    dest.mkdir()
    for i in items[1:]:
        shutil.copy(tmp / "mirror" / i.filename, dest)
    proc = cli("fetch", str(manifest), "--ccf-path", str(dest), "--mirror", good.url, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{items[0].filename:<32} missing    {items[0].size:>10} bytes  <- {good.url}"
        f"{items[0].filename}",
        f"1 of 12 files to fetch into {dest} (0.0 MB); 1 mirror(s), first {good.url}; "
        "nothing written (dry run)"]
    proc = cli("fetch", str(manifest), "--ccf-path", str(dest), "--mirror", good.url,
               "--dry-run", "--json")
    assert json.loads(proc.stdout)["to_fetch"] == [{
        "filename": items[0].filename, "state": "missing", "size": items[0].size, "partial": 0,
        "directory": str(dest),
        "mirror": good.url, "url": good.url + items[0].filename}]
    assert good.gets() == [] and LOCK_NAME not in os.listdir(dest)


def test_script_option_writes_a_working_script(world, cli):
    """--script writes the shell script instead of fetching; bash runs it against the mirror."""
    tmp, items, manifest, faulty, good = world
    proc = cli("fetch", str(manifest), "--mirror", good.url, "--script", str(tmp / "get.sh"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"wrote {tmp / 'get.sh'}: 12 files from 1 mirror(s); run: sh " \
                          f"{tmp / 'get.sh'} DEST\n"
    assert good.gets() == []
    run = subprocess.run(["bash", str(tmp / "get.sh"), str(tmp / "out")], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert verified(tmp / "out", items)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--mirror", "ftp://x/"], 2, "reprocal: error: --mirror: mirror 'ftp://x/' has unsupported "
     "scheme 'ftp'; use http(s)://, file://, rsync://, host::module or a directory"),
    (["--mirror", "http://127.0.0.1:9/", "--ccf-path", ""], 3, "reprocal: error: no calibration "
     "directory given (--ccf-path is empty); pass --ccf-path DIR or set SAS_CCFPATH"),
    (["--mirror", "http://127.0.0.1:9/"], 3, "reprocal: error: no calibration directory given "
     "(SAS_CCFPATH is empty); pass --ccf-path DIR or set SAS_CCFPATH"),
])
def test_bad_usage_is_one_line(world, cli, args, code, message):
    """Usage errors: one line on stderr, the documented exit code, nothing fetched."""
    tmp, items, manifest, faulty, good = world
    proc = cli("fetch", str(manifest), *args)
    assert (proc.returncode, proc.stderr.strip()) == (code, message)


def test_hostile_name_in_manifest_is_refused(world, cli):
    """A manifest naming ``../x`` is refused before any path is built (exit 2)."""
    tmp, items, manifest, faulty, good = world
    doc = json.loads(manifest.read_text())
    doc["constituents"][0]["name"] = "../../etc/passwd"
    bad = tmp / "bad.json"
    bad.write_text(json.dumps(doc))
    proc = cli("fetch", str(bad), "--ccf-path", str(tmp / "repo"), "--mirror", good.url)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("reprocal: error: ")
    assert good.gets() == [] and not (tmp / "repo").exists()


def test_kill_9_then_rerun_completes_without_refetching(world):
    """SIGKILL of ``reprocal fetch`` mid-way leaves only verified files under constituent names;
    the second run downloads only what the first did not install."""
    tmp, items, manifest, faulty, good = world
    dest = tmp / "repo"
    good.faults = {i.filename: Fault("trickle", chunk=1440, delay=0.005) for i in items}
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "reprocal", "fetch", str(manifest),
                             "--ccf-path", str(dest), "--mirror", good.url, "--jobs", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(good.completed()) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    installed = {p.name for p in dest.glob("*.CCF")}
    assert 0 < len(installed) < len(items)
    assert verified(dest, [i for i in items if i.filename in installed])
    before = len(good.gets())
    good.faults = {}
    rerun = subprocess.run([sys.executable, "-m", "reprocal", "fetch", str(manifest),
                            "--ccf-path", str(dest), "--mirror", good.url, "--json"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert verified(dest, items)
    assert {r.name for r in good.gets()[before:]} == {i.filename for i in items} - installed
    present = {f["filename"] for f in json.loads(rerun.stdout)["files"]
               if f["status"] == "present"}
    assert present == installed


def test_unused_lists_unpinned_constituents_and_deletes_nothing(world, cli):
    """Files no manifest pins are listed (constituent names only); nothing is removed."""
    tmp, items, manifest, faulty, good = world
    repo = tmp / "mirror"
    (repo / "EPN_OLD_0001.CCF").write_bytes(b"x" * 10)
    (repo / "readme.txt").write_bytes(b"not a constituent")
    small = write_manifest(tmp / "small.json", items[:6])
    proc = cli("unused", str(small), "--ccf-path", str(repo), "--json")
    assert proc.returncode == 0, proc.stderr
    listed = [Path(u["path"]).name for u in json.loads(proc.stdout)["unused"]]
    assert listed == sorted(["EPN_OLD_0001.CCF", *(i.filename for i in items[6:])])
    proc = cli("unused", str(small), str(manifest), "--ccf-path", str(repo))
    assert proc.stdout.splitlines() == [str(repo / "EPN_OLD_0001.CCF")]
    assert proc.stderr == ("1 constituent file(s), 0.0 MB, not needed by 2 manifest(s); "
                           "nothing was deleted\n")
    assert len(list(repo.iterdir())) == 14


def test_pinned_synthetic_state_is_completed_and_rebuilds(synthetic_repo, tmp_path, cli):
    """End to end on real-shaped FITS constituents: pin a state, lose a third of its files,
    truncate two, flip one byte in another; one ``reprocal fetch`` from a faulty mirror then a
    good one makes ``reprocal rebuild`` (which checks every sha256) succeed again."""
    from reprocal.state._manifest import load_manifest
    from reprocal.testing._synthetic import corrupt, truncate

    obs, an = "2012-03-04T05:06:07", "2020-01-01T00:00:00"
    proc = cli("pin", "--obs-date", obs, "--analysis-date", an, "--ccf-path",
               str(synthetic_repo.root), "-o", str(tmp_path / "m.json"))
    assert proc.returncode == 0, proc.stderr
    names = [f.filename for f in load_manifest(tmp_path / "m.json").files]
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in names:
        shutil.copy(synthetic_repo.root / name, repo)
    for name in names[::3]:
        (repo / name).unlink()
    truncate(repo / names[1], 2880)
    truncate(repo / names[2], 0)
    corrupt(repo / names[4])
    assert cli("rebuild", str(tmp_path / "m.json"), "--ccf-path", str(repo), "-o",
               str(tmp_path / "cif0")).returncode != 0
    with MirrorServer(synthetic_repo.root) as faulty, MirrorServer(synthetic_repo.root) as good:
        faulty.faults = {names[0]: Fault("404"), names[1]: Fault("corrupt"),
                         names[4]: Fault("short")}
        proc = cli("fetch", str(tmp_path / "m.json"), "--ccf-path", str(repo), "--mirror",
                   faulty.url, "--mirror", good.url, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    damaged = len(names[::3]) + 3
    assert report["counts"] == {"fetched": damaged, "present": len(names) - damaged, "failed": 0}
    files = {f["filename"]: f for f in report["files"]}
    assert [(a["kind"], a["mirror"]) for a in files[names[1]]["attempts"]] == [
        ("hash-mismatch", faulty.url)]
    assert files[names[1]]["mirror"] == good.url
    proc = cli("rebuild", str(tmp_path / "m.json"), "--ccf-path", str(repo), "-o",
               str(tmp_path / "cif"))
    assert proc.returncode == 0, proc.stderr


def test_ctrl_c_stops_cleanly_with_exit_130(world):
    """SIGINT mid-fetch: workers stop at their next chunk, exit status 130, one line on stderr,
    only verified files under constituent names; a rerun completes."""
    tmp, items, manifest, faulty, good = world
    dest = tmp / "repo"
    good.faults = {i.filename: Fault("trickle", chunk=1440, delay=0.005) for i in items}
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "reprocal", "fetch", str(manifest), "--ccf-path", str(dest),
           "--mirror", good.url, "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while len(good.completed()) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err.splitlines()[-1]) == (130, "reprocal: interrupted")
    installed = [i for i in items if (dest / i.filename).exists()]
    assert 0 < len(installed) < len(items) and verified(dest, installed)
    good.faults = {}
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=60).returncode == 0
    assert verified(dest, items)


def test_a_lower_case_constituent_passes_pin_verify_and_fetch(tmp_path, cli):
    """The issue's scenario: a synthetic repository with one constituent stored in lower case.
    ``pin`` records the canonical name, ``verify --level full`` passes, ``fetch`` finds it present
    (no request, no second upper-case copy), and ``verify --repository`` reports no duplicate;
    all exit 0. When its bytes go bad, ``fetch`` replaces that very file, and everything agrees
    again."""
    from reprocal.testing._synthetic import corrupt, generate

    repo = generate(tmp_path / "ccf", seed=0, scale=1e-4, files=40)
    shutil.copytree(repo.root, tmp_path / "mirror")
    chosen = sorted(c.filename for c in repo.selected("2010-01-01", "2020-01-01").chosen)
    name = chosen[0]
    lower = repo.root / name.lower()
    os.replace(repo.root / name, lower)
    ccf = ("--ccf-path", str(repo.root))
    manifest = tmp_path / "m.json"

    def agree() -> None:
        proc = cli("verify", str(manifest), *ccf, "--level", "full")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        proc = cli("verify", "--repository", *ccf, "--json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["counts"]["duplicate"] == 0
        names = [p for p in os.listdir(repo.root) if not p.startswith(".")]
        assert lower.name in names and name not in names
        assert len({n.upper() for n in names}) == len(names) == len(repo.paths)

    proc = cli("pin", "--obs-date", "2010-01-01", "--analysis-date", "2020-01-01", *ccf,
               "-o", str(manifest))
    assert proc.returncode == 0, proc.stderr
    pinned = [c["name"] for c in json.loads(manifest.read_text())["constituents"]]
    assert name in pinned and sorted(pinned) == chosen
    agree()
    with MirrorServer(tmp_path / "mirror") as mirror:
        proc = cli("fetch", str(manifest), *ccf, "--mirror", mirror.url, "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["counts"] == {"fetched": 0, "present": len(chosen),
                                                     "failed": 0}
        assert mirror.gets() == []
        agree()
        corrupt(lower)
        assert cli("verify", str(manifest), *ccf, "--level", "full").returncode == 1
        proc = cli("fetch", str(manifest), *ccf, "--mirror", mirror.url, "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["counts"]["fetched"] == 1
        assert [r.name for r in mirror.gets()] == [name]
    assert lower.read_bytes() == (tmp_path / "mirror" / name).read_bytes()
    agree()
