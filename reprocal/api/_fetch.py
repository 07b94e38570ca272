"""``fetch`` (and its dry run and ``sh`` script) and ``unused``: fill a repository's gaps;
report what no pin needs.

What to fetch is given one of two ways: a ``manifest`` (every pinned file missing or wrong), or a
state by dates (``obs_date``/``odf`` with ``analysis_date``) whose gaps a master index reveals
(checked by FITS header and checksums: no sha256 is known for them).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._checked import Checked
from reprocal.api._inputs import (
    DateLike,
    PathLike,
    analysis,
    directories,
    manifest_of,
    observation,
    open_repository,
    warn,
)
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.errors import PARAMETERS, InputError, Names, ReprocalError
from reprocal.fetch._engine import Check, FetchItem, FetchReport, Planned
from reprocal.fetch._mirrors import Mirror
from reprocal.fetch._plan import Level
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath
from reprocal.state._manifest import ExtraSet, Manifest


@attrs.frozen
class _Wanted:
    """What to fetch, how to check unpinned bytes, and where to (``None``: ``ccf_path``)."""

    items: list[FetchItem]
    check: Check | None = None
    dest: Path | None = None
    also: list[Path] = attrs.Factory(list)
    extras: tuple[ExtraSet, ...] = ()
    """The manifest's extra calibration sets (into ``extras/<label>/``)."""
    expected: dict[str, Constituent] = attrs.Factory(dict)
    """The indexed header of each unpinned item (what ``check`` and the script compare)."""


def _state(obs_date: DateLike | None, odf: PathLike | None, analysis_date: DateLike | None,
           master_index: Sequence[PathLike], category: str, ccf_path: CcfPath,
           catalog: PathLike | None, progress: Progress | None, names: Names) -> _Wanted:
    """The gaps of the state given by dates, judged by master indexes and the catalogue."""
    from reprocal.core._select import Rule
    from reprocal.fetch._gaps import constituent_check, items, missing_constituents
    from reprocal.fits._calindex import read_calindex

    if not analysis_date:
        raise InputError(f"{names('analysis_date')} is required with {names('obs_date')}/"
                         f"{names('odf')} (a date, or 'now')")
    _obs_id, obs = observation(obs_date, odf, names)
    an = analysis(analysis_date, obs, names)
    with open_repository(ccf_path, names, catalog=catalog, progress=progress) as repo:
        known = list(repo.catalog.expected())
        present = repo.present()
    for path in master_index:
        known.extend(read_calindex(path).rows)
    if not known:
        raise InputError("nothing says which constituents exist beyond the files present",
                         hint=f"give {names.given('master_index', 'FILE')}, or import one with "
                              "`reprocal index --import-index FILE`")
    missing = missing_constituents(present, known, [Rule(obs, an, category)])
    expected = {c.filename: c for c in missing}
    return _Wanted(items(missing), constituent_check(expected), repo.dirs[0],
                   list(repo.dirs[1:]), expected=expected)


def _wanted(manifest: Manifest | PathLike | None, obs_date: DateLike | None,
            odf: PathLike | None, analysis_date: DateLike | None,
            master_index: Sequence[PathLike], category: str, mirrors: Sequence[str],
            ccf_path: CcfPath, catalog: PathLike | None, progress: Progress | None,
            names: Names) -> tuple[_Wanted, tuple[Mirror, ...]]:
    """What to fetch (from a manifest, or a state by dates) and the mirrors to try."""
    from reprocal.fetch._mirrors import configured_mirrors

    by_dates = bool(obs_date or odf or analysis_date)
    if manifest is not None and (by_dates or master_index):
        raise InputError(f"give a {names('manifest')} or {names('obs_date')}/{names('odf')} with "
                         f"{names('analysis_date')}, not both")
    if manifest is None and not by_dates:
        raise InputError(f"give a {names('manifest')}, or {names('obs_date')}/{names('odf')} "
                         f"with {names('analysis_date')}", hint="see `reprocal fetch --help`")
    if manifest is not None:
        m = manifest_of(manifest)
        wanted = _Wanted([FetchItem.of(f) for f in m.files], extras=m.extras)
        return wanted, configured_mirrors(mirrors, option=names("mirrors"))
    chosen = configured_mirrors(mirrors, option=names("mirrors"))
    return (_state(obs_date, odf, analysis_date, master_index, category, ccf_path, catalog,
                   progress, names), chosen)


def _destination(wanted: _Wanted, ccf_path: CcfPath, names: Names) -> tuple[Path, list[Path]]:
    """Where fetched files go (the first directory, which may be created) and the others."""
    if wanted.dest is not None:
        return wanted.dest, wanted.also
    dest, *also = directories(ccf_path, names, create_first=True)
    return dest, also


# --- fetch ----------------------------------------------------------------------------------


