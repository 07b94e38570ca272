"""Sync: bring what a mirror holds into a repository, with a history, never deleting.

Where ESA's recipe is ``rsync -a --delete ... ::XMM_CCF <dir>/``, ``reprocal sync`` does:

1. take the repository's history lock (:class:`reprocal.repo._historylog.HistoryLog`: one sync
   at a time) and re-read the history under it;
2. list the mirror once (:mod:`reprocal.fetch._listing`) and walk the directories once
   (``stat`` only): :func:`reprocal.fetch._syncplan.plan_sync` says what is new, gone, changed,
   unaccounted for, in conflict, and what the subset wants that is not here;
3. record that (``sync-started``, ``listed``, ``upstream-changed``, ``found`` with the sha256 of
   each file no record accounted for, ``lost``, ``conflict``);
4. fetch what is missing with the fetch engine (:mod:`reprocal.fetch._engine`: parallel,
   resumable ``.part`` files, atomic renames), each file checked by its FITS header and
   ``CHECKSUM``/``DATASUM`` since no sha256 is known yet, and record each ``arrived`` with its
   sha256 as it is installed (a ``kill -9`` loses none: a file installed but not recorded is
   ``found`` by the next sync);
5. record the mirror's departures: ``withdrawn`` (on a reduced mirror, ``superseded`` when the
   name left the valid set) - the file stays here;
6. with ``deep``, download again every held file the mirror lists (into ``.reprocal/deep``)
   and compare its sha256 with ours: a same-size change is a conflict too, and the mirror's
   bytes are kept under ``.reprocal/conflicts/`` beside ours, never in their place;
7. record ``sync-finished``.

A local file is never deleted or replaced: a conflict keeps ours and records both. A no-change
sync costs the listing, one ``stat`` walk, reading the history and two records.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.core._constituent import Constituent
from reprocal.core._subset import valid_subset
from reprocal.errors import InputError
from reprocal.fetch._engine import FetchItem, FetchReport, FetchResult, _repository, fetch
from reprocal.fetch._gaps import constituent_check
from reprocal.fetch._listing import Entry, Listing, list_mirror
from reprocal.fetch._mirrors import Mirror
from reprocal.fetch._syncplan import (
    ALL,
    Conflict,
    MirrorSet,
    Subset,
    SyncPlan,
    newest_master_index,
    plan_sync,
)
from reprocal.fetch._transports import RetryPolicy, Transport
from reprocal.progress import Progress
from reprocal.repo._history import HISTORY_DIR, History, read_history
from reprocal.repo._historylog import Clock, HistoryLog

DEEP_DIR = "deep"
CONFLICTS_DIR = "conflicts"
MASS_DEPARTURE = 0.5
"""A listing that lost more than this fraction of what the mirror listed last time (and more
than :data:`MASS_MINIMUM` names) is not believed: a maintenance page, a wrong path, a mirror
half-way through its own update. Nothing is recorded unless ``accept_departures``."""
MASS_MINIMUM = 20


def check_departures(plan: SyncPlan, accept: bool) -> None:
    """Refuse a listing that would record a mass withdrawal (see :data:`MASS_DEPARTURE`); an
    empty listing of a mirror that listed files before is always refused."""
    from reprocal.errors import NetworkError

    gone = len(plan.departed)
    new = {e.name for e in plan.listed}
    before = gone + sum(1 for e in plan.listing.entries if e.name not in new)
    if plan.first or gone == 0:
        return
    if not plan.listing.entries:
        raise NetworkError(f"{plan.listing.source} lists no constituent at all, where it listed "
                           f"{gone} at the last sync: a maintenance page or a wrong path; "
                           "nothing was recorded", hint="check the mirror and sync again")
    if not accept and gone > MASS_MINIMUM and gone > MASS_DEPARTURE * before:
        raise NetworkError(f"{plan.listing.source} no longer lists {gone} of the {before} "
                           "constituents it listed at the last sync; reprocal does not record "
                           "that many withdrawals at once, and nothing was recorded",
                           hint="check the mirror; if the archive really withdrew them, sync "
                                "again with --accept-departures")


@attrs.frozen
class SyncReport:
    """What one sync found and did."""

    dest: Path
    mirror: Mirror
    run: str
    """The sync's id (every record it wrote names it)."""
    plan: SyncPlan
    fetched: FetchReport | None = None
    """The downloads (``None``: a dry run, or nothing to fetch)."""
    withdrawn: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    """Every conflict found, by the listing and by ``deep``."""
    deep_checked: int = 0
    """Held files whose bytes ``deep`` compared with the mirror's."""
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.fetched is None or self.fetched.ok

    @property
    def arrived(self) -> tuple[FetchResult, ...]:
        if self.fetched is None:
            return ()
        return tuple(r for r in self.fetched.results if r.status == "fetched")

    @property
    def new_conflicts(self) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if not c.known)

    def counts(self) -> dict[str, int]:
        p = self.plan
        return {"listed": len(p.listing.entries), "new-listed": len(p.listed) if not p.first else 0,
                "changed": len(p.changed), "arrived": len(self.arrived),
                "failed": len(self.fetched.failed) if self.fetched else 0,
                "found": len(p.found), "lost": len(p.lost), "withdrawn": len(self.withdrawn),
                "superseded": len(self.superseded), "conflicts": len(self.new_conflicts),
                "deep-checked": self.deep_checked}

    def to_json(self) -> dict[str, Any]:
        p = self.plan
        return {
            "dest": str(self.dest), "mirror": str(self.mirror), "run": self.run,
            "dry_run": self.dry_run, "ok": self.ok, "subset": p.subset.describe(),
            "listing": {"kind": p.listing.kind, "source": p.listing.source,
                        "entries": len(p.listing.entries), "ignored": p.listing.ignored,
                        "duplicates": list(p.listing.duplicates)},
            "first_sync": p.first, "counts": self.counts(),
            "to_fetch": [attrs.asdict(e) for e in p.to_fetch],
            "undated": list(p.undated), "departed": list(p.departed),
            "withdrawn": list(self.withdrawn), "superseded": list(self.superseded),
            "found": [f.name for f in p.found], "lost": list(p.lost),
            "conflicts": [c.to_json() for c in self.conflicts], "suspects": list(p.suspects),
            "fetch": self.fetched.to_json() if self.fetched else None,
            "seconds": round(self.seconds, 3),
        }


