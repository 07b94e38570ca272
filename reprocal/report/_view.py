"""What SAS's ``calview`` shows of a constituent: its extensions and columns, and one column
plotted against another, with another issue of the same type overlaid to show what a change
did (a quantum efficiency against energy, issue 16 under issue 17).

Headers are read by the one header walker (:mod:`reprocal.fits._walk`: bounded headers, data
skipped by seeking, a table's announced size checked before it is read); only the table plotted
is read, within the ``table-size`` limit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.core._constituent import Constituent, from_header
from reprocal.errors import FitsFormatError, InputError, ReprocalError
from reprocal.fits._headers import read_primary_header
from reprocal.fits._walk import Hdu, find_table, list_hdus
from reprocal.report._figure import Series

MAX_LINES = 16
"""Rows of a vector column drawn as lines at most (the first ones; the others are counted)."""


@attrs.frozen
class Layout:
    """A constituent's HDUs and columns."""

    path: Path
    constituent: Constituent | None
    """Its calibration attributes (``None``: the primary header is not a constituent's)."""
    hdus: tuple[Hdu, ...]

    def lines(self) -> list[str]:
        """The layout as text: one line per HDU, one per column."""
        c = self.constituent
        out = [f"{self.path}" + (f": {c.filename}, valid {c.valdate}.."
                                 f"{c.evaldate or 'open'}, submitted {c.subdate}"
                                 if c else "")]
        for h in self.hdus:
            what = (f"{h.rows} rows, {len(h.columns)} columns" if h.columns else
                    "x".join(map(str, h.shape)) if h.shape else "no data")
            out.append(f"  [{h.index}] {h.name} ({h.kind}): {what}")
            for col in h.columns:
                extra = "".join(f" [{v}]" if k == "unit" else f" dim {v}"
                                for k, v in (("unit", col.unit), ("dim", col.dim)) if v)
                out.append(f"        {col.name:<20} {col.format}{extra}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path),
                "constituent": self.constituent.filename if self.constituent else None,
                "hdus": [{"index": h.index, "name": h.name, "kind": h.kind, "rows": h.rows,
                          "shape": list(h.shape), "columns": [attrs.asdict(c) for c in h.columns]}
                         for h in self.hdus]}


def read_layout(path: str | os.PathLike[str]) -> Layout:
    """The HDUs and columns of ``path`` (headers only); a file that is not FITS is a
    :class:`FitsFormatError` naming it."""
    p = Path(path)
    header = read_primary_header(p)
    try:
        constituent: Constituent | None = from_header(header, p.name, path=p)
    except ReprocalError:
        constituent = None
    return Layout(p, constituent, tuple(list_hdus(p)))


def hdu_ref(text: str | int | None) -> str | int | None:
    """``--hdu``: an EXTNAME, or an HDU number."""
    if text is None or isinstance(text, int):
        return text
    return int(text) if text.strip().isdigit() else text.strip()


def _pick(layout: Layout, hdu: str | int | None, x: str, y: str, names: Any) -> Hdu:
    tables = [h for h in layout.hdus if h.columns]
    if hdu is not None:
        chosen = [h for h in layout.hdus
                  if (h.index == hdu if isinstance(hdu, int) else h.name.upper() == hdu.upper())]
        if not chosen:
            raise InputError(f"{names('hdu')}: {layout.path} has no HDU {hdu} (HDUs: "
                             f"{', '.join(h.name for h in layout.hdus)})")
        if not chosen[0].columns:
            raise InputError(f"{names('hdu')}: HDU {chosen[0].name} of {layout.path} is not a "
                             "table")
        return chosen[0]
    holding = [h for h in tables if {x.upper(), y.upper()} <= {c.name.upper() for c in h.columns}]
    if holding:
        return holding[0]
    if not tables:
        raise InputError(f"{layout.path} has no table to plot from")
    return tables[0]  # the column check below names what is missing, and what is there


def _column(layout: Layout, h: Hdu, name: str, param: str, names: Any) -> str:
    for c in h.columns:
        if c.name.upper() == name.upper():
            return c.name
    raise InputError(f"{names(param)}: no column {name} in HDU {h.name} of {layout.path}",
                     hint=f"columns: {', '.join(c.name for c in h.columns)}")


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [v for item in value for v in _flat(item)]
    return [value]


