"""``cif`` and ``show``: write the CIF cifbuild would write; list a CALINDEX table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._inputs import DateLike, PathLike, analysis, observation, open_repository, warn_gaps
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.fits._calindex import CalIndex
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._resolve import Gap
from reprocal.repo._walk import DEFAULT_GLOB


def rows_json(rows: Sequence[Constituent]) -> list[dict[str, object]]:
    """Constituents as ``cif --json`` and ``show --json`` list them."""
    return [
        {"file": c.filename, "scope": c.scope, "typeid": c.typeid, "issue": c.issue,
         "valdate": str(c.valdate), "evaldate": str(c.evaldate) if c.evaldate else None,
         "subdate": str(c.subdate), "size": c.fsize}
        for c in rows
    ]


@attrs.frozen
class CifResult:
    """The CIF :func:`cif` wrote."""

    output: Path
    """Where, as given."""
    obs_id: str | None
    """The ODF's observation id (``None`` when the date was given)."""
    obs_date: CalDate
    analysis_date: CalDate
    """The analysis date used (``now`` resolved: record it to reproduce the CIF)."""
    category: str
    constituents: tuple[Constituent, ...]
    """The rows written."""
    gaps: tuple[Gap, ...]
    """Newer eligible issues known but missing locally (cifbuild would hide them)."""

    def to_json(self) -> dict[str, Any]:
        return {"output": str(self.output.resolve()), "obs_id": self.obs_id,
                "obs_date": str(self.obs_date), "analysis_date": str(self.analysis_date),
                "category": self.category, "constituents": rows_json(self.constituents),
                "gaps": [g.describe() for g in self.gaps]}


def cif(
    *,
    obs_date: DateLike | None = None,
    odf: PathLike | None = None,
    analysis_date: DateLike,
    category: str = DEFAULT_CATEGORY,
    ignore_category: bool = False,
    fullpath: bool = False,
    output: PathLike = "ccf.cif",
    master_index: PathLike | None = None,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    recurse: bool = False,
    fileglob: str = DEFAULT_GLOB,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> CifResult:
    """Write the CIF cifbuild would write for an observation (``obs_date``, or the ODF summary
    ``odf``, else ``$SAS_ODF``) and ``analysis_date`` (a date, or ``"now"``), offline.

    From the files of ``ccf_path`` (``None``: ``$SAS_CCFPATH``), warning about each newer
    eligible issue known but missing; or, with ``master_index``, from that table alone
    (cifbuild's ``withmasterindexset=yes``, whose documented rule omits the end-of-validity
    test).
    """
    obs_id, obs = observation(obs_date, odf, names)
    an = analysis(analysis_date, obs, names)
    gaps: tuple[Gap, ...] = ()
    if master_index is not None:
        from reprocal.core._select import select
        from reprocal.fits._calindex import read_calindex, write_cif

        if fullpath:
            raise InputError(f"{names('fullpath')} needs the files; it does not go with "
                             f"{names('master_index')}")
        chosen = select(read_calindex(master_index).rows, obs, an, category=category,
                        ignore_category=ignore_category, master_index=True).chosen
        write_cif(output, chosen, obs_date=obs, analysis_date=an, category=category)
    else:
        with open_repository(ccf_path, names, catalog=catalog, recurse=recurse,
                             fileglob=fileglob, progress=progress) as repo:
            res = repo.resolve(obs, an, category=category, ignore_category=ignore_category)
            warn_gaps(res)
            repo.write_cif(res, output, fullpath=fullpath)
        chosen, gaps = res.chosen, res.gaps
    return CifResult(Path(output), obs_id, obs, an, category, tuple(chosen), gaps)


@attrs.frozen
class ShowResult:
    """A CALINDEX table, as :func:`show` read it."""

    path: str
    """The file, as given."""
    table: CalIndex

    @property
    def rows(self) -> tuple[Constituent, ...]:
        return self.table.rows

    def to_json(self) -> dict[str, Any]:
        t = self.table
        return {"path": self.path, "category": t.category,
                "obs_date": str(t.obs_date) if t.obs_date else None,
                "analysis_date": str(t.analysis_date) if t.analysis_date else None,
                "constituents": rows_json(t.rows)}


def show(path: PathLike) -> ShowResult:
    """The CALINDEX of a CIF, event list, master index or product."""
    from reprocal.fits._calindex import read_calindex

    return ShowResult(str(path), read_calindex(path))


__all__ = ["CifResult", "ShowResult", "cif", "rows_json", "show"]
