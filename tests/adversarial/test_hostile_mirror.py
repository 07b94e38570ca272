"""Hostile mirrors and repositories for ``reprocal sync`` and the mirror history.

Listings that lie or attack (hrefs that are paths or URLs, a page past the size bound, a page
compressed although identity was asked, an endless page, a maintenance page where the index
was, files that are not what their names say) and repositories with traps (the history's
directory or file a link, FIFO, directory or hard link; a tampered history; scratch directories
that are links). Every case: the documented exit code, one line on stderr, nothing written
outside, nothing wrong installed or recorded, bounded time, under the worker's memory limit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support.archive import Archive, C
from support.hostile import check
from support.servers import Answer, FakeRegistry, MirrorServer, nginx_index

from reprocal.repo._history import history_path, read_history

pytestmark = pytest.mark.network

NAMES = ["EPN_CTI_0001.CCF", "EPN_QE_0001.CCF", "OM_FILTER_0001.CCF"]
FAST = ["--limit", "read-timeout=2s", "--limit", "connect-timeout=2s"]


def _env(box: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(box / "cache"), "XDG_CONFIG_HOME": str(box / "config")}


@pytest.fixture
def archive(box: Path) -> Archive:
    a = Archive(box / "mirror")
    for n in NAMES:
        a.publish(C(n))
    return a


def _synced(runner, box: Path, mirror: str) -> Path:  # type: ignore[no-untyped-def]
    dest = box / "ccf"
    dest.mkdir(exist_ok=True)
    r = runner(*FAST, "sync", "--mirror", mirror, "--ccf-path", dest, cwd=box, env=_env(box))
    assert r.code == 0, r.stderr
    return dest


HREFS = ['<a href="../../outside/victim.txt">x</a>', '<a href="/etc/passwd">x</a>',
         '<a href="http://evil.invalid/EPN_CTI_0009.CCF">EPN_CTI_0009.CCF</a>',
         '<a href="%2E%2E%2Foutside%2FEPN_CTI_0009.CCF">x</a>', '<a href="sub/EPN_CTI_0009.CCF">x</a>',
         '<a href="EPN_CTI_0009.CCF?C=N">x</a>', '<a href="file:///etc/passwd">x</a>',
         '<a href="' + "A" * 5000 + '.CCF">x</a>', '<a href="EPN_CTI_0009.CCF%00.txt">x</a>',
         '<a href="javascript:alert(1)">x</a>', "<a href=>x</a>", "<a>unclosed"]


def test_hostile_hrefs_are_never_followed(runner, box, outside, archive) -> None:  # type: ignore[no-untyped-def]
    """An index page full of links that are paths, URLs, queries or junk: only the real
    constituents are synced, nothing else is requested or written."""
    with MirrorServer(archive.root, index="apache", listing_extra=HREFS) as srv:
        dest = _synced(runner, box, srv.url)
        asked = {r.name for r in srv.gets()}
    assert sorted(p.name for p in dest.glob("*.CCF")) == NAMES
    assert asked == {"", *NAMES}
    assert outside.unchanged()


@pytest.mark.parametrize("how", ["too-large", "gzip-encoded", "endless", "not-html"])
def test_a_hostile_index_page(runner, box, outside, how: str) -> None:  # type: ignore[no-untyped-def]
    """The page past document-size, compressed though identity was asked, endless, or bytes
    that are not a page: exit 5 or a sync of nothing, one line, nothing written outside."""
    page = nginx_index([(n, 8640, 0.0) for n in NAMES], []).encode()
    answers = {
        "too-large": Answer(page + b"<!--" + b"x" * (2 << 20) + b"-->"),
        "gzip-encoded": Answer(page, headers={"Content-Encoding": "gzip"}),
        "endless": Answer(b"<a href=\"EPN_CTI_0001.CCF\">x</a>\n" * 64, endless=True),
        "not-html": Answer(b"\x00\xff" * 5000),
    }
    with FakeRegistry() as srv:
        srv.answers["/ccf/"] = answers[how]
        dest = box / "ccf"
        dest.mkdir()
        r = runner(*FAST, "--limit", "document-size=1MiB", "sync", "--mirror",
                   f"http://{srv.url}/ccf/", "--ccf-path", dest, "--retries", "0", cwd=box,
                   env=_env(box))
    if how == "not-html":  # a page without links lists nothing: nothing to sync
        check(r, 0, outside=outside, lines=0, seconds=15)
    else:
        check(r, 5, outside=outside, seconds=15,
              says="larger than the limit" if how in ("too-large", "endless")
              else "Content-Encoding 'gzip'")
    assert list(dest.glob("*.CCF")) == []


def test_a_maintenance_page_is_not_a_mass_withdrawal(runner, box, outside, archive) -> None:  # type: ignore[no-untyped-def]
    """A mirror that listed files now shows a page without them: nothing is recorded as
    withdrawn (exit 5, one line); the history is exactly what it was."""
    with MirrorServer(archive.root, index="nginx") as srv:
        dest = _synced(runner, box, srv.url)
        before = history_path(dest).read_bytes()
        for n in NAMES:
            archive.withdraw(n)
        r = runner(*FAST, "sync", "--mirror", srv.url, "--ccf-path", dest, cwd=box,
                   env=_env(box))
    check(r, 5, outside=outside, says="lists no constituent at all, where it listed 3")
    assert history_path(dest).read_bytes() == before


def test_a_mass_departure_needs_to_be_accepted(runner, box, outside) -> None:  # type: ignore[no-untyped-def]
    """40 files listed, then 10: refused (exit 5) unless --accept-departures."""
    a = Archive(box / "mirror")
    names = [f"EPN_T{i:02d}_0001.CCF" for i in range(40)]
    for n in names:
        a.publish(C(n))
    dest = _synced(runner, box, str(a.root))
    for n in names[10:]:
        a.withdraw(n)
    r = runner("sync", "--mirror", a.root, "--ccf-path", dest, cwd=box, env=_env(box))
    check(r, 5, outside=outside, says="no longer lists 30 of the 40 constituents")
    assert read_history(dest).withdrawals() == read_history(dest).withdrawals().__class__()
    r = runner("sync", "--mirror", a.root, "--ccf-path", dest, "--accept-departures", cwd=box,
               env=_env(box))
    check(r, 0, outside=outside, lines=30)
    assert len(read_history(dest).withdrawals()) == 30


@pytest.mark.parametrize("how", ["html-for-a-file", "another-constituent", "truncated",
                                 "checksum-broken"])
def test_a_file_that_is_not_what_its_name_says_is_refused(runner, box, outside, archive,  # type: ignore[no-untyped-def]
                                                          how: str) -> None:
    """No sha256 is known at a sync, so the FITS header and checksums judge: an HTML page, a
    valid file of another constituent, a cut file, a broken checksum are refused (exit 1),
    never installed, never recorded."""
    bad = archive.root / "EPN_CTI_0002.CCF"
    src = archive.publish(C("EPN_CTI_0003.CCF"))
    if how == "html-for-a-file":
        bad.write_bytes(b"<html>maintenance</html>" + b" " * 8616)
    elif how == "another-constituent":
        shutil.copy(src, bad)
    elif how == "truncated":
        archive.publish(C("EPN_CTI_0002.CCF"))
        os.truncate(bad, 5760)
    else:
        archive.publish(C("EPN_CTI_0002.CCF"))
        data = bytearray(bad.read_bytes())
        data[-100] ^= 1
        bad.write_bytes(bytes(data))
    with MirrorServer(archive.root, index="nginx") as srv:
        dest = box / "ccf"
        dest.mkdir()
        r = runner(*FAST, "sync", "--mirror", srv.url, "--ccf-path", dest, "--retries", "0",
                   cwd=box, env=_env(box))
    check(r, 1, outside=outside, says="1 of 5 files could not be fetched")
    assert "content-mismatch" in r.stdout
    assert not (dest / "EPN_CTI_0002.CCF").exists()
    assert "EPN_CTI_0002.CCF" not in read_history(dest).held()


PLANTS = ["symlink-to-victim", "fifo", "directory", "hardlink-to-victim"]


def _plant(path: Path, how: str, victim: Path) -> None:
    if how == "symlink-to-victim":
        path.symlink_to(victim)
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "directory":
        path.mkdir()
    else:
        os.link(victim, path)


@pytest.mark.parametrize("how", PLANTS)
def test_a_planted_history_file_is_left_alone(runner, box, outside, archive, how: str) -> None:  # type: ignore[no-untyped-def]
    """The history's name holds a link, FIFO, directory or hard link: exit 3 naming it,
    nothing fetched, nothing followed, the victim untouched."""
    dest = box / "ccf"
    (dest / ".reprocal").mkdir(parents=True)
    _plant(history_path(dest), how, outside.victim)
    r = runner("sync", "--mirror", archive.root, "--ccf-path", dest, cwd=box, env=_env(box))
    check(r, 3, outside=outside, seconds=10)
    assert str(history_path(dest)) in r.stderr
    assert list(dest.glob("*.CCF")) == []
    # and the readers (cif, history) refuse it too, without blocking on a FIFO
    r = runner("history", "--ccf-path", dest, cwd=box, env=_env(box))
    check(r, (0, 3) if how == "hardlink-to-victim" else 3, outside=outside,
          lines=0 if how == "hardlink-to-victim" else 1, seconds=10)


def test_the_history_directory_a_link_elsewhere(runner, box, outside, archive) -> None:  # type: ignore[no-untyped-def]
    """``.reprocal`` is a link to another directory: refused (exit 3); nothing is written
    through it."""
    dest = box / "ccf"
    dest.mkdir()
    (dest / ".reprocal").symlink_to(outside.root)
    r = runner("sync", "--mirror", archive.root, "--ccf-path", dest, cwd=box, env=_env(box))
    check(r, 3, outside=outside, says=".reprocal is a symbolic link")
    r = runner("cif", "--obs-date", "2010-01-01", "--analysis-date", "2014-01-01", "--ccf-path",
               archive.root, "--catalog", box / "c.db", "-o", box / "x.cif", cwd=box,
               env=_env(box))
    assert r.code == 0  # another repository is not affected


@pytest.mark.parametrize("where", ["deep", "conflicts"])
def test_scratch_directories_that_are_links(runner, box, outside, archive, where: str) -> None:  # type: ignore[no-untyped-def]
    """--deep downloads into .reprocal/deep and keeps a conflict's bytes under
    .reprocal/conflicts: a link planted at either is refused (exit 3), nothing is written
    through it, and our files are untouched."""
    dest = _synced(runner, box, str(archive.root))
    ours = {p.name: p.read_bytes() for p in dest.glob("*.CCF")}
    archive.change("EPN_QE_0001.CCF")
    (dest / ".reprocal" / where).symlink_to(outside.root)
    r = runner("sync", "--mirror", archive.root, "--ccf-path", dest, "--deep", cwd=box,
               env=_env(box))
    check(r, 3, outside=outside, says="is not a directory of reprocal's own")
    assert {p.name: p.read_bytes() for p in dest.glob("*.CCF")} == ours


@pytest.mark.parametrize("how", ["edited", "long-line", "binary-junk"])
def test_a_damaged_history_stops_every_command_that_trusts_it(runner, box, outside, archive,  # type: ignore[no-untyped-def]
                                                              how: str) -> None:
    """An edited line, a 2 MiB line, binary junk in the middle: sync, cif and history say
    'damaged at line N' (exit 3, one line) and record nothing."""
    dest = _synced(runner, box, str(archive.root))
    path = history_path(dest)
    lines = path.read_bytes().splitlines(keepends=True)
    if how == "edited":
        lines[2] = lines[2].replace(b'"size":8640', b'"size":8641')
    elif how == "long-line":
        lines.insert(2, b"{" + b" " * (2 << 20) + b"}\n")
    else:
        lines.insert(2, b"\x00\xff\xfe\n")
    path.write_bytes(b"".join(lines))
    damaged = path.read_bytes()
    for args in (["sync", "--mirror", archive.root, "--ccf-path", dest],
                 ["cif", "--obs-date", "2010-01-01", "--analysis-date", "2014-01-01",
                  "--ccf-path", dest, "--catalog", box / "c.db", "-o", box / "x.cif"],
                 ["history", "--ccf-path", dest]):
        r = runner(*args, cwd=box, env=_env(box))
        check(r, 3, outside=outside, says="the mirror history is damaged at line", seconds=10)
    assert path.read_bytes() == damaged
