"""``timeline``: every issue of some calibration types against one or more calibration states,
drawn (PNG, SVG, PDF) or as text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._catalogue import known_constituents
from reprocal.api._inputs import DateLike, PathLike, manifest_of, warn
from reprocal.core._constituent import DEFAULT_CATEGORY
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath
from reprocal.report._timeline import MAX_MARKS, Mark, Timeline
from reprocal.state._manifest import Manifest


@attrs.frozen
class TimelineResult:
    """The timelines :func:`timeline` built (and wrote, with ``output``)."""

    timeline: Timeline
    output: Path | None
    """The figure written, as given (``None``: none was asked for)."""

    def lines(self) -> list[str]:
        """The timeline as text, for a terminal."""
        from reprocal.report._timeline import text_lines

        return text_lines(self.timeline)

    def figure(self) -> Any:
        """The matplotlib ``Figure`` (drawn now)."""
        from reprocal.report._figure import draw_timeline

        return draw_timeline(self.timeline).figure

    def _repr_html_(self) -> str:
        from reprocal.report._figure import draw_timeline

        return str(draw_timeline(self.timeline).svg("timeline-"))

    def to_json(self) -> dict[str, Any]:
        doc = self.timeline.to_json()
        doc["output"] = str(self.output) if self.output is not None else None
        return doc


def _marks(manifest: Manifest | PathLike | None, obs_date: DateLike | None,
           analysis_date: DateLike | None, states: Sequence[str], category: str,
           known: Any, names: Names) -> list[Mark]:
    from reprocal.api._diff import _state_of
    from reprocal.core._dates import CalDate, resolve
    from reprocal.report._timeline import manifest_marks, mark

    marks: list[Mark] = []
    if manifest is not None:
        marks += manifest_marks(manifest_of(manifest), what=str(names("manifest")))
    if (obs_date is None) != (analysis_date is None):
        raise InputError(f"give {names('obs_date')} and {names('analysis_date')} together")
    if obs_date is not None and analysis_date is not None:
        obs = CalDate.parse(obs_date, field=names("obs_date"))
        an = resolve(analysis_date, field=names("analysis_date"))
        marks.append(mark(f"observation {obs.date}, analysis {an.date}", obs, an,
                          category=category))
    for spec in states:
        s = _state_of(spec, known, names)
        if s.obs_date is None or s.analysis_date is None:
            raise InputError(f"{names('states')}: {spec} carries no OBSVDATE/ANALDATE to place "
                             "it on a timeline")
        marks.append(mark(s.label, s.obs_date, s.analysis_date, used=s.constituents))
    if not marks:
        raise InputError(f"give a state: {names('manifest')}, {names('obs_date')} with "
                         f"{names('analysis_date')}, or {names('states')}")
    if len(marks) > MAX_MARKS:
        raise InputError(f"{len(marks)} states given; a timeline shows at most {MAX_MARKS}")
    return marks


def timeline(
    types: Sequence[str],
    *,
    output: PathLike | None = None,
    manifest: Manifest | PathLike | None = None,
    obs_date: DateLike | None = None,
    analysis_date: DateLike | None = None,
    states: Sequence[str] = (),
    category: str = DEFAULT_CATEGORY,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    import_index: Sequence[PathLike] = (),
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> TimelineResult:
    """Timelines of the calibration ``types`` (``EPN_CTI``, or constituent names): every issue
    the catalogue knows (``catalog`` refreshed with ``ccf_path``, else ``$SAS_CCFPATH`` if set,
    and ``import_index`` tables), its validity window and submission date, against the states
    given: a ``manifest``'s observations, ``obs_date`` with ``analysis_date``, and ``states``
    (CIFs, products, ``M.json#OBS`` or ``obs=DATE,an=DATE`` as :func:`reprocal.api.diff` takes
    them), with the issue each used and the missing ones the rule would select. With
    ``output`` (``.png``, ``.svg``, ``.pdf``) the figure is written there."""
    from reprocal.report._figure import draw_timeline, output_format
    from reprocal.report._timeline import build_timeline, parse_type

    if output is not None:
        output_format(output, field=names("output"))
    if not types:
        raise InputError(f"{names('types')}: give at least one calibration type (EPN_CTI)")
    keys = [parse_type(t, field=names("types")) for t in types]
    known = known_constituents(ccf_path, catalog, import_index, progress, names)
    marks = _marks(manifest, obs_date, analysis_date, states, category,
                   lambda: known.constituents, names)
    present = set(known.local) if known.local is not None else None
    result = build_timeline(keys, known.constituents, marks, present=present,
                            field=names("types"))
    for name, label, skipped in result.downgrades:
        warn(skipped.describe(name, label))
    if output is not None:
        draw_timeline(result).save(output, field=names("output"))
    return TimelineResult(result, Path(output) if output is not None else None)


__all__ = ["TimelineResult", "timeline"]

