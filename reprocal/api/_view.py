"""``view``: a constituent's extensions and columns, and one column against another (calview)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._inputs import PathLike, directories
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.repo._ccfpath import CcfPath
from reprocal.report._view import Layout, Plot


@attrs.frozen
class ViewResult:
    """What :func:`view` read (and drew, with ``output``)."""

    layouts: tuple[Layout, ...]
    """The constituent's layout, then each ``vs`` one's."""
    plot: Plot | None
    """The columns plotted (``None``: no ``x``/``y`` given, the layout only)."""
    output: Path | None

    def lines(self) -> list[str]:
        """The layout, or the plotted values, as text."""
        if self.plot is None:
            return [line for lay in self.layouts for line in lay.lines()]
        return self.plot.lines()

    def figure(self) -> Any:
        """The matplotlib ``Figure`` of the plot (drawn now)."""
        if self.plot is None:
            raise InputError("no columns were plotted: give x and y")
        return _draw(self.plot).figure

    def _repr_html_(self) -> str:
        if self.plot is None:
            from reprocal._html import element, join

            return str(join(element("pre", "\n".join(lay.lines())) for lay in self.layouts))
        return str(_draw(self.plot).svg("view-"))

    def to_json(self) -> dict[str, Any]:
        return {"layouts": [lay.to_json() for lay in self.layouts],
                "plot": self.plot.to_json() if self.plot else None,
                "output": str(self.output) if self.output else None}


def _draw(plot: Plot) -> Any:
    from reprocal.report._figure import draw_columns

    return draw_columns(plot.title, plot.xlabel, plot.ylabel, plot.series)


def find_constituent(name: PathLike, ccf_path: CcfPath, names: Names, param: str) -> Path:
    """A constituent given as a path, or by its name in the repository ``ccf_path``
    (``None``: ``$SAS_CCFPATH``)."""
    from reprocal.core._names import ConstituentName
    from reprocal.repo._walk import constituent_files

    p = Path(name)
    if os.path.lexists(p) or os.sep in str(name):
        return p
    try:
        canonical = ConstituentName.parse(str(name)).filename
    except InputError:
        return p  # not a name: the path is read and named in the error
    if ccf_path is None and not os.environ.get("SAS_CCFPATH"):
        raise InputError(f"{names(param)}: {name} is not a file here; give its path, or "
                         f"{names('ccf_path')} to find it in a repository")
    found = constituent_files(directories(ccf_path, names)).get(canonical)
    if not found:
        raise InputError(f"{names(param)}: {canonical} is not in the repository "
                         f"{names('ccf_path')}", hint="fetch it, or give its path")
    return found[0].path


def view(
    constituent: PathLike,
    *,
    hdu: str | int | None = None,
    x: str | None = None,
    y: str | None = None,
    vs: Sequence[PathLike] = (),
    output: PathLike | None = None,
    ccf_path: CcfPath = None,
    names: Names = PARAMETERS,
) -> ViewResult:
    """List ``constituent``'s extensions and columns (a path, or a name found in ``ccf_path``,
    else ``$SAS_CCFPATH``); with ``x`` and ``y``, read column ``y`` against ``x`` from the
    table ``hdu`` (an EXTNAME or a number; default: the first table holding both), with each
    of ``vs`` (other issues of the same type) overlaid. With ``output`` (``.png``, ``.svg``,
    ``.pdf``) the plot is written there."""
    from reprocal.report._figure import output_format
    from reprocal.report._view import hdu_ref, read_layout, read_plot

    if output is not None:
        output_format(output, field=names("output"))
    if (x is None) != (y is None):
        raise InputError(f"give {names('x')} and {names('y')} together")
    if (output is not None or vs) and x is None:
        raise InputError(f"{names('output') if output is not None else names('vs')} needs "
                         f"columns to plot: give {names('x')} and {names('y')}")
    paths = [find_constituent(constituent, ccf_path, names, "constituent")]
    paths += [find_constituent(v, ccf_path, names, "vs") for v in vs]
    layouts = tuple(read_layout(p) for p in paths)
    plot = None
    if x is not None and y is not None:
        plot = read_plot(layouts, hdu_ref(hdu), x, y, names)
        if output is not None:
            _draw(plot).save(output, field=names("output"))
    return ViewResult(layouts, plot, Path(output) if output is not None else None)


__all__ = ["ViewResult", "find_constituent", "view"]
