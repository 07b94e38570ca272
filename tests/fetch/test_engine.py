"""The fetch engine against real loopback mirrors that misbehave on purpose."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.components import needs, program
from support.filesystems import fill, small_tmpfs
from support.servers import Fault, MirrorServer, RsyncDaemon, make_files

from reprocal.errors import ComponentUnavailable, ConstituentNameError, InputError
from reprocal.fetch._engine import (
    LOCK_NAME,
    RESUMED,
    FetchItem,
    dry_run,
    fetch,
    part_path,
    plan,
    repository_lock,
)
from reprocal.fetch._mirrors import parse_mirror
from reprocal.fetch._partfile import PartFile
from reprocal.fetch._script import script_text, write_script
from reprocal.fetch._transports import (
    Cancelled,
    RetryPolicy,
    RsyncTransport,
    Transports,
    _Batch,
    copy_file,
)

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parent.parent
NO_SLEEP = lambda _s: None  # noqa: E731


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified(dest: Path, items: list[FetchItem]) -> bool:
    return all((dest / i.filename).is_file() and sha(dest / i.filename) == i.sha256 for i in items)


def names_in(dest: Path) -> set[str]:
    return {p.name for p in dest.iterdir()}


@pytest.fixture
def mirror_dir(tmp_path: Path) -> tuple[Path, list[FetchItem]]:
    root = tmp_path / "mirror"
    return root, make_files(root, 12)


@pytest.fixture
def server(mirror_dir):
    with MirrorServer(mirror_dir[0]) as srv:
        yield srv


@pytest.fixture
def faulty(mirror_dir):
    with MirrorServer(mirror_dir[0]) as srv:
        yield srv


def m(srv: MirrorServer):
    return parse_mirror(srv.url)


# --- the must-show scenario -------------------------------------------------------------------


def test_one_fetch_completes_a_damaged_repository(tmp_path, mirror_dir, server, faulty):
    """A third missing, two truncated, one corrupted: one fetch completes the repository, reports
    the faulty mirror's failures by kind, takes the bytes from the good mirror, and never asks
    for a file that was already right."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    for item in items[4:]:
        shutil.copy(root / item.filename, dest / item.filename)
    for item in items[4:6]:  # truncated
        (dest / item.filename).write_bytes((root / item.filename).read_bytes()[:1000])
    bad = dest / items[6].filename  # corrupted, right size
    bad.write_bytes(b"\0" * items[6].size)
    faulty.faults = {items[0].filename: Fault("404"), items[1].filename: Fault("500"),
                     items[2].filename: Fault("corrupt"), items[3].filename: Fault("drop", at=100),
                     items[4].filename: Fault("short")}

    report = fetch(items, dest, [m(faulty), m(server)], sleep=NO_SLEEP)

    assert report.ok and verified(dest, items)
    assert (report.count("fetched"), report.count("present"), report.count("failed")) == (7, 5, 0)
    by_name = {r.filename: r for r in report.results}
    kinds = {i: [a.kind for a in by_name[items[i].filename].attempts] for i in range(5)}
    assert kinds == {0: ["not-found"], 1: ["http-error"] * 4, 2: ["hash-mismatch"],
                     3: ["connection"] * 4, 4: ["size-mismatch"]}
    assert {a.mirror for i in items[:5] for a in by_name[i.filename].attempts} == {faulty.url}
    assert {by_name[i.filename].mirror for i in items[:5]} == {server.url}
    assert {by_name[i.filename].mirror for i in items[5:7]} == {faulty.url}
    assert {r.name for r in faulty.gets() + server.gets()} == {i.filename for i in items[:7]}
    assert names_in(dest) == {i.filename for i in items} | {LOCK_NAME}


@pytest.mark.parametrize(("fault", "kinds", "status"), [
    (Fault("404"), ["not-found"], "failed"),
    (Fault("500"), ["http-error"] * 4, "failed"),
    (Fault("500", times=2), ["http-error"] * 2, "fetched"),
    (Fault("corrupt"), ["hash-mismatch"], "failed"),
    (Fault("short"), ["size-mismatch"], "failed"),
    (Fault("drop", at=5000, times=1), ["connection"], "fetched"),
    (Fault("trickle", chunk=4096, delay=0.001), [], "fetched"),
    (Fault("norange"), [], "fetched"),
])
def test_each_fault_is_reported_by_kind(tmp_path, mirror_dir, server, fault, kinds, status):
    """One mirror, one misbehaving file: the attempts name the failure kind; transient ones are
    retried on the same mirror, wrong bytes are never installed."""
    root, items = mirror_dir
    server.faults = {items[0].filename: fault}
    report = fetch(items[:1], tmp_path / "repo", [m(server)], sleep=NO_SLEEP)
    (result,) = report.results
    assert ([a.kind for a in result.attempts], result.status) == (kinds, status)
    assert (tmp_path / "repo" / items[0].filename).exists() == (status == "fetched")
    assert report.ok == (status == "fetched")


def test_backoff_doubles_between_retries(tmp_path, mirror_dir, server):
    """Transient failures are retried after 0.5, 1, 2 s (the injected sleep records them)."""
    root, items = mirror_dir
    server.faults = {items[0].filename: Fault("500")}
    pauses: list[float] = []
    fetch(items[:1], tmp_path / "repo", [m(server)], sleep=pauses.append)
    assert pauses == [0.5, 1.0, 2.0]


