"""The persistent verify cache: what was last established about a file's bytes, and when.

Keyed by the file's real path and its ``(size, mtime_ns, inode, ctime_ns)``, it stores the sha256
(when hashed) and the FITS CHECKSUM/DATASUM outcome (when checked). A later ``stat`` verify of an
untouched repository then costs a directory walk and one query. ``fits`` and ``full`` verifies
read every byte again whatever the cache says (they are the scrub) and refresh it; only callers
that need the facts rather than a scrub (``rebuild``, ``run``) let it stand in for a read.

What the stat key can and cannot see:

* any write through the file system changes ``ctime`` (which no user call can set back), so a
  byte flipped in place is seen even when ``os.utime`` restores mtime; a file replaced by
  another (rename, copy, ``rsync``) has a new inode or ctime;
* it cannot see bytes changed under the file system (raw device writes, bit rot, a network file
  system that keeps stale attributes), nor anything before the first verification. That is
  what ``--level full`` (and ``fits``, for the FITS sums) is for: it reads the bytes.
* *Racily clean* files (as git calls them): a write within one clock tick of our stat may leave
  mtime and ctime unchanged. A fact is trusted only when the file's mtime and ctime are older than
  the moment it was checked by more than ``racy_ns``; otherwise it is re-checked next time.

The database is a cache: if it is corrupt or from another version it is rebuilt (with a warning),
never a crash. WAL mode and a busy timeout make concurrent verifies safe.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

SCHEMA_VERSION = 1
RACY_NS = 20_000_000
"""20 ms: above the coarse kernel clock tick (1-10 ms) that stamps mtime/ctime."""

_log = logging.getLogger("reprocal.repo._verifycache")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    sha256 TEXT, fits_ok INTEGER, fits_problem TEXT, fits_kind TEXT,
    checked_ns INTEGER NOT NULL
);
"""


