"""The campaign ledger: what each task of a campaign did, in SQLite beside the outputs.

``OUT/campaign.sqlite`` holds one row per task key (:func:`reprocal.campaign._plan.task_key`:
observation, calibration id, image digest, command) with its outcome, ``done`` or ``failed``,
and the plan of the last ``campaign run`` (which keys it wanted, in order), so ``campaign
status`` can tell done, failed and pending apart without the manifest.

**Only the client writes it.** Workers return their results; the client records each as it
arrives, one transaction per task, so a worker killed mid-task can never touch it, and a client
killed mid-campaign leaves every task recorded before the kill (SQLite's journal makes each
transaction all or nothing). ``OUT/campaign.lock`` (``flock``) keeps a second client off the same
directory while one runs; the lock goes with the process, whatever kills it.

**Journal.** WAL (readers such as ``campaign status`` never wait for the writer), a bounded busy
timeout (:data:`BUSY_TIMEOUT`). On a network file system (NFS, SMB, Lustre, GPFS, ...) WAL does
not work (its index lives in memory shared between the processes of one host), so the ledger
there uses a rollback journal, and says so: a warning names the file system.

Tables (schema version 1)::

    meta (key TEXT PRIMARY KEY, value TEXT)       kind = reprocal-campaign, schema, campaign facts
    tasks (key TEXT PRIMARY KEY, observation, calibration_id, image_digest, command (JSON),
           status ('done' | 'failed'), exit_status, error, attempts, started, finished,
           seconds, worker, directory, record, log, outputs (JSON), sas_version, recorded)
    plan (position INTEGER PRIMARY KEY, observation, key)
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import InputError, LocalIOError, ReprocalError, ReprocalWarning
from reprocal.fs._inputs import UnsafeFileError, open_private
from reprocal.fs._mounts import NETWORK, filesystem_of
from reprocal.fs._sqlite import not_a_database

LEDGER = "campaign.sqlite"
LOCK = "campaign.lock"
KIND = "reprocal-campaign"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for a lock another process holds (``campaign status`` reading
while the client writes, on a rollback journal) before it is reported."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS tasks (
    key TEXT PRIMARY KEY, observation TEXT NOT NULL, calibration_id TEXT NOT NULL,
    image_digest TEXT, command TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    exit_status INTEGER, error TEXT, attempts INTEGER NOT NULL,
    started TEXT, finished TEXT, seconds REAL, worker TEXT,
    directory TEXT, record TEXT, log TEXT, outputs TEXT NOT NULL, sas_version TEXT,
    recorded TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_observation ON tasks(observation);
CREATE TABLE IF NOT EXISTS plan (position INTEGER PRIMARY KEY, observation TEXT NOT NULL,
                                 key TEXT NOT NULL);
"""


@attrs.frozen
class Output:
    """One file of a product directory, as the task left it."""

    path: str
    """Relative to the product directory."""
    size: int
    sha256: str


@attrs.frozen
class Entry:
    """One task's outcome, as the ledger holds it."""

    key: str
    observation: str
    calibration_id: str
    image_digest: str | None
    command: tuple[str, ...]
    status: str
    """``done`` or ``failed``."""
    attempts: int
    """How many times it was started (retries and tasks of killed workers included)."""
    exit_status: int | None = None
    """The command's exit status (``None``: it never ran to an end)."""
    error: str | None = None
    """Why it failed, in one line."""
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    worker: str | None = None
    """``host:pid`` of the worker process that ran the attempt recorded."""
    directory: str | None = None
    """Relative to the campaign directory: the product directory (done), or the kept
    working directory of the last attempt (failed)."""
    record: str | None = None
    """The provenance record, relative to ``directory``."""
    log: str | None = None
    """The command's standard output and error, relative to the campaign directory."""
    outputs: tuple[Output, ...] = ()
    """Every file of the product directory the task made (the record included)."""
    sas_version: str | None = None
    recorded: str = ""
    """When the client recorded it (UTC, ISO 8601)."""

    @property
    def done(self) -> bool:
        return self.status == "done"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _not_a_ledger(path: Path, what: str) -> InputError:
    return InputError(f"{path} is {what}, not a campaign ledger", path=None,
                      hint="give the directory of a campaign (or a new one) as the output")


def _check_path(path: Path) -> None:
    """Refuse what is at ``path`` unless it is absent or an SQLite file: a FIFO, a directory,
    a link to something else, a text file are never opened as a database."""
    try:
        why = not_a_database(path, follow_links=False)
    except OSError as exc:
        raise LocalIOError.of(exc, path, doing="cannot use the ledger") from None
    if why:
        raise _not_a_ledger(path, why)


def _database_error(path: Path, exc: sqlite3.DatabaseError) -> ReprocalError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LocalIOError(f"the ledger is locked by another process (waited "
                            f"{BUSY_TIMEOUT:g} s)", path=path,
                            hint="wait for the other reprocal to finish")
    if "unable to open" in text or "readonly" in text:
        return LocalIOError(f"cannot open the ledger ({text})", path=path,
                            hint="give an output directory that is writable")
    return InputError(f"the ledger is damaged ({text})", path=path,
                      hint="move it aside; `campaign run` then starts a new one (products "
                           "already in place are adopted, not run again)")


