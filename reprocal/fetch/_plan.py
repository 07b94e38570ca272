"""What a fetch must bring: the pinned items, and how each looks in the repository now.

:func:`plan` reads the repository (sizes, and sha256 of present files at level ``sha256``) and
writes nothing; :mod:`reprocal.fetch._engine` acts on its answer under the repository lock.

The directories are listed by :func:`reprocal.repo._walk.list_files`, so a pinned name is found
in any case: ``emos1_calsourcedata_0001.ccf`` holds ``EMOS1_CALSOURCEDATA_0001.CCF`` (it is
present if its bytes are right, replaced *at that path* if not), and a fetch never installs a
second copy of a constituent that differs only in case.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import attrs

from reprocal.errors import InputError
from reprocal.fetch._item import FetchItem, Wanted, _unique
from reprocal.fetch._partfile import part_path
from reprocal.fs._hashing import sha256_file
from reprocal.repo._walk import Kind, ListedFile, by_name, list_files

Level = Literal["size", "sha256"]


# --- plan -------------------------------------------------------------------------------------

State = Literal["present", "missing", "wrong-size", "wrong-hash", "unreadable", "misnamed"]


@attrs.frozen
class PlanEntry:
    """What one pinned file looks like in the repository now."""

    item: Wanted
    """The pinned file."""
    state: State
    """``present`` (verified at the plan's level), ``missing``, ``wrong-size``, ``wrong-hash``,
    ``unreadable`` (the file could not be read to hash it) or ``misnamed`` (only a file whose
    name differs in a case cifbuild's glob misses holds the name, e.g. ``.Ccf``: it is neither
    replaced nor duplicated; renaming it is the user's call)."""
    directory: Path
    """Where the file is, or will be installed: the first repository directory holding that
    name in any case (a wrong copy is replaced where it is, never duplicated), else the
    destination."""
    path: Path
    """The file itself: the one found (its own spelling, e.g. lower case), which a fetch
    replaces when wrong; else ``directory`` / the canonical name."""
    partial: int = 0
    """Bytes already in its ``.part`` file from an interrupted fetch (resumed, then verified)."""

    @property
    def needed(self) -> bool:
        return self.state != "present"


@attrs.frozen
class Plan:
    """Which pinned files a fetch must bring, and which are already right."""

    entries: tuple[PlanEntry, ...]
    """One entry per pinned file, sorted by file name."""
    level: Level
    """``size`` (size only) or ``sha256`` (size, then the hash of every present file)."""

    @property
    def needed(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.needed)

    @property
    def remaining(self) -> int | None:
        """Bytes still to receive for the needed files (what their ``.part`` files hold
        already deducted); ``None`` when the size of one of them is not known."""
        sizes = [(e.item.size, e.partial) for e in self.needed]
        if any(size is None for size, _ in sizes):
            return None
        return sum(size - min(partial, size) for size, partial in sizes if size is not None)


def plan(items: Iterable[FetchItem], dest_dir: Path | str, *, level: Level = "sha256",
         also: Sequence[Path | str] = (), digest: Callable[[Path], str] = sha256_file,
         jobs: int = 4) -> Plan:
    """Look at the repository and say, for each pinned file, whether it must be fetched.

    ``dest_dir`` is where new files go; ``also`` are the repository's other directories
    (``SAS_CCFPATH`` order): a name found there is checked there. Present files are hashed
    ``jobs`` at a time (hashlib releases the GIL)."""
    if level not in ("size", "sha256"):
        raise InputError(f"verification level {level!r} is not 'size' or 'sha256'")
    dest = Path(dest_dir)
    # one listing of every directory; a destination not made yet simply holds nothing
    files = list_files([dest, *(Path(d) for d in also)])
    found, misnamed = by_name(files), by_name(files, Kind.MISNAMED)

    def entry(item: FetchItem) -> PlanEntry:
        hit: ListedFile | None = next(iter(found.get(item.filename, ())), None)
        if hit is None:
            odd = misnamed.get(item.filename)
            if odd:
                return PlanEntry(item, "misnamed", odd[0].path.parent, odd[0].path)
            return _entry(item, "missing", dest, dest / item.filename)
        state: State
        if item.size is not None and hit.stat.size != item.size:
            state = "wrong-size"
        elif level == "sha256" and item.sha256 is not None:
            try:
                state = "present" if digest(hit.path) == item.sha256 else "wrong-hash"
            except OSError:
                state = "unreadable"
        else:
            state = "present"
        return _entry(item, state, hit.path.parent, hit.path)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return Plan(tuple(pool.map(entry, _unique(items))), level)


def _entry(item: FetchItem, state: State, where: Path, path: Path) -> PlanEntry:
    """The entry, with the bytes of an interrupted fetch's ``.part`` file when one is needed."""
    if state == "present":
        return PlanEntry(item, state, where, path)
    try:
        st = os.lstat(part_path(where, item.filename))  # a link is not ours: never followed
    except OSError:
        return PlanEntry(item, state, where, path, 0)
    return PlanEntry(item, state, where, path, st.st_size if stat.S_ISREG(st.st_mode) else 0)
