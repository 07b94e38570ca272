"""What a sync finds and must do: the mirror's listing against the history and the repository.

:func:`plan_sync` compares, without writing anything:

* the listing with the mirror's previous listing as the history replays it: names newly listed,
  names it no longer lists (departures: withdrawals, or on a reduced mirror perhaps names that
  left the valid set), names whose size or date changed;
* the directory with what the history says it holds: files no record accounts for (``found``),
  files recorded but gone (``lost``);
* each file held under a listed name whose listed size differs from ours: a **conflict** (the
  mirror changed the file under the same name; ours is kept); a same-size file whose listed
  date moved is a *suspect* only ``--deep`` can settle;
* the subset to mirror (``all``, the valid subset at an analysis date) and, of it, what is not
  here yet: the files to fetch.

Pure but for one directory walk; the sync (:mod:`reprocal.fetch._sync`) acts on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._subset import valid_subset
from reprocal.core._withdrawal import Withdrawals
from reprocal.errors import InputError
from reprocal.fetch._listing import Entry, Listing
from reprocal.repo._catalog import MASTER_INDEX_PREFIX
from reprocal.repo._history import History
from reprocal.repo._walk import ListedFile, by_name, list_files

MirrorSet = Literal["full", "valid"]


@attrs.frozen
class Subset:
    """Which of the listed files a sync mirrors."""

    kind: Literal["all", "valid"]
    """``all``: everything listed; ``valid``: the valid subset at :attr:`date`."""
    date: CalDate | None = None
    """The analysis date of the valid subset (``now`` resolved, or a date given)."""
    spelled: str = "all"
    """As the user gave it (``all``, ``valid-now``, ``2014-05-08``)."""

    def describe(self) -> str:
        if self.kind == "all":
            return "all"
        return f"{self.spelled} ({self.date})" if self.spelled != str(self.date) else str(self.date)


ALL = Subset("all")


@attrs.frozen
class Conflict:
    """A file held here that the mirror now has different bytes for, under the same name."""

    name: str
    local_size: int
    local_sha256: str | None
    """Known from the history or hashed (``None``: not known yet)."""
    upstream_size: int | None
    upstream_mtime: str | None
    upstream_sha256: str | None = None
    """Known only when ``--deep`` downloaded the mirror's file."""
    copy: str | None = None
    """Where the mirror's bytes were kept, relative to the repository directory."""
    known: bool = False
    """Recorded by an earlier sync already (the same upstream size and date)."""

    def describe(self) -> str:
        if self.upstream_sha256 is not None:
            theirs = f"sha256 {self.upstream_sha256[:16]}..., ours {(self.local_sha256 or '?')[:16]}..."
        else:
            theirs = f"{self.upstream_size} bytes listed, ours {self.local_size}"
        kept = f"; the mirror's bytes are kept as {self.copy}" if self.copy else ""
        return f"{self.name}: the mirror's file differs ({theirs}); ours is kept{kept}"

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class SyncPlan:
    """Everything a sync found before acting (the whole answer of ``--dry-run``)."""

    listing: Listing
    first: bool
    """No earlier sync from this mirror into this directory."""
    listed: tuple[Entry, ...]
    """Names the mirror lists that it did not list before (every name at the first sync)."""
    changed: tuple[tuple[Entry, tuple[int | None, str | None]], ...]
    """Listed names whose size or date changed since: (entry now, (size, date) before)."""
    departed: tuple[str, ...]
    """Names the mirror listed and no longer lists."""
    found: tuple[ListedFile, ...]
    """Files in the directory no history record accounts for."""
    lost: tuple[str, ...]
    """Names the history holds that are no longer in the directory."""
    conflicts: tuple[Conflict, ...]
    """Held files whose listed size differs from ours."""
    suspects: tuple[str, ...]
    """Held files of the same size whose listed date moved: only ``--deep`` can tell."""
    present: Mapping[str, ListedFile]
    """Every constituent present in the repository's directories, by name."""
    subset: Subset
    wanted: frozenset[str]
    """The listed names the subset takes."""
    to_fetch: tuple[Entry, ...]
    """Wanted names not present anywhere in the repository."""
    undated: tuple[str, ...] = ()
    """For a valid subset: listed names whose dates nothing knows yet (fetched all the same)."""


def _departed(prev: Mapping[str, Any] | None, listing: Listing) -> tuple[str, ...]:
    return tuple(sorted(set(prev or ()) - listing.names))


