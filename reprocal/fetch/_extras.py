"""Fetching the extra calibration sets a manifest pins (an ESAS caldb, canned responses).

They are fetched as constituents are (:mod:`reprocal.fetch._engine`: ``.NAME.part``, resume,
size and sha256 checked before the rename, mirrors tried in order, a dead mirror skipped for the
run), into their home ``extras/<label>/`` (:func:`reprocal.repo._extras.extras_home`), each
directory made one real directory at a time (:func:`reprocal.fs._tree.safe_dir`: a link planted
in the tree is refused, never written through). Where a set's files are read from:

* each mirror's ``extras/<label>/`` (ESA's CCF server keeps canned matrices in
  ``extras/responses/``; a reprocal repository, or an image's ``/ccf``, is a mirror of its own
  sets), then the set's own ``url`` (where it was pinned from);
* a set pinned from a tarball (an ESAS caldb as HEASARC ships it) is fetched as that tarball:
  from each mirror's ``extras/<NAME>``, then the ``url`` it was pinned from (HEASARC). It is
  checked against its pinned size and sha256, kept as ``extras/<NAME>``, checked member by
  member (:func:`reprocal.fs._untar.scan`), and its files are unpacked, each checked against its
  pin.
"""

from __future__ import annotations

import contextlib
import os
import stat
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from reprocal.errors import ReprocalError
from reprocal.fetch._engine import (
    Attempt,
    FetchResult,
    Planned,
    _lock_others,
    repository_lock,
    run_entries,
)
from reprocal.fetch._health import MirrorHealth
from reprocal.fetch._item import ExtraItem
from reprocal.fetch._mirrors import InvalidMirrorError, Mirror, parse_mirror
from reprocal.fetch._plan import Level, PlanEntry
from reprocal.fetch._transports import Transport
from reprocal.fs._hashing import sha256_file
from reprocal.fs._inputs import UnsafeFileError
from reprocal.fs._tree import safe_dir
from reprocal.fs._untar import scan, unpack
from reprocal.progress import Progress, or_null
from reprocal.repo._extras import EXTRAS_DIR, extras_home
from reprocal.state._manifest import ExtraFile, ExtraSet

UNPACKED = "(unpacked from {name})"
"""The ``mirror`` of a file installed from the set's tarball."""


def _origin(url: str | None) -> Mirror | None:
    """The mirror of a URL recorded as a set's origin (``None`` when it is none we can read)."""
    if not url:
        return None
    try:
        return parse_mirror(url, where="the set's url")
    except InvalidMirrorError:
        return None


def file_mirrors(x: ExtraSet, mirrors: Sequence[Mirror]) -> tuple[Mirror, ...]:
    """Where the files of ``x`` are read from: each mirror's ``extras/<label>/``, then the set's
    ``url``."""
    out = [m.under(f"{EXTRAS_DIR}/{x.label}") for m in mirrors]
    origin = _origin(x.url) if x.tarball is None else None
    return tuple(out + ([origin] if origin is not None else []))


def tarball_mirrors(x: ExtraSet, mirrors: Sequence[Mirror]) -> tuple[Mirror, ...]:
    """Where the tarball of ``x`` is read from: each mirror's ``extras/``, then the directory of
    the URL it was pinned from (its name is the tarball's)."""
    out = [m.under(EXTRAS_DIR) for m in mirrors]
    if x.url and x.tarball is not None:
        base, _, name = x.url.rpartition("/")
        if urllib.parse.unquote(name) == x.tarball.path:
            origin = _origin(base + "/")
            if origin is not None:
                out.append(origin)
    return tuple(out)


@attrs.frozen
class SetPlan:
    """What fetching one set must do."""

    set: ExtraSet
    home: Path
    present: tuple[str, ...]
    """Paths already right."""
    needed: tuple[tuple[ExtraFile, str], ...]
    """Files to bring, with their state (``missing``, ``wrong-size``, ``wrong-hash``)."""
    tarball: Path | None = None
    """Where the set's tarball is (or goes) when it is fetched as one."""
    tarball_state: str = ""
    """``present`` or why it must be fetched."""


def _state(path: Path, f: ExtraFile | tuple[int, str], level: Level) -> str:
    size, sha = (f.size, f.sha256) if isinstance(f, ExtraFile) else f
    try:
        st = path.stat()
    except OSError:
        return "missing"
    if not stat.S_ISREG(st.st_mode):
        return "missing"
    if st.st_size != size:
        return "wrong-size"
    if level == "sha256":
        try:
            return "present" if sha256_file(path) == sha else "wrong-hash"
        except OSError:
            return "wrong-hash"
    return "present"


