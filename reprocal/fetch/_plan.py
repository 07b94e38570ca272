"""What a fetch must bring: the pinned items, and how each looks in the repository now.

:func:`plan` reads the repository (sizes, and sha256 of present files at level ``sha256``) and
writes nothing; :mod:`reprocal.fetch._engine` acts on its answer under the repository lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import attrs

from reprocal.errors import InputError
from reprocal.fetch._item import FetchItem, _unique
from reprocal.fetch._partfile import part_path

Level = Literal["size", "sha256"]


# --- plan -------------------------------------------------------------------------------------

State = Literal["present", "missing", "wrong-size", "wrong-hash", "unreadable"]


@attrs.frozen
class PlanEntry:
    """What one pinned file looks like in the repository now."""

    item: FetchItem
    """The pinned file."""
    state: State
    """``present`` (verified at the plan's level), ``missing``, ``wrong-size``, ``wrong-hash``
    or ``unreadable`` (the file could not be read to hash it)."""
    directory: Path
    """Where the file is, or will be installed: the first repository directory holding that
    name (a wrong copy is replaced where it is, never duplicated), else the destination."""
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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


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
    dirs = [dest, *(Path(d) for d in also)]

    def entry(item: FetchItem) -> PlanEntry:
        where = next((d for d in dirs if (d / item.filename).is_file()), dest)
        target = where / item.filename
        part = part_path(where, item.filename)
        partial = part.stat().st_size if part.is_file() else 0
        state: State
        if not target.is_file():
            state = "missing"
        elif item.size is not None and target.stat().st_size != item.size:
            state = "wrong-size"
        elif level == "sha256" and item.sha256 is not None:
            try:
                state = "present" if digest(target) == item.sha256 else "wrong-hash"
            except OSError:
                state = "unreadable"
        else:
            state = "present"
        return PlanEntry(item, state, where, partial if state != "present" else 0)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return Plan(tuple(pool.map(entry, _unique(items))), level)
