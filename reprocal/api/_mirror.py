"""``sync``, ``history`` and ``fingerprint``: mirror the archive with a history that says what
the repository held and when; compare repositories and mirrors.

``sync`` lists a mirror, fetches what is new (never deleting or replacing a local file) and
appends to the repository's mirror history (:mod:`reprocal.repo._history`); ``history`` answers
"what did this repository hold on date X" from it; ``fingerprint`` digests what a repository
holds and compares it with another repository, a mirror's listing or a saved fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._checked import Checked
from reprocal.api._extras import is_url
from reprocal.api._inputs import DateLike, PathLike, directories, warn
from reprocal.audit._newer import DriftReport
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.errors import PARAMETERS, CheckFailed, InputError, Names, ReprocalError
from reprocal.fetch._mirrors import Mirror
from reprocal.fetch._sync import SyncReport
from reprocal.fetch._syncplan import MirrorSet, Subset
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._fingerprint import Comparison, Fingerprint
from reprocal.repo._history import History, Holdings

VALID_SET_NAMES = ("XMM_VALID_CCF", "valid_constituents")
"""Mirror paths taken for ESA's reduced archive (the valid set) unless ``mirror_set`` says."""

# --- sync -----------------------------------------------------------------------------------


def _clock(clock: Callable[[], datetime] | None) -> Callable[[], CalDate]:
    from reprocal.core._dates import utcnow

    source = clock or utcnow
    return lambda: CalDate.from_datetime(source())


def _subset(subset: str, now: CalDate, names: Names) -> Subset:
    from reprocal.fetch._syncplan import ALL

    text = subset.strip() if isinstance(subset, str) else ""
    if text == "all":
        return ALL
    if text == "valid-now":
        return Subset("valid", now, "valid-now")
    try:
        return Subset("valid", CalDate.parse(text, field=names("subset")), text)
    except InputError:
        raise InputError(f"{names('subset')}: {subset!r} is not all, valid-now or a date "
                         "(YYYY-MM-DD[Thh:mm:ss])") from None


def _mirror_set(mirror: Mirror, given: str | None, names: Names) -> MirrorSet:
    if given is None:
        return "valid" if any(n in mirror.base for n in VALID_SET_NAMES) else "full"
    if given == "full":
        return "full"
    if given == "valid":
        return "valid"
    raise InputError(f"{names('mirror_set')}: {given!r} is not full or valid")


@attrs.frozen
class SyncResult(Checked):
    """What :func:`sync` found and did."""

    report: SyncReport
    mirror_set: str
    """``full`` (the whole archive) or ``valid`` (a reduced mirror: ESA's valid set)."""
    drift: DriftReport | None = None
    """With ``report_drift``: the calibration states under those directories that now have
    newer eligible calibration."""
    failure: ReprocalError | None = attrs.field(default=None, eq=False)
    """Raised by :meth:`raise_if_failed`: a file could not be fetched (exit 1, or 5 when no
    mirror could be reached), or a new conflict was found (exit 1)."""

    def to_json(self) -> dict[str, Any]:
        doc = self.report.to_json()
        doc.update(mirror_set=self.mirror_set, ok=self.ok,
                   drift=self.drift.to_json() if self.drift is not None else None)
        return doc


def _known(dirs: Sequence[Path], catalog: PathLike | None, master_index: Sequence[PathLike],
           *, remember: bool) -> tuple[list[Constituent], tuple[str, Any] | None]:
    """What the catalogue and the given master indexes know (the dates a subset needs), and
    the first master index as a listing to fall back on. With ``remember``, the master indexes
    are imported into the catalogue as what exists, so that ``cif``, ``pin`` and ``audit`` on a
    reduced mirror say what it lacks for a historic analysis date."""
    import os

    from reprocal.fits._calindex import read_calindex
    from reprocal.repo._catalog import Catalog

    known: list[Constituent] = []
    first = None
    tables = []
    for path in master_index:
        rows = read_calindex(path).rows
        known.extend(rows)
        tables.append((f"calindex:{os.path.abspath(path)}", rows))
        first = first or (str(path), rows)
    existing = [d for d in dirs if d.is_dir()]
    if existing or (remember and tables):
        with Catalog.open(catalog) as cat:
            for source, rows in tables if remember else ():
                cat.add_expected(rows, source)
            if existing:
                cat.refresh(existing)  # a warm refresh is a stat walk: no bar (it counts bytes)
                known.extend(cat.known(existing))
    return known, first


