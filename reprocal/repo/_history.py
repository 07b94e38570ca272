"""The mirror history: what a repository received, from where and when, and what its mirrors
stopped listing. Kept in the repository itself, because nothing else can recreate it.

**Where.** ``DIR/.reprocal/history.jsonl``, one file per repository directory (the first
directory of ``SAS_CCFPATH`` is the one ``reprocal sync`` and ``reprocal fetch`` write). The
hidden directory keeps it out of every walk (cifbuild, reprocal) and out of reach of ESA's own
recipe: ``rsync ... --delete --include='*.CCF' --exclude='*/'`` excludes directories, and rsync
never deletes what it excludes, so running that recipe by mistake does not erase the history.

**Format** (``schemas/mirror-history.schema.json``, ``docs/mirror-history.md``). JSON Lines:
one UTF-8 JSON object per line, one line per event, appended and never rewritten. Every record
has ``schema`` (``reprocal-mirror-history/1``), ``seq`` (1, 2, 3, ...), ``prev`` (the sha256 of
the previous line's bytes, ``null`` for the first: a hash chain, so an edited, removed or
reordered line is seen), ``time`` (UTC, ``YYYY-MM-DDThh:mm:ss``), ``run`` (the sync or fetch
that wrote it) and ``event``:

================  ============================================================================
``sync-started``  a sync begins: the mirror, its listing (kind, entries), the subset, ``--deep``
``listed``        the mirror lists a name it did not list before (its size and date as listed)
``withdrawn``     the mirror no longer lists a name it listed: a withdrawal, dated by this sync
``superseded``    a reduced mirror (ESA's valid set) dropped a name that is no longer valid
                  (not a withdrawal: the archive still holds it)
``upstream-changed``  the listing shows another size or date under the same name
``arrived``       a file was installed here: name, size, sha256, the mirror it came from
``found``         a file here that no record accounts for (held before the history began, or
                  copied by other means): its size and sha256, held since at least then
``lost``          a file the history holds is no longer here (deleted by hand: reprocal never
                  deletes)
``conflict``      the mirror's file differs from ours under the same name: both are recorded,
                  ours is kept
``sync-finished`` the sync's counts and failures (a ``sync-started`` without it: interrupted)
``torn``          the line(s) before it are the remains of an append cut by ``kill -9`` or a
                  power cut, kept as they are (never rewritten) and not records
================  ============================================================================

**Writing** (:class:`HistoryLog`): through :class:`reprocal.fs._appendlog.AppendLog`, which
refuses links, FIFOs and hard links at the file's name, takes an exclusive lock for the life of
the writer (one sync at a time), appends whole lines at the end and ``fsync``\\ s. A ``kill -9``
mid-append leaves at worst a torn last line; the next writer appends a ``torn`` record after it
(naming its sha256 and the last good line's), so the chain goes on and readers know.

**Reading** (:func:`read_history`) replays the records in order, checking each line's schema,
the sequence numbers and the chain; damage (a line that is neither a record nor a torn append, a
broken chain) is a :class:`~reprocal.errors.RepositoryError` naming the file and line. A torn
last line (a writer was interrupted, or is writing now) is ignored and noted.

**"What did this repository hold on date X?"** (:meth:`History.held_on`): replay the
``arrived``, ``found`` and ``lost`` records whose ``time`` is at or before X: a name is held from
its ``arrived`` (or ``found``) record until a later ``lost``. The answer is exact from the first
record on; before it the history knows nothing, and a ``found`` file was held *at least* since
its record. Withdrawals (:meth:`History.withdrawals`) are the periods between a ``withdrawn``
record and a later ``listed`` of the same name by the same mirror; they are the dates the
selection rule takes (:mod:`reprocal.core._withdrawal`). The first arrival of each name
(:meth:`History.arrivals`) is what lets ``audit`` tell a stale mirror (the newer issue arrived
here after the product's analysis date) from other causes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._withdrawal import Withdrawal, Withdrawals
from reprocal.errors import InputError, RepositoryError
from reprocal.fs._inputs import open_input

HISTORY_DIR = ".reprocal"
HISTORY_NAME = "history.jsonl"
SCHEMA = "reprocal-mirror-history/1"
SCHEMA_FILE = "mirror-history.schema.json"
MAX_LINE = 1 << 20
"""Longest line a reader accepts (a record is a few hundred bytes; a ``sync-finished`` listing
many failures a few kilobytes)."""

EVENTS = ("sync-started", "sync-finished", "listed", "withdrawn", "superseded",
          "upstream-changed", "arrived", "found", "lost", "conflict", "torn")
HOLDING_EVENTS = ("arrived", "found", "lost")
MIRROR_EVENTS = ("listed", "withdrawn", "superseded", "upstream-changed")


def history_dir(directory: str | os.PathLike[str]) -> Path:
    return Path(directory) / HISTORY_DIR


def history_path(directory: str | os.PathLike[str]) -> Path:
    """``DIR/.reprocal/history.jsonl``."""
    return history_dir(directory) / HISTORY_NAME


def sha256_line(line: bytes) -> str:
    """The chain's hash of one line (its bytes without the newline)."""
    return hashlib.sha256(line).hexdigest()


