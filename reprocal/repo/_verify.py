"""Verification: are the pinned bytes of each constituent really in the repository?

Three levels, each including the one before:

``stat``
    present (once) with the pinned size, and unchanged since it was last verified: its
    (size, mtime, inode, ctime) still match the :class:`~reprocal.repo._verifycache.VerifyCache` entry
    made when its bytes were last read. Costs a directory listing and one query. A file never
    verified on this machine passes on its size alone (the report says so: ``basis='size'``).
``fits``
    also the FITS structure (no truncation, nothing after the last HDU, every EXTSEQID
    extension there), the CHECKSUM/DATASUM of every HDU on the raw bytes, and the header
    naming the same constituent as the file (see :mod:`reprocal.fits._checksum`).
``full``
    also the sha256 of the bytes against the pinned one, computed in the same read as the FITS
    sums (worker threads, streaming; each file is read once).

What each level can see: ``stat`` cannot see bytes changed before the first verification on
this machine, nor changes that keep size, mtime, inode and ctime (raw device writes, bit rot);
``fits`` cannot see a file replaced by another valid one of the same name and header (only the
pin knows the bytes), nor anything in an HDU without CHECKSUM; ``full`` sees any byte.

Only ``stat`` rests on the verify cache. ``fits`` and ``full`` read every present file every
time (``full`` is the scrub: it is what catches bit rot the stat key cannot see), and store what
they found for later ``stat`` runs. A caller that needs the facts established rather than a
scrub (``rebuild``, ``run``) passes ``reuse``: then facts the cache holds about the same bytes
(same stat key) stand in for reading them, and the report counts them as ``reused``.

Per constituent the outcome is one of :class:`Status`; the whole is a :class:`VerifyReport`.
Nothing is raised for a bad file: bulk checks report.
"""

from __future__ import annotations

import enum
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from reprocal.core._names import ConstituentName
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.fs._hashing import Hasher, hash_files
from reprocal.progress import NullProgress, Progress
from reprocal.repo._ccfpath import ccf_dirs
from reprocal.repo._verifycache import CacheEntry, FileStat, VerifyCache, now_ns
from reprocal.repo._walk import ListedFile, by_name, constituent_files

LEVELS = ("stat", "fits", "full")
if TYPE_CHECKING:  # the FITS engine is imported when a level reads files: never for stat
    from reprocal.fits._checksum import FitsCheck

    Reads = Callable[[ListedFile], tuple[FitsCheck | OSError | None, str | OSError | None]]

_SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")


class Status(enum.Enum):
    """The verdict on one pinned constituent."""

    OK = "ok"
    MISSING = "missing"
    """In none of the directories."""
    DUPLICATE = "duplicate"
    """At two or more paths: reprocal never picks one silently."""
    WRONG_SIZE = "wrong-size"
    """Present, but not the pinned size (truncated, or another file)."""
    CORRUPT = "corrupt"
    """FITS checksum failure, header/name disagreement, or sha256 differing from the pin."""
    MODIFIED = "modified"
    """Right size, but changed since last verified (``stat`` level): check it with
    ``--level full``."""


def _canonical_name(value: str) -> str:
    return ConstituentName.parse(value).filename


def _check_size(_self: object, _attr: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"size {value!r} is not a non-negative integer")


def _sha256(value: str) -> str:
    text = value.lower() if isinstance(value, str) else value
    if not isinstance(text, str) or not _SHA256_RE.match(text):
        raise InputError(f"sha256 {value!r} is not 64 hexadecimal digits")
    return text


@attrs.frozen
class Expected:
    """A constituent as pinned: name, size and sha256."""

    filename: str = attrs.field(converter=_canonical_name)
    """Canonical constituent file name (validated: no path can sneak in)."""
    size: int = attrs.field(validator=_check_size)
    """Pinned size in bytes."""
    sha256: str = attrs.field(converter=_sha256)
    """Pinned sha256, lower-case hex."""

    @classmethod
    def from_pinned(cls, pinned: Any) -> Expected:
        """From a :class:`reprocal.state._manifest.PinnedFile` (or anything with the same fields)."""
        return cls(pinned.filename, pinned.size, pinned.sha256)


