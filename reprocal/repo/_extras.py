"""Extra calibration sets in a repository: where they live, and verifying their bytes.

Calibration that is not in the CCF (an ESAS caldb, canned response matrices) lives beside it,
in ``extras/<label>/`` of a repository directory, laid out as the set's paths say. With several
directories (``SAS_CCFPATH`` order) a set's home is the first directory that has
``extras/<label>/`` (:func:`extras_home`), else the first one (where ``fetch`` and ``pin`` put
it). The CCF walker never looks there (``extras/`` is a subdirectory, and its files are not
constituents), so cifbuild and every command that lists constituents are unaffected.

:func:`verify_extras` checks each pinned file at the levels of :mod:`reprocal.repo._verify`:
``stat`` (present, pinned size, unchanged since its bytes were last read, by the verify cache),
then ``fits`` and ``full``, which both read and hash every file (an extra file has no
constituent header to check, so its sha256 is what says it is the pinned one). Files of a set's
directory that the set does not pin are listed, never judged (a caldb tree may hold more).
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.fs._hashing import hash_files
from reprocal.progress import NullProgress, Progress
from reprocal.repo._verify import Status
from reprocal.repo._verifycache import CacheEntry, FileStat, VerifyCache, now_ns

EXTRAS_DIR = "extras"
"""The directory of a repository (and of ``/ccf`` in an image) that holds the extra sets."""


def extras_home(dirs: Sequence[Path], label: str) -> Path:
    """Where set ``label`` lives: ``D/extras/<label>`` of the first directory ``D`` that has
    it, else of the first directory."""
    for d in dirs:
        candidate = Path(d) / EXTRAS_DIR / label
        if candidate.is_dir():
            return candidate
    return Path(dirs[0]) / EXTRAS_DIR / label


@attrs.frozen
class ExpectedExtra:
    """A file of an extra set, as pinned."""

    label: str
    path: str
    size: int
    sha256: str

    @property
    def name(self) -> str:
        """``label/path``: how reports name it."""
        return f"{self.label}/{self.path}"


@attrs.frozen
class ExtraResult:
    """The verdict on one pinned file of an extra set."""

    label: str
    path: str
    status: Status
    file: Path | None = None
    """Where it was looked for (``None``: nowhere to look)."""
    detail: str = ""
    basis: str = ""
    """``size`` (never read here), ``cache`` (unchanged since read), ``sha256`` (hashed now)."""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def name(self) -> str:
        return f"{self.label}/{self.path}"

    def to_json(self) -> dict[str, Any]:
        return {"set": self.label, "path": self.path, "status": self.status.value,
                "file": str(self.file) if self.file else None, "detail": self.detail,
                "basis": self.basis}


@attrs.frozen
class ExtrasReport:
    """Per-file outcomes of :func:`verify_extras`, and what the sets' directories hold besides."""

    level: str
    results: tuple[ExtraResult, ...]
    unpinned: tuple[str, ...] = ()
    """``label/path`` of files in a set's directory that the set does not pin."""
    hashed: int = 0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def problems(self) -> list[ExtraResult]:
        return [r for r in self.results if not r.ok]

    def counts(self) -> dict[str, int]:
        c = Counter(r.status for r in self.results)
        return {s.value: c.get(s, 0) for s in Status if s is not Status.DUPLICATE}

    def by_set(self) -> dict[str, list[ExtraResult]]:
        out: dict[str, list[ExtraResult]] = {}
        for r in self.results:
            out.setdefault(r.label, []).append(r)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "ok": self.ok, "counts": self.counts(),
                "hashed": self.hashed, "unpinned": list(self.unpinned),
                "results": [r.to_json() for r in self.results]}


def _located(e: ExpectedExtra, dirs: Sequence[Path]
             ) -> tuple[ExtraResult | None, Path, os.stat_result | None]:
    """A verdict the directory alone gives (missing, not a file, wrong size), or ``None``."""
    target = extras_home(dirs, e.label) / e.path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return ExtraResult(e.label, e.path, Status.MISSING, target, "not there"), target, None
    except OSError as exc:
        return (ExtraResult(e.label, e.path, Status.CORRUPT, target,
                            f"cannot read: {exc.strerror}"), target, None)
    if not stat.S_ISREG(st.st_mode):
        return (ExtraResult(e.label, e.path, Status.CORRUPT, target, "not a regular file"),
                target, None)
    if st.st_size != e.size:
        return (ExtraResult(e.label, e.path, Status.WRONG_SIZE, target,
                            f"size {st.st_size}, pinned {e.size}"), target, None)
    return None, target, st


