"""Hostile mirrors and a hostile repository for ``reprocal fetch``.

Real loopback servers misbehave on purpose (dripping bytes, endless bodies, wrong lengths, a
body compressed although identity was asked, bytes that are not HTTP, redirects for ever), a
mirror cannot be reached at all (a refused port, a name that does not resolve, an rsync daemon
that is not there), and the repository holds traps (a link, FIFO, directory or hard link where
the ``.part`` or lock file goes; a read-only or full file system). Every case: the documented
exit code, one line on stderr, nothing written outside, no wrong file installed, bounded time,
under the worker's memory limit.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from support.components import program
from support.filesystems import fill, read_only, small_tmpfs
from support.hostile import check
from support.servers import Fault, MirrorServer, free_port, make_files, write_manifest

from reprocal.fetch._engine import LOCK_NAME, fetch, part_path
from reprocal.fetch._item import FetchItem
from reprocal.fetch._mirrors import parse_mirror
from reprocal.fs._limits import Limits, use_limits

pytestmark = pytest.mark.network

FAST = ["--limit", "read-timeout=2s", "--limit", "connect-timeout=2s"]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Three small pinned files, their manifest, and one server for the module."""
    root = tmp_path_factory.mktemp("hostile-mirror")
    items = make_files(root / "ccf", 3, size=20000)
    manifest = write_manifest(root / "manifest.json", items)
    with MirrorServer(root / "ccf") as server:
        yield root, items, manifest, server


def _env(box: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(box / "cache"), "XDG_CONFIG_HOME": str(box / "config")}


def _intact(dest: Path, items: list[FetchItem], victim_name: str) -> None:
    """Every file under a constituent name is right; the faulty one is absent."""
    for i in items:
        p = dest / i.filename
        if i.filename == victim_name:
            assert not os.path.lexists(p), f"{p} was installed"
        else:
            assert p.is_file() and not p.is_symlink()
            assert hashlib.sha256(p.read_bytes()).hexdigest() == i.sha256