@attrs.frozen
class FetchRunResult(Checked):
    """What :func:`fetch` did."""

    report: FetchReport
    """One result per file: fetched, present or failed, with every failed attempt."""
    unpinned: int
    """Files fetched without a pin (checked by FITS header and checksums only)."""
    seconds: float
    """Wall time."""
    failure: ReprocalError | None = attrs.field(default=None, eq=False)
    """Raised by :meth:`raise_if_failed` when a file could not be fetched: a
    :class:`~reprocal.errors.NetworkError` (exit 5) when no mirror could be reached, else a
    :class:`~reprocal.errors.CheckFailed` (exit 1)."""

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()


def fetch(
    manifest: Manifest | PathLike | None = None,
    *,
    obs_date: DateLike | None = None,
    odf: PathLike | None = None,
    analysis_date: DateLike | None = None,
    master_index: Sequence[PathLike] = (),
    category: str = DEFAULT_CATEGORY,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    mirrors: Sequence[str] = (),
    jobs: int = 4,
    retries: int = 3,
    level: Level = "sha256",
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> FetchRunResult:
    """Bring every file ``manifest`` pins that is missing or wrong into the first directory of
    ``ccf_path`` (``None``: ``$SAS_CCFPATH``; created if need be), from ``mirrors`` in order
    (default: ``$REPROCAL_MIRRORS``, ``~/.config/reprocal/mirrors.txt``, ESA then HEASARC).

    Without a manifest, ``obs_date`` (or ``odf``) and ``analysis_date`` give the state and
    ``master_index`` tables (and the catalogue) say what exists: the constituents it needs and
    the repository lacks are fetched. Each file goes to ``.NAME.part``, is checked, then renamed
    into place; nothing is deleted. ``level``: how present files are checked first.

    The manifest's extra calibration sets are fetched into ``extras/<label>/`` the same way,
    from each mirror's ``extras/<label>/`` then the URL the set was pinned from; a set pinned
    from a tarball (an ESAS caldb) is fetched as that tarball (from each mirror's
    ``extras/<NAME>``, then its URL), checked, kept as ``extras/<NAME>`` and unpacked safely.
    """
    from reprocal.fetch._engine import fetch as fetch_files
    from reprocal.fetch._transports import RetryPolicy

    wanted, chosen = _wanted(manifest, obs_date, odf, analysis_date, master_index, category,
                             mirrors, ccf_path, catalog, progress, names)
    dest, also = _destination(wanted, ccf_path, names)
    if not dest.exists():
        warn(f"creating repository directory {dest}")
    started = time.monotonic()
    policy = RetryPolicy.of(retries=retries)
    waiting = lambda: warn(f"another fetch into {dest} is running; waiting")  # noqa: E731
    report = fetch_files(wanted.items, dest, chosen, jobs=jobs, progress=progress, level=level,
                         policy=policy, check=wanted.check, also=also, on_wait=waiting,
                         names=names)
    _record_arrivals(report, {i.filename for i in wanted.items if i.pinned})
    if wanted.extras:
        from reprocal.fetch._extras import fetch_extras
        from reprocal.fetch._transports import Transports

        results, down = fetch_extras(
            wanted.extras, dest, also, chosen, transport=Transports.default(chosen, policy=policy),
            jobs=jobs, level=level, progress=progress, on_wait=waiting)
        report = attrs.evolve(
            report, results=tuple(sorted((*report.results, *results), key=lambda r: r.filename)),
            down=tuple(dict.fromkeys((*report.down, *down))))
    failure = report.failure(names("mirrors"))
    unpinned = sum(1 for i in wanted.items if not i.pinned)
    return FetchRunResult(report, unpinned, time.monotonic() - started, failure)


def _record_arrivals(report: FetchReport, pinned: set[str]) -> None:
    """In a repository that keeps a mirror history (``reprocal sync``), every file a fetch
    installed is recorded there too, so the history still says what the repository held."""
    import os
    import secrets

    from reprocal.core._dates import CalDate, utcnow
    from reprocal.repo._history import history_path
    from reprocal.repo._historylog import HistoryLog

    fetched = [r for r in report.results if r.status == "fetched" and r.sha256 and r.size]
    if not fetched or not os.path.lexists(history_path(report.dest)):
        return
    now = CalDate.from_datetime(utcnow())
    run = f"fetch-{now.text.replace('-', '').replace(':', '')}-{secrets.token_hex(4)}"
    with HistoryLog(report.dest, run=run, clock=lambda: CalDate.from_datetime(utcnow())) as log:
        log.extend(("arrived", {"name": r.filename, "size": r.size, "sha256": r.sha256,
                                "mirror": r.mirror or "", "checked": "sha256"
                                if r.filename in pinned else "fits"}) for r in fetched)



# --- dry run --------------------------------------------------------------------------------


@attrs.frozen
class FetchPlanResult:
    """What :func:`fetch_plan` found :func:`fetch` would do."""

    dest: Path
    files: int
    """Files wanted."""
    planned: tuple[Planned, ...]
    """Those to fetch, each with the first mirror to try."""
    mirrors: tuple[Mirror, ...]

    @property
    def bytes(self) -> int:
        return sum(p.entry.item.size or 0 for p in self.planned)

    def to_json(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "files": self.files,
                "to_fetch": [p.to_json() for p in self.planned]}


def fetch_plan(
    manifest: Manifest | PathLike | None = None,
    *,
    obs_date: DateLike | None = None,
    odf: PathLike | None = None,
    analysis_date: DateLike | None = None,
    master_index: Sequence[PathLike] = (),
    category: str = DEFAULT_CATEGORY,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    mirrors: Sequence[str] = (),
    level: Level = "sha256",
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> FetchPlanResult:
    """What :func:`fetch` with the same arguments would download, and from where (a dry run:
    nothing is written or downloaded)."""
    from reprocal.fetch._engine import dry_run

    wanted, chosen = _wanted(manifest, obs_date, odf, analysis_date, master_index, category,
                             mirrors, ccf_path, catalog, progress, names)
    dest, also = _destination(wanted, ccf_path, names)
    planned = dry_run(wanted.items, dest, chosen, level=level, also=also)
    files = len(wanted.items)
    if wanted.extras:
        from reprocal.fetch._extras import dry_run_extras

        planned += dry_run_extras(wanted.extras, [dest, *also], chosen, level=level)
        files += sum(len(x.files) for x in wanted.extras)
    return FetchPlanResult(dest, files, planned, chosen)


# --- sh script ------------------------------------------------------------------------------


@attrs.frozen
class FetchScriptResult:
    """The script :func:`fetch_script` wrote."""

    path: Path
    files: int
    mirrors: tuple[Mirror, ...]

    def to_json(self) -> dict[str, Any]:
        return {"script": str(self.path), "files": self.files,
                "mirrors": [str(m) for m in self.mirrors]}


def fetch_script(
    manifest: Manifest | PathLike | None = None,
    *,
    output: PathLike,
    obs_date: DateLike | None = None,
    odf: PathLike | None = None,
    analysis_date: DateLike | None = None,
    master_index: Sequence[PathLike] = (),
    category: str = DEFAULT_CATEGORY,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    mirrors: Sequence[str] = (),
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> FetchScriptResult:
    """Write a POSIX ``sh`` script (curl or wget, sha256sum) that fetches and checks the files
    :func:`fetch` would, for a machine without reprocal (``sh SCRIPT DEST``)."""
    from reprocal.fetch._script import write_script

    wanted, chosen = _wanted(manifest, obs_date, odf, analysis_date, master_index, category,
                             mirrors, ccf_path, catalog, progress, names)
    path = write_script(wanted.items, chosen, Path(output), extras=wanted.extras,
                        expected=wanted.expected)
    return FetchScriptResult(path, len(wanted.items) + sum(len(x.files) for x in wanted.extras),
                             chosen)


# --- unused ---------------------------------------------------------------------------------


@attrs.frozen
class UnusedResult:
    """The constituent files no manifest of :func:`unused` pins."""

    manifests: tuple[str, ...]
    """The manifests: their files as given (a manifest object by its state id)."""
    files: tuple[Path, ...]
    """Unused constituent files, in path order."""
    sizes: tuple[int, ...]
    """Their sizes, in the same order."""

    @property
    def bytes(self) -> int:
        return sum(self.sizes)

    def to_json(self) -> dict[str, Any]:
        return {"manifests": list(self.manifests),
                "unused": [{"path": str(p), "size": n} for p, n in zip(self.files, self.sizes,
                                                                       strict=True)],
                "bytes": self.bytes}


def unused(manifests: Sequence[Manifest | PathLike], *, ccf_path: CcfPath = None,
           names: Names = PARAMETERS) -> UnusedResult:
    """The constituent files of the repository ``ccf_path`` (``None``: ``$SAS_CCFPATH``) that
    none of ``manifests`` pins. Reads no file's bytes and deletes nothing."""
    from reprocal.fetch._unused import unused_files

    report = unused_files((manifest_of(m) for m in manifests), directories(ccf_path, names))
    given = tuple(m.calibration_id if isinstance(m, Manifest) else str(m) for m in manifests)
    return UnusedResult(given, tuple(f.path for f in report.files),
                        tuple(f.stat.size for f in report.files))


__all__ = ["FetchPlanResult", "FetchRunResult", "FetchScriptResult", "UnusedResult", "fetch",
           "fetch_plan", "fetch_script", "unused"]
