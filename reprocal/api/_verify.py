"""``verify`` and ``verify_repository``: a manifest's pinned bytes against the repository, or
every file of the repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from reprocal.api._checked import Checked
from reprocal.api._inputs import PathLike, directories, manifest_of, warn
from reprocal.core._drift import NewerIssue
from reprocal.errors import PARAMETERS, CheckFailed, InputError, Names, ReprocalError
from reprocal.progress import Progress, or_null
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._extras import ExpectedExtra, ExtrasReport, verify_extras
from reprocal.repo._repocheck import RepositoryReport
from reprocal.repo._verify import LEVELS, VerifyReport
from reprocal.state._manifest import Manifest

if TYPE_CHECKING:
    from reprocal.repo._walk import ListedFile

# --- a manifest -----------------------------------------------------------------------------


@attrs.frozen
class VerifyResult(Checked):
    """What :func:`verify` found."""

    manifest: Manifest
    source: str | None
    """The manifest file, as given (``None``: a manifest object was given)."""
    report: VerifyReport
    """One result per pinned constituent."""
    newer: tuple[NewerIssue, ...] | None
    """Newer eligible issues the repository holds now (``None``: it could not be told)."""
    failure: CheckFailed | None = attrs.field(default=None, eq=False)
    """Raised by :meth:`raise_if_failed` when a pinned file is not as pinned."""
    extras: ExtrasReport | None = None
    """One result per file of the manifest's extra calibration sets (``None``: it pins none)."""

    @property
    def ok(self) -> bool:
        return self.report.ok and (self.extras is None or self.extras.ok)

    def to_json(self) -> dict[str, Any]:
        doc = self.report.to_json()
        doc.update(manifest=self.source, calibration_id=self.manifest.calibration_id,
                   newer=[n.to_json() for n in self.newer] if self.newer is not None else None,
                   ok=self.ok, extras=self.extras.to_json() if self.extras else None)
        return doc


def expected_extras(manifest: Manifest) -> list[ExpectedExtra]:
    """Every file of the manifest's extra sets, as :func:`reprocal.repo._extras.verify_extras`
    checks it."""
    return [ExpectedExtra(x.label, f.path, f.size, f.sha256)
            for x in manifest.extras for f in x.files]


def _newer(manifest: Manifest, dirs: tuple[Path, ...], catalog: PathLike | None,
           progress: Progress | None, listed: Mapping[Path, Sequence[ListedFile]] | None = None
           ) -> tuple[NewerIssue, ...] | None:
    """Newer eligible issues present in the repository now (``None`` if it cannot be told)."""
    from reprocal.core._dates import resolve
    from reprocal.core._drift import newer_issues
    from reprocal.core._names import ConstituentName
    from reprocal.repo._repository import Repository

    # only a higher issue than the lowest pinned one of its type, valid by the latest
    # observation date, can be newer: the other rows of the catalogue are never read
    floor: dict[tuple[str, str], int] = {}
    for filename in set().union(*{obs.files for obs in manifest.observations}):
        name = ConstituentName.parse(filename)
        floor[name.key] = min(name.issue, floor.get(name.key, name.issue))
    try:
        or_null(progress).start(None)
        with Repository(dirs, catalog=catalog, progress=progress, listed=listed) as repo:
            latest = max((o.obs_date for o in manifest.observations), default=None)
            present = [lf.constituent for lf in repo.present(above=floor, valid_by=latest)]
            withdrawals = repo.withdrawals()
    except ReprocalError as exc:
        warn(f"cannot tell whether newer issues exist: {exc.one_line()}")
        return None
    labelled = list(zip(manifest.labels(), manifest.observations, strict=True))
    return tuple(newer_issues(labelled, present, today=resolve("now"), withdrawals=withdrawals))