def run_id(clock: Clock) -> str:
    """``sync-YYYYMMDDThhmmss-<8 hex>``: unique, and sortable by time."""
    stamp = clock().text.replace("-", "").replace(":", "")
    return f"sync-{stamp}-{secrets.token_hex(4)}"


def _found_records(dest: Path, plan: SyncPlan, jobs: int | None) -> list[tuple[str, dict[str, Any]]]:
    """``found`` records for the files no record accounts for, hashed in parallel (and the
    verify cache told, so that a later ``verify`` need not read them again)."""
    from reprocal.repo._verify import known_hashes
    from reprocal.repo._verifycache import VerifyCache

    if not plan.found:
        return []
    with VerifyCache() as cache:
        digests = known_hashes(plan.found, cache=cache, jobs=jobs)
    out = []
    for f in plan.found:
        digest = digests[str(f.path)]
        if isinstance(digest, OSError):
            continue  # unreadable: the next sync tries again; verify reports it
        assert f.name is not None
        out.append(("found", {"name": f.name, "file": f.path.name, "size": f.stat.size,
                              "sha256": digest}))
    return out


def _opening_records(report_plan: SyncPlan, mirror: str, subset: Subset, mirror_set: MirrorSet,
                     deep: bool) -> list[tuple[str, dict[str, Any]]]:
    p = report_plan
    events: list[tuple[str, dict[str, Any]]] = [("sync-started", {
        "mirror": mirror, "listing": {"kind": p.listing.kind, "entries": len(p.listing.entries),
                                      "source": p.listing.source},
        "subset": subset.describe(), "mirror_set": mirror_set, "deep": deep,
        "reprocal": __version__})]
    events += [("listed", {"name": e.name, "mirror": mirror, "size": e.size, "mtime": e.mtime})
               for e in p.listed]
    events += [("upstream-changed", {"name": e.name, "mirror": mirror,
                                     "before": {"size": size, "mtime": mtime},
                                     "after": {"size": e.size, "mtime": e.mtime}})
               for e, (size, mtime) in p.changed]
    events += [("lost", {"name": n}) for n in p.lost]
    return events


