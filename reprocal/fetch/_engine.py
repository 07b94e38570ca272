"""Fetch the gaps: bring pinned constituents that are missing or wrong into a repository.

Guarantees, whatever happens (error, Ctrl-C, ``kill -9``, a full disk):

* bytes are written only to ``DEST/.NAME.part``, never to a constituent's own name; the file is
  renamed into place (``os.replace``) only after its size and sha256 match the pin, so a wrong or
  partial file never appears under a constituent name; a present-but-wrong file is replaced
  atomically by the verified one, never deleted beforehand;
* nothing is ever deleted except our own ``.part`` files once their bytes are known to be wrong
  (the ``rsync --delete`` trap); a ``.part`` left by an interrupted run is resumed by the next;
* one fetch at a time per repository (``fcntl.flock`` on ``DEST/.reprocal-fetch.lock``): a second
  fetch waits, then finds the files the first one installed and skips them;
* temporary and lock files are opened by the one safe-create primitive
  (:func:`reprocal.fs._inputs.open_private`): a link, FIFO, directory or device planted at
  ``.NAME.part`` or at the lock file's name is reported and left alone, never followed;
* a mirror that cannot be reached at all is marked down for the rest of the run after its first
  failure (:mod:`reprocal.fetch._health`); when no mirror could be reached the report says so
  (:meth:`FetchReport.failure` is a :class:`~reprocal.errors.NetworkError`, exit 5);
* names are matched in any case (:mod:`reprocal.repo._walk`): a constituent present as
  ``emos1_x_0001.ccf`` is checked (and replaced if wrong) at that path, never installed a second
  time as ``EMOS1_X_0001.CCF``.

Each file tries the mirrors in order; each failed attempt is recorded with a kind (see
:data:`reprocal.fetch._transports.ERROR_KINDS`) and the next mirror is tried. The result is a
:class:`FetchReport`, never an exception for one bad file. What must be fetched is decided by
:mod:`reprocal.fetch._plan`; the temporary file is :mod:`reprocal.fetch._partfile`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Literal

import attrs

from reprocal.errors import (
    PARAMETERS,
    CheckFailed,
    InputError,
    Names,
    NetworkError,
    RepositoryError,
    ReprocalError,
)
from reprocal.fetch._health import MirrorHealth
from reprocal.fetch._item import Wanted
from reprocal.fetch._mirrors import Mirror
from reprocal.fetch._partfile import PartFile, part_path  # noqa: F401 - part_path: part of the API
from reprocal.fetch._plan import (
    FetchItem,
    Level,
    PlanEntry,
    _unique,
    plan,
)
from reprocal.fetch._transports import (
    LocalWriteError,
    RetryPolicy,
    TransferError,
    Transport,
    Transports,
)
from reprocal.fs._inputs import UnsafeFileError, open_private
from reprocal.fs._limits import carry_context
from reprocal.progress import Progress, or_null

log = logging.getLogger(__name__)

LOCK_NAME = ".reprocal-fetch.lock"
NO_MIRROR_HINT = "give --mirror URL or set REPROCAL_MIRRORS"
DEFAULT_POLICY = RetryPolicy()
"""The policy of the default limits (:meth:`RetryPolicy.of` gives the one of the limits in force)."""
BAD_BYTES = ("size-mismatch", "hash-mismatch", "content-mismatch")
"""Failure kinds that condemn the bytes received (they are discarded, never resumed)."""
INTERRUPT_GRACE = 1.0
"""Seconds an interrupted fetch waits for its workers to stop before giving up on them."""
RESUMED = "(.part file of an earlier run)"
"""The ``mirror`` of a result whose bytes were all in the ``.part`` file already."""


# --- report -----------------------------------------------------------------------------------

Status = Literal["fetched", "present", "failed"]


@attrs.frozen
class Attempt:
    """One failed try of one mirror for one file."""

    mirror: str
    """The mirror as given (base URL, directory or rsync source)."""
    kind: str
    """One of :data:`reprocal.fetch._transports.ERROR_KINDS` (hash-mismatch is not a network failure)."""
    message: str
    """What happened, with the URL."""


@attrs.frozen
class FetchResult:
    """The outcome for one pinned file."""

    filename: str
    """Constituent name."""
    status: Status
    """``fetched`` (installed and verified now), ``present`` (already right) or ``failed``."""
    mirror: str | None = None
    """The mirror that served the installed bytes (None unless fetched)."""
    bytes: int = 0
    """Bytes received over all attempts in this run."""
    seconds: float = 0.0
    """Wall time spent on this file."""
    attempts: tuple[Attempt, ...] = ()
    """Failed tries, in order, including retried ones on a mirror that finally served it."""
    sha256: str | None = None
    """The sha256 of the installed bytes (fetched only; for a file without a pin too)."""
    size: int | None = None
    """The size of the installed file (fetched only)."""

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "status": self.status, "mirror": self.mirror,
                "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "attempts": [attrs.asdict(a) for a in self.attempts], "sha256": self.sha256}


@attrs.frozen
class FetchReport:
    """Per-file outcomes of one fetch into one directory."""

    dest: Path
    """The repository directory written to."""
    results: tuple[FetchResult, ...]
    """One result per pinned file, sorted by file name."""
    down: tuple[tuple[str, str], ...] = ()
    """``(mirror, reason)`` of every mirror that could not be reached and was skipped for the
    rest of the run."""

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> tuple[FetchResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.results)

    @property
    def unreached(self) -> tuple[FetchResult, ...]:
        """Failed files whose every attempt found its mirror unreachable (never a byte)."""
        return tuple(r for r in self.failed
                     if r.attempts and all(a.kind == "unreachable" for a in r.attempts))

    def failure(self, mirror_option: str = "--mirror") -> ReprocalError | None:
        """The error a caller raises for this report: ``None`` when every file is in place; a
        :class:`NetworkError` (exit 5) when the files failed only because no mirror could be
        reached; a :class:`CheckFailed` (exit 1) otherwise. ``mirror_option``: what the caller
        calls the mirrors (named in the advice)."""
        if self.ok:
            return None
        n, total = len(self.failed), len(self.results)
        if self.down and len(self.unreached) == n:
            mirrors = "; ".join(f"{m} ({why})" for m, why in self.down)
            return NetworkError(f"no mirror could be reached, so {n} of {total} files were not "
                                f"fetched into {self.dest}: {mirrors}",
                                hint="check the network connection, or give a reachable "
                                     f"{mirror_option}")
        return CheckFailed(f"{n} of {total} files could not be fetched into {self.dest}",
                           hint=f"see the failures above; try another {mirror_option}")

    def to_json(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "ok": self.ok,
                "counts": {s: self.count(s) for s in ("fetched", "present", "failed")},
                "bytes": self.bytes, "down": [{"mirror": m, "reason": r} for m, r in self.down],
                "files": [r.to_json() for r in self.results]}


Check = Callable[[Path, Wanted], None]


def _attempts(part: PartFile) -> tuple[Attempt, ...]:
    return tuple(Attempt(*a) for a in part.attempts)


def _fetch_one(entry: PlanEntry, mirrors: Sequence[Mirror], transport: Transport,
               progress: Progress, cancel: threading.Event,
               check: Check | None = None, health: MirrorHealth | None = None) -> FetchResult:
    item = entry.item
    dest = entry.directory
    started = time.monotonic()
    health = health or MirrorHealth()
    target = entry.path  # a wrong file is replaced at its own path, whatever its case
    try:
        part = PartFile(part_path(dest, item.filename), item, progress=progress, cancel=cancel)
    except OSError as exc:  # UnsafeFileError included: a planted link, FIFO or directory
        return FetchResult(item.name, "failed", seconds=time.monotonic() - started,
                           attempts=(Attempt("", "local-error",
                                             f"{exc.filename}: {exc.strerror}"),))
    try:
        if item.pinned and part.offset == item.size:
            # an earlier run got every byte but was stopped before the rename
            try:
                part.verify(check)
            except TransferError:
                part.restart()
            else:
                part.install(target)
                return FetchResult(item.name, "fetched", mirror=RESUMED,
                                   seconds=time.monotonic() - started, sha256=part.digest,
                                   size=part.offset)
        for mirror in mirrors:
            part.mirror = str(mirror)
            why_down = health.down(mirror)
            if why_down is not None:
                part.note("unreachable", f"not tried: down since an earlier file ({why_down})")
                continue
            from_zero_again = True
            while True:
                resumed = part.offset > 0
                try:
                    transport(mirror, item.remote, part)
                    part.verify(check)
                except TransferError as exc:
                    part.note(exc.kind, exc.message)
                    if exc.kind == "unreachable":
                        health.mark_down(mirror, exc.message)
                    if exc.kind in BAD_BYTES:
                        part.restart()  # these bytes are wrong: never keep them
                        if resumed and from_zero_again:
                            # the old partial bytes may be the culprit: this mirror gets one
                            # more chance from byte zero
                            from_zero_again = False
                            continue
                    break
                part.install(target)
                return FetchResult(item.name, "fetched", mirror=str(mirror),
                                   bytes=part.received, seconds=time.monotonic() - started,
                                   attempts=_attempts(part), sha256=part.digest,
                                   size=part.offset)
        return FetchResult(item.name, "failed", bytes=part.received,
                           seconds=time.monotonic() - started, attempts=_attempts(part))
    except (OSError, LocalWriteError) as exc:  # our side (disk full): the target is untouched
        error = exc.error if isinstance(exc, LocalWriteError) else exc
        part.note("local-error", f"{error.filename or part.path}: {error.strerror or error}")
        return FetchResult(item.name, "failed", bytes=part.received,
                           seconds=time.monotonic() - started, attempts=_attempts(part))
    finally:
        part.discard()


# --- the lock and the engine ------------------------------------------------------------------


@contextlib.contextmanager
def repository_lock(dest: Path, *, on_wait: Callable[[], None] | None = None,
                    wait: bool = True) -> Iterator[None]:
    """Hold ``DEST/.reprocal-fetch.lock`` exclusively; wait (calling ``on_wait``) if taken, or
    raise BlockingIOError at once when ``wait`` is false.

    The lock file is opened by :func:`reprocal.fs._inputs.open_private`: anything but a regular
    file at its name (a link, a FIFO, a directory) is a :class:`RepositoryError`, left alone; a
    repository that cannot be written (read-only, permissions) is one too."""
    path = dest / LOCK_NAME
    try:
        fd = open_private(path)
    except UnsafeFileError as exc:
        raise RepositoryError(f"the fetch lock file is {exc.kind}, not a regular file; "
                              "reprocal leaves it alone", path=path,
                              hint=f"remove {path} if it is not yours, then fetch again") from None
    except OSError as exc:
        raise RepositoryError(f"cannot write to the repository: {exc.strerror or exc}",
                              path=dest, hint="fetch into a writable directory (check "
                              "--ccf-path / SAS_CCFPATH and its permissions)") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock; the lock file stays (deleting it would race)


def _lock_others(stack: contextlib.ExitStack, dirs: Iterable[Path]) -> dict[Path, str]:
    """Lock the other directories a fetch must write to (a wrong file found there).

    Never waits: the destination's lock is held already, and waiting for a second one could
    deadlock with a peer whose path lists the directories the other way round. Returns why
    each directory could not be locked (busy, or not writable: then it cannot be fixed)."""
    refused = {}
    for d in sorted(set(dirs)):
        try:
            stack.enter_context(repository_lock(d, wait=False))
        except BlockingIOError:
            refused[d] = f"{d} is being written by another fetch; run again when it has finished"
        except RepositoryError as exc:
            refused[d] = f"{exc.one_line()}; cannot replace a wrong file there"
    return refused


def _misnamed(entry: PlanEntry) -> str:
    """Why a name held by a file cifbuild cannot see is not fetched (nothing is renamed or
    deleted for the user, and a second copy under the canonical name would be a duplicate)."""
    return (f"{entry.path} holds this constituent in a case cifbuild's file glob does not "
            f"match; rename it to {entry.item.filename} and fetch again")


def _others(also: Sequence[Path | str], dest: Path | str, names: Names = PARAMETERS
            ) -> list[Path]:
    """The other repository directories, each once, without the destination however spelt."""
    seen = {Path(dest).resolve()}
    out = []
    for d in also:
        p = Path(d)
        if not p.is_dir():
            raise RepositoryError(f"{p} is not a directory",
                                  hint=f"check {names('ccf_path')} / SAS_CCFPATH")
        if p.resolve() not in seen:
            seen.add(p.resolve())
            out.append(p)
    return out


def _repository(dest_dir: Path | str) -> Path:
    dest = Path(dest_dir)
    if dest.exists() and not dest.is_dir():
        raise RepositoryError(f"{dest} is not a directory", hint="give the repository directory")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RepositoryError(f"cannot create repository directory: {exc.strerror}",
                              path=dest) from None
    return dest


def fetch(items: Iterable[FetchItem], dest_dir: Path | str, mirrors: Sequence[Mirror], *,
          jobs: int = 4, progress: Progress | None = None,
          sleep: Callable[[float], None] = time.sleep, transport: Transport | None = None,
          policy: RetryPolicy | None = None, level: Level = "sha256",
          on_wait: Callable[[], None] | None = None,
          check: Check | None = None, also: Sequence[Path | str] = (),
          on_done: Callable[[FetchResult], None] | None = None,
          names: Names = PARAMETERS) -> FetchReport:
    """Bring every pinned file that is missing or wrong into ``dest_dir``; report each file.

    ``transport`` defaults to the real ones (HTTP, file copy, rsync); ``sleep`` is the backoff
    pause (tests pass a no-op). ``progress`` is told, once the lock is held and the plan made,
    ``start(bytes to receive, items=files to fetch)``; then ``update(n)`` for every chunk
    received and ``finished(name)`` for every file fetched or failed (from worker threads).
    ``also``: the repository's other directories, where a pinned name
    already present is checked (and replaced if wrong) instead of being duplicated into
    ``dest_dir``. ``check(part_path, item)`` runs on bytes that passed the size and
    sha256 tests, before they are installed; it raises :class:`TransferError` (kind
    ``content-mismatch``) to refuse them (for files without a pin, see :mod:`reprocal.fetch._gaps`).
    ``on_done(result)`` is called in the calling thread as each file is fetched or fails (the
    sync records each arrival as it happens, so that a ``kill -9`` loses none).
    """
    items = _unique(items)
    if not mirrors:
        raise InputError("no mirror to fetch from", hint=NO_MIRROR_HINT)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 64:
        raise InputError(f"{names('jobs')} {jobs!r} is not an integer in 1..64")
    policy = policy or RetryPolicy.of()
    transport = transport or Transports.default(mirrors, policy=policy, sleep=sleep)
    others = _others(also, dest_dir, names)
    dest = _repository(dest_dir)
    with repository_lock(dest, on_wait=on_wait), contextlib.ExitStack() as stack:
        # planned under the lock, so that what a peer installed meanwhile is seen as present
        the_plan = plan(items, dest, level=level, also=others, jobs=jobs)
        elsewhere = {e.directory for e in the_plan.needed
                     if e.directory != dest and e.state != "misnamed"}
        refused = _lock_others(stack, elsewhere)
        if elsewhere:  # look again, now that those directories are ours too
            the_plan = plan(items, dest, level=level, also=others, jobs=jobs)
        bar = or_null(progress)
        bar.start(the_plan.remaining, items=len(the_plan.needed))
        results = {e.item.filename: FetchResult(e.item.filename, "present")
                   for e in the_plan.entries if not e.needed}
        blocked = {e.item.filename: _misnamed(e) for e in the_plan.needed
                   if e.state == "misnamed"}
        blocked.update({e.item.filename: refused[e.directory] for e in the_plan.needed
                        if e.directory in refused and e.item.filename not in blocked})
        results.update({name: FetchResult(name, "failed", attempts=(
            Attempt("", "local-error", why),)) for name, why in blocked.items()})
        for name in blocked:
            bar.finished(name)
        health = MirrorHealth()
        results.update(run_entries([(e, mirrors) for e in the_plan.needed
                                    if e.item.filename not in blocked],
                                   jobs=jobs, transport=transport, progress=bar, check=check,
                                   health=health, on_done=on_done))
    return FetchReport(dest, tuple(results[name] for name in sorted(results)), health.reasons())


def run_entries(work: Sequence[tuple[PlanEntry, Sequence[Mirror]]], *, jobs: int,
                transport: Transport, progress: Progress, check: Check | None = None,
                health: MirrorHealth | None = None,
                on_done: Callable[[FetchResult], None] | None = None) -> dict[str, FetchResult]:
    """Fetch each planned entry from its own mirrors, ``jobs`` at a time, under a lock the
    caller holds; the result of each, by name (``progress.finished(name)``, then ``on_done``,
    as each ends)."""
    cancel = threading.Event()
    health = health or MirrorHealth()
    results: dict[str, FetchResult] = {}
    # largest first: the big files start at once, the small ones fill the gaps (no long tail of
    # one large file on one connection at the end)
    work = sorted(work, key=lambda w: -(w[0].item.size or 0))
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="reprocal-fetch")
    futures: list[concurrent.futures.Future[FetchResult]] = []
    with contextlib.ExitStack() as stack:
        if isinstance(transport, Transports) and work:  # rsync mirrors: one process for all
            batched = stack.enter_context(transport.staged(
                [(e.item.remote, ms) for e, ms in work], work[0][0].directory))
            # what an rsync batch brings is taken in the order it comes (by name), after the
            # rest, so that each file is checked and installed while the next is on its way
            work = sorted(work, key=lambda w: (1, w[0].item.remote, 0) if w[0].item.remote
                          in batched else (0, "", -(w[0].item.size or 0)))
        try:
            # each task runs in a copy of this context, so the limits in force apply there too
            task = carry_context(_fetch_one)
            futures = [pool.submit(task, e, ms, transport, progress, cancel, check, health)
                       for e, ms in work]
            for future in as_completed(futures):
                result = future.result()
                results[result.filename] = result
                progress.finished(result.filename)
                if on_done is not None:
                    on_done(result)
        except BaseException:
            # Ctrl-C: workers stop at their next chunk; one blocked in a read is given a
            # moment, never waited for until its timeout (an interrupt must not hang)
            cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            concurrent.futures.wait(futures, timeout=INTERRUPT_GRACE)
            raise
        pool.shutdown(wait=True)
    return results


# --- dry run ----------------------------------------------------------------------------------


@attrs.frozen
class Planned:
    """A dry-run line: what would be fetched, and from where first."""

    entry: PlanEntry
    """The file and why it is needed."""
    mirror: Mirror
    """The first mirror that would be tried (the others follow on failure)."""

    @property
    def url(self) -> str:
        return self.mirror.url(self.entry.item.remote)

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.entry.item.name, "state": self.entry.state,
                "size": self.entry.item.size, "partial": self.entry.partial,
                "directory": str(self.entry.directory),
                "mirror": str(self.mirror), "url": self.url}


def dry_run(items: Iterable[FetchItem], dest_dir: Path | str, mirrors: Sequence[Mirror], *,
            level: Level = "sha256", also: Sequence[Path | str] = ()) -> tuple[Planned, ...]:
    """What :func:`fetch` would download and from which mirror; touches nothing."""
    if not mirrors:
        raise InputError("no mirror to fetch from", hint=NO_MIRROR_HINT)
    # a destination that does not exist yet simply holds nothing: every file is missing
    return tuple(Planned(e, mirrors[0])
                 for e in plan(items, dest_dir, level=level, also=_others(also, dest_dir)).needed)