FAULTS = {
    "drip-below-min-rate": (Fault("trickle", chunk=1, delay=0.02),
                            ["--limit", "min-rate=4KiB", "--limit", "rate-window=0.5s"]),
    "drip-past-deadline": (Fault("trickle", chunk=256, delay=0.1),
                           ["--limit", "file-deadline=1s", "--limit", "min-rate=1B"]),
    "endless-body": (Fault("endless", chunk=8192, delay=0.0), []),
    "length-longer-than-pin": (Fault("longer", at=1000), []),
    "length-shorter-than-body": (Fault("shorter", at=1000), []),
    "gzip-encoded": (Fault("gzip", at=0), []),
    "gzip-bomb-encoded": (Fault("gzip", at=64 << 20), []),
    "not-http": (Fault("garbage"), []),
    "html-page": (Fault("html"), []),
    "redirect-for-ever": (Fault("redirect"), []),
    "corrupt": (Fault("corrupt"), []),
    "server-error": (Fault("500"), []),
    "drop": (Fault("drop", at=5000), []),
    "short-file": (Fault("short"), []),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_misbehaving_mirror_installs_nothing_wrong(runner, box, outside, mirror, fault):
    """One file served wrongly: it fails (exit 1, one line), the others are fetched, nothing
    wrong appears under its name, nothing is written outside, and it is quick."""
    root, items, manifest, server = mirror
    bad, limits = FAULTS[fault]
    server.faults = {items[0].filename: bad}
    dest = box / "repo"
    dest.mkdir()
    try:
        r = runner(*FAST, *limits, "fetch", manifest, "--ccf-path", dest, "--mirror",
                   server.url, "--retries", "0", cwd=box, env=_env(box))
    finally:
        server.faults = {}
    check(r, 1, outside=outside, says="1 of 3 files could not be fetched", seconds=15)
    _intact(dest, items, items[0].filename)


@pytest.mark.parametrize("how", ["refused", "unresolvable", "both", "rsync-refused"])
def test_no_mirror_reachable_fails_fast_and_says_so(runner, box, outside, how):
    """118 pinned files, no mirror reachable: one connection per mirror, exit 5, a few lines,
    in seconds (it used to take minutes and a thousand lines, exit 1)."""
    items = make_files(box / "src", 118, size=100)
    manifest = write_manifest(box / "manifest.json", items)
    shutil.rmtree(box / "src")
    port = free_port()
    mirrors = {"refused": [f"http://127.0.0.1:{port}/ccf/"],
               "unresolvable": ["https://sasdev-xmm.nonexistent.invalid/pub/ccf/"],
               "both": [f"http://127.0.0.1:{port}/ccf/", "https://heasarc.nonexistent.invalid/"],
               "rsync-refused": [f"rsync://127.0.0.1:{port}/ccf/"]}[how]
    if how.startswith("rsync"):
        program("rsync")
    dest = box / "repo"
    dest.mkdir()
    args = [a for m in mirrors for a in ("--mirror", m)]
    r = runner(*FAST, "fetch", manifest, "--ccf-path", dest, *args, cwd=box, env=_env(box))
    check(r, 5, outside=outside, says="no mirror could be reached", seconds=10)
    assert len(r.stdout.splitlines()) <= 2 + len(mirrors), r.stdout
    assert sorted(p.name for p in dest.iterdir()) == [LOCK_NAME]


def test_a_down_mirror_is_skipped_and_the_next_serves(runner, box, outside, mirror):
    root, items, manifest, server = mirror
    dest = box / "repo"
    dest.mkdir()
    r = runner(*FAST, "fetch", manifest, "--ccf-path", dest, "--mirror",
               "http://ccf.nonexistent.invalid/", "--mirror", server.url, cwd=box,
               env=_env(box))
    check(r, 0, outside=outside, lines=0, says="is down for this run")
    _intact(dest, items, "")


def test_a_mirror_that_accepts_and_never_answers_times_out(runner, box, outside, mirror):
    """A listening socket that never answers: cut by the read timeout, not a hang."""
    root, items, manifest, server = mirror
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        dest = box / "repo"
        dest.mkdir()
        r = runner("--limit", "read-timeout=0.5s", "fetch", manifest, "--ccf-path", dest,
                   "--mirror", f"http://127.0.0.1:{sock.getsockname()[1]}/", "--retries", "0",
                   cwd=box, env=_env(box))
    finally:
        sock.close()
    check(r, 1, outside=outside, says="3 of 3 files could not be fetched", seconds=10)
    assert not any((dest / i.filename).exists() for i in items)


# --- traps in the repository ------------------------------------------------------------------

PLANTS = ["symlink-to-victim", "symlink-to-dev-zero", "fifo", "directory", "hardlink-to-victim"]


def _plant(path: Path, how: str, victim: Path) -> None:
    if how == "symlink-to-victim":
        path.symlink_to(victim)
    elif how == "symlink-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        path.mkdir()
    else:
        os.link(victim, path)


@pytest.mark.parametrize("how", PLANTS)
def test_a_planted_part_file_is_reported_and_left_alone(runner, box, outside, mirror, how):
    """``.NAME.part`` is a link, FIFO, directory or hard link: never followed, truncated, read
    or installed; the other files are fetched; exit 1."""
    root, items, manifest, server = mirror
    dest = box / "repo"
    dest.mkdir()
    _plant(part_path(dest, items[0].filename), how, outside.victim)
    r = runner(*FAST, "fetch", manifest, "--ccf-path", dest, "--mirror", server.url, cwd=box,
               env=_env(box))
    check(r, 1, outside=outside, seconds=10)
    assert "in the way; reprocal leaves it alone" in r.stdout
    _intact(dest, items, items[0].filename)
    assert os.path.lexists(part_path(dest, items[0].filename))


@pytest.mark.parametrize("how", ["symlink-to-victim", "fifo", "directory", "hardlink-to-victim"])
def test_a_planted_lock_file_stops_the_fetch(runner, box, outside, mirror, how):
    """The lock file's name holds something else: exit 3 (repository), one line, nothing
    fetched, nothing followed (a FIFO used to hang the fetch, a directory gave a traceback)."""
    root, items, manifest, server = mirror
    dest = box / "repo"
    dest.mkdir()
    _plant(dest / LOCK_NAME, how, outside.victim)
    r = runner("fetch", manifest, "--ccf-path", dest, "--mirror", server.url, cwd=box,
               env=_env(box))
    check(r, 3, outside=outside, says="the fetch lock file is", seconds=10)
    assert not any(os.path.lexists(dest / i.filename) for i in items)


def test_a_read_only_repository_is_one_line(runner, box, outside, mirror):
    root, items, manifest, server = mirror
    dest = box / "repo"
    dest.mkdir()
    with read_only(dest):
        r = runner("fetch", manifest, "--ccf-path", dest, "--mirror", server.url, cwd=box,
                   env=_env(box))
    check(r, 3, outside=outside, says="cannot write to the repository")


def test_a_full_disk_installs_nothing(runner, box, outside, mirror):
    root, items, manifest, server = mirror
    with small_tmpfs(box / "repo", "16k") as dest:
        fill(dest)
        r = runner("fetch", manifest, "--ccf-path", dest, "--mirror", server.url, cwd=box,
                   env=_env(box))
        check(r, 1, outside=outside, says="No space left on device")
        assert not any(os.path.lexists(dest / i.filename) for i in items)


# --- files of unknown size (a master index with FSIZE 0) ----------------------------------------


@pytest.mark.parametrize("fault", ["endless", "announced"])
def test_a_file_of_unknown_size_stops_at_the_download_limit(tmp_path, mirror, fault):
    """No pinned size: an endless body, or one announcing more than the limit, stops at the
    ``download-size`` limit (kind too-large) and nothing is installed."""
    root, items, manifest, server = mirror
    item = FetchItem(items[0].filename, None, None)
    server.faults = {item.filename: Fault("endless", chunk=65536, delay=0.0) if
                     fault == "endless" else Fault("longer", at=10 << 20)}
    dest = tmp_path / "repo"
    try:
        started = time.monotonic()
        with use_limits(Limits(download_size=256 << 10)):
            report = fetch([item], dest, [parse_mirror(server.url)], sleep=lambda _s: None)
    finally:
        server.faults = {}
    (result,) = report.results
    assert result.status == "failed"
    assert [a.kind for a in result.attempts] == ["too-large"]
    assert result.bytes <= 256 << 10
    assert not (dest / item.filename).exists() and time.monotonic() - started < 10


def test_fetch_workers_see_the_limits_in_force(tmp_path, mirror):
    """The limits set where fetch is called apply in its worker threads too."""
    root, items, manifest, server = mirror
    seen = []

    def transport(m, name, sink):  # type: ignore[no-untyped-def]
        seen.append((threading.current_thread().name, sink.max_size))

    with use_limits(Limits(download_size=12345)):
        fetch([FetchItem(i.filename, None, None) for i in items], tmp_path / "repo",
              [parse_mirror(server.url)], transport=transport, jobs=2)
    assert {m for _, m in seen} == {12345}
    assert all(t.startswith("reprocal-fetch") for t, _ in seen)