def _conflict_record(c: Conflict, mirror: str) -> tuple[str, dict[str, Any]]:
    return ("conflict", {"name": c.name, "mirror": mirror,
                         "local": {"size": c.local_size, "sha256": c.local_sha256},
                         "upstream": {"size": c.upstream_size, "mtime": c.upstream_mtime,
                                      "sha256": c.upstream_sha256},
                         "kept": "local", "copy": c.copy})


def _local_sha(c: Conflict, dest: Path) -> Conflict:
    from reprocal.fs._hashing import sha256_file

    if c.local_sha256 is not None:
        return c
    return attrs.evolve(c, local_sha256=sha256_file(dest / c.name))


def _departures(plan: SyncPlan, mirror_set: MirrorSet, known: Sequence[Constituent],
                history: History, now: Any, dirs: Sequence[Path]
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which departed names are withdrawals and which (on a reduced mirror) left the valid set:
    those no longer valid at ``now`` over everything known and held (read from the headers of
    the files of their types, as they are after this sync's arrivals)."""
    if mirror_set == "full" or not plan.departed:
        return plan.departed, ()
    from reprocal.fits._headers import read_constituent
    from reprocal.repo._walk import by_name, list_files

    pool = {c.filename: c for c in known}
    keys = {n.rsplit("_", 1)[0] for n in plan.departed}
    for name, files in by_name(list_files(dirs)).items():
        if name.rsplit("_", 1)[0] in keys and name not in pool:
            try:
                pool[name] = read_constituent(files[0].path)
            except Exception:  # noqa: BLE001 - an unreadable file is verify's to report
                continue
    valid = valid_subset(pool.values(), now, category=None, withdrawals=history.withdrawals())
    withdrawn = tuple(n for n in plan.departed if n in valid or n not in pool)
    return withdrawn, tuple(n for n in plan.departed if n not in withdrawn)


def sync(dest_dir: Path | str, mirror: Mirror, *, clock: Clock, also: Sequence[Path] = (),
         subset: Subset = ALL, mirror_set: MirrorSet = "full", deep: bool = False,
         dry_run: bool = False, accept_departures: bool = False,
         known: Sequence[Constituent] = (),
         master_index: tuple[str, Sequence[Constituent]] | None = None, jobs: int = 4,
         policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
         transport: Transport | None = None, progress: Progress | None = None,
         on_wait: Callable[[], None] | None = None) -> SyncReport:
    """Sync ``dest_dir`` (the repository's first directory; ``also``: the others) from
    ``mirror`` (see the module docstring). ``known``: constituents whose dates are known (the
    catalogue, master indexes), for a valid ``subset`` and a reduced mirror's departures;
    ``master_index``: ``(source, rows)`` to list from when the mirror serves no index page.
    ``clock`` dates every record. Nothing is written with ``dry_run``. A listing that lost
    most of what the mirror listed before is refused unless ``accept_departures``
    (:func:`check_departures`)."""
    started = time.monotonic()
    policy = policy or RetryPolicy.of()
    run = run_id(clock)
    if dry_run:
        history = read_history(dest_dir) if Path(dest_dir).is_dir() else History(Path(dest_dir))
        listing = list_mirror(mirror, policy=policy, master_index=master_index, sleep=sleep)
        plan = plan_sync(Path(dest_dir), list(also), listing, history, subset=subset,
                         known=known)
        check_departures(plan, accept_departures)
        return SyncReport(Path(dest_dir), mirror, run, plan, conflicts=plan.conflicts,
                          dry_run=True, seconds=time.monotonic() - started)
    dest = _repository(dest_dir)
    try:
        log = HistoryLog(dest, run=run, clock=clock, wait=False)
    except BlockingIOError:
        if on_wait is not None:
            on_wait()
        log = HistoryLog(dest, run=run, clock=clock)
    with log:
        return _Sync(log, dest, mirror, list(also), subset, mirror_set, deep, list(known),
                     master_index, jobs, policy, sleep, transport, progress, started,
                     accept_departures).run()


@attrs.define
class _Sync:
    """One sync under the history lock (the steps of the module docstring)."""

    log: HistoryLog
    dest: Path
    mirror: Mirror
    also: list[Path]
    subset: Subset
    mirror_set: MirrorSet
    deep: bool
    known: list[Constituent]
    master_index: tuple[str, Sequence[Constituent]] | None
    jobs: int
    policy: RetryPolicy
    sleep: Callable[[float], None]
    transport: Transport | None
    progress: Progress | None
    started: float
    accept_departures: bool = False

    def run(self) -> SyncReport:
        name = str(self.mirror)
        listing = list_mirror(self.mirror, policy=self.policy, master_index=self.master_index,
                              sleep=self.sleep)
        plan = self._plan(listing)
        check_departures(plan, self.accept_departures)
        self.log.extend(_opening_records(plan, name, self.subset, self.mirror_set, self.deep)
                        + _found_records(self.dest, plan, None))
        conflicts = [_local_sha(c, self.dest) for c in plan.conflicts]
        self.log.extend(_conflict_record(c, name) for c in conflicts if not c.known)
        results: list[FetchResult] = []
        if self.subset.kind == "valid":
            plan, results = self._master_index_first(listing, plan)
        fetched = self._fetch(plan.to_fetch, results)
        withdrawn, superseded = _departures(plan, self.mirror_set, self.known,
                                            self.log.history, self.log.clock(),
                                            [self.dest, *self.also])
        last = _text(self._last()) if withdrawn or superseded else None  # replays the history
        self.log.extend(
            [("withdrawn", {"name": n, "mirror": name, "last_listed": last}) for n in withdrawn]
            + [("superseded", {"name": n, "mirror": name, "last_listed": last})
               for n in superseded])
        checked = 0
        if self.deep:
            deep, checked = self._deep(listing, plan, {c.name for c in conflicts})
            conflicts += deep
        report = SyncReport(self.dest, self.mirror, self.log.run, plan, fetched, withdrawn,
                            superseded, tuple(conflicts), checked,
                            seconds=time.monotonic() - self.started)
        failed = [r.filename for r in fetched.failed] if fetched else []
        self.log.append("sync-finished", counts=report.counts(), failed=failed,
                        seconds=round(report.seconds, 3))
        return report

    def _last(self) -> Any:
        """When this mirror was last listed before this sync."""
        runs = [s for s in self.log.history.syncs() if s.mirror == str(self.mirror)]
        return runs[-2].time if len(runs) >= 2 else None

    def _plan(self, listing: Listing) -> SyncPlan:
        return plan_sync(self.dest, self.also, listing, self.log.history, subset=self.subset,
                         known=self.known)

    def _master_index_first(self, listing: Listing, plan: SyncPlan
                            ) -> tuple[SyncPlan, list[FetchResult]]:
        """A valid subset is dated by the newest master index the mirror lists: fetch it
        first, read it, and plan again with its rows."""
        from reprocal.fits._calindex import read_calindex

        master = newest_master_index(listing.names)
        results: list[FetchResult] = []
        if master is None:
            return plan, results
        if master not in plan.present:
            entry = listing.by_name()[master]
            report = self._engine([entry], self.dest)
            results += report.results
            if not report.ok:
                return plan, results
            path = self.dest / master
        else:
            path = plan.present[master].path
        try:
            self.known += list(read_calindex(path).rows)
        except InputError:
            return plan, results  # fetched and checked, yet unreadable: the subset goes without
        return self._plan(listing), results

    def _engine(self, entries: Sequence[Entry], dest: Path, *, record: bool = True,
                checked: bool = True) -> FetchReport:
        expected = {c.filename: c for c in self.known}
        items = [FetchItem(e.name, e.size, None) for e in entries]

        def done(r: FetchResult) -> None:
            if record and r.status == "fetched" and r.sha256 is not None and r.size is not None:
                # written at once (a kill -9 loses none), made durable by the next fsync'd
                # record: a power cut may lose some, and the next sync finds their files
                self.log.append("arrived", name=r.filename, size=r.size, sha256=r.sha256,
                                mirror=str(self.mirror), checked="fits", fsync=False)

        return fetch(items, dest, [self.mirror], jobs=self.jobs, progress=self.progress,
                     sleep=self.sleep, transport=self.transport, policy=self.policy,
                     level="size", also=self.also if dest == self.dest else (),
                     check=constituent_check(expected, any_name=True) if checked else None,
                     on_done=done)

    def _fetch(self, entries: Sequence[Entry], before: list[FetchResult]) -> FetchReport | None:
        if not entries and not before:
            return None
        report = self._engine(entries, self.dest) if entries else None
        results = list(before) + (list(report.results) if report else [])
        down = report.down if report else ()
        return FetchReport(self.dest, tuple(sorted(results, key=lambda r: r.filename)), down)

    def _deep(self, listing: Listing, plan: SyncPlan, skip: set[str]
              ) -> tuple[list[Conflict], int]:
        """Download every held, listed file again and compare bytes (see the module doc)."""
        from reprocal.repo._history import check_history_dir

        held = self.log.history.held()
        here = {n: f for n, f in plan.present.items() if f.path.parent == self.dest}
        entries = [e for e in listing.entries if e.name in here and e.name not in skip]
        if not entries:
            return [], 0
        work = own_dir(check_history_dir(self.dest, create=True), DEEP_DIR)
        report = self._engine(entries, work, record=False, checked=False)
        out = []
        for r in report.results:
            if r.status != "fetched" or r.sha256 is None:
                continue
            ours = held.get(r.filename)
            local = here[r.filename]
            mine = ours.sha256 if ours is not None and ours.size == local.stat.size else None
            c = _local_sha(Conflict(r.filename, local.stat.size, mine, r.size, None, r.sha256),
                           self.dest)
            got = work / r.filename
            if c.local_sha256 == r.sha256:
                got.unlink()
                continue
            keep = Path(HISTORY_DIR) / CONFLICTS_DIR / r.sha256 / r.filename
            own_dir(self.dest / HISTORY_DIR, CONFLICTS_DIR, r.sha256)
            os.replace(got, self.dest / keep)
            c = attrs.evolve(c, upstream_mtime=listing.by_name()[r.filename].mtime,
                             copy=str(keep))
            previous = self.log.history.conflicts().get(r.filename)
            if previous is not None and previous["upstream"].get("sha256") == r.sha256:
                out.append(attrs.evolve(c, known=True))
                continue
            self.log.extend([_conflict_record(c, str(self.mirror))])
            out.append(c)
        shutil.rmtree(work, ignore_errors=True)  # our own scratch directory
        return out, len([r for r in report.results if r.status == "fetched"])


def own_dir(base: Path, *parts: str) -> Path:
    """``base/parts...``, each level made if need be and refused unless a real directory (a
    link planted there would send downloads elsewhere)."""
    import stat

    from reprocal.errors import RepositoryError

    path = base
    for part in parts:
        path = path / part
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise RepositoryError(f"{path} is not a directory of reprocal's own; it is left "
                                  "alone", path=path, hint="move it away, then sync again")
    return path


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["CONFLICTS_DIR", "DEEP_DIR", "SyncReport", "run_id", "sync"]
