"""The catalogue: an on-disk (SQLite) index of the constituents of a calibration repository.

It knows two things:

* **present** files, found in the directories of ``SAS_CCFPATH`` / ``--ccf-path`` (optionally
  recursing, with cifbuild's ``fileglob``), with their indexing keywords read from the primary
  header. A refresh re-reads only files whose (size, mtime, inode) changed, so a warm refresh costs
  a directory ``stat`` walk;
* **expected** constituents, imported from master index files and CALINDEX tables (or remembered
  when a file that was indexed disappears), so a repository's intended content is known even where
  files are missing. That is what lets reprocal say "a newer eligible issue exists but you do not
  have it" instead of silently downgrading as cifbuild does;
* **withdrawn** constituents: the withdrawal dates the mirror history of each directory records
  (:mod:`reprocal.repo._history`), re-read when the history file changed. A withdrawn file stays
  on disk and in the catalogue; the selection rule takes its date (:meth:`Catalog.withdrawals`).

Invalid files, non-CCF FITS files and duplicates of one constituent in two directories are kept as
problems with their paths; nothing is silently picked.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate, parse_optional
from reprocal.core._names import ConstituentName
from reprocal.core._withdrawal import Withdrawal, Withdrawals
from reprocal.errors import InputError, LocalIOError, RepositoryError, ReprocalError
from reprocal.fits._headers import read_constituent
from reprocal.fs._limits import current_limits
from reprocal.fs._sqlite import not_a_database
from reprocal.progress import NullProgress, Progress
from reprocal.repo._verifycache import FileStat
from reprocal.repo._walk import DEFAULT_GLOB, ListedFile, list_files

MASTER_INDEX_PREFIX = "XMM_CALINDEX_"
"""Master index files (``XMM_CALINDEX_nnnn.CCF``) found in a repository are imported as
expected content instead of being indexed as constituents."""
SCHEMA_VERSION = 2

_COLUMNS = (
    "scope", "typeid", "issue", "valdate", "evaldate", "subdate", "date", "category",
    "telescop", "creator", "extsequ", "extseqid", "md5", "fsize",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, dir TEXT NOT NULL, filename TEXT NOT NULL,
    size INTEGER, mtime_ns INTEGER, ino INTEGER,
    status TEXT NOT NULL, problem TEXT,
    {", ".join(c + " " for c in _COLUMNS)}
);
CREATE INDEX IF NOT EXISTS files_dir ON files(dir);
CREATE TABLE IF NOT EXISTS expected (
    filename TEXT NOT NULL, source TEXT NOT NULL,
    {", ".join(c + " " for c in _COLUMNS)},
    PRIMARY KEY (filename, source)
);
CREATE TABLE IF NOT EXISTS withdrawn (
    dir TEXT NOT NULL, filename TEXT NOT NULL, since TEXT NOT NULL, until TEXT,
    mirror TEXT NOT NULL, last_listed TEXT,
    PRIMARY KEY (dir, filename, mirror, since)
);
"""

_INSERT_FILE = (
    f"INSERT OR REPLACE INTO files (path, dir, filename, size, mtime_ns, ino, status, problem, "
    f"{', '.join(_COLUMNS)}) VALUES ({', '.join('?' * (8 + len(_COLUMNS)))})"
)
_INSERT_EXPECTED = (
    f"INSERT OR REPLACE INTO expected (filename, source, {', '.join(_COLUMNS)}) "
    f"VALUES (?, ?, {', '.join('?' * len(_COLUMNS))})"
)


def journal_mode(db: Path) -> str:
    """``WAL`` (readers never wait for the writer), except on a network file system: the WAL's
    index is memory shared between the processes of one machine, so two cluster nodes using
    one catalogue in a home directory on NFS would corrupt it. There the rollback journal
    (``DELETE``), whose safety rests on the server's file locks, as SQLite documents."""
    from reprocal.fs._mounts import on_network

    return "DELETE" if on_network(db.parent) else "WAL"