@attrs.frozen
class FileResult:
    """The verdict on one pinned constituent."""

    filename: str
    status: Status
    path: Path | None = None
    """Where it was found (``None`` when missing or duplicated)."""
    detail: str = ""
    """What is wrong, or what the verdict rests on, in words."""
    basis: str = ""
    """What was established: ``size`` (size only, never verified here), ``cache`` (unchanged
    since verified), ``fits`` (checksums now), ``sha256`` (hashed now, or reused)."""
    paths: tuple[Path, ...] = ()
    """Every path holding the name (for duplicates)."""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_json(self) -> dict[str, Any]:
        return {"file": self.filename, "status": self.status.value,
                "path": str(self.path) if self.path else None, "detail": self.detail,
                "basis": self.basis, "paths": [str(p) for p in self.paths]}


@attrs.frozen
class VerifyReport:
    """Per-constituent outcomes of :func:`verify_files`."""

    level: str
    dirs: tuple[Path, ...]
    results: tuple[FileResult, ...]
    hashed: int = 0
    """Files hashed in this run."""
    fits_checked: int = 0
    """Files whose FITS checksums were computed in this run."""
    reused: int = 0
    """Files whose facts came from the verify cache."""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        """``{status: n}`` for every status (zeros included), in :class:`Status` order."""
        c = Counter(r.status for r in self.results)
        return {s.value: c.get(s, 0) for s in Status}

    def problems(self) -> list[FileResult]:
        return [r for r in self.results if not r.ok]

    def result(self, filename: str) -> FileResult:
        name = _canonical_name(filename)
        for r in self.results:
            if r.filename == name:
                return r
        raise KeyError(filename)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "ok": self.ok, "dirs": [str(d) for d in self.dirs],
                "counts": self.counts(), "hashed": self.hashed,
                "fits_checked": self.fits_checked, "reused": self.reused,
                "results": [r.to_json() for r in self.results]}


def verify_files(
    expected: Iterable[Expected],
    dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    *,
    level: str = "stat",
    jobs: int | None = None,
    cache: VerifyCache | None = None,
    reuse: bool = False,
    progress: Progress | None = None,
    hasher: Hasher | None = None,
    names: Names = PARAMETERS,
    listed: Mapping[Path, Sequence[ListedFile]] | None = None,
) -> VerifyReport:
    """Verify every expected constituent in ``dirs`` (colon-separated string, a sequence, or
    ``None`` for ``$SAS_CCFPATH``) at ``level``. ``listed``: each directory's files as
    :func:`reprocal.repo._walk.list_files` listed them just now (a caller that also refreshes
    the catalogue walks once for both).

    The files are those :func:`reprocal.repo._walk.constituent_files` finds (any case, matched
    by cifbuild's default glob; the directories themselves, not their subdirectories).
    ``cache`` remembers what was established (``None``: nothing is remembered, so ``stat`` rests
    on sizes). At ``fits`` and ``full`` every file is read, unless ``reuse``: then what the
    cache vouches for is not read again (see the module docstring). ``hasher`` replaces
    :func:`reprocal.fs._hashing.sha256_file` (tests count calls through it).
    """
    if level not in LEVELS:
        raise InputError(f"{names('level')} {level!r} is not one of {', '.join(LEVELS)}")
    items = _each_once(expected)
    dirs_t = ccf_dirs(dirs, option="dirs")
    bar: Progress = progress if progress is not None else NullProgress()
    started = now_ns()
    found = (constituent_files(dirs_t) if listed is None
             else by_name(f for d in dirs_t for f in listed[d]))
    results, todo = _by_listing(items, found, dirs_t)
    bar.update(len(items) - len(todo))  # decided by the listing alone
    vouch = _Vouch.of(cache, todo)
    if level == "stat":
        results.update(vouch.verdicts(todo))
        bar.update(len(todo))
        return _report(level, dirs_t, items, results,
                       reused=sum(vouch.trusted(loc) is not None for _, loc in todo))

    # fits / full: read every file (with ``reuse``, only what the cache cannot vouch for); one
    # pass per file gives the FITS sums and (full) the sha256, in worker threads.
    need = [(e, loc) for e, loc in todo if not reuse or vouch.must_read(loc, level)]
    bar.update(len(todo) - len(need))  # vouched for by the cache
    reads = _read(need, level, jobs=jobs, progress=bar, hasher=hasher)
    fresh: list[CacheEntry] = []
    for e, loc in todo:
        prior = vouch.trusted(loc) if reuse else None
        results[e.filename], entry = _read_verdict(e, loc, level, *reads(loc), prior,
                                                   started=started)
        if entry is not None:
            fresh.append(entry)
    if cache is not None:
        cache.store(fresh)
    return _report(level, dirs_t, items, results, hashed=len(need) if level == "full" else 0,
                   fits_checked=len(need), reused=len(todo) - len(need))