def newest_master_index(names: frozenset[str] | set[str]) -> str | None:
    """The highest issue of ``XMM_CALINDEX_nnnn.CCF`` among ``names``."""
    masters = sorted(n for n in names if n.startswith(MASTER_INDEX_PREFIX))
    return masters[-1] if masters else None


def wanted(listing: Listing, subset: Subset, known: Sequence[Constituent],
           withdrawals: Withdrawals, local: frozenset[str] = frozenset()
           ) -> tuple[frozenset[str], tuple[str, ...]]:
    """The listed names ``subset`` takes, and those without known dates (taken all the same:
    better one file too many than the one a selection needs).

    The valid subset is computed over what the mirror lists and the repository holds, every
    category on its own (:func:`reprocal.core._subset.valid_subset`); the newest master index
    the mirror lists is always taken (it is what dates the next sync's subset)."""
    names = listing.names
    if subset.kind == "all":
        return names, ()
    assert subset.date is not None
    meta = {c.filename: c for c in known}
    pool = [meta[n] for n in names | local if n in meta]
    undated = tuple(sorted(n for n in names if n not in meta
                           and not n.startswith(MASTER_INDEX_PREFIX)))
    master = newest_master_index(names)
    if master is None and undated and len(undated) == len(
            [n for n in names if not n.startswith(MASTER_INDEX_PREFIX)]):
        raise InputError(
            f"the subset {subset.spelled} needs the constituents' dates, and nothing knows the "
            f"dates of the {len(undated)} files the mirror lists",
            hint="give --master-index FILE (a master index of the archive), or sync --subset all")
    valid = valid_subset(pool, subset.date, category=None, withdrawals=withdrawals)
    take = set(valid & names) | set(undated)
    if master is not None:
        take.add(master)
    return frozenset(take), undated


def _conflicts(listing: Listing, held_here: Mapping[str, ListedFile], history: History,
               prev: Mapping[str, tuple[int | None, str | None]],
               holdings: Mapping[str, Any]) -> tuple[tuple[Conflict, ...], tuple[str, ...]]:
    recorded = history.conflicts()
    conflicts, suspects = [], []
    for e in listing.entries:
        f = held_here.get(e.name)
        if f is None:
            continue
        if e.size is not None and e.size != f.stat.size:
            h = holdings.get(e.name)
            sha = h.sha256 if h is not None and h.size == f.stat.size else None
            old = recorded.get(e.name)
            known = (old is not None and old["upstream"]["size"] == e.size
                     and old["upstream"]["mtime"] == e.mtime)
            conflicts.append(Conflict(e.name, f.stat.size, sha, e.size, e.mtime, known=known))
        elif e.name in prev and prev[e.name] != (e.size, e.mtime):
            suspects.append(e.name)
    return tuple(conflicts), tuple(suspects)


def plan_sync(dest: Path, also: Sequence[Path], listing: Listing, history: History, *,
              subset: Subset = ALL, known: Sequence[Constituent] = (),
              withdrawals: Withdrawals | None = None) -> SyncPlan:
    """Compare the listing, the history and the directories (see the module docstring)."""
    mirror = str(listing.mirror)
    prev = history.listing(mirror)
    changed: tuple[tuple[Entry, tuple[int | None, str | None]], ...] = ()
    if prev is None:
        listed = listing.entries
    else:
        listed = tuple(e for e in listing.entries if e.name not in prev)
        changed = tuple((e, prev[e.name]) for e in listing.entries
                        if e.name in prev and prev[e.name] != (e.size, e.mtime))
    here = by_name(list_files([dest]))
    elsewhere = by_name(list_files(also)) if also else {}
    present = {n: fs[0] for n, fs in {**elsewhere, **here}.items()}
    held_here = {n: fs[0] for n, fs in here.items()}
    holdings = history.held()
    found = tuple(held_here[n] for n in sorted(set(held_here) - set(holdings)))
    lost = tuple(sorted(set(holdings) - set(held_here)))
    conflicts, suspects = _conflicts(listing, held_here, history, prev or {}, holdings)
    take, undated = wanted(listing, subset, known,
                           withdrawals if withdrawals is not None else history.withdrawals(),
                           frozenset(present))
    to_fetch = tuple(e for e in listing.entries if e.name in take and e.name not in present)
    return SyncPlan(listing, prev is None, listed, changed, _departed(prev, listing), found, lost,
                    conflicts, suspects, present, subset, take, to_fetch, undated)


__all__ = ["ALL", "Conflict", "MirrorSet", "Subset", "SyncPlan", "newest_master_index",
           "plan_sync", "wanted"]
