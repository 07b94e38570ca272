"""The persistent verify cache (reprocal.repo._verifycache)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from reprocal.repo._verifycache import CacheEntry, FileStat, VerifyCache, default_cache_path

ST = FileStat(size=100, mtime_ns=1_000, ino=7, ctime_ns=2_000)
LATER = 10_000_000_000


def entry(**kw: object) -> CacheEntry:
    base: dict[str, object] = dict(path="/r/EPN_CTI_0001.CCF", stat=ST, checked_ns=LATER)
    base.update(kw)
    return CacheEntry(**base)  # type: ignore[arg-type]


def test_store_and_lookup_round_trip(tmp_path: Path) -> None:
    """What is stored comes back, for the paths asked only, across connections."""
    path = tmp_path / "v.sqlite"
    with VerifyCache(path) as c:
        c.store([entry(sha256="a" * 64, fits_ok=True),
                 entry(path="/r/B", fits_ok=False, fits_problem="bad", fits_kind="corrupt")])
    with VerifyCache(path) as c:
        got = c.lookup(["/r/EPN_CTI_0001.CCF", "/r/B", "/r/none"])
        assert len(c) == 2
    assert got == {
        "/r/EPN_CTI_0001.CCF": entry(sha256="a" * 64, fits_ok=True),
        "/r/B": entry(path="/r/B", fits_ok=False, fits_problem="bad", fits_kind="corrupt"),
    }
    assert got["/r/EPN_CTI_0001.CCF"].level == "full"
    assert got["/r/B"].level == "fits"


def test_lookup_many_paths_beyond_sqlite_parameter_limit(tmp_path: Path) -> None:
    """Thousands of paths (a whole archive) are looked up in a few queries."""
    with VerifyCache(tmp_path / "v.sqlite") as c:
        c.store(entry(path=f"/r/{i}") for i in range(2500))
        assert len(c.lookup([f"/r/{i}" for i in range(0, 3000)])) == 2500


@pytest.mark.parametrize(
    ("stat", "racy_ns", "trusted"),
    [
        (ST, 20_000_000, True),
        (FileStat(101, 1_000, 7, 2_000), 0, False),  # size changed
        (FileStat(100, 1_001, 7, 2_000), 0, False),  # mtime changed (touch)
        (FileStat(100, 1_000, 8, 2_000), 0, False),  # inode changed (replaced by rename)
        (FileStat(100, 1_000, 7, 2_001), 0, False),  # ctime changed (written, mtime restored)
        (ST, LATER, False),  # checked within the racy window of its ctime
    ],
)
def test_trusted_only_when_stat_unchanged_and_not_racy(stat: FileStat, racy_ns: int,
                                                       trusted: bool) -> None:
    """A fact is trusted only for the same (size, mtime, inode, ctime), checked clearly
    after the file's last change."""
    assert entry().trusted(stat, racy_ns) is trusted


def test_store_merges_facts_about_the_same_bytes(tmp_path: Path) -> None:
    """A later FITS-only check keeps the hash of the same bytes; a changed file loses it."""
    with VerifyCache(tmp_path / "v.sqlite", racy_ns=0) as c:
        c.store([entry(sha256="a" * 64, fits_ok=True)])
        c.store([entry(fits_ok=True, checked_ns=LATER + 5)])
        assert c.lookup([entry().path])[entry().path].sha256 == "a" * 64
        changed = FileStat(100, 5_000, 7, 6_000)
        c.store([entry(stat=changed, fits_ok=True, checked_ns=LATER + 9)])
        got = c.lookup([entry().path])[entry().path]
    assert (got.stat, got.sha256, got.fits_ok) == (changed, None, True)


def test_forget(tmp_path: Path) -> None:
    """Forgotten paths are gone."""
    with VerifyCache(tmp_path / "v.sqlite") as c:
        c.store([entry()])
        c.forget([entry().path])
        assert c.lookup([entry().path]) == {}


@pytest.mark.parametrize("garbage", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_database_is_rebuilt_with_a_warning(tmp_path: Path, garbage: bytes) -> None:
    """A corrupt cache file is replaced by an empty one, with one warning, never a crash."""
    path = tmp_path / "v.sqlite"
    path.write_bytes(garbage)
    warnings: list[str] = []
    with VerifyCache(path, warn=warnings.append) as c:
        assert c.lookup([entry().path]) == {}
        c.store([entry()])
        assert len(c) == 1
        assert c.rebuilt
    assert len(warnings) == 1
    assert warnings[0].startswith(f"verify cache {path} is corrupt (")
    assert warnings[0].endswith("); rebuilding it empty (files are re-checked as if never verified)")
    with VerifyCache(path) as c:
        assert len(c) == 1


def test_unusable_location_falls_back_to_memory(tmp_path: Path) -> None:
    """A cache path under a regular file cannot be created: a temporary cache is used."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    warnings: list[str] = []
    with VerifyCache(blocker / "v.sqlite", warn=warnings.append) as c:
        c.store([entry()])
        assert len(c) == 1
    assert warnings == [f"verify cache {blocker / 'v.sqlite'} unusable (File exists); using a "
                        "temporary one, nothing will be remembered"]


def test_directory_as_cache_path_falls_back_to_memory(tmp_path: Path) -> None:
    """A directory given as the cache file: a warning, a temporary cache, no crash."""
    warnings: list[str] = []
    with VerifyCache(tmp_path, warn=warnings.append) as c:
        c.store([entry()])
        assert len(c) == 1
    assert warnings == [f"verify cache {tmp_path} unusable (not a regular file); using a "
                        "temporary one, nothing will be remembered"]


def test_other_schema_version_is_dropped(tmp_path: Path) -> None:
    """A cache written by another schema version is emptied, not misread."""
    path = tmp_path / "v.sqlite"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                     "INSERT INTO meta VALUES ('schema', '0');"
                     "CREATE TABLE files (path TEXT PRIMARY KEY, junk TEXT);"
                     "INSERT INTO files VALUES ('/r/EPN_CTI_0001.CCF', 'x');")
    db.commit()
    db.close()
    with VerifyCache(path) as c:
        assert c.lookup([entry().path]) == {}
        c.store([entry()])
        assert len(c) == 1


def test_two_connections_share_the_cache(tmp_path: Path) -> None:
    """Two verifies at once (WAL): each sees what the other stored."""
    path = tmp_path / "v.sqlite"
    with VerifyCache(path) as a, VerifyCache(path) as b:
        a.store([entry(path="/r/A")])
        b.store([entry(path="/r/B")])
        assert set(a.lookup(["/r/A", "/r/B"])) == {"/r/A", "/r/B"}
        assert a._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$REPROCAL_VERIFY_CACHE wins over $XDG_CACHE_HOME/reprocal/verify.sqlite."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("REPROCAL_VERIFY_CACHE", raising=False)
    assert default_cache_path() == tmp_path / "reprocal" / "verify.sqlite"
    monkeypatch.setenv("REPROCAL_VERIFY_CACHE", str(tmp_path / "x.sqlite"))
    assert default_cache_path() == tmp_path / "x.sqlite"


def test_file_stat_of_real_file(tmp_path: Path) -> None:
    """FileStat takes size, mtime_ns, inode and ctime_ns from os.stat."""
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    st = os.stat(p)
    assert FileStat.of(st) == FileStat(3, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