Listed = list[tuple[Expected, ListedFile]]
"""Expected constituents each found once with the pinned size, and where."""


def _each_once(expected: Iterable[Expected]) -> list[Expected]:
    items = list(expected)
    dupes = sorted(n for n, k in Counter(e.filename for e in items).items() if k > 1)
    if dupes:
        raise InputError(f"{dupes[0]} is expected twice; each constituent is listed once")
    return items


def _by_listing(items: list[Expected], found: Mapping[str, Sequence[ListedFile]],
                dirs: tuple[Path, ...]) -> tuple[dict[str, FileResult], Listed]:
    """What the directory listing alone decides (missing, duplicate, wrong size), and the rest:
    the files left to the cache or to reading."""
    results: dict[str, FileResult] = {}
    todo: Listed = []
    for e in items:
        where = found.get(e.filename, [])
        if not where:
            results[e.filename] = FileResult(
                e.filename, Status.MISSING, detail=f"not in {':'.join(map(str, dirs))}")
        elif len(where) > 1:
            results[e.filename] = FileResult(
                e.filename, Status.DUPLICATE, paths=tuple(w.path for w in where),
                detail=f"present {len(where)} times: " + ", ".join(str(w.path) for w in where))
        elif where[0].stat.size != e.size:
            results[e.filename] = FileResult(
                e.filename, Status.WRONG_SIZE, where[0].path,
                detail=f"size {where[0].stat.size}, pinned {e.size}")
        else:
            todo.append((e, where[0]))
    return results, todo


@attrs.frozen
class _Vouch:
    """What the verify cache knows of the listed files, and which of its entries it vouches
    for (not made within a clock tick of a change: see :meth:`CacheEntry.trusted`)."""

    known: dict[str, CacheEntry]
    racy_ns: int

    @classmethod
    def of(cls, cache: VerifyCache | None, todo: Listed) -> _Vouch:
        if cache is None:
            return cls({}, 0)
        return cls(cache.lookup([loc.real for _, loc in todo]), cache.racy_ns)

    def trusted(self, loc: ListedFile) -> CacheEntry | None:
        entry = self.known.get(loc.real)
        return entry if entry is not None and entry.trusted(loc.stat, self.racy_ns) else None

    def must_read(self, loc: ListedFile, level: str) -> bool:
        """The cache does not vouch for what ``level`` needs to know of the file."""
        t = self.trusted(loc)
        return t is None or t.fits_ok is None or (level == "full" and t.sha256 is None)

    def verdicts(self, todo: Listed) -> dict[str, FileResult]:
        """The ``stat``-level verdicts."""
        return {e.filename: _from_cache(e, loc, self.known.get(loc.real), self.trusted(loc))
                for e, loc in todo}


def _read(need: Listed, level: str, *, jobs: int | None, progress: Progress,
          hasher: Hasher | None) -> Reads:
    """Read the files in ``need``: the FITS check of each, and at ``full`` its sha256 (in the
    same pass unless ``hasher`` is given). Answers, for any listed file, what was read of it."""
    from reprocal.fits._checksum import FitsCheck, check_files

    fused = level == "full" and hasher is None
    checks = check_files([(loc.real, e.filename) for e, loc in need], sha256=fused, jobs=jobs,
                         progress=progress)
    digests: dict[str, str | OSError] = {}
    if level == "full" and not fused:
        digests = dict(hash_files([loc.real for _, loc in need], jobs=jobs, hasher=hasher))

    def of(loc: ListedFile) -> tuple[FitsCheck | OSError | None, str | OSError | None]:
        fc = checks.get(loc.real)
        return fc, digests.get(loc.real, fc.sha256 if isinstance(fc, FitsCheck) else None)

    return of