def default_catalog_path() -> Path:
    """``$REPROCAL_CATALOG``, else ``$XDG_CACHE_HOME/reprocal/catalog.sqlite``."""
    if os.environ.get("REPROCAL_CATALOG"):
        return Path(os.environ["REPROCAL_CATALOG"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "reprocal" / "catalog.sqlite"


@attrs.frozen
class LocalFile:
    """A constituent file present in the repository."""

    path: Path
    """Absolute path."""
    constituent: Constituent
    """Its indexing attributes (from its header), with ``fsize``."""

    @property
    def filename(self) -> str:
        return self.constituent.filename


@attrs.frozen
class Problem:
    """Something wrong with a file or a constituent, with the paths involved."""

    kind: str
    """``invalid`` (unreadable or not a constituent), ``duplicate`` (one name, several paths)."""
    message: str
    """What is wrong, in words."""
    paths: tuple[str, ...]
    """The files involved."""


@attrs.frozen
class ScanReport:
    """What a refresh did."""

    dirs: tuple[Path, ...]
    scanned: int
    """Files matching the glob."""
    read: int
    """Headers read (new or changed files)."""
    unchanged: int
    removed: tuple[str, ...]
    """Paths indexed before that are gone now (remembered as expected)."""
    problems: tuple[Problem, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "dirs": [str(d) for d in self.dirs],
            "scanned": self.scanned,
            "read": self.read,
            "unchanged": self.unchanged,
            "removed": list(self.removed),
            "problems": [attrs.asdict(p) for p in self.problems],
        }


def _dir_filter(directory: Path, recurse: bool) -> tuple[str, list[object]]:
    """SQL condition selecting files in ``directory`` (and below it when recursing)."""
    d = str(directory)
    if not recurse:
        return "dir = ?", [d]
    prefix = d.rstrip(os.sep) + os.sep
    return "(dir = ? OR substr(dir, 1, ?) = ?)", [d, len(prefix), prefix]


def _row_values(c: Constituent) -> tuple[object, ...]:
    return (
        c.scope, c.typeid, c.issue, c.valdate.text, c.evaldate.text if c.evaldate else None,
        c.subdate.text, c.date.text if c.date else None, c.category, c.telescop, c.creator,
        c.extsequ, c.extseqid, c.md5, c.fsize,
    )


def _constituent(row: sqlite3.Row) -> Constituent:
    return Constituent(
        name=ConstituentName(row["scope"], row["typeid"], row["issue"]),
        valdate=CalDate(row["valdate"]),
        evaldate=parse_optional(row["evaldate"]),
        subdate=CalDate(row["subdate"]),
        date=parse_optional(row["date"]),
        category=row["category"], telescop=row["telescop"], creator=row["creator"] or "",
        extsequ=row["extsequ"] or "ANY", extseqid=row["extseqid"] or "", md5=row["md5"] or "",
        fsize=row["fsize"],
    )


REBUILD_HINT = ("rebuild it with `reprocal index --rebuild` (it keeps the damaged file aside), "
                "then import any master index again")


def _not_a_catalogue(path: Path, what: str) -> InputError:
    """Never "delete it": the path may be anything the user pointed ``--catalog`` at."""
    return InputError(f"{what}, not a reprocal catalogue", path=path,
                      hint="give --catalog (or $REPROCAL_CATALOG) a file name of its own; "
                           "reprocal creates it and never overwrites other files")


def _check_catalog_path(path: Path) -> None:
    """Refuse, before SQLite touches it, a path that is not a catalogue: a directory (the
    repository itself), a FIFO, a device, a file that is not an SQLite database."""
    try:
        why = not_a_database(path)
    except NotADirectoryError:  # mkdir of its directory will tell
        return
    except OSError as exc:
        raise LocalIOError.of(exc, path, doing="cannot use the catalogue") from None
    if why:
        raise _not_a_catalogue(path, why)


def _database_error(path: Path, exc: sqlite3.DatabaseError, wait: float) -> ReprocalError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return RepositoryError(f"the catalogue is locked by another process (waited {wait:g} s)",
                               path=path, hint="wait for the other reprocal to finish, raise "
                               "--limit catalog-wait=SECONDS, or give another --catalog")
    if "unable to open" in text or "readonly" in text:
        return LocalIOError(f"cannot open the catalogue ({text})", path=path,
                            hint="give --catalog FILE in a writable place")
    return RepositoryError(f"the catalogue is damaged ({text})", path=path, hint=REBUILD_HINT)


def set_aside(path: str | os.PathLike[str] | None = None) -> Path | None:
    """``reprocal index --rebuild``: move a catalogue (damaged or not) and its WAL aside to
    ``NAME.damaged`` so the next open starts empty; refuse anything that is not a catalogue.
    Returns where it went (``None`` when there was none)."""
    p = Path(path) if path is not None else default_catalog_path()
    _check_catalog_path(p)
    if not p.exists():
        return None
    aside = p.with_name(p.name + ".damaged")
    try:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{p}{suffix}"):
                os.replace(f"{p}{suffix}", f"{aside}{suffix}")
    except OSError as exc:
        raise LocalIOError.of(exc, p, doing="cannot move the catalogue aside") from None
    return aside


class Catalog:
    """The SQLite catalogue. One database may index several repositories; queries take the
    directories to look at.

    >>> import tempfile, pathlib
    >>> cat = Catalog(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite")
    >>> cat.expected()
    []
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        _check_catalog_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalIOError.of(exc, self.path.parent,
                                  doing="cannot create the catalogue's directory") from None
        wait = current_limits().catalog_wait
        try:
            self._db = sqlite3.connect(self.path, timeout=wait, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc, wait) from None
        try:
            self._db.row_factory = sqlite3.Row
            tables = {r[0] for r in self._db.execute(  # before changing anything in it
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:
                raise _not_a_catalogue(self.path, "an SQLite database of something else")
            self._db.execute(f"PRAGMA journal_mode={journal_mode(self.path)}")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._schema_version()
            if version not in (None, SCHEMA_VERSION):
                # The catalogue is a cache of what is on disk: rebuild it rather than migrate.
                self._db.executescript("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS expected;"
                                       "DROP TABLE IF EXISTS meta;")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)",
                             (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise _database_error(self.path, exc, wait) from None
        except BaseException:
            self._db.close()
            raise

    def _schema_version(self) -> int | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0]) if row else None

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Catalog:
        """Open (creating) the catalogue at ``path`` or :func:`default_catalog_path`."""
        return cls(path if path is not None else default_catalog_path())

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- scanning ---------------------------------------------------------------------------

    def refresh(
        self,
        dirs: Sequence[Path],
        *,
        recurse: bool = False,
        fileglob: str = DEFAULT_GLOB,
        progress: Progress | None = None,
        listed: Mapping[Path, Sequence[ListedFile]] | None = None,
    ) -> ScanReport:
        """Bring the catalogue up to date with ``dirs``: read headers of new or changed files
        only; forget files that are gone (remembering them as expected). ``listed``: each
        directory's files as :func:`list_files` listed them just now with the same
        ``recurse`` and ``fileglob`` (not walked again)."""
        bar = progress if progress is not None else NullProgress()
        scanned = read = unchanged = 0
        removed: list[str] = []
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc, current_limits().catalog_wait) from None
        try:
            for directory in dirs:
                where, args = _dir_filter(directory, recurse)
                plain = db.cursor()  # tuples, not Rows: 6,000 of them on every refresh
                plain.row_factory = None
                known = {
                    path: (size, mtime_ns, ino) for path, size, mtime_ns, ino in plain.execute(
                        f"SELECT path, size, mtime_ns, ino FROM files WHERE {where}", args)
                }
                seen: set[str] = set()
                rows: list[tuple[object, ...]] = []  # written in one statement per directory
                # a directory given absolute and normal lists absolute, normal paths
                top = (os.fspath(directory) + os.sep
                       if os.path.abspath(directory) == os.fspath(directory) else "\0")
                files = (listed[directory] if listed is not None
                         else list_files([directory], recurse=recurse, fileglob=fileglob))
                for f in files:
                    if not f.globbed:  # cifbuild would not read it
                        continue
                    scanned += 1
                    st = f.stat
                    path = f.where if f.where.startswith(top) else os.path.abspath(f.where)
                    seen.add(path)
                    if known.get(path) == (st.size, st.mtime_ns, st.ino):
                        unchanged += 1
                    else:
                        read += 1
                        rows.append(self._index_file(path, os.path.dirname(path),
                                                     os.path.basename(path), st))
                    bar.update(1)
                db.executemany(_INSERT_FILE, rows)
                rows.clear()
                for path in sorted(set(known) - seen):
                    removed.append(path)
                    self._forget(path)
                self._refresh_history(directory)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return ScanReport(tuple(dirs), scanned, read, unchanged, tuple(removed),
                          tuple(self.problems(dirs, recurse=recurse)))

    def _refresh_history(self, directory: Path) -> None:
        """Re-read the directory's mirror history when its file changed (size, mtime, inode)."""
        from reprocal.repo._history import history_path, read_history

        d = str(directory)
        try:
            st = os.stat(history_path(directory))
            stamp = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
        except OSError:
            stamp = "none"
        key = f"history:{d}"
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is not None and row[0] == stamp:
            return
        withdrawals = read_history(directory).withdrawals() if stamp != "none" else ()
        self._db.execute("DELETE FROM withdrawn WHERE dir = ?", (d,))
        self._db.executemany(
            "INSERT OR REPLACE INTO withdrawn VALUES (?, ?, ?, ?, ?, ?)",
            [(d, w.name, w.since.text, w.until.text if w.until else None, w.mirror,
              w.last_listed.text if w.last_listed else None) for w in withdrawals])
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, stamp))

    def withdrawals(self, dirs: Sequence[Path]) -> Withdrawals:
        """The withdrawal periods the histories of ``dirs`` record (as of the last refresh)."""
        out = []
        for d in dirs:
            for r in self._db.execute("SELECT * FROM withdrawn WHERE dir = ? ORDER BY filename, "
                                      "since", (str(d),)):
                out.append(Withdrawal(r["filename"], CalDate(r["since"]),
                                      parse_optional(r["until"]), r["mirror"],
                                      parse_optional(r["last_listed"])))
        return Withdrawals(out)

    def _index_file(self, path: str, directory: str, filename: str, st: FileStat
                    ) -> tuple[object, ...]:
        """Read one new or changed file; its row of ``files`` (:data:`_INSERT_FILE`)."""
        status, problem = "ok", None
        values: tuple[object, ...] = (None,) * len(_COLUMNS)
        try:
            if filename.upper().startswith(MASTER_INDEX_PREFIX) and self._import_master(path):
                status = "masterindex"
            else:
                c = read_constituent(path, fsize=st.size)
                values = _row_values(c)
                filename = c.filename
        except ReprocalError as exc:
            status, problem = "invalid", exc.one_line()
        return (path, directory, filename.upper(), st.size, st.mtime_ns, st.ino, status,
                problem, *values)

    def _import_master(self, path: str) -> bool:
        """A master index file found in the repository: import its rows as expected content."""

        from reprocal.fits._calindex import read_calindex  # master indexes only

        table = read_calindex(path)
        if not table.is_master_index:
            return False
        source = f"calindex:{path}"
        self._db.execute("DELETE FROM expected WHERE source = ?", (source,))
        for c in table.rows:
            self._expect(c.filename, source, _row_values(c))
        return True

    def _forget(self, path: str) -> None:
        row = self._db.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        if row is not None and row["status"] == "ok":
            self._expect(row["filename"], f"gone:{path}", tuple(row[c] for c in _COLUMNS))
        self._db.execute("DELETE FROM files WHERE path = ?", (path,))

    def _expect(self, filename: str, source: str, values: Sequence[object]) -> None:
        """Record one expected constituent (``values``: the :data:`_COLUMNS`) from ``source``."""
        self._db.execute(_INSERT_EXPECTED, (filename, source, *values))

    # --- expected content -------------------------------------------------------------------

    def add_expected(self, constituents: Iterable[Constituent], source: str) -> int:
        """Record constituents known to exist (from a master index or CALINDEX table)."""
        n = 0
        with self._db:
            for c in constituents:
                self._expect(c.filename, source, _row_values(c))
                n += 1
        return n

    def import_calindex(self, path: str | os.PathLike[str]) -> int:
        """Import every row of a master index file or any CALINDEX table as expected content."""

        from reprocal.fits._calindex import read_calindex  # master indexes only

        table = read_calindex(path)
        return self.add_expected(table.rows, f"calindex:{os.path.abspath(path)}")

    def expected(self) -> list[Constituent]:
        """Every expected constituent, one per name (the first source wins)."""
        out: dict[str, Constituent] = {}
        for row in self._db.execute("SELECT * FROM expected ORDER BY filename, source"):
            out.setdefault(row["filename"], _constituent(row))
        return list(out.values())

    # --- queries ----------------------------------------------------------------------------

    def _rows(self, dirs: Sequence[Path], status: str | None = "ok", recurse: bool = False,
              columns: str = "*") -> list[sqlite3.Row]:
        out: list[sqlite3.Row] = []
        for d in dirs:
            where, args = _dir_filter(d, recurse)
            q = f"SELECT {columns} FROM files WHERE {where}"
            if status is not None:
                q += " AND status = ?"
                args.append(status)
            out.extend(self._db.execute(q + " ORDER BY path", args))
        return out

    def present(self, dirs: Sequence[Path], *, recurse: bool = False,
                above: Mapping[tuple[str, str], int] | None = None,
                valid_by: CalDate | None = None) -> list[LocalFile]:
        """Valid constituent files in ``dirs``, in directory then path order (duplicates
        included). ``above``: only those of the types it names, with an issue higher than the
        one it gives; ``valid_by``: only those valid from that date or before (together: what
        could be newer than a pinned state whose latest observation date is ``valid_by``; the
        other rows are not even read)."""
        if above is None:
            rows = self._rows(dirs, "ok", recurse)
        else:  # the filter in SQL: the other rows are never even fetched
            db = self._db
            db.execute("CREATE TEMP TABLE IF NOT EXISTS above (scope TEXT, typeid TEXT, "
                       "issue INTEGER, PRIMARY KEY (scope, typeid))")
            db.execute("DELETE FROM temp.above")
            db.executemany("INSERT INTO temp.above VALUES (?, ?, ?)",
                           [(scope, typeid, issue) for (scope, typeid), issue in above.items()])
            rows = []
            for d in dirs:
                where, args = _dir_filter(d, recurse)
                if valid_by is not None:
                    where, args = f"{where} AND valdate <= ?", [*args, valid_by.text]
                rows.extend(db.execute(
                    "SELECT files.* FROM files JOIN temp.above AS a ON files.scope = a.scope "
                    f"AND files.typeid = a.typeid AND files.issue > a.issue WHERE {where} "
                    "AND status = 'ok' ORDER BY path", args))
        return [LocalFile(Path(r["path"]), _constituent(r)) for r in rows]

    def problems(self, dirs: Sequence[Path], *, recurse: bool = False) -> list[Problem]:
        """Invalid files and duplicate constituents in ``dirs``."""
        problems = [
            Problem("invalid", r["problem"], (r["path"],))
            for r in self._rows(dirs, "invalid", recurse, "path, problem")
        ]
        # the duplicates, found in SQL (a refresh reports them every time): the names held
        # more than once in all of dirs, then their paths, directory by directory
        # (counted per directory, as listed: a directory given twice holds each file twice)
        filters = [_dir_filter(d, recurse) for d in dirs]
        listed = " UNION ALL ".join(f"SELECT filename FROM files WHERE ({where}) AND "
                                    "status = 'ok'" for where, _ in filters) or \
            "SELECT filename FROM files WHERE 0"
        twice = f"SELECT filename FROM ({listed}) GROUP BY filename HAVING COUNT(*) > 1"
        scope_args = [a for _, args in filters for a in args]
        by_name: dict[str, list[str]] = {}
        for where, args in filters:
            for r in self._db.execute(
                    f"SELECT filename, path FROM files WHERE {where} AND status = 'ok' AND "
                    f"filename IN ({twice}) ORDER BY path", [*args, *scope_args]):
                by_name.setdefault(r["filename"], []).append(r["path"])
        for name, paths in sorted(by_name.items()):
            problems.append(Problem(
                "duplicate", f"{name} is present {len(paths)} times", tuple(paths)))
        return problems

    def known(self, dirs: Sequence[Path], *, recurse: bool = False,
              present: Sequence[LocalFile] | None = None) -> list[Constituent]:
        """Present and expected constituents together, one per name (present wins; ``present``:
        what :meth:`present` returned for the same directories, not read again)."""
        if present is None:
            present = self.present(dirs, recurse=recurse)
        out = {lf.filename: lf.constituent for lf in present}
        for c in self.expected():
            out.setdefault(c.filename, c)
        return list(out.values())


__all__ = [
    "Catalog", "LocalFile", "Problem", "ScanReport", "default_catalog_path",
]
