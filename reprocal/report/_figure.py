"""Figures: timelines and column plots drawn with matplotlib, written as PNG, SVG or PDF, or as
an SVG fragment for an HTML page.

matplotlib is imported here only, when a figure is drawn, and only through its object API on
the non-interactive Agg canvas (``Figure`` + ``FigureCanvasAgg``): pyplot and the global
backend are never touched, so a notebook's own backend stays as it was. Outputs are
reproducible: no creation date in SVG or PDF metadata, SVG ids from a fixed salt. Text stays
text in SVG (``svg.fonttype = none``) so pages can be searched and tests can read it, and no
label is parsed as mathtext (a ``$`` in a hostile label is a character).

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies), and nothing
is told by colour alone: missing files are hatched, states' dates differ by line style and are
labelled, the issue used is named in words.

Every artist that carries meaning has an id (``gid``), so an SVG can be checked for content:
``bar-<TYPE>-<ISSUE>`` (a validity window), ``used-<TYPE>-<ISSUE>``, ``missing-<TYPE>-<ISSUE>``,
``downgrade-<TYPE>-<k>``, ``open-<TYPE>-<ISSUE>``, ``submitted-<TYPE>-<ISSUE>``, ``obs-<k>-<TYPE>``,
``analysis-<k>-<TYPE>`` and ``series-<n>``; :meth:`Drawing.extents` gives their pixel boxes in a
PNG written at the figure's size.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from reprocal._html import Markup, esc
from reprocal.core._dates import CalDate
from reprocal.errors import InputError
from reprocal.fs._atomic import atomic_file
from reprocal.report._timeline import Timeline, TypeTimeline

FORMATS = ("png", "svg", "pdf")
"""What ``-o`` may name (by its suffix)."""

BLUE, SKY, GREEN, ORANGE, VERMILLION, PURPLE, YELLOW, BLACK = (
    "#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#F0E442", "#000000")
"""The Okabe-Ito palette."""
MARK_COLOURS = ((GREEN, PURPLE), (ORANGE, BLACK), (BLUE, VERMILLION), (SKY, GREEN))
"""Per state: (observation line, analysis line) colours."""
MARK_STYLES: tuple[tuple[Any, Any], ...] = (
    ("-", "--"), ("-.", ":"), ((0, (5, 1)), (0, (1, 1))), ((0, (3, 1, 1, 1)), "-"))

_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "reprocal", "font.size": 9,
       "font.family": "DejaVu Sans", "axes.titlesize": 10, "pdf.fonttype": 42,
       "path.simplify": False}


def output_format(path: str | os.PathLike[str], *, field: str = "output") -> str:
    """The format ``path``'s suffix names, checked before any work: png, svg or pdf."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        named = f"'.{fmt}'" if fmt else "no suffix"
        raise InputError(f"{field}: {path} has {named}; a figure is written as "
                         f"{', '.join('.' + f for f in FORMATS)}")
    return fmt


@contextmanager
def _style() -> Iterator[Any]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield matplotlib


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@attrs.frozen(eq=False)
class Drawing:
    """A drawn figure."""

    figure: Any
    """The matplotlib ``Figure`` (Agg canvas)."""
    summary: str
    """What it shows, in words (an HTML figure's caption and alt text)."""

    def extents(self) -> dict[str, tuple[float, float, float, float]]:
        """``gid -> (x0, y0, x1, y1)``: each identified artist's box in pixels of a PNG written
        at the figure's size (origin at the top left)."""
        with _style():
            self.figure.canvas.draw()
            height = self.figure.bbox.height
            out = {}
            for artist in self.figure.findobj(lambda a: bool(a.get_gid())):
                box = artist.get_window_extent()
                out[artist.get_gid()] = (box.x0, height - box.y1, box.x1, height - box.y0)
        return out

    def render(self, fmt: str) -> bytes:
        """The figure's bytes as ``fmt`` (png, svg, pdf), without dates in their metadata."""
        metadata: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None},
                                    "png": {}}[fmt]
        buf = io.BytesIO()
        with _style():
            self.figure.savefig(buf, format=fmt, metadata=metadata)
        return buf.getvalue()

    def save(self, path: str | os.PathLike[str], *, field: str = "output") -> Path:
        """Write the figure to ``path`` (format from its suffix) atomically: a failed draw or
        write leaves no file."""
        data = self.render(output_format(path, field=field))
        with atomic_file(path) as f:
            f.write(data)
        return Path(path)

    def svg(self, prefix: str) -> Markup:
        """The figure as an ``<svg>`` element for inline use: ids prefixed with ``prefix`` so
        several figures share a page, no XML prolog, an accessible name."""
        text = self.render("svg").decode("utf-8")
        text = text[text.index("<svg"):]
        text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
        text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", text)
        text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)
        text = text.replace("<svg ", f'<svg role="img" aria-label="{esc(self.summary)}" ', 1)
        return Markup(text)