def _read_verdict(e: Expected, loc: ListedFile, level: str, fc: FitsCheck | OSError | None,
                  digest: str | OSError | None, prior: CacheEntry | None, *,
                  started: int) -> tuple[FileResult, CacheEntry | None]:
    """The ``fits``/``full`` verdict on a file from what was read of it (``fc``, ``digest``:
    ``None`` when not read) or what the cache vouched for (``prior``), and the cache entry to
    store for what was read (``None``: nothing new, or it changed while being read)."""
    failure = fc if isinstance(fc, OSError) else digest if isinstance(digest, OSError) else None
    if failure is not None:
        return FileResult(e.filename, Status.CORRUPT, loc.path,
                          detail=f"cannot read: {failure.strerror}"), None
    from reprocal.fits._checksum import FitsCheck

    check = fc if isinstance(fc, FitsCheck) else None
    fits_ok, fits_problem, fits_kind = _fits_facts(check, prior)
    sha = digest if isinstance(digest, str) else prior.sha256 if prior else None
    unchanged, entry = True, None
    if check is not None:
        unchanged = unchanged_since_listed(loc)
        if unchanged:
            entry = CacheEntry(loc.real, loc.stat, started, sha, fits_ok, fits_problem, fits_kind)
    return _verdict(e, loc, level, fits_ok, fits_problem, sha, check, unchanged=unchanged), entry


def _fits_facts(check: FitsCheck | None, prior: CacheEntry | None
                ) -> tuple[bool | None, str | None, str | None]:
    """(ok, problem, kind) of the FITS check: as read now, else as the cache remembers."""
    if check is not None:
        return check.ok, check.problem, check.kind or None
    if prior is not None:
        return prior.fits_ok, prior.fits_problem, prior.fits_kind
    return None, None, None  # pragma: no cover - every file is either read or vouched for