def test_a_404_is_not_retried(tmp_path, mirror_dir, server):
    """Not-found goes straight to the next mirror: one request, no pause."""
    root, items = mirror_dir
    server.faults = {items[0].filename: Fault("404")}
    pauses: list[float] = []
    fetch(items[:1], tmp_path / "repo", [m(server)], sleep=pauses.append)
    assert (len(server.gets()), pauses) == (1, [])


def test_unreachable_mirror_is_down_for_the_run(tmp_path, mirror_dir, server):
    """A mirror that refuses connections is tried once (no retry), marked down for the run,
    and the next one serves every file; later files do not try it again."""
    root, items = mirror_dir
    dead = parse_mirror("http://127.0.0.1:9/ccf/")
    pauses: list[float] = []
    report = fetch(items[:3], tmp_path / "repo", [dead, m(server)], sleep=pauses.append,
                   policy=RetryPolicy(retries=1), jobs=1)
    first, *rest = report.results
    assert [a.kind for a in first.attempts] == ["unreachable"]
    assert "Connection refused" in first.attempts[0].message
    assert all(r.mirror == server.url for r in report.results)
    assert all(a.message.startswith("not tried") for r in rest for a in r.attempts)
    assert pauses == [] and report.ok and report.failure() is None
    assert [m_ for m_, _ in report.down] == [str(dead)]


# --- resume and restart -----------------------------------------------------------------------


def test_dropped_connection_resumes_with_range(tmp_path, mirror_dir, server):
    """After a drop at byte 5000 the retry asks for ``bytes=5000-`` and gets 206; each byte is
    received once."""
    root, items = mirror_dir
    server.faults = {items[0].filename: Fault("drop", at=5000, times=1)}
    report = fetch(items[:1], tmp_path / "repo", [m(server)], sleep=NO_SLEEP)
    assert [(r.range, r.status) for r in server.gets()] == [(None, 200), ("bytes=5000-", 206)]
    assert report.results[0].bytes == items[0].size
    assert verified(tmp_path / "repo", items[:1])


def test_part_file_of_an_earlier_run_is_resumed(tmp_path, mirror_dir, server):
    """A ``.part`` left by an interrupted run holds a prefix: only the rest is requested."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    part_path(dest, items[0].filename).write_bytes((root / items[0].filename).read_bytes()[:3000])
    report = fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP)
    assert [(r.range, r.status) for r in server.gets()] == [("bytes=3000-", 206)]
    assert report.results[0].bytes == items[0].size - 3000
    assert verified(dest, items[:1]) and names_in(dest) == {items[0].filename, LOCK_NAME}


def test_no_range_support_restarts_from_zero(tmp_path, mirror_dir, server):
    """A server that answers 200 to a Range request sends the whole file; we start over."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    part_path(dest, items[0].filename).write_bytes((root / items[0].filename).read_bytes()[:3000])
    server.faults = {items[0].filename: Fault("norange")}
    report = fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP)
    assert [(r.range, r.status) for r in server.gets()] == [("bytes=3000-", 200)]
    assert report.results[0].bytes == items[0].size and verified(dest, items[:1])


def test_stale_part_with_wrong_bytes_is_retried_from_zero(tmp_path, mirror_dir, server):
    """A ``.part`` holding wrong bytes makes the resumed file fail its hash; the same mirror is
    asked again from byte zero and the file is installed."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    part_path(dest, items[0].filename).write_bytes(b"x" * 3000)
    report = fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP)
    (result,) = report.results
    assert [a.kind for a in result.attempts] == ["hash-mismatch"]
    assert [r.range for r in server.gets()] == ["bytes=3000-", None]
    assert result.status == "fetched" and verified(dest, items[:1])


def test_complete_part_is_installed_without_a_request(tmp_path, mirror_dir, server):
    """A run killed between the last byte and the rename left a whole ``.part``: it is verified
    and installed, nothing is downloaded."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copy(root / items[0].filename, part_path(dest, items[0].filename))
    report = fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP)
    assert (report.results[0].mirror, server.gets()) == (RESUMED, [])
    assert verified(dest, items[:1])


def test_interrupted_transfer_keeps_its_part_for_the_next_run(tmp_path, mirror_dir, server):
    """When every mirror drops the connection, the received prefix stays in ``.part`` (not under
    the constituent's name) and the next run resumes from it."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    server.faults = {items[0].filename: Fault("drop", at=1000, times=1)}
    report = fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP, policy=RetryPolicy(retries=0))
    assert not report.ok and not (dest / items[0].filename).exists()
    assert part_path(dest, items[0].filename).stat().st_size == 1000
    assert fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP).ok
    assert server.gets()[-1].range == "bytes=1000-" and verified(dest, items[:1])


# --- never deletes, atomic replacement --------------------------------------------------------


def test_never_deletes_and_keeps_a_wrong_file_it_cannot_replace(tmp_path, mirror_dir, server):
    """Unrelated files stay; a wrong file that no mirror can replace stays byte for byte (it is
    reported, not removed); a wrong file that can be replaced is swapped in one rename."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    (dest / "EPN_OTHER_0001.CCF").write_bytes(b"not pinned")
    (dest / "notes.txt").write_bytes(b"mine")
    (dest / items[0].filename).write_bytes(b"wrong, unreplaceable")
    (dest / items[1].filename).write_bytes(b"wrong, replaceable")
    server.faults = {items[0].filename: Fault("404")}
    report = fetch(items[:2], dest, [m(server)], sleep=NO_SLEEP)
    assert {r.filename: r.status for r in report.results} == {items[0].filename: "failed",
                                                              items[1].filename: "fetched"}
    assert (dest / items[0].filename).read_bytes() == b"wrong, unreplaceable"
    assert verified(dest, items[1:2])
    assert (dest / "EPN_OTHER_0001.CCF").read_bytes() == b"not pinned"
    assert names_in(dest) == {items[0].filename, items[1].filename, "EPN_OTHER_0001.CCF",
                              "notes.txt", LOCK_NAME}