# --- validating one record ------------------------------------------------------------------
#
# The JSON Schema (schemas/mirror-history.schema.json) is the published contract; a reader
# checks every line against the same rules with the plain functions below, ~50x faster than a
# schema validator (a history of years is read by every sync). A test holds the two to the same
# verdicts on every record the tests write and on mutated ones.


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 63


_SHA_RE = re.compile(r"[0-9a-f]{64}")


def _is_sha(v: Any) -> bool:
    return isinstance(v, str) and _SHA_RE.fullmatch(v) is not None


def _is_date(v: Any) -> bool:
    return isinstance(v, str) and _canonical_date(v)


@functools.lru_cache(maxsize=4096)
def _canonical_date(v: str) -> bool:  # the records of one sync share their time
    try:
        return CalDate.parse(v).text == v
    except InputError:
        return False


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 32 and _canonical_name(v)


@functools.lru_cache(maxsize=1 << 16)
def _canonical_name(v: str) -> bool:  # the same few thousand names, sync after sync
    try:
        return ConstituentName.parse(v).filename == v
    except InputError:
        return False


def _is_text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 4096 and v.isprintable()


def _opt(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _shape(fields: Mapping[str, Callable[[Any], bool]], optional: Iterable[str] = ()
           ) -> Callable[[Any], bool]:
    opt = set(optional)

    def check(v: Any) -> bool:
        return (isinstance(v, dict) and set(v) <= set(fields)
                and all(k in v for k in fields if k not in opt)
                and all(fields[k](x) for k, x in v.items()))
    return check


def _counts(v: Any) -> bool:
    return isinstance(v, dict) and len(v) <= 64 and all(
        isinstance(k, str) and k.replace("-", "").isalpha() and _is_int(x) for k, x in v.items())


def _names(v: Any) -> bool:
    return isinstance(v, list) and len(v) <= 100_000 and all(_is_name(x) for x in v)


_LISTED_AS = _shape({"size": _opt(_is_int), "mtime": _opt(_is_text)})
_LOCAL = _shape({"size": _is_int, "sha256": _is_sha})
_UPSTREAM = _shape({"size": _opt(_is_int), "mtime": _opt(_is_text), "sha256": _opt(_is_sha)})
_LISTING = _shape({"kind": lambda v: v in ("rsync", "http-index", "directory", "master-index"),
                   "entries": _is_int, "source": _is_text})

COMMON: dict[str, Callable[[Any], bool]] = {
    "schema": lambda v: v == SCHEMA, "seq": lambda v: _is_int(v) and v >= 1,
    "prev": _opt(_is_sha), "time": _is_date, "run": _is_text, "event": lambda v: v in EVENTS,
}
FIELDS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "sync-started": {"mirror": _is_text, "listing": _LISTING,
                     "subset": _is_text, "mirror_set": lambda v: v in ("full", "valid"),
                     "deep": lambda v: isinstance(v, bool), "reprocal": _is_text},
    "sync-finished": {"counts": _counts, "failed": _names, "seconds": lambda v: (
        isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e9)},
    "listed": {"name": _is_name, "mirror": _is_text, "size": _opt(_is_int),
               "mtime": _opt(_is_text)},
    "withdrawn": {"name": _is_name, "mirror": _is_text, "last_listed": _opt(_is_date)},
    "superseded": {"name": _is_name, "mirror": _is_text, "last_listed": _opt(_is_date)},
    "upstream-changed": {"name": _is_name, "mirror": _is_text, "before": _LISTED_AS,
                         "after": _LISTED_AS},
    "arrived": {"name": _is_name, "size": _is_int, "sha256": _is_sha, "mirror": _is_text,
                "checked": lambda v: v in ("sha256", "fits")},
    "found": {"name": _is_name, "file": _is_text, "size": _is_int, "sha256": _is_sha},
    "lost": {"name": _is_name},
    "conflict": {"name": _is_name, "mirror": _is_text, "local": _LOCAL, "upstream": _UPSTREAM,
                 "kept": lambda v: v == "local", "copy": _opt(_is_text)},
    "torn": {"lines": lambda v: _is_int(v) and v >= 1, "after": _opt(_is_sha)},
}