def plan_set(x: ExtraSet, dirs: Sequence[Path], *, level: Level = "sha256") -> SetPlan:
    """Look at the set's home and say what a fetch must bring (writes nothing)."""
    home = extras_home(dirs, x.label)
    present, needed = [], []
    for f in x.files:
        state = _state(home / f.path, f, level)
        if state == "present":
            present.append(f.path)
        else:
            needed.append((f, state))
    tarball, tb_state = None, ""
    if x.tarball is not None and needed:
        tarball = home.parent / x.tarball.path
        tb_state = _state(tarball, x.tarball, "sha256")
    return SetPlan(x, home, tuple(present), tuple(needed), tarball, tb_state)


def _entry(item: ExtraItem, state: str, path: Path) -> PlanEntry:
    try:
        partial = os.lstat(path.parent / f".{path.name}.part").st_size
    except OSError:
        partial = 0
    return PlanEntry(item, state, path.parent, path, partial)  # type: ignore[arg-type]


def _work(p: SetPlan, mirrors: Sequence[Mirror]) -> list[tuple[PlanEntry, Sequence[Mirror]]]:
    """The engine's entries for one set: its tarball, or each needed file."""
    x = p.set
    if x.tarball is not None:
        if p.tarball is None or p.tarball_state == "present":
            return []
        tb = x.tarball
        item = ExtraItem(f"{x.label}: {tb.path}", tb.path, tb.size, tb.sha256)
        return [(_entry(item, p.tarball_state, p.tarball), tarball_mirrors(x, mirrors))]
    sources = file_mirrors(x, mirrors)
    return [(_entry(ExtraItem(f"{x.label}/{f.path}", f.path, f.size, f.sha256), state,
                    p.home / f.path), sources) for f, state in p.needed]


def dry_run_extras(sets: Sequence[ExtraSet], dirs: Sequence[Path], mirrors: Sequence[Mirror],
                   *, level: Level = "sha256") -> tuple[Planned, ...]:
    """What a fetch of the sets would download, and from which mirror first; touches nothing."""
    out = []
    for x in sets:
        for entry, ms in _work(plan_set(x, dirs, level=level), mirrors):
            if ms:
                out.append(Planned(entry, ms[0]))
    return tuple(out)


def fetch_extras(sets: Sequence[ExtraSet], dest: Path, also: Sequence[Path],
                 mirrors: Sequence[Mirror], *, transport: Transport, jobs: int = 4,
                 level: Level = "sha256", progress: Progress | None = None,
                 on_wait: Callable[[], None] | None = None
                 ) -> tuple[tuple[FetchResult, ...], tuple[tuple[str, str], ...]]:
    """Bring every pinned file of ``sets`` that is missing or wrong into its home (see the
    module docstring); one result per file (``label/path``), and the mirrors found down."""
    bar = or_null(progress)
    health = MirrorHealth()
    dirs = [dest, *also]
    results: dict[str, FetchResult] = {}
    with repository_lock(dest, on_wait=on_wait), contextlib.ExitStack() as stack:
        plans = [plan_set(x, dirs, level=level) for x in sets]
        refused = _lock_others(stack, {p.home.parent.parent for p in plans
                                       if p.needed and p.home.parent.parent != dest})
        work = []
        blocked = set()
        for p in plans:
            for path in p.present:
                results[f"{p.set.label}/{path}"] = FetchResult(f"{p.set.label}/{path}", "present")
            why = refused.get(p.home.parent.parent) or _prepare(p)
            if why:
                blocked.add(p.set.label)
                for f, _ in p.needed:
                    results[f"{p.set.label}/{f.path}"] = _failed(p, f, "local-error", why)
                continue
            work += _work(p, mirrors)
        bar.start(sum(e.item.size or 0 for e, _ in work), items=len(work))
        got = run_entries(work, jobs=jobs, transport=transport, progress=bar, health=health)
        for p in plans:
            if p.set.tarball is None:
                results.update({k: v for k, v in got.items() if k.startswith(f"{p.set.label}/")})
            elif p.needed and p.set.label not in blocked:
                results.update(_unpacked(p, got.get(f"{p.set.label}: {p.set.tarball.path}")))
    return tuple(results[k] for k in sorted(results)), health.reasons()