def _failure(report: SyncReport, names: Names) -> ReprocalError | None:
    if report.fetched is not None and not report.fetched.ok:
        return report.fetched.failure(names("mirror"))
    if report.new_conflicts:
        n = len(report.new_conflicts)
        return CheckFailed(f"{n} file(s) differ on the mirror under the same name: "
                           f"{', '.join(c.name for c in report.new_conflicts[:5])}",
                           hint="the local files were kept; see the conflicts above and in "
                                "`reprocal history`")
    return None


def sync(
    mirror: str | None = None,
    *,
    ccf_path: CcfPath = None,
    subset: str = "all",
    dry_run: bool = False,
    deep: bool = False,
    master_index: Sequence[PathLike] = (),
    mirror_set: str | None = None,
    accept_departures: bool = False,
    report_drift: Sequence[PathLike] = (),
    catalog: PathLike | None = None,
    jobs: int = 4,
    retries: int = 3,
    clock: Callable[[], datetime] | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> SyncResult:
    """Bring what ``mirror`` holds into the first directory of ``ccf_path`` (``None``:
    ``$SAS_CCFPATH``; created if need be) and record it in that directory's mirror history.

    ``mirror``: an rsync module, an http(s) directory with index pages, or a directory (default:
    the first configured mirror, see :func:`fetch`). ``subset``: ``all``, ``valid-now`` (what
    the rule can select today for some observation date) or a date (the same at that analysis
    date); the dates come from the catalogue, ``master_index`` tables and the newest master
    index the mirror lists. ``master_index`` tables are also imported into the catalogue as what
    exists (not with ``dry_run``), so that ``cif``, ``pin`` and ``audit`` over a reduced mirror
    say what it lacks for a historic analysis date. ``deep``: also download every held file
    again and compare bytes (as costly as a first full download). ``mirror_set``: ``full`` or
    ``valid`` (a reduced mirror, whose departures may be files leaving the valid set, not
    withdrawals; default: ``valid`` for ESA's ``XMM_VALID_CCF`` and ``valid_constituents``).
    Nothing is ever deleted or replaced; nothing is written with ``dry_run``. A listing that
    lost more than half of what the mirror listed last time (an empty page, a wrong path) is
    refused, exit 5, unless ``accept_departures``. ``report_drift``: directories of manifests,
    records and products to check for newer calibration after the sync. ``clock``: the time
    records are dated with (default: the wall clock; simulations pass their own).
    """
    from reprocal.fetch._mirrors import configured_mirrors, parse_mirror
    from reprocal.fetch._sync import sync as sync_stage
    from reprocal.fetch._transports import RetryPolicy

    chosen = (parse_mirror(mirror, where=names("mirror")) if mirror is not None
              else configured_mirrors(option=names("mirror"))[0])
    ticks = _clock(clock)
    wanted = _subset(subset, ticks(), names)
    kind = _mirror_set(chosen, mirror_set, names)
    dest, *also = directories(ccf_path, names, create_first=True)
    need_dates = wanted.kind == "valid" or kind == "valid" or bool(master_index)
    known, listing = (_known([dest, *also], catalog, master_index, remember=not dry_run)
                      if need_dates else ([], None))
    if not dest.exists() and not dry_run:
        warn(f"creating repository directory {dest}")
    report = sync_stage(dest, chosen, clock=ticks, also=also, subset=wanted,
                        mirror_set=kind, deep=deep, dry_run=dry_run,
                        accept_departures=accept_departures, known=known,
                        master_index=listing, jobs=jobs, policy=RetryPolicy.of(retries=retries),
                        progress=progress,
                        on_wait=lambda: warn(f"another sync of {dest} is running; waiting"))
    drift = None
    if report_drift and not dry_run:
        drift = _drift(report_drift, [dest, *also], catalog, ticks(), progress)
    for name in report.withdrawn:
        warn(f"{name} is no longer listed by {chosen}: recorded as withdrawn on "
             f"{ticks().date}; the file is kept, and selections for later analysis dates "
             "skip it")
    return SyncResult(report, kind, drift, _failure(report, names) if not dry_run else None)


def _drift(roots: Sequence[PathLike], dirs: Sequence[Path], catalog: PathLike | None,
           today: CalDate, progress: Progress | None) -> DriftReport:
    from reprocal.audit._newer import find_drift
    from reprocal.repo._repository import Repository

    with Repository(list(dirs), catalog=catalog, progress=progress) as repo:
        present = [lf.constituent for lf in repo.present()]
        withdrawals = repo.withdrawals()
    return find_drift(roots, present, today=today, withdrawals=withdrawals)


# --- history ----------------------------------------------------------------------------------


@attrs.frozen
class HistoryResult:
    """What the mirror histories of a repository say."""

    histories: tuple[History, ...]
    """One per directory (empty ones included)."""
    held: Holdings | None
    """With ``on``: what the repository held then (every directory's holdings together)."""

    @property
    def dirs(self) -> tuple[Path, ...]:
        return tuple(h.path.parent.parent for h in self.histories)

    def to_json(self) -> dict[str, Any]:
        docs = []
        for h in self.histories:
            docs.append({
                "dir": str(h.path.parent.parent), "history": str(h.path),
                "records": len(h.records), "start": h.start.text if h.start else None,
                "syncs": [s.to_json() for s in h.syncs()],
                "held": len(h.held()),
                "withdrawals": [w.to_json() for w in h.withdrawals()],
                "conflicts": [{"name": n, "time": r["time"], "mirror": r["mirror"],
                               "local": r["local"], "upstream": r["upstream"], "copy": r["copy"]}
                              for n, r in h.conflicts().items()],
                "torn": [attrs.asdict(t) for t in h.torn],
            })
        return {"directories": docs, "held_on": self.held.to_json() if self.held else None}


def history(*, ccf_path: CcfPath = None, on: DateLike | None = None,
            names: Names = PARAMETERS) -> HistoryResult:
    """Read (and check: sequence, hash chain, schema) the mirror history of every directory of
    ``ccf_path``; with ``on`` (a date, or ``"now"``), what the repository held at that moment."""
    from reprocal.core._dates import resolve
    from reprocal.repo._history import read_history

    dirs = directories(ccf_path, names)
    histories = tuple(read_history(d) for d in dirs)
    held = None
    if on is not None:
        when = resolve(on, field=names("on"))
        files: dict[str, Any] = {}
        for h in histories:
            for name, holding in h.held_on(when).files.items():
                files.setdefault(name, holding)
        starts = [h.start for h in histories if h.start is not None]
        held = Holdings(when, files, min(starts) if starts else None)
        if not held.known:
            warn(f"the mirror history {'begins on ' + str(min(starts)) if starts else 'is empty'}"
                 f": what the repository held on {when} is not known")
    return HistoryResult(histories, held)


# --- fingerprint ------------------------------------------------------------------------------


@attrs.frozen
class FingerprintResult:
    """A repository's fingerprint, and its comparison with ``against`` when given."""

    fingerprint: Fingerprint
    other: Fingerprint | None = None
    comparison: Comparison | None = None

    @property
    def ok(self) -> bool:
        return self.comparison is None or self.comparison.same

    def raise_if_failed(self) -> None:
        c = self.comparison
        if c is not None and not c.same:
            raise CheckFailed(f"{c.a.source} and {c.b.source} differ: {len(c.only_a)} only in "
                              f"the first, {len(c.only_b)} only in the second, {len(c.sizes)} "
                              f"of another size, {len(c.contents)} with other bytes")

    def to_json(self) -> dict[str, Any]:
        doc = self.fingerprint.to_json()
        if self.comparison is not None:
            doc["comparison"] = self.comparison.to_json()
        return doc


def _other(against: str, jobs: int | None, rehash: bool, names: Names) -> Fingerprint:
    """``against`` as a fingerprint: a repository directory, a fingerprint document, or a
    mirror (its listing: names and sizes only)."""
    from reprocal.fetch._listing import list_mirror
    from reprocal.fetch._mirrors import parse_mirror
    from reprocal.repo._ccfpath import ccf_dirs
    from reprocal.repo._fingerprint import load, of_listing, of_repository

    p = Path(against)
    if not is_url(against):
        if p.is_dir():
            return of_repository(ccf_dirs(str(p), option=names("against")), jobs=jobs,
                                 rehash=rehash)
        if p.exists():
            return load(p)
    listing = list_mirror(parse_mirror(against, where=names("against")))
    return of_listing(listing.source, listing.entries)


def fingerprint(*, ccf_path: CcfPath = None, against: str | None = None,
                jobs: int | None = None, rehash: bool = False, progress: Progress | None = None,
                names: Names = PARAMETERS) -> FingerprintResult:
    """The fingerprint of the repository ``ccf_path`` (its constituents' names, sizes and
    sha256; the verify cache spares re-reading untouched files, ``rehash`` re-reads them), and,
    with ``against``, what differs from another repository (a directory: bytes compared), a
    saved fingerprint (``--json`` of another site) or a mirror (an http(s), rsync or
    ``file://`` URL: names and sizes only)."""
    from reprocal.repo._fingerprint import compare, of_repository

    mine = of_repository(directories(ccf_path, names), jobs=jobs, rehash=rehash,
                         progress=progress)
    if against is None:
        return FingerprintResult(mine)
    other = _other(against, jobs, rehash, names)
    return FingerprintResult(mine, other, compare(mine, other))


__all__ = ["FingerprintResult", "HistoryResult", "SyncResult", "fingerprint", "history", "sync"]
