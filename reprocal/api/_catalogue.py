"""The catalogue as ``audit`` and ``diff`` use it: every constituent known (present or
expected), and, when a repository is given, the local copies and what its mirror histories say
(withdrawal dates, when each file arrived)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from reprocal.api._inputs import PathLike, directories
from reprocal.audit._judge import LocalCopy
from reprocal.core._constituent import Constituent
from reprocal.core._withdrawal import NONE, Withdrawals
from reprocal.errors import Names
from reprocal.progress import Progress, or_null
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._history import Holding


@attrs.frozen
class Known:
    """What the catalogue knows."""

    constituents: list[Constituent]
    """Present and expected constituents."""
    local: Mapping[str, LocalCopy] | None
    """File name -> local copy (``None``: no repository given, availability not checked)."""
    withdrawals: Withdrawals = NONE
    """The withdrawal dates the repository's histories record."""
    arrivals: Mapping[str, Holding] | None = None
    """File name -> when it first arrived here (``None``: the repository has no history)."""


def known_constituents(ccf_path: CcfPath, catalog: PathLike | None,
                       import_index: Sequence[PathLike], progress: Progress | None,
                       names: Names) -> Known:
    """Import ``import_index`` tables into ``catalog``, refresh it with the repository
    ``ccf_path`` (``None``: ``$SAS_CCFPATH``, if set), and say what it knows."""
    from reprocal.repo._catalog import Catalog

    with Catalog.open(catalog) as cat:
        for path in import_index:
            cat.import_calindex(path)
        if ccf_path is None and not os.environ.get("SAS_CCFPATH"):
            return Known(cat.expected(), None)
        dirs = directories(ccf_path, names)
        or_null(progress).start(None)
        cat.refresh(dirs, progress=progress)
        local = {lf.filename: LocalCopy(lf.path, lf.constituent) for lf in cat.present(dirs)}
        return Known(cat.known(dirs), local, cat.withdrawals(dirs), arrivals_of(dirs))


def arrivals_of(dirs: Sequence[Path]) -> dict[str, Holding] | None:
    """When each file first arrived in any of ``dirs``, by their mirror histories (``None``
    when none of them has one)."""
    from reprocal.repo._history import read_history

    out: dict[str, Holding] = {}
    seen = False
    for d in dirs:
        h = read_history(d)
        seen = seen or h.exists
        for name, holding in h.arrivals().items():
            if name not in out or holding.since < out[name].since:
                out[name] = holding
    return out if seen else None


__all__ = ["Known", "known_constituents"]