def test_full_disk_is_a_local_error_and_installs_nothing(tmp_path, mirror_dir, server, faulty):
    """Writes failing with ENOSPC (a real, full tmpfs) are reported as ``local-error``, not
    blamed on the mirror, and no other mirror is tried; nothing appears under the name."""
    root, items = mirror_dir
    with small_tmpfs(tmp_path / "repo", "8k") as dest:
        fill(dest)
        report = fetch(items[:1], dest, [m(server), m(faulty)], sleep=NO_SLEEP)
        (result,) = report.results
        assert result.status == "failed" and [a.kind for a in result.attempts] == ["local-error"]
        assert result.attempts[0].message.endswith("No space left on device")
        assert faulty.gets() == [] and not (dest / items[0].filename).exists()


@pytest.mark.parametrize("plant", ["symlink-out", "symlink-dev", "fifo", "directory", "hardlink"])
def test_a_planted_part_file_is_left_alone(tmp_path, mirror_dir, server, plant):
    """Whatever stands at ``.NAME.part`` that is not our own regular file is reported
    (local-error) and never followed, truncated, read or installed; the victim is intact."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    part = part_path(dest, items[0].filename)
    if plant == "symlink-out":
        part.symlink_to(victim)
    elif plant == "symlink-dev":
        part.symlink_to("/dev/full")
    elif plant == "fifo":
        os.mkfifo(part)
    elif plant == "directory":
        part.mkdir()
    else:
        os.link(victim, part)
    report = fetch(items[:2], dest, [m(server)], sleep=NO_SLEEP)
    by_name = {r.filename: r for r in report.results}
    first, second = by_name[items[0].filename], by_name[items[1].filename]
    assert first.status == "failed" and [a.kind for a in first.attempts] == ["local-error"]
    assert "in the way; reprocal leaves it alone" in first.attempts[0].message
    assert second.status == "fetched"  # the other files go on
    assert victim.read_bytes() == b"precious"
    assert not (dest / items[0].filename).exists() and not (dest / items[0].filename).is_symlink()
    assert os.path.lexists(part)


def test_plan_levels(tmp_path, mirror_dir):
    """``size`` trusts a right-sized file; ``sha256`` catches same-size corruption; a ``.part``
    prefix is reported."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copy(root / items[0].filename, dest)
    (dest / items[1].filename).write_bytes(b"\0" * items[1].size)
    (dest / items[2].filename).write_bytes(b"short")
    part_path(dest, items[3].filename).write_bytes(b"abc")
    states = {lvl: [(e.state, e.partial) for e in plan(items[:4], dest, level=lvl).entries]
              for lvl in ("size", "sha256")}
    order = sorted(range(4), key=lambda i: items[i].filename)
    expect = {0: ("present", 0), 1: ("wrong-hash", 0), 2: ("wrong-size", 0), 3: ("missing", 3)}
    assert states["sha256"] == [expect[i] for i in order]
    assert states["size"] == [expect[i] if i != 1 else ("present", 0) for i in order]


# --- concurrency and kill -9 ------------------------------------------------------------------


def test_two_fetches_at_once_download_each_file_once(tmp_path, mirror_dir, server):
    """The second fetch waits for the lock, then finds every file present."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    server.faults = {i.filename: Fault("trickle", chunk=2880, delay=0.005) for i in items}
    reports: dict[str, object] = {}
    waited = threading.Event()

    def run(key: str) -> None:
        reports[key] = fetch(items, dest, [m(server)], sleep=NO_SLEEP, jobs=2, on_wait=waited.set)

    first = threading.Thread(target=run, args=("first",))
    first.start()
    while not server.gets():
        time.sleep(0.005)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    first.join(30)
    second.join(30)
    assert waited.is_set()
    assert sorted(r.name for r in server.gets()) == sorted(i.filename for i in items)
    assert reports["second"].count("present") == len(items)  # type: ignore[attr-defined]
    assert verified(dest, items)


def test_largest_files_are_fetched_first(tmp_path):
    """One connection: the requests come largest first, whatever the names' order."""
    sizes = [2880, 2880 * 9, 2880 * 3, 2880 * 27, 2880 * 2]
    items = make_files(tmp_path / "mirror", len(sizes), size=sizes)
    with MirrorServer(tmp_path / "mirror") as srv:
        report = fetch(items, tmp_path / "repo", [m(srv)], jobs=1, sleep=NO_SLEEP)
        order = [r.name for r in srv.gets()]
    assert report.ok
    assert order == [i.filename for i in sorted(items, key=lambda i: -i.size)]


# --- other transports -------------------------------------------------------------------------