def verify(
    manifest: Manifest | PathLike,
    *,
    ccf_path: CcfPath = None,
    level: str = "stat",
    jobs: int | None = None,
    rehash: bool = False,
    cache: PathLike | None = None,
    catalog: PathLike | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> VerifyResult:
    """Verify the constituents ``manifest`` pins in the repository ``ccf_path`` (``None``:
    ``$SAS_CCFPATH``) at ``level``: ``stat`` (pinned size, unchanged since verified), ``fits``
    (and every HDU's FITS checksums) or ``full`` (and sha256); then say which newer eligible
    issues the repository now holds (by today's date). The files of the manifest's extra
    calibration sets are checked in their homes (``extras/<label>/``) at the same level
    (``fits`` and ``full`` hash them: they have no constituent header).

    Only ``stat`` rests on the verify cache (``cache``, default: ``$REPROCAL_VERIFY_CACHE`` or
    the user cache directory); ``fits`` and ``full`` read every pinned file every time, and
    refresh the cache. ``rehash`` at ``stat`` does not trust the cache: every file is read and
    hashed, which is ``full`` (the result says ``level="full"``); ``fits`` and ``full`` always
    read.
    """
    from reprocal.repo._verify import Expected, verify_files
    from reprocal.repo._verifycache import VerifyCache
    from reprocal.repo._walk import list_files

    if level not in LEVELS:
        raise InputError(f"{names('level')} {level!r} is not one of {', '.join(LEVELS)}")
    if rehash and level == "stat":
        level = "full"
    m = manifest_of(manifest)
    expected = [Expected.from_pinned(f) for f in m.files]
    dirs = directories(ccf_path, names)
    extra_files = expected_extras(m)
    # one walk for the pinned files and the catalogue's refresh (the newer-issue check)
    listed = {d: list_files([d]) for d in dirs}
    with VerifyCache(cache, warn=warn) as vc:
        or_null(progress).start(len(expected) + len(extra_files))
        report = verify_files(expected, dirs, level=level, jobs=jobs, cache=vc,
                              progress=progress, names=names, listed=listed)
        extras = (verify_extras(extra_files, dirs, level=level, cache=vc, jobs=jobs,
                                progress=progress) if m.extras else None)
    newer = _newer(m, dirs, catalog, progress, listed)
    bad = [f"{len(report.problems())} of {len(report.results)} pinned constituents"] \
        if not report.ok else []
    if extras is not None and not extras.ok:
        bad.append(f"{len(extras.problems())} of {len(extras.results)} files of extra "
                   "calibration sets")
    failure = None
    if bad:
        failure = CheckFailed(f"{' and '.join(bad)} are not as pinned",
                              hint="`reprocal fetch` can restore them")
    source = None if isinstance(manifest, Manifest) else str(manifest)
    return VerifyResult(m, source, report, newer, failure, extras)


# --- the whole repository -------------------------------------------------------------------


@attrs.frozen
class RepositoryVerifyResult(Checked):
    """What :func:`verify_repository` found."""

    report: RepositoryReport
    """One entry per file (or duplicate, or catalogued file gone)."""
    failure: CheckFailed | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()


def verify_repository(
    *,
    ccf_path: CcfPath = None,
    recurse: bool = False,
    rehash: bool = False,
    cache: PathLike | None = None,
    catalog: PathLike | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> RepositoryVerifyResult:
    """Check every file of the repository: names, headers, every HDU's FITS checksums,
    duplicates, and files the catalogue indexed before that are gone (the catalogue is read,
    not refreshed)."""
    from reprocal.repo._catalog import Catalog
    from reprocal.repo._repocheck import verify_repository as check_repository
    from reprocal.repo._verifycache import VerifyCache

    dirs = directories(ccf_path, names)
    expected: list[str] = []
    try:
        with Catalog.open(catalog) as cat:  # what was indexed here before, not refreshed
            expected = [lf.filename for lf in cat.present(list(dirs), recurse=recurse)]
    except ReprocalError as exc:
        warn(f"no catalogue to compare with: {exc.one_line()}")
    with VerifyCache(cache, warn=warn) as vc:
        or_null(progress).start(None)
        report = check_repository(dirs, recurse=recurse, expected=expected, cache=vc,
                                  rehash=rehash, progress=progress)
    failure = None
    if not report.ok:
        failure = CheckFailed(f"{len(report.problems())} problem(s) in the repository",
                              hint="see the report above")
    return RepositoryVerifyResult(report, failure)


__all__ = ["RepositoryVerifyResult", "VerifyResult", "verify", "verify_repository"]
