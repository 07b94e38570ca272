"""A hostile repository and catalogue, for ``index``, ``verify --repository`` and ``pin``.

Things that are not constituents under constituent names (a FIFO, a link to ``/dev/zero``, a
directory, a link loop, a truncated file, a malformed master index): reported as invalid or
skipped, never read for ever, and the other commands go on working. A catalogue path that is
not a catalogue (the repository itself, a FIFO, a text file, someone else's database), a damaged
or locked one, a cache directory that cannot be made: one line, the documented code, and never
the advice to delete what is not a catalogue.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from support.hostile import check


def _plant(repo: Path, how: str, victim: Path) -> None:
    name = repo / "EPN_CTI_0099.CCF"
    real = sorted(repo.iterdir())[0]
    if how == "fifo":
        os.mkfifo(name)
    elif how == "link-to-dev-zero":
        name.symlink_to("/dev/zero")
    elif how == "link-outside":
        name.symlink_to(victim)
    elif how == "directory":
        name.mkdir()
    elif how == "link-loop":
        name.symlink_to(name)
    elif how == "truncated":
        name.write_bytes(real.read_bytes()[:5000])
    elif how == "not-fits":
        name.write_bytes(b"not a calibration file\n" * 100)
    elif how == "malformed-master-index":
        (repo / "XMM_CALINDEX_0001.CCF").write_bytes(b"garbage" * 1000)
    elif how == "truncated-master-index":
        (repo / "XMM_CALINDEX_0001.CCF").write_bytes(real.read_bytes()[:2880])
    elif how == "header-without-end":
        name.write_bytes(b"SIMPLE  =                    T".ljust(80) + b" " * 80 * 2000)


PLANTS = ["fifo", "link-to-dev-zero", "link-outside", "directory", "link-loop", "truncated",
          "not-fits", "malformed-master-index", "truncated-master-index", "header-without-end"]
COMMANDS = {
    "index": (0, ["index"]),
    "verify-repository": (1, ["verify", "--repository"]),
    "pin": (0, ["pin", "--obs-date", "2004-05-09T13:00:16", "--analysis-date", "2018-01-01",
                "--allow-incomplete"]),
}
QUIET = {"fifo", "link-to-dev-zero", "directory", "link-loop"}
"""Plants the walker skips (not regular files): nothing to report, the repository is fine."""


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("how", PLANTS)
def test_a_planted_file_is_reported_and_the_rest_works(runner, box, outside, repo, how, command):
    _plant(repo, how, outside.victim)
    code, argv = COMMANDS[command]
    if command == "verify-repository" and how in QUIET:
        code = 0
    if command == "pin":
        argv = [*argv, "-o", str(box / "m.json")]
    r = runner("--limit", "header-size=64KiB", *argv, "--ccf-path", repo, "--catalog",
               box / "catalog.sqlite", cwd=box, env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, code, outside=outside, lines=None, seconds=15)
    assert len([x for x in r.err_lines if not x.startswith("reprocal: error: ")]) <= 1, r.stderr
    if command == "pin":
        assert (box / "m.json").is_file()


def _catalogue(box: Path, repo: Path, how: str) -> tuple[Path, dict[str, str]]:
    env = {"XDG_CACHE_HOME": str(box / "cache")}
    path = box / "catalog.sqlite"
    if how == "the-repository":
        return repo, env
    if how == "fifo":
        os.mkfifo(path)
    elif how == "text-file":
        path.write_text("my notes, not a database\n")
    elif how == "someone-elses-database":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE thesis (chapter TEXT)")
    elif how == "damaged":
        runner_free = sqlite3.connect(path)
        runner_free.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        runner_free.commit()
        runner_free.close()
        data = bytearray(path.read_bytes())
        data[100:] = b"\xff" * (len(data) - 100)
        path.write_bytes(bytes(data))
    elif how == "cache-dir-blocked":
        (box / "cache").write_text("a file where the cache directory goes")
        return box / "cache" / "reprocal" / "catalog.sqlite", env
    elif how == "dev-null":
        return Path("/dev/null"), env
    return path, env


CATALOGUES = {"the-repository": 2, "fifo": 2, "text-file": 2, "someone-elses-database": 2,
              "damaged": 3, "cache-dir-blocked": 7, "dev-null": 2}


@pytest.mark.parametrize("how", sorted(CATALOGUES))
def test_a_catalogue_that_is_not_one_is_refused_and_never_deleted(runner, box, outside, repo, how):
    path, env = _catalogue(box, repo, how)
    before = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    r = runner("index", "--ccf-path", repo, "--catalog", path, cwd=box, env=env)
    check(r, CATALOGUES[how], outside=outside)
    assert "delete" not in r.stderr
    if how == "damaged":
        assert "reprocal index --rebuild" in r.stderr
    if before is not None:
        assert path.read_bytes() == before
    assert sorted(repo.iterdir()) == sorted(repo.iterdir())  # the repository is untouched


def test_a_damaged_catalogue_is_rebuilt_on_request(runner, box, outside, repo):
    path, env = _catalogue(box, repo, "damaged")
    r = runner("index", "--rebuild", "--ccf-path", repo, "--catalog", path, cwd=box, env=env)
    check(r, 0, outside=outside, says="kept as")
    assert (box / "catalog.sqlite.damaged").is_file()


def test_a_locked_catalogue_waits_with_a_bound(runner, box, outside, repo):
    path = box / "catalog.sqlite"
    r = runner("index", "--ccf-path", repo, "--catalog", path, cwd=box)
    check(r, 0, outside=outside, lines=0)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = runner("--limit", "catalog-wait=0.5s", "index", "--ccf-path", repo, "--catalog",
                   path, cwd=box)
    finally:
        holder.close()
    check(r, 3, outside=outside, says="locked by another process", seconds=10)


@pytest.mark.parametrize("how", ["a-file", "missing", "empty", "fifo"])
def test_a_ccf_path_that_is_not_a_repository_is_one_line(runner, box, outside, how):
    path = box / "ccf"
    if how == "a-file":
        path.write_text("not a directory")
    elif how == "empty":
        path.mkdir()
    elif how == "fifo":
        os.mkfifo(path)
    r = runner("index", "--ccf-path", path, "--catalog", box / "c.sqlite", cwd=box)
    check(r, 3, outside=outside)