def test_local_directory_and_file_url_mirrors(tmp_path, mirror_dir):
    """A directory and a ``file://`` URL serve as mirrors; a missing file there is not-found."""
    root, items = mirror_dir
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(root / items[0].filename, partial)
    mirrors = [parse_mirror(str(partial)), parse_mirror(root.as_uri())]
    report = fetch(items[:2], tmp_path / "repo", mirrors, sleep=NO_SLEEP)
    by_name = {r.filename: r for r in report.results}
    assert by_name[items[0].filename].mirror == str(partial)
    assert [a.kind for a in by_name[items[1].filename].attempts] == ["not-found"]
    assert by_name[items[1].filename].mirror == str(root)
    assert verified(tmp_path / "repo", items[:2])


@pytest.fixture
def rsyncd(tmp_path, mirror_dir):
    program("rsync")
    work = tmp_path / "rsyncd"
    work.mkdir()
    with RsyncDaemon(mirror_dir[0], work) as daemon:
        yield daemon


def test_rsync_daemon_mirror(tmp_path, mirror_dir, rsyncd):
    """Files come from a real rsync daemon; a missing one is not-found and the next mirror
    serves it; rsync writes only the ``.part`` file."""
    root, items = mirror_dir
    fallback = tmp_path / "fallback"
    fallback.mkdir()
    (root / items[1].filename).rename(fallback / items[1].filename)
    mirrors = [parse_mirror(rsyncd.url), parse_mirror(str(fallback))]
    report = fetch(items[:3], tmp_path / "repo", mirrors, sleep=NO_SLEEP,
                   policy=RetryPolicy(retries=0))
    by_name = {r.filename: r for r in report.results}
    assert report.ok and verified(tmp_path / "repo", items[:3])
    assert [a.kind for a in by_name[items[1].filename].attempts] == ["not-found"]
    assert by_name[items[0].filename].mirror == rsyncd.url
    assert names_in(tmp_path / "repo") == {i.filename for i in items[:3]} | {LOCK_NAME}


def _logging_rsync(tmp_path: Path) -> tuple[Path, Path]:
    """A real rsync behind a wrapper that logs each command line (one line per process)."""
    real, log = program("rsync"), tmp_path / "rsync.log"
    wrapper = tmp_path / "bin" / "rsync"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def test_rsync_brings_many_files_in_one_process(tmp_path, mirror_dir, rsyncd):
    """A fetch of several files from an rsync mirror starts one rsync (``--files-from``), not
    one per file; each file is still checked and installed as any transfer, and the staging
    directory is gone afterwards."""
    root, items = mirror_dir
    wrapper, log = _logging_rsync(tmp_path)
    transport = Transports(http=None, file=copy_file,  # type: ignore[arg-type]
                           rsync=RsyncTransport(binary=str(wrapper)))
    report = fetch(items, tmp_path / "repo", [parse_mirror(rsyncd.url)], transport=transport)
    calls = log.read_text().splitlines()
    assert len(items) > 2 and len(calls) == 1 and "--files-from=" in calls[0]
    assert report.ok and {r.mirror for r in report.results} == {rsyncd.url}
    assert verified(tmp_path / "repo", items)
    assert names_in(tmp_path / "repo") == {i.filename for i in items} | {LOCK_NAME}


def test_a_file_the_batch_got_wrong_is_refused_like_any(tmp_path, mirror_dir, rsyncd):
    """The mirror's copy of one file is damaged: the batch brings it, the sink refuses it
    (hash-mismatch) and the next mirror serves it; a file the mirror lacks is fetched on its
    own and reported not-found there."""
    root, items = mirror_dir
    good = tmp_path / "fallback"
    shutil.copytree(root, good)
    damaged = root / items[0].filename
    damaged.write_bytes(b"\0" * damaged.stat().st_size)
    (root / items[1].filename).unlink()
    wrapper, log = _logging_rsync(tmp_path)
    transport = Transports(http=None, file=copy_file,  # type: ignore[arg-type]
                           rsync=RsyncTransport(binary=str(wrapper), policy=RetryPolicy(retries=0)))
    report = fetch(items, tmp_path / "repo", [parse_mirror(rsyncd.url), parse_mirror(str(good))],
                   transport=transport)
    by_name = {r.filename: r for r in report.results}
    assert report.ok and verified(tmp_path / "repo", items)
    assert [a.kind for a in by_name[items[0].filename].attempts] == ["hash-mismatch"]
    assert [a.kind for a in by_name[items[1].filename].attempts] == ["not-found"]
    assert by_name[items[2].filename].mirror == rsyncd.url
    assert sum("--files-from" in c for c in log.read_text().splitlines()) == 1
    assert names_in(tmp_path / "repo") == {i.filename for i in items} | {LOCK_NAME}