def default_cache_path() -> Path:
    """``$REPROCAL_VERIFY_CACHE``, else ``$XDG_CACHE_HOME/reprocal/verify.sqlite``."""
    if os.environ.get("REPROCAL_VERIFY_CACHE"):
        return Path(os.environ["REPROCAL_VERIFY_CACHE"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "reprocal" / "verify.sqlite"


@attrs.frozen
class FileStat:
    """The part of ``os.stat`` that says a file is untouched."""

    size: int
    mtime_ns: int
    ino: int
    ctime_ns: int
    """Changed by any write or rename; cannot be set back by ``os.utime``."""

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


@attrs.frozen
class CacheEntry:
    """What was established about one file's bytes."""

    path: str
    """Real path (symlinks resolved)."""
    stat: FileStat
    """The file's stat when it was read."""
    checked_ns: int
    """Wall clock (ns) just before the file was read."""
    sha256: str | None = None
    """Hex sha256 of the bytes, when hashed."""
    fits_ok: bool | None = None
    """FITS CHECKSUM/DATASUM of every HDU passed (``None``: not checked)."""
    fits_problem: str | None = None
    """Why the FITS check failed."""
    fits_kind: str | None = None
    """``corrupt`` or ``header`` (see :class:`reprocal.fits._checksum.FitsCheck`)."""

    @property
    def level(self) -> str | None:
        """Highest level established: ``full`` (hashed and FITS checked), ``fits`` or ``None``."""
        if self.fits_ok is None:
            return None
        return "full" if self.sha256 else "fits"

    def trusted(self, stat: FileStat, racy_ns: int = RACY_NS) -> bool:
        """True when ``stat`` is the stat recorded and the record is not racily clean."""
        if stat != self.stat:
            return False
        return max(stat.mtime_ns, stat.ctime_ns) < self.checked_ns - racy_ns

    def merge(self, newer: CacheEntry, racy_ns: int = RACY_NS) -> CacheEntry:
        """``newer`` plus the facts of ``self`` it lacks, when ``self`` was about the same,
        trusted bytes (e.g. a ``fits`` check after a ``full`` one keeps the hash)."""
        if not self.trusted(newer.stat, racy_ns):
            return newer
        return attrs.evolve(
            newer,
            sha256=newer.sha256 if newer.sha256 is not None else self.sha256,
            fits_ok=newer.fits_ok if newer.fits_ok is not None else self.fits_ok,
            fits_problem=newer.fits_problem if newer.fits_ok is not None else self.fits_problem,
            fits_kind=newer.fits_kind if newer.fits_ok is not None else self.fits_kind,
        )


class VerifyCache:
    """The SQLite verify cache. ``warn`` receives one line when the database had to be rebuilt.

    >>> import tempfile, pathlib
    >>> c = VerifyCache(pathlib.Path(tempfile.mkdtemp()) / "v.sqlite")
    >>> c.lookup(["/nonexistent"])
    {}
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, racy_ns: int = RACY_NS,
                 warn: Callable[[str], None] | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self.racy_ns = racy_ns
        self._warn = warn or _log.warning
        self.rebuilt: str | None = None
        """Why the database was rebuilt in this session, if it was."""
        self._db = self._connect()

    # --- connection -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and not self.path.is_file():
                raise IsADirectoryError(21, "not a regular file")
            db = self._open(self.path)
        except sqlite3.DatabaseError as exc:
            return self._rebuild(f"{exc}")
        except OSError as exc:
            self._warn(f"verify cache {self.path} unusable ({exc.strerror or exc}); "
                       "using a temporary one, nothing will be remembered")
            return self._open(":memory:")
        return db

    @staticmethod
    def _open(path: Path | str) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            if path != ":memory:":
                from reprocal.repo._catalog import journal_mode

                db.execute(f"PRAGMA journal_mode={journal_mode(Path(path))}")
            db.execute("PRAGMA synchronous=NORMAL")
            row = None
            try:
                row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
            if row is not None and row[0] != str(SCHEMA_VERSION):
                db.executescript("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS meta;")
            db.executescript(_SCHEMA)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute("PRAGMA quick_check").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _rebuild(self, reason: str) -> sqlite3.Connection:
        """Delete a corrupt database (and its WAL) and start an empty one."""
        self.rebuilt = reason
        self._warn(f"verify cache {self.path} is corrupt ({reason}); rebuilding it empty "
                   "(files are re-checked as if never verified)")
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:  # absent, or not ours to remove: opening again will tell
                pass
        try:
            return self._open(self.path)
        except (sqlite3.DatabaseError, OSError) as exc:
            self._warn(f"verify cache {self.path} cannot be rebuilt ({exc}); "
                       "using a temporary one")
            return self._open(":memory:")

    def _retry(self, what: Callable[[], object]) -> object:
        """Run a query; on a corrupt database, rebuild once and run it again."""
        try:
            return what()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = self._rebuild(str(exc))
            return what()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VerifyCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queries ---------------------------------------------------------------------------

    def lookup(self, paths: Sequence[str]) -> dict[str, CacheEntry]:
        """The entries for ``paths`` (real paths), in as few queries as SQLite allows."""
        paths = list(paths)

        def run() -> dict[str, CacheEntry]:
            out: dict[str, CacheEntry] = {}
            for i in range(0, len(paths), 900):  # SQLite's bound-parameter limit
                part = paths[i:i + 900]
                rows = self._db.execute(
                    "SELECT path, size, mtime_ns, ino, ctime_ns, sha256, fits_ok, fits_problem,"
                    f" fits_kind, checked_ns FROM files WHERE path IN ({','.join('?' * len(part))})", part)
                for r in rows:
                    out[r[0]] = CacheEntry(
                        r[0], FileStat(r[1], r[2], r[3], r[4]), r[9], r[5],
                        None if r[6] is None else bool(r[6]), r[7], r[8])
            return out

        return self._retry(run)  # type: ignore[return-value]

    def store(self, entries: Iterable[CacheEntry]) -> int:
        """Record facts (merged with what is known about the same bytes), in one transaction."""
        entries = list(entries)
        if not entries:
            return 0

        def run() -> int:
            known = self.lookup([e.path for e in entries])
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for e in entries:
                    old = known.get(e.path)
                    e = old.merge(e, self.racy_ns) if old is not None else e
                    db.execute(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (e.path, e.stat.size, e.stat.mtime_ns, e.stat.ino, e.stat.ctime_ns,
                         e.sha256, None if e.fits_ok is None else int(e.fits_ok),
                         e.fits_problem, e.fits_kind, e.checked_ns))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return len(entries)

        return self._retry(run)  # type: ignore[return-value]

    def forget(self, paths: Iterable[str]) -> None:
        """Drop the entries of ``paths``."""
        paths = list(paths)

        def run() -> None:
            with self._db:
                self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

        self._retry(run)

    def __len__(self) -> int:
        return self._retry(  # type: ignore[return-value]
            lambda: self._db.execute("SELECT count(*) FROM files").fetchone()[0])


def now_ns() -> int:
    """The wall clock in ns (the moment a file is about to be read)."""
    return time.time_ns()


__all__ = ["CacheEntry", "FileStat", "RACY_NS", "VerifyCache", "default_cache_path", "now_ns"]