_CHECKS = {event: tuple({**COMMON, **fields}.items()) for event, fields in FIELDS.items()}
_KEYS = {event: frozenset(COMMON) | frozenset(fields) for event, fields in FIELDS.items()}


def record_problem(doc: Any) -> str | None:
    """Why ``doc`` is not a valid record of this schema, or ``None`` (the schema's rules)."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    event = doc.get("event")
    checks = _CHECKS.get(event) if isinstance(event, str) else None
    if checks is not None and doc.keys() == _KEYS[str(event)]:  # the common case: one pass
        for key, check in checks:
            if not check(doc[key]):
                return _problem(doc, key)
        return None
    for key in COMMON:  # say what is wrong, in the schema's order
        if key not in doc or not COMMON[key](doc[key]):
            return _problem(doc, key)
    fields = FIELDS[doc["event"]]
    for key, value in doc.items():
        if key not in COMMON and key not in fields:
            return f"{doc['event']} record with unknown field {key!r}"
        if not {**COMMON, **fields}[key](value):
            return _problem(doc, key)
    missing = [k for k in fields if k not in doc]
    return f"{doc['event']} record without {missing[0]!r}" if missing else None


def _problem(doc: dict[str, Any], key: str) -> str:
    if key not in doc:
        return f"no {key!r}"
    if key in COMMON:
        return f"{key!r} is {_short(doc[key])}"
    return f"{doc['event']} record: {key!r} is {_short(doc[key])}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- the replayed state ---------------------------------------------------------------------


@attrs.frozen
class Holding:
    """A file the repository holds (or held), as the history recorded it."""

    name: str
    size: int
    sha256: str
    since: CalDate
    """When it arrived (or was found: held *at least* since then)."""
    how: str
    """``arrived`` or ``found``."""
    mirror: str | None = None
    """Where it came from (``arrived`` only)."""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self) | {"since": self.since.text}


@attrs.frozen
class Holdings:
    """What the repository held at one moment, by the history."""

    date: CalDate
    files: Mapping[str, Holding]
    """Name -> the holding, for every file held then."""
    history_start: CalDate | None
    """The first record's time (``None``: no history)."""

    @property
    def known(self) -> bool:
        """The history covers ``date`` (it started at or before it)."""
        return self.history_start is not None and self.history_start <= self.date

    @property
    def found(self) -> tuple[str, ...]:
        """Files held then whose arrival predates the history (``found`` records)."""
        return tuple(n for n, h in self.files.items() if h.how == "found")

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.text, "known": self.known,
                "history_start": self.history_start.text if self.history_start else None,
                "files": [h.to_json() for h in self.files.values()]}


