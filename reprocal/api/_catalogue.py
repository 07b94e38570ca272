"""The catalogue as ``audit`` and ``diff`` use it: every constituent known (present or
expected), and the local copies when a repository is given."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import attrs

from reprocal.api._inputs import PathLike, directories
from reprocal.audit._judge import LocalCopy
from reprocal.core._constituent import Constituent
from reprocal.errors import Names
from reprocal.progress import Progress, or_null
from reprocal.repo._ccfpath import CcfPath


@attrs.frozen
class Known:
    """What the catalogue knows."""

    constituents: list[Constituent]
    """Present and expected constituents."""
    local: Mapping[str, LocalCopy] | None
    """File name -> local copy (``None``: no repository given, availability not checked)."""


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
        return Known(cat.known(dirs), local)


__all__ = ["Known", "known_constituents"]
