"""The whole-repository check: every file's FITS checksums and header, duplicates, strangers,
and constituents the catalogue expected that are gone.

Unlike :func:`reprocal.repo._verify.verify_files` there is no pinned state to compare with: what can be
checked is what each file says about itself (CHECKSUM/DATASUM of every HDU, the header naming the
same constituent as the file name) and how the files relate (one name at two paths). A fact
established before about the same bytes is reused from the verify cache unless ``rehash``.
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._names import ConstituentName
from reprocal.fits._checksum import FitsCheck, check_files
from reprocal.progress import NullProgress, Progress
from reprocal.repo._ccfpath import ccf_dirs
from reprocal.repo._verify import unchanged_since_listed
from reprocal.repo._verifycache import CacheEntry, VerifyCache, now_ns
from reprocal.repo._walk import DEFAULT_GLOB, Kind, ListedFile, by_name, list_files


class Finding(enum.Enum):
    """What the check says about one file (or one name)."""

    OK = "ok"
    CORRUPT = "corrupt"
    """Unreadable, truncated, or a CHECKSUM/DATASUM mismatch in some HDU."""
    HEADER = "header-mismatch"
    """Valid FITS, but its header names another constituent (or none) than its file name."""
    DUPLICATE = "duplicate"
    """One constituent name at several paths."""
    NOT_CCF = "not-ccf"
    """Matches cifbuild's file glob (``*.ccf|*.CCF``) but is not a constituent name."""
    MISNAMED = "misnamed"
    """A constituent name in a case the file glob misses (``EPN_X_0001.Ccf``): cifbuild does
    not see it (see :class:`reprocal.repo._walk.Kind`)."""
    GONE = "gone"
    """Expected (by the catalogue or a master index) but in none of the directories."""
    OTHER = "other"
    """Any other file: not read by cifbuild, listed for information only."""


PROBLEMS = frozenset({Finding.CORRUPT, Finding.HEADER, Finding.DUPLICATE, Finding.NOT_CCF,
                      Finding.MISNAMED, Finding.GONE})


_FINDING = {Kind.MISNAMED: Finding.MISNAMED, Kind.NOT_CCF: Finding.NOT_CCF,
            Kind.OTHER: Finding.OTHER}
_DETAIL = {
    Kind.MISNAMED: "cifbuild's file glob does not match this case, so it does not see the file; "
                   "rename it to {name}",
    Kind.NOT_CCF: "named like a calibration file but not SCOPE_TYPEID_NNNN.CCF; cifbuild would "
                  "try to read it",
    Kind.OTHER: "",
}


@attrs.frozen
class RepoEntry:
    """One finding."""

    finding: Finding
    name: str
    """Constituent name (canonical) or the file's own name."""
    paths: tuple[Path, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.finding not in PROBLEMS

    def to_json(self) -> dict[str, Any]:
        return {"finding": self.finding.value, "name": self.name,
                "paths": [str(p) for p in self.paths], "detail": self.detail}


@attrs.frozen
class RepositoryReport:
    """Outcome of :func:`verify_repository`."""

    dirs: tuple[Path, ...]
    entries: tuple[RepoEntry, ...]
    checked: int = 0
    """Files whose FITS sums were computed in this run."""
    reused: int = 0
    """Files vouched for by the verify cache."""

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.entries)

    def counts(self) -> dict[str, int]:
        c = Counter(e.finding for e in self.entries)
        return {f.value: c.get(f, 0) for f in Finding}

    def problems(self) -> list[RepoEntry]:
        return [e for e in self.entries if not e.ok]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "dirs": [str(d) for d in self.dirs], "counts": self.counts(),
                "checked": self.checked, "reused": self.reused,
                "entries": [e.to_json() for e in self.entries]}


def verify_repository(
    dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    *,
    recurse: bool = False,
    expected: Iterable[str | Constituent] = (),
    cache: VerifyCache | None = None,
    rehash: bool = False,
    fileglob: str = DEFAULT_GLOB,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> RepositoryReport:
    """Check every file of the repository ``dirs`` (``None``: ``$SAS_CCFPATH``).

    ``expected`` names (or constituents) the catalogue knows of: those in no directory are
    reported ``gone``.
    """
    dirs_t = ccf_dirs(dirs, option="dirs")
    bar: Progress = progress if progress is not None else NullProgress()
    started = now_ns()
    files = list_files(dirs_t, recurse=recurse, fileglob=fileglob)
    entries: list[RepoEntry] = [
        RepoEntry(_FINDING[f.kind], f.path.name, (f.path,), _DETAIL[f.kind].format(name=f.name))
        for f in files if f.kind is not Kind.CONSTITUENT]
    found = by_name(files)
    to_check: list[tuple[str, ListedFile]] = []
    for name, where in sorted(found.items()):
        if len(where) > 1:
            entries.append(RepoEntry(
                Finding.DUPLICATE, name, tuple(w.path for w in where),
                f"present {len(where)} times; cifbuild would use the first in path order"))
        to_check.extend((name, w) for w in where)
    known = cache.lookup([loc.real for _, loc in to_check]) if cache is not None else {}
    racy_ns = cache.racy_ns if cache is not None else 0
    def vouched(loc: ListedFile) -> CacheEntry | None:
        prior = known.get(loc.real)
        if rehash or prior is None or prior.fits_ok is None:
            return None
        return prior if prior.trusted(loc.stat, racy_ns) else None

    checks = check_files([(loc.real, name) for name, loc in to_check if vouched(loc) is None],
                         jobs=jobs, progress=bar)
    fresh: list[CacheEntry] = []
    for name, loc in to_check:
        prior = vouched(loc)
        if prior is not None:
            ok, problem, kind = prior.fits_ok, prior.fits_problem, prior.fits_kind
            bar.update(1)
        else:
            got = checks[loc.real]
            fc = (got if isinstance(got, FitsCheck)
                  else FitsCheck(f"cannot read: {got.strerror}", kind="corrupt"))
            ok, problem, kind = fc.ok, fc.problem, fc.kind
            if isinstance(got, FitsCheck) and unchanged_since_listed(loc):
                fresh.append(CacheEntry(loc.real, loc.stat, started, None, fc.ok, fc.problem,
                                        fc.kind or None))
        if ok:
            if len(found[name]) == 1:  # the copies of a duplicate are its one entry, not "ok"
                entries.append(RepoEntry(Finding.OK, name, (loc.path,)))
        else:
            finding = Finding.HEADER if kind == "header" else Finding.CORRUPT
            entries.append(RepoEntry(finding, name, (loc.path,), problem or ""))
    checked = len(checks)
    reused = len(to_check) - checked
    if cache is not None:
        cache.store(fresh)
    gone = sorted({(e.filename if isinstance(e, Constituent) else ConstituentName.parse(e).filename)
                   for e in expected} - set(found))
    entries.extend(RepoEntry(Finding.GONE, n, (), "expected by the catalogue but in no directory")
                   for n in gone)
    order = {f: i for i, f in enumerate(Finding)}
    entries.sort(key=lambda e: (order[e.finding] if not e.ok else len(order), e.name))
    return RepositoryReport(dirs_t, tuple(entries), checked, reused)


__all__ = ["Finding", "RepoEntry", "RepositoryReport", "verify_repository"]