@attrs.frozen
class SyncRun:
    """One sync, from its ``sync-started`` record (and its ``sync-finished`` if any)."""

    run: str
    time: CalDate
    mirror: str
    subset: str
    mirror_set: str
    finished: CalDate | None = None
    counts: Mapping[str, int] = attrs.field(factory=dict)
    failed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "time": self.time.text, "mirror": self.mirror,
                "subset": self.subset, "mirror_set": self.mirror_set,
                "finished": self.finished.text if self.finished else None,
                "counts": dict(self.counts), "failed": list(self.failed)}


@attrs.frozen
class Torn:
    """Lines left by an interrupted append."""

    line: int
    """The first of them (1-based)."""
    lines: int
    repaired: bool
    """A later writer recorded them with a ``torn`` record (else: the file's last line)."""


@attrs.define
class History:
    """A repository directory's history, replayed (see the module docstring)."""

    path: Path
    records: list[dict[str, Any]] = attrs.Factory(list)
    """Every record, in order."""
    torn: list[Torn] = attrs.Factory(list)
    last_seq: int = 0
    last_sha: str | None = None
    """The chain's head: the sha256 of the last record line."""
    tail_lines: int = 0
    """Unparsable lines after the last record (a torn append not recorded yet)."""
    tail_sha: str | None = None
    """The sha256 of the last of them (what the ``torn`` record that follows names)."""
    ends_with_newline: bool = True

    @property
    def exists(self) -> bool:
        return bool(self.records) or bool(self.torn)

    @property
    def start(self) -> CalDate | None:
        return CalDate(self.records[0]["time"]) if self.records else None

    def of(self, *events: str) -> Iterator[dict[str, Any]]:
        return (r for r in self.records if r["event"] in events)

    # --- holdings ---------------------------------------------------------------------------

    def held_on(self, date: CalDate) -> Holdings:
        """What the directory held at ``date`` (see the module docstring)."""
        files: dict[str, Holding] = {}
        for r in self.of(*HOLDING_EVENTS):
            if r["time"] > date.text:
                break
            _apply_holding(files, r)
        return Holdings(date, files, self.start)

    def held(self) -> dict[str, Holding]:
        """What the directory holds now, by the history."""
        files: dict[str, Holding] = {}
        for r in self.of(*HOLDING_EVENTS):
            _apply_holding(files, r)
        return files

    def arrivals(self) -> dict[str, Holding]:
        """The first ``arrived`` or ``found`` record of every name ever held."""
        out: dict[str, Holding] = {}
        for r in self.of("arrived", "found"):
            if r["name"] not in out:
                out[r["name"]] = _holding(r)
        return out

    # --- mirrors ----------------------------------------------------------------------------

    def listing(self, mirror: str) -> dict[str, tuple[int | None, str | None]] | None:
        """What ``mirror`` listed at its last sync here (name -> (size, date) as listed), or
        ``None`` when it was never synced from."""
        if not any(r["mirror"] == mirror for r in self.of("sync-started")):
            return None
        out: dict[str, tuple[int | None, str | None]] = {}
        for r in self.of(*MIRROR_EVENTS):
            if r["mirror"] != mirror:
                continue
            if r["event"] == "listed":
                out[r["name"]] = (r["size"], r["mtime"])
            elif r["event"] == "upstream-changed":
                out[r["name"]] = (r["after"]["size"], r["after"]["mtime"])
            else:
                out.pop(r["name"], None)
        return out

    def last_listed(self, mirror: str) -> CalDate | None:
        """The time of the last sync from ``mirror``."""
        times = [r["time"] for r in self.of("sync-started") if r["mirror"] == mirror]
        return CalDate(times[-1]) if times else None

    def withdrawals(self) -> Withdrawals:
        """Every withdrawal period, per mirror (see the module docstring)."""
        open_: dict[tuple[str, str], dict[str, Any]] = {}
        out: list[Withdrawal] = []
        for r in self.of("withdrawn", "listed"):
            key = (r["mirror"], r["name"])
            if r["event"] == "withdrawn":
                open_.setdefault(key, r)
            elif key in open_:
                w = open_.pop(key)
                out.append(_withdrawal(w, CalDate(r["time"])))
        out.extend(_withdrawal(w, None) for w in open_.values())
        return Withdrawals(out)

    def conflicts(self) -> dict[str, dict[str, Any]]:
        """The last conflict recorded for each name."""
        return {r["name"]: r for r in self.of("conflict")}

    def syncs(self) -> list[SyncRun]:
        """Every sync, oldest first."""
        runs: dict[str, SyncRun] = {}
        for r in self.of("sync-started", "sync-finished"):
            if r["event"] == "sync-started":
                runs[r["run"]] = SyncRun(r["run"], CalDate(r["time"]), r["mirror"], r["subset"],
                                         r["mirror_set"])
            elif r["run"] in runs:
                runs[r["run"]] = attrs.evolve(runs[r["run"]], finished=CalDate(r["time"]),
                                              counts=r["counts"], failed=tuple(r["failed"]))
        return list(runs.values())

    # --- replay -----------------------------------------------------------------------------

    def _add(self, doc: dict[str, Any], line: bytes) -> None:
        self.records.append(doc)
        self.last_seq = doc["seq"]
        self.last_sha = sha256_line(line)