def hash_and_remember(
    paths: Iterable[str | os.PathLike[str]],
    *,
    cache: VerifyCache | None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> dict[str, str | OSError]:
    """sha256 of every file, like :func:`reprocal.fs._hashing.hash_files` (same keys and values),
    read in the same pass as its FITS check, both remembered in ``cache``: after ``pin`` the
    first ``verify`` then costs a stat walk instead of a re-read."""
    started = now_ns()
    out: dict[str, str | OSError] = {}
    located: dict[str, ListedFile] = {}
    for p in paths:
        key = os.fspath(p)
        try:
            located[key] = ListedFile.at(key)
        except OSError as exc:
            out[key] = exc
    from reprocal.fits._checksum import check_files

    checks = check_files([(loc.real, loc.name or loc.path.name) for loc in located.values()],
                         sha256=True, jobs=jobs, progress=progress)
    fresh = []
    for key, loc in located.items():
        fc = checks[loc.real]
        if isinstance(fc, OSError):
            out[key] = fc
            continue
        assert fc.sha256 is not None
        out[key] = fc.sha256
        if unchanged_since_listed(loc):
            fresh.append(CacheEntry(loc.real, loc.stat, started, fc.sha256, fc.ok, fc.problem,
                                    fc.kind or None))
    if cache is not None:
        cache.store(fresh)
    return out


def known_hashes(
    files: Sequence[ListedFile],
    *,
    cache: VerifyCache | None,
    jobs: int | None = None,
    rehash: bool = False,
    progress: Progress | None = None,
) -> dict[str, str | OSError]:
    """sha256 of each listed file, keyed by ``str(file.path)``: the cache's where it vouches
    for the same bytes (same stat key, not racily clean), else read now (with the FITS check)
    and remembered. An untouched, already verified repository is fingerprinted without a read."""
    known = cache.lookup([f.real for f in files]) if cache is not None and not rehash else {}
    racy_ns = cache.racy_ns if cache is not None else 0
    out: dict[str, str | OSError] = {}
    need = []
    for f in files:
        entry = known.get(f.real)
        if entry is not None and entry.sha256 is not None and entry.trusted(f.stat, racy_ns):
            out[str(f.path)] = entry.sha256
        else:
            need.append(str(f.path))
    if progress is not None:
        progress.update(len(files) - len(need))
    if need:
        out.update(hash_and_remember(need, cache=cache, jobs=jobs, progress=progress))
    return out


def unchanged_since_listed(loc: ListedFile) -> bool:
    """The file's stat is what it was when listed (it did not change while being read)."""
    try:
        return FileStat.of(os.stat(loc.real)) == loc.stat
    except OSError:
        return False


def _from_cache(e: Expected, loc: ListedFile, entry: CacheEntry | None,
                trusted: CacheEntry | None) -> FileResult:
    """The ``stat``-level verdict on a file of the pinned size."""
    if entry is None:
        return FileResult(e.filename, Status.OK, loc.path, basis="size",
                          detail="pinned size; never verified here (run --level full once)")
    if trusted is None and entry.stat == loc.stat:
        return FileResult(e.filename, Status.OK, loc.path, basis="size",
                          detail="pinned size; last verified within a clock tick of a change, "
                                 "so not vouched for (run --level full)")
    if trusted is None:
        return FileResult(e.filename, Status.MODIFIED, loc.path, basis="cache",
                          detail="changed since last verified (mtime/inode/ctime differ); "
                                 "check it with --level full")
    if trusted.fits_ok is False:
        return FileResult(e.filename, Status.CORRUPT, loc.path, basis="cache",
                          detail=f"when last verified: {trusted.fits_problem}")
    if trusted.sha256 is not None and trusted.sha256 != e.sha256:
        return FileResult(e.filename, Status.CORRUPT, loc.path, basis="cache",
                          detail=f"when last verified: sha256 {trusted.sha256}, "
                                 f"pinned {e.sha256}")
    return FileResult(e.filename, Status.OK, loc.path, basis="cache",
                      detail=f"unchanged since verified at level {trusted.level or 'stat'}")


def _verdict(e: Expected, loc: ListedFile, level: str, fits_ok: bool | None,
             fits_problem: str | None, sha: str | None, fc: FitsCheck | None,
             *, unchanged: bool) -> FileResult:
    basis = "sha256" if level == "full" else "fits"
    if fits_ok is False:
        detail = fits_problem or "FITS check failed"
        if level == "full" and sha != e.sha256:
            detail += "; sha256 differs from the pinned one"
        return FileResult(e.filename, Status.CORRUPT, loc.path, basis=basis, detail=detail)
    if level == "full" and sha != e.sha256:
        return FileResult(e.filename, Status.CORRUPT, loc.path, basis=basis,
                          detail=f"sha256 {sha}, pinned {e.sha256}")
    if not unchanged:
        return FileResult(e.filename, Status.MODIFIED, loc.path, basis=basis,
                          detail="changed while being verified; verify again")
    note = "reused from the verify cache" if fc is None else ""
    if fc is not None and fc.unchecked:
        where = (", ".join(fc.unchecked) if len(fc.unchecked) <= 3
                 else f"{len(fc.unchecked)} HDUs")
        note = (f"no CHECKSUM/DATASUM in {where}: structure checked, bytes only by sha256"
                if level == "fits" else f"no CHECKSUM/DATASUM in {where}")
    return FileResult(e.filename, Status.OK, loc.path, basis=basis, detail=note)


def _report(level: str, dirs: tuple[Path, ...], items: list[Expected],
            results: dict[str, FileResult], **counts: int) -> VerifyReport:
    return VerifyReport(level, dirs, tuple(results[e.filename] for e in items), **counts)



__all__ = ["Expected", "FileResult", "LEVELS", "Status", "VerifyReport", "hash_and_remember",
           "unchanged_since_listed", "verify_files"]