def verify_extras(expected: Iterable[ExpectedExtra], dirs: Sequence[Path], *,
                  level: str = "stat", cache: VerifyCache | None = None, reuse: bool = False,
                  jobs: int | None = None, progress: Progress | None = None) -> ExtrasReport:
    """Check every pinned extra file in its set's home (see the module docstring). ``reuse``:
    at ``fits``/``full``, what the cache vouches for (the same bytes, by their stat key, hashed
    before) is not read again (``rebuild`` and ``run`` want the facts, not a scrub)."""
    items = list(expected)
    bar: Progress = progress if progress is not None else NullProgress()
    started = now_ns()
    results: dict[str, ExtraResult] = {}
    todo: list[tuple[ExpectedExtra, Path, FileStat]] = []
    for e in items:
        verdict, target, found = _located(e, dirs)
        if verdict is not None:
            results[e.name] = verdict
            bar.update(1)
        else:
            assert found is not None
            todo.append((e, target, FileStat.of(found)))
    known = cache.lookup([os.path.realpath(t) for _, t, _ in todo]) if cache else {}
    racy = cache.racy_ns if cache else 0

    def trusted(target: Path, st: FileStat) -> CacheEntry | None:
        entry = known.get(os.path.realpath(target))
        return entry if entry is not None and entry.trusted(st, racy) else None

    if level == "stat":
        for e, target, st in todo:
            results[e.name] = _from_cache(e, target, st, known.get(os.path.realpath(target)),
                                          trusted(target, st))
        bar.update(len(todo))
        return ExtrasReport(level, tuple(results[e.name] for e in items), _unpinned(items, dirs))
    need = [(e, t, st) for e, t, st in todo if not reuse or _unvouched(trusted(t, st))]
    digests = dict(hash_files([os.path.realpath(t) for _, t, _ in need], jobs=jobs,
                              progress=bar)) if need else {}
    bar.update(len(todo) - len(need))
    fresh = []
    for e, target, st in todo:
        real = os.path.realpath(target)
        got = digests.get(real)
        if got is None:  # vouched for by the cache (reuse)
            entry = trusted(target, st)
            assert entry is not None
            got = entry.sha256
        if isinstance(got, OSError):
            results[e.name] = ExtraResult(e.label, e.path, Status.CORRUPT, target,
                                          f"cannot read: {got.strerror}")
            continue
        if real in digests and _unchanged(real, st):
            fresh.append(CacheEntry(real, st, started, got))
        if got != e.sha256:
            results[e.name] = ExtraResult(e.label, e.path, Status.CORRUPT, target,
                                          f"sha256 {got}, pinned {e.sha256}", "sha256")
        else:
            results[e.name] = ExtraResult(e.label, e.path, Status.OK, target,
                                          "" if real in digests else "reused from the verify "
                                          "cache", "sha256")
    if cache is not None:
        cache.store(fresh)
    return ExtrasReport(level, tuple(results[e.name] for e in items), _unpinned(items, dirs),
                        hashed=len(need))


def _unvouched(entry: CacheEntry | None) -> bool:
    """The cache does not hold the file's sha256 for its bytes as they are now."""
    return entry is None or entry.sha256 is None


def _unchanged(real: str, st: FileStat) -> bool:
    try:
        return FileStat.of(os.stat(real)) == st
    except OSError:
        return False


def _from_cache(e: ExpectedExtra, target: Path, st: FileStat, seen: CacheEntry | None,
                entry: CacheEntry | None) -> ExtraResult:
    """The ``stat`` verdict: ``seen`` is what the cache holds for the path, ``entry`` the same
    when it still vouches for the file (unchanged stat, not racily clean)."""
    if seen is not None and seen.sha256 is not None and entry is None and seen.stat != st:
        return ExtraResult(e.label, e.path, Status.MODIFIED, target,
                           "changed since it was last hashed (mtime/inode/ctime differ); check "
                           "it with --level full", "cache")
    if entry is None or entry.sha256 is None:
        return ExtraResult(e.label, e.path, Status.OK, target,
                           "pinned size; never hashed here (run --level full once)", "size")
    if entry.sha256 != e.sha256:
        return ExtraResult(e.label, e.path, Status.CORRUPT, target,
                           f"when last read: sha256 {entry.sha256}, pinned {e.sha256}", "cache")
    return ExtraResult(e.label, e.path, Status.OK, target, "unchanged since it was hashed",
                       "cache")


def _unpinned(items: Sequence[ExpectedExtra], dirs: Sequence[Path]) -> tuple[str, ...]:
    """Files (not hidden) in each set's home that the set does not pin."""
    pinned: dict[str, set[str]] = {}
    for e in items:
        pinned.setdefault(e.label, set()).add(e.path)
    out = []
    for label, paths in sorted(pinned.items()):
        home = extras_home(dirs, label)
        for root, subdirs, files in os.walk(home):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            rel_root = os.path.relpath(root, home)
            for name in sorted(files):
                if name.startswith("."):
                    continue
                rel = name if rel_root == "." else f"{rel_root}/{name}".replace(os.sep, "/")
                if rel not in paths:
                    out.append(f"{label}/{rel}")
    return tuple(out)


__all__ = ["EXTRAS_DIR", "ExpectedExtra", "ExtraResult", "ExtrasReport", "extras_home",
           "verify_extras"]