def _numbers(values: list[Any], name: str, where: str) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(f"{where}: column {name} is not numeric ({type(v).__name__} "
                             "values); plot a numeric column")
        out.append(float(v))
    return out


def _lines(xs: list[Any], ys: list[Any], x: str, y: str, where: str
           ) -> tuple[list[list[float]], list[list[float]], int]:
    """One line of all rows (scalar columns), or one line per row (vector columns)."""
    vector_x = any(isinstance(v, list | tuple) for v in xs)
    vector_y = any(isinstance(v, list | tuple) for v in ys)
    if not vector_x and not vector_y:
        return [_numbers(xs, x, where)], [_numbers(ys, y, where)], 0
    lx, ly = [], []
    for n, (vx, vy) in enumerate(zip(xs, ys, strict=True)):
        fx, fy = _numbers(_flat(vx), x, where), _numbers(_flat(vy), y, where)
        if len(fx) != len(fy):
            raise InputError(f"{where}: row {n + 1} has {len(fx)} values of {x} and "
                             f"{len(fy)} of {y}; they cannot be plotted against each other")
        lx.append(fx)
        ly.append(fy)
    return lx[:MAX_LINES], ly[:MAX_LINES], max(0, len(lx) - MAX_LINES)


@attrs.frozen
class Plot:
    """The series of one column plot."""

    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    hidden_rows: int = 0
    """Rows of a vector column not drawn (past :data:`MAX_LINES`)."""

    def lines(self) -> list[str]:
        """The values as text (each line's points, at most 20 shown per line)."""
        out = [f"{self.title}: {self.ylabel} against {self.xlabel}"]
        for s in self.series:
            for n, (xs, ys) in enumerate(zip(s.x, s.y, strict=True)):
                tag = f"{s.label}" + (f" row {n + 1}" if len(s.x) > 1 else "")
                pts = ", ".join(f"({_g(a)}, {_g(b)})" for a, b in list(zip(xs, ys, strict=True))[:20])
                more = f" ... ({len(xs) - 20} more)" if len(xs) > 20 else ""
                out.append(f"  {tag}: {pts}{more}")
        if self.hidden_rows:
            out.append(f"  ({self.hidden_rows} more rows not shown)")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "x": self.xlabel, "y": self.ylabel,
                "series": [{"label": s.label, "x": [list(v) for v in s.x],
                            "y": [list(v) for v in s.y]} for s in self.series],
                "hidden_rows": self.hidden_rows}


def _g(v: float) -> str:
    return "nan" if math.isnan(v) else f"{v:.6g}"


def _label(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def read_plot(layouts: Sequence[Layout], hdu: str | int | None, x: str, y: str,
              names: Any) -> Plot:
    """``y`` against ``x`` from the same table of each of ``layouts`` (the first decides the
    table; each other must be an issue of the same calibration type)."""
    first = layouts[0]
    h = _pick(first, hdu, x, y, names)
    cx, cy = _column(first, h, x, "x", names), _column(first, h, y, "y", names)
    units = {c.name: c.unit for c in h.columns}
    series, hidden = [], 0
    for n, lay in enumerate(layouts):
        if n and first.constituent and lay.constituent and lay.constituent.key != first.constituent.key:
            raise InputError(f"{names('vs')}: {lay.path} is {lay.constituent.filename}, not an "
                             f"issue of {first.constituent.scope}_{first.constituent.typeid}")
        other = h if n == 0 else _pick(lay, h.name, x, y, names)
        ox, oy = _column(lay, other, cx, "x", names), _column(lay, other, cy, "y", names)
        table = find_table(lay.path, other.index)
        where = f"{lay.path} HDU {other.name}"
        try:
            xs, ys = table.column(ox), table.column(oy)
        except (KeyError, ValueError) as exc:
            raise FitsFormatError(f"HDU {other.name}: cannot read columns {ox}, {oy} ({exc})",
                                  path=lay.path) from None
        lx, ly, more = _lines(xs, ys, ox, oy, where)
        hidden += more
        label = lay.constituent.filename if lay.constituent else lay.path.name
        series.append(Series(label, tuple(lx), tuple(ly)))
    name = first.constituent.filename if first.constituent else first.path.name
    return Plot(f"{name}: {h.name}", _label(cx, units.get(cx, "")), _label(cy, units.get(cy, "")),
                tuple(series), hidden)


__all__ = ["MAX_LINES", "Layout", "Plot", "hdu_ref", "read_layout", "read_plot"]
