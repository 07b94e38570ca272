"""Hostile calibration beyond the CCF, given to ``pin --esas-caldb`` / ``--extra``: a caldb
tarball whose members escape (``..``, absolute), link (symbolic, hard), are devices or FIFOs,
repeat a path, are hidden, or expand past the limit; a directory holding a link or a FIFO; a
manifest whose extra set names a path outside its home. Each: one line, exit 2, and nothing
written (no manifest, no ``extras/`` in the repository, nothing outside the case's place).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from support.hostile import check

from reprocal.testing._extras import caldb_file, write_caldb

PIN = ["pin", "--obs-date", "2004-05-09T13:00:16", "--analysis-date", "2018-01-01",
       "--allow-incomplete"]


def _member(tar: tarfile.TarFile, name: str, data: bytes = b"", **kw: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data) if data else None)


def _tarball(path: Path, how: str, victim: Path) -> Path:
    good = caldb_file("pn-fwc.fits.gz")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _member(tar, "esas_caldb/pn-fwc.fits.gz", good)
        if how == "dotdot":
            _member(tar, "esas_caldb/../../evil.txt", b"escaped")
        elif how == "absolute":
            _member(tar, str(victim), b"overwritten")
        elif how == "symlink":
            _member(tar, "esas_caldb/link", type=tarfile.SYMTYPE, linkname=str(victim))
        elif how == "symlink-then-file":
            _member(tar, "esas_caldb/sub", type=tarfile.SYMTYPE, linkname=str(victim.parent))
            _member(tar, "esas_caldb/sub/victim", b"through the link")
        elif how == "hardlink":
            _member(tar, "esas_caldb/hard", type=tarfile.LNKTYPE, linkname=str(victim))
        elif how == "device":
            _member(tar, "esas_caldb/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
        elif how == "fifo":
            _member(tar, "esas_caldb/pipe", type=tarfile.FIFOTYPE)
        elif how == "duplicate":
            _member(tar, "esas_caldb/pn-fwc.fits.gz", b"another")
        elif how == "file-and-directory":
            _member(tar, "esas_caldb/pn-fwc.fits.gz/inner", b"below a file")
        elif how == "hidden":
            _member(tar, "esas_caldb/.profile", b"hidden")
        elif how == "huge":
            _member(tar, "esas_caldb/big.fits", b"\0" * (3 << 20))
    data = buf.getvalue()
    if how == "not-a-tar":
        data = b"this is not a tarball\n" * 100
    elif how == "truncated":
        data = data[:700]  # inside the first member's bytes
    path.write_bytes(gzip.compress(data, mtime=0))
    return path


TARBALLS = ["dotdot", "absolute", "symlink", "symlink-then-file", "hardlink", "device", "fifo",
            "duplicate", "file-and-directory", "hidden", "huge", "not-a-tar", "truncated"]


@pytest.mark.parametrize("how", TARBALLS)
def test_a_hostile_caldb_tarball_writes_nothing(runner, box, outside, repo, how):
    tb = _tarball(box / "esas_caldb.tar.gz", how, outside.victim)
    r = runner("--limit", "unpacked-size=1MiB", *PIN, "--ccf-path", repo, "-o", box / "m.json",
               "--esas-caldb", tb, cwd=box, env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, 2, outside=outside, says=str(tb))
    assert not (box / "m.json").exists()
    assert not (repo / "extras").exists()
    assert not (box / "evil.txt").exists() and not (box.parent / "evil.txt").exists()


@pytest.mark.parametrize("how", ["symlink-outside", "symlink-inside", "fifo", "empty"])
def test_a_hostile_extra_directory_writes_nothing(runner, box, outside, repo, how):
    src = write_caldb(box / "mine")
    if how == "symlink-outside":
        (src / "victim").symlink_to(outside.victim)
    elif how == "symlink-inside":
        (src / "again.fits.gz").symlink_to(src / "pn-fwc.fits.gz")
    elif how == "fifo":
        os.mkfifo(src / "pipe")
    elif how == "empty":
        shutil.rmtree(src)
        src.mkdir()
        (src / ".hidden").write_text("only a hidden file")
    r = runner(*PIN, "--ccf-path", repo, "-o", box / "m.json", "--extra", f"mine={src}",
               cwd=box, env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, 2, outside=outside, lines=None)
    assert [x for x in r.err_lines if x.startswith("reprocal: error: ")], r.stderr
    assert not (box / "m.json").exists()
    assert not (repo / "extras").exists()


def test_an_extra_set_planted_through_a_link_in_the_repository_is_refused(runner, box, outside,
                                                                          repo):
    """``extras`` in the repository is a link to somewhere else: pin refuses to write through it."""
    (repo / "extras").symlink_to(outside.root, target_is_directory=True)
    src = write_caldb(box / "mine")
    r = runner(*PIN, "--ccf-path", repo, "-o", box / "m.json", "--esas-caldb", src, cwd=box,
               env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, (2, 7), outside=outside)
    assert not (box / "m.json").exists()


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../b", ".hidden/x",
                                  "a//b"])
def test_a_manifest_whose_extra_path_escapes_is_refused(runner, box, outside, repo, path, cli):
    src = write_caldb(box / "mine")
    proc = cli(*PIN, "--ccf-path", str(repo), "-o", str(box / "m.json"), "--esas-caldb", str(src))
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(repo / "extras")
    text = (box / "m.json").read_text().replace('"mos1-diag.rsp.gz"', f'"{path}"', 1)
    (box / "m.json").write_text(text)
    for argv in (["verify", box / "m.json"], ["fetch", box / "m.json", "--mirror", repo]):
        r = runner(*argv, "--ccf-path", repo, cwd=box,
                   env={"XDG_CACHE_HOME": str(box / "cache")})
        check(r, 2, outside=outside, says="m.json")
    assert not (repo / "extras").exists()


class _Pages:
    """A loopback server answering every GET with ``page(path)`` (an index page of a mirror
    that lies)."""

    def __init__(self, page):  # type: ignore[no-untyped-def]
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                outer.paths.append(self.path)
                body = page(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/extras/responses/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


LIES = {
    "elsewhere": lambda path: (b'<a href="../../">up</a><a href="/etc/passwd">p</a>'
                               b'<a href="http://evil.invalid/epn_e2_ff20_sY9.rmf">x</a>'
                               b'<a href="?C=M;O=A">sort</a><a href=".epn_e2_ff20_sY9.rmf">h</a>'),
    "endless-depth": lambda path: b'<a href="again/">again</a><a href="PN/">PN</a>',
    "huge": lambda path: b"<a href='x'>" * 200_000,
}


@pytest.mark.parametrize("how", sorted(LIES))
def test_a_lying_mirror_listing_is_bounded_and_followed_nowhere(runner, box, outside, repo, how,
                                                                cli):
    proc = cli(*PIN, "--ccf-path", str(repo), "-o", str(box / "m.json"))
    assert proc.returncode == 0, proc.stderr
    srv = _Pages(LIES[how])
    try:
        r = runner("--limit", "document-size=256KiB", "response", box / "m.json", "--source",
                   srv.url, "--camera", "pn", "--mode", "ff20", "--patterns", "s", "--position",
                   "Y9", "--ccf-path", repo, "-o", box / "m2.json", cwd=box,
                   env={"XDG_CACHE_HOME": str(box / "cache")})
    finally:
        srv.stop()
    check(r, 5 if how == "huge" else 2, outside=outside, seconds=15)
    assert not (box / "m2.json").exists() and not (repo / "extras").exists()
    assert all(p.startswith("/extras/responses/") for p in srv.paths), srv.paths
    assert len(srv.paths) <= 1 + 2 + 4  # MAX_DEPTH levels: never a crawl without end