def _gated_rsync(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A real rsync behind a wrapper that brings the batch's first file, then holds the rest
    back until a gate file appears (20 s at most), then brings them: (wrapper, gate, log)."""
    real, gate, log = program("rsync"), tmp_path / "gate", tmp_path / "gated.log"
    wrapper = tmp_path / "bin" / "rsync"
    wrapper.parent.mkdir()
    wrapper.write_text(f"""#!{sys.executable}
import os, subprocess, sys, time
args = sys.argv[1:]
listing = next(a.split("=", 1)[1] for a in args if a.startswith("--files-from="))
names = open(listing, "rb").read().split(b"\\0")
def bring(some):
    open(listing, "wb").write(b"\\0".join(some))
    subprocess.run([{str(real)!r}, *args], check=True)
bring(names[:1])
end = time.monotonic() + 20
while not os.path.exists({str(gate)!r}) and time.monotonic() < end:
    time.sleep(0.01)
open({str(log)!r}, "w").write("released" if os.path.exists({str(gate)!r}) else "timed out")
bring(names[1:])
""")
    wrapper.chmod(0o755)
    return wrapper, gate, log


def test_a_batched_file_is_installed_while_the_batch_still_runs(tmp_path, mirror_dir, rsyncd):
    """The first file rsync brings is checked and installed while the others are still to
    come: the wrapper holds them back until that file is reported fetched (a fetch that waited
    for the whole batch would sit out the wrapper's 20 s and it would log "timed out")."""
    root, items = mirror_dir
    wrapper, gate, log = _gated_rsync(tmp_path)
    transport = Transports(http=None, file=copy_file,  # type: ignore[arg-type]
                           rsync=RsyncTransport(binary=str(wrapper)))
    done: list[str] = []

    def on_done(result) -> None:  # type: ignore[no-untyped-def]
        done.append(result.filename)
        gate.touch()

    report = fetch(items, tmp_path / "repo", [parse_mirror(rsyncd.url)], transport=transport,
                   on_done=on_done)
    assert log.read_text() == "released"
    assert done[0] == min(i.filename for i in items)  # rsync's order: by name
    assert report.ok and {r.mirror for r in report.results} == {rsyncd.url}
    assert verified(tmp_path / "repo", items)
    assert names_in(tmp_path / "repo") == {i.filename for i in items} | {LOCK_NAME}
    assert transport.rsync._batches == {}  # type: ignore[union-attr]


def _batch(tmp_path: Path, script: str, *, deadline: float = 30) -> _Batch:
    """A batch whose process is ``script`` (sh), staging into ``tmp_path/stage``."""
    (tmp_path / "stage").mkdir()
    return _Batch(["sh", "-c", script], tmp_path / "stage", deadline=deadline)


def test_a_batch_waiter_stops_when_the_fetch_is_interrupted(tmp_path):
    """Ctrl-C while a thread waits for a file rsync has not brought: the thread stops
    (Cancelled) instead of fetching the file on its own, and closing kills the process."""
    batch = _batch(tmp_path, "exec sleep 60")
    cancel = threading.Event()
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            batch.take("EPN_X_0001.CCF", cancel)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what came out
            raised.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    cancel.set()
    waiter.join(10)
    assert not waiter.is_alive() and [type(e) for e in raised] == [Cancelled]
    batch.close()
    assert batch.proc.returncode is not None and batch.proc.returncode < 0  # killed


def test_closing_a_batch_releases_its_waiters(tmp_path):
    """The batch closed (the fetch ends on an error) while a thread waits: it stops too."""
    batch = _batch(tmp_path, "exec sleep 60")
    raised: list[BaseException] = []

    def wait() -> None:
        try:
            batch.take("EPN_X_0001.CCF", threading.Event())
        except BaseException as exc:  # noqa: BLE001
            raised.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    batch.close()
    waiter.join(10)
    assert not waiter.is_alive() and [type(e) for e in raised] == [Cancelled]


def test_a_batch_that_ends_settles_every_file(tmp_path):
    """A file is taken as soon as its name is a regular file; one rsync never brought is
    ``None`` once the process has ended, and so is one past the batch's deadline (the process
    is killed): never a wait without end. A link or a temporary name is not an arrival."""
    stage = tmp_path / "stage"
    batch = _batch(tmp_path, f"printf abc > {stage}/A.CCF; ln -s A.CCF {stage}/L.CCF; "
                             f"printf x > {stage}/.B.CCF.tmp; echo A.CCF")
    cancel = threading.Event()
    assert batch.take("A.CCF", cancel) == stage / "A.CCF"
    assert batch.take("B.CCF", cancel) is None
    assert batch.take("L.CCF", cancel) is None
    batch.close()
    late = _batch(tmp_path / "late", "exec sleep 60", deadline=0.2) if (
        tmp_path / "late").mkdir() is None else None
    assert late is not None and late.take("A.CCF", cancel) is None
    late.close()
    assert late.proc.returncode is not None and late.proc.returncode < 0


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_an_interrupted_single_rsync_is_stopped_with_its_children(tmp_path):
    """Ctrl-C while one file comes through its own rsync: the transfer stops within a moment
    (Cancelled) and the whole process group goes, the children rsync forks included (killed
    alone, a parent left its receiver running on, reparented to init)."""
    pidfile = tmp_path / "child.pid"
    fake = tmp_path / "rsync"
    fake.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {pidfile}\nwait\n")
    fake.chmod(0o755)
    item = FetchItem("EPN_X_0001.CCF", 3, hashlib.sha256(b"abc").hexdigest())
    cancel = threading.Event()
    part = PartFile(tmp_path / ".EPN_X_0001.CCF.part", item, progress=None, cancel=cancel)
    transport = RsyncTransport(binary=str(fake))
    raised: list[BaseException] = []

    def fetch_it() -> None:
        try:
            transport(parse_mirror("rsync://127.0.0.1:9/ccf/"), item.filename, part)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what came out
            raised.append(exc)

    worker = threading.Thread(target=fetch_it)
    worker.start()
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    child = int(pidfile.read_text())
    cancel.set()
    worker.join(10)
    part.discard()
    assert not worker.is_alive() and [type(e) for e in raised] == [Cancelled]
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child)


def test_nowhere_to_stage_means_file_by_file(tmp_path, mirror_dir, rsyncd):
    """A staging directory that cannot be made is no error: each file comes on its own."""
    root, items = mirror_dir
    wrapper, log = _logging_rsync(tmp_path)
    transport = Transports(http=None, file=copy_file,  # type: ignore[arg-type]
                           rsync=RsyncTransport(binary=str(wrapper)))
    mirror = parse_mirror(rsyncd.url)
    with transport.staged([(i.filename, [mirror]) for i in items], tmp_path / "not-made"):
        pass
    assert not log.exists() and not (tmp_path / "not-made").exists()


def test_rsync_daemon_resumes_a_part_file(tmp_path, mirror_dir, rsyncd):
    """A ``.part`` prefix is the basis of rsync's ``--inplace`` transfer; the result verifies."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    part_path(dest, items[0].filename).write_bytes((root / items[0].filename).read_bytes()[:4000])
    report = fetch(items[:1], dest, [parse_mirror(rsyncd.url)], sleep=NO_SLEEP)
    assert report.ok and verified(dest, items[:1])


def test_http_prefix_then_rsync(tmp_path, mirror_dir, server, rsyncd):
    """A prefix received over HTTP (still in our write buffer) is on disk before rsync uses the
    ``.part`` as its basis: the file completes from the rsync mirror and verifies."""
    root, items = mirror_dir
    server.faults = {items[0].filename: Fault("drop", at=3000)}
    report = fetch(items[:1], tmp_path / "repo", [m(server), parse_mirror(rsyncd.url)],
                   sleep=NO_SLEEP, policy=RetryPolicy(retries=0))
    (result,) = report.results
    assert (result.status, result.mirror) == ("fetched", rsyncd.url)
    assert [a.kind for a in result.attempts] == ["connection"]
    assert verified(tmp_path / "repo", items[:1])


def test_rsync_double_colon_source_and_arguments(tmp_path):
    """``host::module/path`` is passed to rsync as ``host::module/path/NAME`` with the ``.part``
    file as destination, never with --delete or recursion."""
    log = tmp_path / "args"
    fake = tmp_path / "rsync"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\nprintf abc > "$8"\n')
    fake.chmod(0o755)
    item = FetchItem("EPN_X_0001.CCF", 3, hashlib.sha256(b"abc").hexdigest())
    transport = Transports(http=None, file=None, rsync=RsyncTransport(binary=str(fake)))  # type: ignore[arg-type]
    report = fetch([item], tmp_path / "repo", [parse_mirror("mirror.example.org::XMM_CCF/sub")],
                   transport=transport)
    args = log.read_text().splitlines()
    assert args == ["-q", "--no-motd", "-I", "--inplace", "--timeout=60", "--contimeout=10",
                    "mirror.example.org::XMM_CCF/sub/EPN_X_0001.CCF",
                    str(part_path(tmp_path / "repo", "EPN_X_0001.CCF"))]
    assert report.ok and (tmp_path / "repo" / "EPN_X_0001.CCF").read_bytes() == b"abc"


def test_rsync_mirror_without_rsync_binary(tmp_path, mirror_dir, monkeypatch):
    """No rsync program: one error naming the fix (exit 6), before anything is written."""
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(ComponentUnavailable) as info:
        fetch(mirror_dir[1][:1], tmp_path / "repo", [parse_mirror("h::ccf")])
    assert str(info.value) == ("the rsync program is not installed, so rsync mirrors cannot be "
                               "read; install rsync (apt-get install rsync) or use an http(s) "
                               "mirror")
    assert not (tmp_path / "repo").exists()


# --- dry run and script -----------------------------------------------------------------------


def test_dry_run_lists_what_and_where_and_touches_nothing(tmp_path, mirror_dir, server):
    """Only missing or wrong files are listed, each with the first mirror's URL; no request,
    no file."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copy(root / items[0].filename, dest)
    (dest / items[1].filename).write_bytes(b"bad")
    planned = dry_run(items[:3], dest, [m(server), parse_mirror(str(root))])
    assert [(p.entry.item.filename, p.entry.state, p.url) for p in planned] == sorted(
        [(items[1].filename, "wrong-size", server.url + items[1].filename),
         (items[2].filename, "missing", server.url + items[2].filename)])
    assert server.gets() == [] and names_in(dest) == {items[0].filename, items[1].filename}


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_script_fetches_and_checks_with_curl(tmp_path, mirror_dir, server, faulty, shell):
    """The written script, run by a plain shell, falls back past a 404 and a corrupt file,
    keeps a file already right, and exits 1 naming a file no mirror has."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copy(root / items[0].filename, dest)
    faulty.faults = {items[1].filename: Fault("404"), items[2].filename: Fault("corrupt")}
    missing = FetchItem("EPN_NOWHERE_0001.CCF", 3, "0" * 64)
    script = write_script([*items[:4], missing], [m(faulty), m(server)], tmp_path / "get.sh")
    proc = subprocess.run([shell, str(script), str(dest)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "FAILED EPN_NOWHERE_0001.CCF" in proc.stderr
    assert f"present {items[0].filename}" in proc.stdout
    assert verified(dest, items[:4])
    assert names_in(dest) == {i.filename for i in items[:4]}
    assert items[0].filename not in {r.name for r in server.gets() + faulty.gets()}


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_script_follows_the_name_rule(tmp_path, mirror_dir, server, shell):
    """The script finds a pinned file in any case: a right lower-case copy is kept, a wrong
    mixed-case one is replaced at its own path; no upper-case sibling appears; a file in a
    case cifbuild's glob misses fails its name (exit 1) and is left alone, as with fetch."""
    root, items = mirror_dir
    dest = tmp_path / "my repo [ccf]"  # quoting and glob characters in DEST stay literal
    dest.mkdir()
    right = dest / items[0].filename.lower()
    shutil.copy(root / items[0].filename, right)
    wrong = dest / (items[1].filename[:3].lower() + items[1].filename[3:-4] + ".ccf")
    wrong.write_bytes(b"wrong")
    odd = dest / (items[2].filename[:-4] + ".Ccf")
    odd.write_bytes(b"mine")
    script = write_script(items[:3], [m(server)], tmp_path / "get.sh")
    proc = subprocess.run([shell, str(script), str(dest)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert sorted(proc.stdout.splitlines()) == sorted([f"present {items[0].filename}",
                                                       f"fetched {items[1].filename}"])
    assert proc.stderr.splitlines() == [
        f"fetch: {odd} holds {items[2].filename} in a case cifbuild's file glob does not "
        f"match; rename it to {items[2].filename}", f"FAILED {items[2].filename}"]
    assert sha(right) == items[0].sha256 and sha(wrong) == items[1].sha256
    assert names_in(dest) == {right.name, wrong.name, odd.name}
    assert odd.read_bytes() == b"mine"
    assert {r.name for r in server.gets()} == {items[1].filename}


def test_script_text_is_plain_sh():
    """The script is POSIX sh: quoted URLs, one line per file, the exit status at the end."""
    item = FetchItem("epn_quantumef_0017.ccf", 2880, "a" * 64)
    text = script_text([item], [parse_mirror("https://example.org/a&b/")])
    assert text.startswith("#!/bin/sh\n")
    assert ("fetch_one EPN_QUANTUMEF_0017.CCF '[Ee][Pp][Nn]_[Qq][Uu][Aa][Nn][Tt][Uu][Mm][Ee][Ff]_0017' "
            + "a" * 64 + " - 'https://example.org/a&b/EPN_QUANTUMEF_0017.CCF' || failed=1\n") in text
    assert text.endswith('exit "$failed"\n')


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "error", "message"), [
    (("../etc/passwd", 1, "a" * 64), ConstituentNameError,
     "'../etc/passwd' is not a bare constituent file name (it holds a path)"),
    (("EPN_X_0001.CCF/../../x", 1, "a" * 64), ConstituentNameError,
     "'EPN_X_0001.CCF/../../x' is not a bare constituent file name (it holds a path)"),
    ((".bashrc", 1, "a" * 64), ConstituentNameError,
     "'.bashrc' is not a constituent name; expected SCOPE_TYPEID_NNNN.CCF "
     "(e.g. EPN_QUANTUMEF_0017.CCF)"),
    (("EPN_X_0001.CCF", -1, "a" * 64), InputError, "size -1 is not a non-negative integer"),
    (("EPN_X_0001.CCF", 1, "xyz"), InputError, "sha256 'xyz' is not 64 hexadecimal digits"),
])
def test_bad_items_are_refused_in_one_line(args, error, message):
    """A hostile or malformed pin is refused before any path is built."""
    with pytest.raises(error) as info:
        FetchItem(*args)
    assert str(info.value) == message


def test_item_normalises_name_and_hash():
    """Names are canonical upper case; a ``sha256:`` prefix is dropped."""
    item = FetchItem("epn_x_1.ccf".replace("_1", "_0001"), 5, "sha256:" + "AB" * 32)
    assert (item.filename, item.sha256) == ("EPN_X_0001.CCF", "ab" * 32)


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: fetch([], d, []),
     "no mirror to fetch from; give --mirror URL or set REPROCAL_MIRRORS"),
    (lambda d: fetch([], d, [parse_mirror("http://h/")], jobs=0),
     "jobs 0 is not an integer in 1..64"),
    (lambda d: fetch([FetchItem("EPN_X_0001.CCF", 1, "a" * 64),
                      FetchItem("epn_x_0001.ccf", 2, "a" * 64)], d, [parse_mirror("http://h/")]),
     "EPN_X_0001.CCF is pinned twice with different size or sha256"),
])
def test_bad_fetch_arguments(tmp_path, call, message):
    """Usage errors are one line and nothing is created."""
    with pytest.raises(InputError) as info:
        call(tmp_path / "repo")
    assert str(info.value) == message
    assert not (tmp_path / "repo").exists()