@functools.lru_cache(maxsize=4096)
def _when(text: str) -> CalDate:
    """The record's time as a date (validated when the record was read; a sync's records
    share their times)."""
    return CalDate(text)


def _holding(r: Mapping[str, Any]) -> Holding:
    return Holding(r["name"], r["size"], r["sha256"], _when(r["time"]), r["event"],
                   r.get("mirror"))


def _apply_holding(files: dict[str, Holding], r: Mapping[str, Any]) -> None:
    if r["event"] == "lost":
        files.pop(r["name"], None)
    elif r["name"] not in files:  # the first record of a stay is when it began
        files[r["name"]] = _holding(r)


def _withdrawal(w: Mapping[str, Any], until: CalDate | None) -> Withdrawal:
    last = w.get("last_listed")
    return Withdrawal(w["name"], CalDate(w["time"]), until, w["mirror"],
                      CalDate(last) if last else None)


def _damaged(path: Path, number: int, why: str) -> RepositoryError:
    return RepositoryError(
        f"the mirror history is damaged at line {number}: {why}", path=path,
        hint="it cannot be recreated: restore it from a backup; until then reprocal does not "
             "trust its dates (move it aside to go on without them)")


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """``(number, line without newline, had a newline)``, each at most :data:`MAX_LINE`."""
    with open_input(path, what="the mirror history", error=RepositoryError) as f:
        yield from read_lines(f, path)