# --- timelines ------------------------------------------------------------------------------


def _num(d: CalDate) -> float:
    from matplotlib.dates import date2num

    return float(date2num(d.to_datetime()))


def _limits(t: Timeline) -> tuple[float, float]:
    lo, hi = (_num(d) for d in t.axis())
    pad = max((hi - lo) * 0.04, 30.0)
    return lo - pad, hi + pad


def _letter(t: Timeline, k: int) -> str:
    return chr(ord("A") + k) if len(t.marks) > 1 else ""


def _draw_issue(ax: Any, tl: TypeTimeline, row: int, issue: Any, right: float) -> None:
    c = issue.constituent
    start = _num(c.valdate)
    closed = c.evaldate is not None and _num(c.evaldate) < right
    end = _num(c.evaldate) if closed and c.evaldate is not None else right
    used_by = [k for k, u in enumerate(tl.used) if u == c.issue]
    missing = issue.present is False
    face = BLUE if used_by else ("white" if missing else SKY)
    ax.barh(row, end - start, left=start, height=0.62, color=face,
            edgecolor=VERMILLION if missing else (BLACK if used_by else BLUE),
            linewidth=1.6 if used_by else 0.8, hatch="///" if missing else None,
            gid=f"bar-{tl.name}-{c.issue:04d}")
    if missing:
        ax.barh(row, end - start, left=start, height=0.62, color="none", edgecolor="none",
                gid=f"missing-{tl.name}-{c.issue:04d}")
    if not closed:
        ax.plot([right], [row], marker=">", markersize=7, color=BLACK, linestyle="none",
                clip_on=False, gid=f"open-{tl.name}-{c.issue:04d}")
    ax.plot([_num(c.subdate)], [row], marker="D", markersize=5, color=YELLOW,
            markeredgecolor=BLACK, linestyle="none", gid=f"submitted-{tl.name}-{c.issue:04d}")


def _annotate(ax: Any, t: Timeline, tl: TypeTimeline, rows: dict[int, int]) -> None:
    """Words right of the panel, one line per issue that matters: who used it, and which
    state's rule selects it although the state did not use it (missing locally: the silent
    downgrade; present: a stale repository at the time)."""
    for number, row in rows.items():
        users = [_letter(t, k) or "the state" for k, u in enumerate(tl.used) if u == number]
        skipped = [(k, d) for k in range(len(t.marks))
                   if (d := tl.downgrade(k)) is not None and d.best == number]
        parts = [f"used by {', '.join(users)}"] if users else []
        if skipped:
            who = ", ".join(_letter(t, k) or ("the rule" if d.missing else "the state")
                            for k, d in skipped)
            parts.append(f"file missing: {who} would select it" if skipped[0][1].missing else
                         f"eligible for {who}, not used")
        if not parts:
            continue
        ax.text(1.02, row, "; ".join(parts), ha="left", va="center", fontsize=8,
                color=VERMILLION if skipped else BLACK,
                fontweight="bold" if skipped else "normal",
                transform=ax.get_yaxis_transform(), clip_on=False, parse_math=False,
                gid=(f"downgrade-{tl.name}-{skipped[0][0]}" if skipped
                     else f"used-{tl.name}-{number:04d}"))


def _draw_type(ax: Any, t: Timeline, tl: TypeTimeline, lo: float, right: float) -> None:
    rows = {i.number: n for n, i in enumerate(tl.issues)}
    for n, issue in enumerate(tl.issues):
        _draw_issue(ax, tl, n, issue, right)
    for k, m in enumerate(t.marks):
        (c_obs, c_an), (s_obs, s_an) = MARK_COLOURS[k % 4], MARK_STYLES[k % 4]
        ax.axvline(_num(m.obs_date), color=c_obs, linestyle=s_obs, linewidth=1.6,
                   gid=f"obs-{k}-{tl.name}")
        ax.axvline(_num(m.analysis_date), color=c_an, linestyle=s_an, linewidth=1.6,
                   gid=f"analysis-{k}-{tl.name}")
    _annotate(ax, t, tl, rows)
    ax.set_yticks(range(len(tl.issues)),
                  [f"issue {i.number}" for i in tl.issues])
    for label, i in zip(ax.get_yticklabels(), tl.issues, strict=True):
        if i.number in tl.used:
            label.set_fontweight("bold")
    ax.set_ylim(-0.7, len(tl.issues) - 0.3)
    note = tl.hidden_note(len(t.marks))
    title = tl.name + (f"  ({note})" if note else "")
    ax.set_title(title, loc="left", fontweight="bold", parse_math=False)
    ax.set_xlim(lo, right)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)