@needs("wget")
def test_shell_script_falls_back_to_wget(tmp_path, mirror_dir, server):
    """Without curl on PATH the script uses wget, with the same checks."""
    root, items = mirror_dir
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("wget", "sha256sum", "mkdir", "rm", "mv", "cp"):
        (tools / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    server.faults = {items[1].filename: Fault("corrupt")}
    script = write_script(items[:3], [m(server)], tmp_path / "get.sh")
    proc = subprocess.run([shutil.which("sh") or "/bin/sh", str(script), str(tmp_path / "repo")],
                          capture_output=True, text=True, timeout=60, env={"PATH": str(tools)})
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines()[-1] == f"FAILED {items[1].filename}"
    assert verified(tmp_path / "repo", [items[0], items[2]])
    assert sorted(names_in(tmp_path / "repo")) == sorted([items[0].filename, items[2].filename])


def test_other_repository_directories_are_checked_in_place(tmp_path, mirror_dir, server):
    """With several repository directories (SAS_CCFPATH), a right file in a later one is left
    alone, a wrong one is replaced where it is (never duplicated into the first), and only new
    files go to the first directory; both directories are locked."""
    root, items = mirror_dir
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(root / items[0].filename, second)
    (second / items[1].filename).write_bytes(b"wrong")
    report = fetch(items[:3], first, [m(server)], sleep=NO_SLEEP,
                   also=[second, first, tmp_path / "second" / ".." / "second"])
    assert report.ok
    assert {r.filename: r.status for r in report.results} == {
        items[0].filename: "present", items[1].filename: "fetched",
        items[2].filename: "fetched"}
    assert names_in(first) == {items[2].filename, LOCK_NAME}
    assert names_in(second) == {items[0].filename, items[1].filename, LOCK_NAME}
    assert verified(second, items[:2]) and verified(first, items[2:3])
    assert {r.name for r in server.gets()} == {items[1].filename, items[2].filename}
    assert dry_run(items[:3], first, [m(server)], also=[second]) == ()


def test_busy_other_directory_is_reported_not_waited_for(tmp_path, mirror_dir, server):
    """A wrong file in a later directory that another fetch holds is reported (local-error),
    without waiting (no deadlock between peers listing the directories in another order)."""
    root, items = mirror_dir
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / items[0].filename).write_bytes(b"wrong")
    with repository_lock(second):
        report = fetch(items[:2], first, [m(server)], sleep=NO_SLEEP, also=[second])
    by_name = {r.filename: r for r in report.results}
    assert by_name[items[1].filename].status == "fetched"
    (attempt,) = by_name[items[0].filename].attempts
    assert (attempt.kind, attempt.message) == (
        "local-error", f"{second} is being written by another fetch; run again when it has "
        "finished")
    assert (second / items[0].filename).read_bytes() == b"wrong"