def read_lines(f: BinaryIO, path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """The lines of an open history file (see :func:`_lines`)."""
    number = 0
    while True:
        line = f.readline(MAX_LINE + 2)
        if not line:
            return
        number += 1
        body = line[:-1] if line.endswith(b"\n") else line
        if len(body) > MAX_LINE:
            raise _damaged(path, number, f"a line longer than {MAX_LINE} bytes")
        yield number, body, line.endswith(b"\n")


def _parse(line: bytes) -> dict[str, Any] | None:
    """The record on ``line``, or ``None`` when the line is not a JSON object at all (torn).

    ``json.loads`` itself: a line is at most :data:`MAX_LINE` bytes (the bound
    :func:`reprocal.fs._json.parse_json` would check), Python bounds the digits of an integer
    and the nesting (both a ``ValueError``/``RecursionError`` here: not a record), and a
    record's shape is checked field by field after."""
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        return None
    return doc if isinstance(doc, dict) else None


def replay(path: Path, lines: Iterable[tuple[int, bytes, bool]]) -> History:
    """Check and replay the lines of a history (see the module docstring)."""
    h = History(path)
    bad: list[tuple[int, bytes]] = []
    for number, line, newline in lines:
        h.ends_with_newline = newline
        doc = _parse(line)
        if doc is None:
            bad.append((number, line))
            continue
        problem = record_problem(doc)
        if problem is not None:
            raise _damaged(path, number, problem)
        if doc["seq"] != h.last_seq + 1:
            raise _damaged(path, number, f"record {doc['seq']} follows record {h.last_seq}")
        if bad:
            if doc["event"] != "torn" or doc["lines"] != len(bad):
                raise _damaged(path, bad[0][0], "not a record, and no torn record after it")
            if doc["prev"] != sha256_line(bad[-1][1]) or doc["after"] != h.last_sha:
                raise _damaged(path, number, "the torn record does not match the lines before it")
            h.torn.append(Torn(bad[0][0], len(bad), True))
            bad = []
        elif doc["event"] == "torn":
            raise _damaged(path, number, "a torn record after a whole line")
        elif doc["prev"] != h.last_sha:
            raise _damaged(path, number, "its prev is not the sha256 of the line before "
                                         "(a line was edited, removed or reordered)")
        if h.records and doc["time"] < h.records[-1]["time"]:  # writers never go back
            raise _damaged(path, number, f"time {doc['time']} is before the previous record's")
        h._add(doc, line)
    if bad:
        # an append cut short (or one being written now): the last line(s), not recorded yet;
        # never trusted, and the next writer records them with a torn record
        h.torn.append(Torn(bad[0][0], len(bad), False))
        h.tail_lines = len(bad)
        h.tail_sha = sha256_line(bad[-1][1])
    return h


def read_history(directory: str | os.PathLike[str]) -> History:
    """The history of ``directory`` (empty when it has none); a damaged one is an error.

    Only a regular file is read (a link, FIFO or directory at its name is refused, a FIFO
    without blocking), each line within :data:`MAX_LINE` bytes; the directory ``.reprocal``
    must be a real directory."""
    path = history_path(directory)
    check_history_dir(directory, create=False)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return History(path)
    except OSError as exc:
        raise RepositoryError(f"cannot read the mirror history: {exc.strerror}", path=path
                              ) from None
    if stat.S_ISLNK(st.st_mode):  # it lives in the repository: never a pointer elsewhere
        raise RepositoryError("the mirror history's name holds a symbolic link, not a regular "
                              "file; reprocal leaves it alone", path=path,
                              hint=f"move {path} away if it is not yours")
    return replay(path, _lines(path))


def check_history_dir(directory: str | os.PathLike[str], *, create: bool) -> Path:
    """``DIR/.reprocal``: a real directory (never a link to elsewhere), made when ``create``."""
    d = history_dir(directory)
    try:
        st = os.lstat(d)
    except FileNotFoundError:
        if not create:
            return d
        try:
            os.mkdir(d, 0o755)
        except FileExistsError:
            pass
        except OSError as exc:
            raise RepositoryError(f"cannot create the history directory: {exc.strerror}",
                                  path=d, hint="sync into a writable repository") from None
        st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a directory"
        raise RepositoryError(f"{HISTORY_DIR} is {kind}; reprocal keeps its history in a "
                              "directory of its own and leaves this alone", path=d,
                              hint=f"move {d} away if it is not yours")
    return d


def dumps_record(doc: Mapping[str, Any]) -> bytes:
    """One record as its line: compact JSON, keys sorted, ASCII (no newline)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


__all__ = ["EVENTS", "HISTORY_DIR", "HISTORY_NAME", "SCHEMA", "SCHEMA_FILE", "History",
           "Holding", "Holdings", "SyncRun", "Torn", "check_history_dir", "dumps_record",
           "history_path", "read_history", "record_problem", "replay", "sha256_line"]
