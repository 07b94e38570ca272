"""``cif`` and ``show``: write the CIF cifbuild would write; list a CALINDEX table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._inputs import DateLike, PathLike, analysis, observation, open_repository, warn_gaps
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate, resolve
from reprocal.core._withdrawal import WithdrawalEffect
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
    withdrawals: tuple[WithdrawalEffect, ...] = ()
    """Types whose selection a withdrawal changes (skipped, or kept though a pruned mirror
    lacks it)."""
    held_on: CalDate | None = None
    """The moment whose holdings (by the mirror history) the selection was made from."""

    def to_table(self) -> Any:
        """The rows written, as an astropy ``Table`` (a ``newer_missing`` column names the gap
        each row hides)."""
        from reprocal.fits._tabular import constituent_table

        missing = {g.selected.filename: g.missing.filename for g in self.gaps if g.selected}
        return constituent_table(self.constituents,
                                 newer_missing=[missing.get(c.filename) for c in self.constituents])

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        from reprocal.fits._tabular import to_pandas

        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        from reprocal._html import element, join, table

        gaps = [element("li", g.describe()) for g in self.gaps]
        rows = [[c.filename, c.valdate.text, c.evaldate.text if c.evaldate else "open",
                 c.subdate.text] for c in self.constituents]
        return str(join([
            element("p", f"{self.output}: {len(self.constituents)} constituents for observation "
                         f"date {self.obs_date}, analysis date {self.analysis_date} "
                         f"({self.category})"),
            element("ul", *gaps) if gaps else "",
            table(["constituent", "valid from", "valid to", "submitted"], rows)]))

    def to_json(self) -> dict[str, Any]:
        return {"output": str(self.output.resolve()), "obs_id": self.obs_id,
                "obs_date": str(self.obs_date), "analysis_date": str(self.analysis_date),
                "category": self.category, "constituents": rows_json(self.constituents),
                "gaps": [g.describe() for g in self.gaps],
                "withdrawals": [w.to_json() for w in self.withdrawals],
                "held_on": str(self.held_on) if self.held_on else None}


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
    held_on: DateLike | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> CifResult:
    """Write the CIF cifbuild would write for an observation (``obs_date``, or the ODF summary
    ``odf``, else ``$SAS_ODF``) and ``analysis_date`` (a date, or ``"now"``), offline.

    From the files of ``ccf_path`` (``None``: ``$SAS_CCFPATH``), warning about each newer
    eligible issue known but missing; or, with ``master_index``, from that table alone
    (cifbuild's ``withmasterindexset=yes``, whose documented rule omits the end-of-validity
    test). Constituents withdrawn from the archive on or before ``analysis_date`` (the
    repository's mirror history) are skipped, as cifbuild on a mirror following ``--delete``
    would. With ``held_on`` (a date, or ``"now"``) only the files the mirror history says the
    repository held then are selected from: the CIF cifbuild would have written on that day.
    """
    obs_id, obs = observation(obs_date, odf, names)
    an = analysis(analysis_date, obs, names)
    then = resolve(held_on, field=names("held_on")) if held_on is not None else None
    gaps: tuple[Gap, ...] = ()
    effects: tuple[WithdrawalEffect, ...] = ()
    if master_index is not None:
        if then is not None:
            raise InputError(f"{names('held_on')} needs the repository's history; it does not "
                             f"go with {names('master_index')}")
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
            res = repo.resolve(obs, an, category=category, ignore_category=ignore_category,
                               held_on=then)
            warn_gaps(res)
            repo.write_cif(res, output, fullpath=fullpath)
        chosen, gaps, effects = res.chosen, res.gaps, res.withdrawals
    return CifResult(Path(output), obs_id, obs, an, category, tuple(chosen), gaps, effects, then)


@attrs.frozen
class ShowResult:
    """A CALINDEX table, or each observation's of a manifest, as :func:`show` read it."""

    path: str
    """The file, as given (or as ``$SAS_CCF`` named it)."""
    tables: tuple[tuple[str | None, CalIndex], ...]
    """``(observation label, table)``: one unlabelled table for a CIF, event list, master
    index or product; one per observation for a manifest. Rows filtered as asked."""
    manifest: bool = False
    """The file was a manifest: the tables are its pinned observations' rows."""

    @property
    def table(self) -> CalIndex:
        """The (first) table."""
        return self.tables[0][1]

    @property
    def rows(self) -> tuple[Constituent, ...]:
        return self.table.rows

    def to_table(self) -> Any:
        """The CALINDEX rows, as an astropy ``Table``."""
        from reprocal.fits._tabular import constituent_table

        return constituent_table(self.rows)

    def to_json(self) -> dict[str, Any]:
        def one(t: CalIndex) -> dict[str, Any]:
            rows = rows_json(t.rows)
            for r, fname in zip(rows, t.fnames, strict=True):
                r["fname"] = fname
            return {"category": t.category,
                    "obs_date": str(t.obs_date) if t.obs_date else None,
                    "analysis_date": str(t.analysis_date) if t.analysis_date else None,
                    "constituents": rows}

        if not self.manifest:
            return {"path": self.path, **one(self.table)}
        return {"path": self.path,
                "observations": [{"label": label, **one(t)} for label, t in self.tables]}


def _filtered(t: CalIndex, scope: str | None, typeid: str | None) -> CalIndex:
    keep = [i for i, c in enumerate(t.rows)
            if (scope is None or c.scope == scope.upper())
            and (typeid is None or c.typeid == typeid.upper())]
    return attrs.evolve(t, rows=tuple(t.rows[i] for i in keep),
                        fnames=tuple(t.fnames[i] for i in keep))


def show(path: PathLike | None = None, *, scope: str | None = None, typeid: str | None = None,
         names: Names = PARAMETERS) -> ShowResult:
    """The CALINDEX of a CIF, event list, master index or product (``None``: ``$SAS_CCF``, a
    CIF or a directory holding ``ccf.cif``), or of each observation a manifest (``*.json``)
    pins; only the rows of ``scope`` and/or ``typeid`` when given."""
    from reprocal.api._inputs import sas_ccf
    from reprocal.fits._calindex import read_calindex

    p = sas_ccf(path, names)
    tables: list[tuple[str | None, CalIndex]]
    if p.suffix.lower() == ".json":
        from reprocal.state._manifest import load_manifest

        m = load_manifest(p)
        tables = []
        for label, obs in zip(m.labels(), m.observations, strict=True):
            rows = tuple(m.constituents_for(obs))
            tables.append((label, CalIndex(rows, tuple(c.filename for c in rows), obs.category,
                                           obs.obs_date, obs.analysis_date, str(p))))
    else:
        tables = [(None, read_calindex(p))]
    return ShowResult(str(p), tuple((label, _filtered(t, scope, typeid)) for label, t in tables),
                      manifest=p.suffix.lower() == ".json")


__all__ = ["CifResult", "ShowResult", "cif", "rows_json", "show"]
