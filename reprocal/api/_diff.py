"""``diff``: compare two calibration states given as CIFs, products, manifests or dates."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._catalogue import known_constituents
from reprocal.api._inputs import PathLike
from reprocal.audit._diff import State, StateDiff
from reprocal.core._constituent import Constituent
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath


@attrs.frozen
class DiffResult:
    """What :func:`diff` found."""

    a: State
    b: State
    diff: StateDiff
    """The changes, by instrument, with the SAS steps they probably affect."""
    html: Path | None = None
    """The page written with ``html``."""

    @property
    def ok(self) -> bool:
        """The two states are identical (``reprocal diff`` exits 0; 1 when they differ, as
        ``diff`` does)."""
        return not self.diff.changes

    def lines(self) -> list[str]:
        """The diff in words, as ``reprocal diff`` prints it."""
        from reprocal.audit._diff import render

        return list(render(self.diff))

    def to_json(self) -> dict[str, Any]:
        return self.diff.to_json()

    def to_table(self) -> Any:
        """One row per change, as an astropy ``Table``."""
        return self.diff.to_table()

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        return self.diff.to_pandas()

    def _repr_html_(self) -> str:
        return self.diff._repr_html_()


def _state_of(spec: str, known: Callable[[], Sequence[Constituent]], names: Names) -> State:
    """The state a ``diff`` argument names: ``obs=DATE,an=DATE|now`` (selected over
    ``known()``, read only then), else a file, ``PATH#OBS`` naming one observation of it."""
    from reprocal.audit._product import parse_dates_spec, read_product
    from reprocal.core._dates import resolve
    from reprocal.core._select import Selector

    dates = parse_dates_spec(spec)
    if dates is not None:
        obs, an_text = dates
        an = resolve(an_text, field="an")
        constituents = known()
        if not constituents:
            raise InputError(f"{spec}: the catalogue knows no constituents to select from",
                             hint=f"give {names('ccf_path')}, or {names('import_index')} a "
                                  "master index")
        return State(spec, Selector(constituents).select(obs, an).chosen, obs, an)
    path, _, obs_label = spec.partition("#")
    products = read_product(path, obs=obs_label or None)
    if len(products) > 1:
        labels = ", ".join(p.state.label.split("#")[-1] for p in products)
        raise InputError(f"{path} holds {len(products)} observations; name one as "
                         f"{path}#<obs> ({labels})")
    return products[0].state


def diff(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    *,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    import_index: Sequence[PathLike] = (),
    html: PathLike | None = None,
    release_notes: PathLike | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> DiffResult:
    """Compare two calibration states, each a CIF or product (a path), a manifest (``M.json[#OBS]``) or
    dates (``obs=DATE,an=DATE|now``, selected over the catalogue: ``catalog`` refreshed with
    ``ccf_path`` and ``import_index`` tables, read only when dates are given). With ``html``,
    the diff is also written there as a self-contained page (the timelines of the types that
    differ, constituents linked to their release notes from ``release_notes``)."""
    from reprocal.audit._diff import diff_states
    from reprocal.report._notes import notes_from

    notes = notes_from(release_notes) if html is not None else None

    cache: list[list[Constituent]] = []

    def known() -> list[Constituent]:
        if not cache:
            cache.append(known_constituents(ccf_path, catalog, import_index, progress,
                                            names).constituents)
        return cache[0]

    sa, sb = _state_of(os.fspath(a), known, names), _state_of(os.fspath(b), known, names)
    result = DiffResult(sa, sb, diff_states(sa, sb))
    if html is None or notes is None:
        return result
    from reprocal.fs._atomic import atomic_write
    from reprocal.report._reports import diff_page

    given = ccf_path is not None or catalog is not None or bool(import_index)
    pool = known() if given else (cache[0] if cache else [])  # every issue, for the timelines
    atomic_write(html, diff_page(result.diff, pool, notes).encode("utf-8"))
    return attrs.evolve(result, html=Path(html))


__all__ = ["DiffResult", "diff"]
