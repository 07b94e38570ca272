"""What no pin needs: the constituent files of a repository that none of some manifests pins.

The counterpart of a fetch (which brings what the pins need). It lists, and never deletes:
deciding to reclaim the space is the user's. Files are found by
:func:`reprocal.repo._walk.list_files` with its name rule, so ``epn_x_0001.ccf`` is the pinned
``EPN_X_0001.CCF`` and is not reported; files cifbuild would not read (another case of the
extension, other names, hidden files) are not constituents and are not listed either.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import attrs

from reprocal.repo._ccfpath import ccf_dirs
from reprocal.repo._walk import Kind, ListedFile, list_files
from reprocal.state._manifest import Manifest


@attrs.frozen
class UnusedReport:
    """Constituent files no manifest pins, in path order."""

    files: tuple[ListedFile, ...]
    manifests: int
    """How many manifests were consulted."""

    @property
    def bytes(self) -> int:
        return sum(f.stat.size for f in self.files)


def unused_files(
    manifests: Iterable[Manifest],
    dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
) -> UnusedReport:
    """Every constituent file of ``dirs`` (``None``: ``$SAS_CCFPATH``) whose canonical name none
    of ``manifests`` pins. Reads no file's bytes and deletes nothing."""
    needed: set[str] = set()
    count = 0
    for m in manifests:
        needed.update(f.filename for f in m.files)
        count += 1
    listed = list_files(ccf_dirs([dirs] if isinstance(dirs, os.PathLike) else dirs))
    return UnusedReport(
        tuple(f for f in listed
              if f.kind is Kind.CONSTITUENT and f.name is not None and f.name not in needed),
        count)


__all__ = ["UnusedReport", "unused_files"]