def _prepare(p: SetPlan) -> str:
    """Make the set's directories (every component a real directory); why not, or ``""``."""
    if not p.needed:
        return ""
    root = p.home.parent.parent
    try:
        if p.set.tarball is not None:
            safe_dir(root, f"{EXTRAS_DIR}/{p.set.label}")
        else:
            for parent in sorted({f.path.rpartition("/")[0] for f, _ in p.needed}):
                safe_dir(root, f"{EXTRAS_DIR}/{p.set.label}" + (f"/{parent}" if parent else ""))
    except UnsafeFileError as exc:
        return f"{exc.filename}: {exc.strerror}"
    except OSError as exc:
        return f"{exc.filename or root}: {exc.strerror or exc}"
    return ""


def _failed(p: SetPlan, f: ExtraFile, kind: str, why: str, mirror: str = "") -> FetchResult:
    return FetchResult(f"{p.set.label}/{f.path}", "failed", attempts=(Attempt(mirror, kind, why),))


def _unpacked(p: SetPlan, fetched: FetchResult | None) -> dict[str, FetchResult]:
    """The set's needed files, unpacked from its tarball (present, or just fetched)."""
    assert p.set.tarball is not None and p.tarball is not None
    tb = p.set.tarball
    if fetched is not None and fetched.status == "failed":
        return {f"{p.set.label}/{f.path}": attrs.evolve(fetched, filename=f"{p.set.label}/{f.path}")
                for f, _ in p.needed}
    out: dict[str, FetchResult] = {}
    wanted = {f.path: (f.size, f.sha256) for f, _ in p.needed}
    mirror = UNPACKED.format(name=tb.path)
    try:
        scan(p.tarball, source=str(p.tarball))  # every member, before a byte is written
        unpack(p.tarball, p.home, wanted, source=str(p.tarball),
               done=lambda rel, _n, _s: out.__setitem__(
                   f"{p.set.label}/{rel}", FetchResult(f"{p.set.label}/{rel}", "fetched",
                                                       mirror=mirror)))
    except ReprocalError as exc:
        kind = "content-mismatch"
        return {**{f"{p.set.label}/{f.path}": _failed(p, f, kind, exc.one_line(), mirror)
                   for f, _ in p.needed}, **out}
    except OSError as exc:
        return {**{f"{p.set.label}/{f.path}": _failed(p, f, "local-error",
                                                       f"{exc.filename}: {exc.strerror}", mirror)
                   for f, _ in p.needed}, **out}
    return out


def download(files: Sequence[tuple[Mirror, str, str | None]], dest: Path, *,
             check: Callable[[Path, ExtraItem], None] | None = None, jobs: int = 4,
             progress: Progress | None = None, transport: Transport | None = None
             ) -> dict[str, FetchResult]:
    """Download files no pin knows yet (``(mirror, path below it, path below dest or None for
    the same)``) into ``dest`` (a directory of the repository, made if need be, every component
    a real directory), as fetches do: ``.NAME.part``, resume, rename; the size is bounded by
    ``download-size`` and ``check`` judges the bytes. Results by the path below ``dest``."""
    from reprocal.fetch._transports import RetryPolicy, Transports

    mirrors = [m for m, _, _ in files]
    transport = transport or Transports.default(mirrors, policy=RetryPolicy.of())
    root = dest.parent
    safe_dir(root, dest.name)
    work = []
    for mirror, remote, local in files:
        rel = local or remote
        parent = rel.rpartition("/")[0]
        safe_dir(dest, parent) if parent else None
        item = ExtraItem(rel, remote, None, None)
        work.append((_entry(item, "missing", dest / rel), (mirror,)))
    with repository_lock(root):
        return run_entries(work, jobs=jobs, transport=transport, progress=or_null(progress),
                           check=check)  # type: ignore[arg-type]


def url_parts(url: str, *, field: str) -> tuple[Mirror, str]:
    """``(mirror of its directory, file name)`` of a file's URL (http(s), file, rsync)."""
    base, _, name = url.rstrip().rpartition("/")
    name = urllib.parse.unquote(name)
    if not base or not name or name in (".", ".."):
        raise InvalidMirrorError(f"{field}: {url!r} does not name a file")
    return parse_mirror(base + "/", where=field), name


__all__ = ["SetPlan", "download", "dry_run_extras", "fetch_extras", "file_mirrors", "plan_set",
           "tarball_mirrors", "url_parts"]