def _legend(fig: Any, t: Timeline) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=SKY, edgecolor=BLUE, label="validity window"),
               Patch(facecolor=BLUE, edgecolor=BLACK, label="issue used"),
               Line2D([], [], marker="D", color=YELLOW, markeredgecolor=BLACK, linestyle="none",
                      label="submission date"),
               Line2D([], [], marker=">", color=BLACK, linestyle="none", label="no end of validity")]
    if any(i.present is False for tl in t.types for i in tl.issues):
        handles.insert(2, Patch(facecolor="white", edgecolor=VERMILLION, hatch="///",
                                label="known, file missing locally"))
    for k, m in enumerate(t.marks):
        (c_obs, c_an), (s_obs, s_an) = MARK_COLOURS[k % 4], MARK_STYLES[k % 4]
        name = m.label.rstrip("/").rsplit("/", 1)[-1]  # a path by its file name
        name = name if len(name) <= 28 else name[:27] + "…"
        tag = f"{_letter(t, k)} ({name}): " if _letter(t, k) else ""
        handles.append(Line2D([], [], color=c_obs, linestyle=s_obs,
                              label=f"{tag}observation {m.obs_date.date}"))
        handles.append(Line2D([], [], color=c_an, linestyle=s_an,
                              label=f"{tag}analysis {m.analysis_date.date}"))
    widest = max(len(str(h.get_label())) for h in handles)
    ncols = 4 if widest <= 28 else 3 if widest <= 40 else 2  # the legend stays within the width
    legend = fig.legend(handles=handles, loc="outside upper center", ncols=min(ncols, len(handles)),
                        frameon=False, fontsize=8)
    for text in legend.get_texts():
        text.set_parse_math(False)


def summary(t: Timeline) -> str:
    """What a timeline figure shows, in one sentence."""
    states = "; ".join(f"{(_letter(t, k) + ': ') if _letter(t, k) else ''}{m.label} "
                       f"(observation {m.obs_date.date}, analysis {m.analysis_date.date})"
                       for k, m in enumerate(t.marks))
    text = (f"Validity windows of {len(t.types)} calibration type(s) "
            f"({', '.join(tl.name for tl in t.types)}) against {states}.")
    downs = t.downgrades
    if downs:
        text += " " + "; ".join(d.describe(name, label) for name, label, d in downs) + "."
    return text


def draw_timeline(t: Timeline) -> Drawing:
    """One panel per type, stacked on a shared date axis (UTC), with the states' dates."""
    rows = [max(1, len(tl.issues)) for tl in t.types]
    height = 1.3 + sum(0.3 * r + 0.55 for r in rows)
    with _style():
        fig = _new_figure(10.0, height)
        axes = fig.subplots(len(t.types), 1, sharex=True, squeeze=False,
                            gridspec_kw={"height_ratios": rows})[:, 0]
        lo, right = _limits(t)
        for ax, tl in zip(axes, t.types, strict=True):
            _draw_type(ax, t, tl, lo, right)
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator(minticks=4, maxticks=10)
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes[-1].set_xlabel("date (UTC)")
        _legend(fig, t)
    return Drawing(fig, summary(t))


# --- column plots ---------------------------------------------------------------------------


@attrs.frozen
class Series:
    """One line of a column plot."""

    label: str
    x: Sequence[Any]
    """One sequence per line (a row of a vector column, or the whole column)."""
    y: Sequence[Any]


def draw_columns(title: str, xlabel: str, ylabel: str, series: Sequence[Series]) -> Drawing:
    """``y`` against ``x`` for each of ``series`` (the first solid, the others dashed over it);
    ``x`` on a log scale when it spans more than two decades."""
    styles = [("-", BLUE), ("--", VERMILLION), (":", GREEN), ("-.", ORANGE)]
    with _style():
        fig = _new_figure(8.0, 5.0)
        ax = fig.subplots()
        for n, s in enumerate(series):
            style, colour = styles[n % len(styles)]
            for m, (x, y) in enumerate(zip(s.x, s.y, strict=True)):
                ax.plot(x, y, linestyle=style, color=colour, linewidth=1.4,
                        marker="." if len(x) < 40 else None,
                        label=s.label if m == 0 else None, gid=f"series-{n}-{m}")
        xs = [v for s in series for line in s.x for v in line if v == v]  # NaN dropped
        if xs and min(xs) > 0 and max(xs) / min(xs) > 100:
            ax.set_xscale("log")  # an energy grid over decades
        ax.set_title(title, loc="left", parse_math=False)
        ax.set_xlabel(xlabel, parse_math=False)
        ax.set_ylabel(ylabel, parse_math=False)
        ax.grid(color="#DDDDDD", linewidth=0.6)
        legend = ax.legend(frameon=False)
        for text in legend.get_texts():
            text.set_parse_math(False)
    return Drawing(fig, f"{title}: {ylabel} against {xlabel} for "
                        f"{', '.join(s.label for s in series)}.")


__all__ = ["FORMATS", "Drawing", "Series", "draw_columns", "draw_timeline", "output_format",
           "summary"]