class Ledger:
    """The ledger of the campaign in ``directory`` (see the module docstring).

    ``readonly`` opens an existing ledger for reading (``campaign status``); otherwise it is
    created when absent."""

    def __init__(self, directory: str | os.PathLike[str], *, readonly: bool = False):
        self.directory = Path(directory)
        self.path = self.directory / LEDGER
        _check_path(self.path)
        if readonly and not self.path.exists():
            raise InputError(f"{self.directory} holds no campaign ledger ({LEDGER})",
                             hint="give the output directory of `reprocal campaign run`")
        self.file_system = filesystem_of(self.directory)
        self.network = self.file_system in NETWORK
        uri = f"file:{self.path}?mode={'ro' if readonly else 'rwc'}"
        try:
            self._db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT,
                                       isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        try:
            self._db.row_factory = sqlite3.Row
            self._setup(readonly)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise _database_error(self.path, exc) from None
        except BaseException:
            self._db.close()
            raise

    def _setup(self, readonly: bool) -> None:
        tables = {r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise _not_a_ledger(self.path, "an SQLite database of something else")
        if "meta" in tables:
            kind = self._db.execute("SELECT value FROM meta WHERE key='kind'").fetchone()
            if kind is None or kind[0] != KIND:
                raise _not_a_ledger(self.path, "an SQLite database of something else")
            version = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if version is None or version[0] != str(SCHEMA_VERSION):
                raise InputError(f"{self.path}: a campaign ledger of schema "
                                 f"{version[0] if version else '?'}; this reprocal reads "
                                 f"{SCHEMA_VERSION}", hint="use the reprocal that wrote it")
        if readonly:
            return
        if self.network:
            warnings.warn(
                f"the campaign ledger {self.path} is on a network file system "
                f"({self.file_system}): SQLite's WAL does not work there, so it uses a "
                "rollback journal; run one campaign client per directory, and `campaign "
                "status` may wait for it", ReprocalWarning, stacklevel=3)
            self._db.execute("PRAGMA journal_mode=DELETE")
        else:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('kind', ?)", (KIND,))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                             (str(SCHEMA_VERSION),))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (now(),))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing (the client only) -----------------------------------------------------------

    def record(self, entry: Entry) -> None:
        """Record one task's outcome (replacing what the ledger held for its key)."""
        row = attrs.asdict(entry, recurse=False)
        row["command"] = json.dumps(list(entry.command))
        row["outputs"] = json.dumps([[o.path, o.size, o.sha256] for o in entry.outputs])
        row["recorded"] = entry.recorded or now()
        columns = ", ".join(row)
        try:
            self._db.execute(f"INSERT OR REPLACE INTO tasks ({columns}) VALUES "
                             f"({', '.join('?' * len(row))})", tuple(row.values()))
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None

    def set_plan(self, plan: Sequence[tuple[str, str]], meta: Mapping[str, Any]) -> None:
        """The campaign being run: its ``(observation, key)`` list, in order, and its facts
        (manifest, command, image), replacing the last run's."""
        with self._transaction():
            self._db.execute("DELETE FROM plan")
            self._db.executemany("INSERT INTO plan VALUES (?, ?, ?)",
                                 ((i, o, k) for i, (o, k) in enumerate(plan)))
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 ((k, json.dumps(v)) for k, v in meta.items()))

    # --- reading -----------------------------------------------------------------------------

    def plan(self) -> list[tuple[str, str]]:
        """The last run's ``(observation, key)`` list, in order."""
        return [(r["observation"], r["key"]) for r in
                self._db.execute("SELECT observation, key FROM plan ORDER BY position")]

    def meta(self) -> dict[str, Any]:
        """The campaign's facts (JSON values), without the ledger's own keys."""
        out = {}
        for r in self._db.execute("SELECT key, value FROM meta"):
            if r["key"] not in ("kind", "schema", "created"):
                out[r["key"]] = json.loads(r["value"])
        return out

    def entries(self, keys: Iterable[str] | None = None) -> dict[str, Entry]:
        """Every recorded task (or those of ``keys``), by key."""
        rows = self._db.execute("SELECT * FROM tasks").fetchall()
        wanted = set(keys) if keys is not None else None
        return {r["key"]: _entry(r) for r in rows if wanted is None or r["key"] in wanted}

    def by_observation(self) -> dict[str, list[Entry]]:
        """Every recorded task, grouped by observation (newest first)."""
        out: dict[str, list[Entry]] = {}
        for e in sorted(self.entries().values(), key=lambda e: e.recorded, reverse=True):
            out.setdefault(e.observation, []).append(e)
        return out


def _entry(r: sqlite3.Row) -> Entry:
    return Entry(
        key=r["key"], observation=r["observation"], calibration_id=r["calibration_id"],
        image_digest=r["image_digest"], command=tuple(json.loads(r["command"])),
        status=r["status"], attempts=r["attempts"], exit_status=r["exit_status"],
        error=r["error"], started=r["started"], finished=r["finished"], seconds=r["seconds"],
        worker=r["worker"], directory=r["directory"], record=r["record"], log=r["log"],
        outputs=tuple(Output(p, s, h) for p, s, h in json.loads(r["outputs"])),
        sas_version=r["sas_version"], recorded=r["recorded"])


@contextmanager
def client_lock(directory: Path) -> Iterator[None]:
    """Hold ``DIR/campaign.lock`` for as long as this client runs: a second ``campaign run``
    on the same directory is refused, naming the process that holds it."""
    path = directory / LOCK
    try:
        fd = open_private(path, mode=0o644)
    except UnsafeFileError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    except OSError as exc:
        raise LocalIOError.of(exc, path, doing="cannot create the campaign lock") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LocalIOError.of(exc, path, doing="cannot lock the campaign") from None
            holder = os.pread(fd, 200, 0).decode("ascii", "replace").strip() or "another process"
            raise InputError(f"another `reprocal campaign run` ({holder}) is running on "
                             f"{directory}", hint="wait for it to finish, or stop it; "
                             "`reprocal campaign status` reports on it meanwhile") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


__all__ = ["BUSY_TIMEOUT", "Entry", "LEDGER", "LOCK", "Ledger", "Output", "client_lock", "now"]