# --- names in any case ------------------------------------------------------------------------


def test_a_lower_case_copy_is_present_and_never_duplicated(tmp_path, mirror_dir, server):
    """A pinned file stored under its lower-case name with the right bytes is present: nothing
    is downloaded and no upper-case copy appears, in the destination or in another directory."""
    root, items = mirror_dir
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(root / items[0].filename, first / items[0].filename.lower())
    shutil.copy(root / items[1].filename, second / items[1].filename.lower())
    the_plan = plan(items[:2], first, also=[second])
    assert {e.item.filename: (e.state, e.path) for e in the_plan.entries} == {
        items[0].filename: ("present", first / items[0].filename.lower()),
        items[1].filename: ("present", second / items[1].filename.lower())}
    report = fetch(items[:2], first, [m(server)], sleep=NO_SLEEP, also=[second])
    assert [r.status for r in report.results] == ["present", "present"]
    assert server.gets() == []
    assert names_in(first) == {items[0].filename.lower(), LOCK_NAME}
    assert names_in(second) == {items[1].filename.lower()}


@pytest.mark.parametrize("damage", [b"short", None], ids=["wrong-size", "wrong-hash"])
def test_a_wrong_lower_case_copy_is_replaced_at_its_own_path(tmp_path, mirror_dir, server,
                                                             damage):
    """Wrong bytes under a lower-case name are replaced in that file (same path, one rename),
    never by an upper-case sibling."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    lower = dest / items[0].filename.lower()
    lower.write_bytes(damage if damage is not None else b"\0" * items[0].size)
    (entry,) = plan(items[:1], dest).entries
    assert (entry.state, entry.path) == ("wrong-size" if damage else "wrong-hash", lower)
    report = fetch(items[:1], dest, [m(server)], sleep=NO_SLEEP)
    assert [r.status for r in report.results] == ["fetched"]
    assert names_in(dest) == {lower.name, LOCK_NAME}
    assert sha(lower) == items[0].sha256


def test_a_name_held_in_a_case_the_glob_misses_is_reported_not_duplicated(tmp_path, mirror_dir,
                                                                          server):
    """``NAME.Ccf`` is invisible to cifbuild (its glob is ``*.ccf|*.CCF``) yet holds the name:
    installing ``NAME.CCF`` beside it would make two copies, replacing it would keep it
    invisible. The file fails with a one-line reason, is left byte for byte, nothing is
    requested for it, and the other files are fetched."""
    root, items = mirror_dir
    dest = tmp_path / "repo"
    dest.mkdir()
    odd = dest / (items[0].filename[:-4] + ".Ccf")
    odd.write_bytes(b"mine")
    report = fetch(items[:2], dest, [m(server)], sleep=NO_SLEEP)
    by = {r.filename: r for r in report.results}
    assert by[items[1].filename].status == "fetched"
    failed = by[items[0].filename]
    assert failed.status == "failed" and [(a.kind, a.message) for a in failed.attempts] == [
        ("local-error", f"{odd} holds this constituent in a case cifbuild's file glob does not "
                        f"match; rename it to {items[0].filename} and fetch again")]
    assert odd.read_bytes() == b"mine" and server.gets(items[0].filename) == []
    assert names_in(dest) == {odd.name, items[1].filename, LOCK_NAME}
