"""Timelines of calibration types: every issue's validity window and submission date, the dates
of one or more calibration states, and the issue each state used or the rule selects.

Pure: constituents and states in, a :class:`Timeline` out; drawing it is
:mod:`reprocal.report._figure`'s business, printing it :func:`text_lines`.

Per type and per state (a *mark*: observation and analysis dates), two issues matter:

* **used**: what the state holds (a manifest's or product's constituent) or, for a state given
  by dates, what cifbuild's rule selects among the files present (among everything known when no
  repository was given);
* **best**: what the rule selects over everything known (present files, master indexes, CIFs
  imported). When *best* is newer than *used* and its file is missing locally, cifbuild would
  silently have used the older issue: the timeline marks that downgrade.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Rule, Selector
from reprocal.errors import InputError, ReprocalWarning

MAX_MARKS = 4
"""States drawn on one timeline at most (each has its own line styles)."""
MAX_ISSUES = 24
"""Issues drawn per type at most: the ones that matter (used, best, valid at a state's
observation date) and the newest; the others are counted, not drawn."""


def parse_type(text: str, *, field: str = "types") -> tuple[str, str]:
    """``(SCOPE, TYPEID)`` from ``EPN_CTI``, ``epn_cti`` or a constituent name
    (``EPN_CTI_0045.CCF``).

    >>> parse_type("epn_cti"), parse_type("XRT3_XAREAEF_0012.CCF")
    (('EPN', 'CTI'), ('XRT3', 'XAREAEF'))
    """
    raw = text.strip().upper()
    if raw.endswith(".CCF") or raw.rsplit("_", 1)[-1].isdigit():
        try:
            return ConstituentName.parse(raw if raw.endswith(".CCF") else raw + ".CCF").key
        except InputError:
            pass
    scope, sep, typeid = raw.partition("_")
    if not sep or not scope.isalnum() or not typeid or not all(
            ch.isalnum() or ch == "_" for ch in typeid) or len(scope) > 5 or len(typeid) > 17:
        raise InputError(f"{field}: {text!r} is not a calibration type; expected SCOPE_TYPEID "
                         "(EPN_CTI) or a constituent name (EPN_CTI_0045.CCF)")
    return scope, typeid


@attrs.frozen
class Mark:
    """A calibration state on the timeline: its dates, and what it used per type."""

    label: str
    obs_date: CalDate
    analysis_date: CalDate
    category: str = DEFAULT_CATEGORY
    used: Mapping[tuple[str, str], Constituent] | None = None
    """``(SCOPE, TYPEID)`` -> the constituent the state holds; ``None``: a state given by
    dates, whose used issue is the rule's choice among the files present."""


def mark(label: str, obs_date: CalDate, analysis_date: CalDate, *,
         used: Iterable[Constituent] | None = None, category: str = DEFAULT_CATEGORY) -> Mark:
    """A state on the timeline; ``used``: its constituents (``None``: the rule's choice)."""
    return Mark(label, obs_date, analysis_date, category,
                None if used is None else {c.key: c for c in used})


def manifest_marks(m: Any, *, what: str = "manifest") -> list[Mark]:
    """One mark per observation of the manifest ``m`` (the first :data:`MAX_MARKS`, with a
    warning when there are more)."""
    marks = [mark(label, o.obs_date, o.analysis_date, used=m.constituents_for(o),
                  category=o.category)
             for label, o in zip(m.labels(), m.observations, strict=True)]
    if len(marks) > MAX_MARKS:
        warnings.warn(f"{what}: {len(marks)} observations; the timeline shows the first "
                      f"{MAX_MARKS}", ReprocalWarning, stacklevel=3)
    return marks[:MAX_MARKS]


@attrs.frozen
class Issue:
    """One issue of a type."""

    constituent: Constituent
    present: bool | None
    """Whether its file is in the local repository (``None``: not checked)."""

    @property
    def number(self) -> int:
        return self.constituent.issue


@attrs.frozen
class Skipped:
    """A newer eligible issue a state did not use."""

    best: int
    used: int | None
    missing: bool
    """Its file is missing locally (else: known, but the state was made without it)."""

    def describe(self, type_name: str, label: str) -> str:
        instead = f"issue {self.used}" if self.used is not None else "nothing"
        if self.missing:
            return (f"silent downgrade: {type_name} for {label}: issue {self.best} is eligible "
                    f"but missing locally; {instead} is used instead")
        return (f"{type_name} for {label}: issue {self.best} was eligible but {instead} was "
                "used (made from a stale repository)")


@attrs.frozen
class TypeTimeline:
    """One calibration type: its issues and, per mark, the issue used and the best one."""

    key: tuple[str, str]
    issues: tuple[Issue, ...]
    """The issues drawn, lowest first."""
    used: tuple[int | None, ...]
    """Per mark: the issue the state used (``None``: the type is absent from it)."""
    best: tuple[int | None, ...]
    """Per mark: the issue the rule selects over everything known."""
    hidden: int = 0
    """Issues known but not drawn (older, not valid at any mark's observation date)."""

    @property
    def name(self) -> str:
        return f"{self.key[0]}_{self.key[1]}"

    def hidden_note(self, marks: int) -> str:
        """What was left out, in words (``""``: nothing): with states, the issues not valid at
        any of their observation dates (those valid are always drawn); else the oldest."""
        if not self.hidden:
            return ""
        if marks:
            return (f"{self.hidden} issue(s) not valid at the observation date"
                    f"{'s' if marks > 1 else ''} left out")
        return f"{self.hidden} older issue(s) left out"

    def issue(self, number: int) -> Issue | None:
        return next((i for i in self.issues if i.number == number), None)

    def downgrade(self, mark: int) -> Skipped | None:
        """The issue the rule selects for ``mark`` over everything known when it is newer than
        the one the state used: missing locally (the silent downgrade cifbuild makes), or
        present but not used (the state was made from a stale repository)."""
        best, used = self.best[mark], self.used[mark]
        if best is None or (used is not None and used >= best):
            return None
        found = self.issue(best)
        if found is None:
            return None
        return Skipped(best, used, found.present is False)

    def to_json(self, marks: Sequence[Mark]) -> dict[str, Any]:
        def side(i: Issue) -> dict[str, Any]:
            c = i.constituent
            return {"issue": c.issue, "file": c.filename, "valdate": c.valdate.text,
                    "evaldate": c.evaldate.text if c.evaldate else None,
                    "subdate": c.subdate.text, "present": i.present}

        return {"type": self.name, "issues": [side(i) for i in self.issues],
                "hidden": self.hidden,
                "states": [{"label": m.label, "used": u, "best": b,
                            "downgrade": self.downgrade(k) is not None}
                           for k, (m, u, b) in enumerate(zip(marks, self.used, self.best,
                                                            strict=True))]}


@attrs.frozen
class Timeline:
    """Timelines of several types against the same marks."""

    types: tuple[TypeTimeline, ...]
    marks: tuple[Mark, ...]

    def dates(self) -> list[CalDate]:
        """Every finite date drawn (validity starts and ends, submissions, marks)."""
        out = [d for m in self.marks for d in (m.obs_date, m.analysis_date)]
        for t in self.types:
            for i in t.issues:
                c = i.constituent
                out += [c.valdate, c.subdate] + ([c.evaldate] if c.evaldate else [])
        return out

    @property
    def downgrades(self) -> list[tuple[str, str, Skipped]]:
        """``(type, mark label, skipped)`` for every newer eligible issue a state did not use."""
        return [(t.name, m.label, d) for t in self.types
                for k, m in enumerate(self.marks) if (d := t.downgrade(k)) is not None]

    def axis(self) -> tuple[CalDate, CalDate]:
        """The date range drawn: every date, but an end of validity far past the others (a
        sentinel such as 2100) is drawn as running off the axis."""
        rest = [d for m in self.marks for d in (m.obs_date, m.analysis_date)]
        ends = []
        for t in self.types:
            for i in t.issues:
                c = i.constituent
                rest += [c.valdate, c.subdate]
                ends += [c.evaldate] if c.evaldate else []
        lo, hi = min(rest), max(rest)
        cap = CalDate.from_datetime(hi.to_datetime() + (hi.to_datetime() - lo.to_datetime()) / 10)
        return lo, max([hi, *(e for e in ends if e <= cap)])

    def to_json(self) -> dict[str, Any]:
        return {"states": [{"label": m.label, "obs_date": m.obs_date.text,
                            "analysis_date": m.analysis_date.text, "category": m.category}
                           for m in self.marks],
                "types": [t.to_json(self.marks) for t in self.types],
                "downgrades": [{"type": t, "state": s, "best": d.best, "used": d.used,
                                "missing": d.missing} for t, s, d in self.downgrades]}


def _shown(issues: Sequence[Constituent], keep: set[int], marks: Sequence[Mark]
           ) -> list[Constituent]:
    """At most :data:`MAX_ISSUES` issues: those in ``keep``, those valid at a mark's
    observation date, then the newest."""
    if len(issues) <= MAX_ISSUES:
        return list(issues)
    def valid_at_a_mark(c: Constituent) -> bool:
        return any(c.valdate <= m.obs_date and (c.evaldate is None or c.evaldate >= m.obs_date)
                   for m in marks)
    chosen = {c.issue for c in issues if c.issue in keep}
    chosen |= {c.issue for c in issues if valid_at_a_mark(c)}
    for c in sorted(issues, key=lambda c: -c.issue):
        if len(chosen) >= MAX_ISSUES:
            break
        chosen.add(c.issue)
    return [c for c in issues if c.issue in chosen]


def build_timeline(types: Iterable[tuple[str, str]], known: Iterable[Constituent],
                   marks: Sequence[Mark], *, present: set[str] | None = None,
                   field: str = "types") -> Timeline:
    """The timelines of ``types`` over the ``known`` constituents (present and expected),
    against ``marks``. ``present``: file names in the local repository (``None``: not checked).
    A type of which no issue is known (nor used by a mark) is an :class:`InputError` naming it.
    """
    pool = list(known)
    for m in marks:
        pool += list((m.used or {}).values())
    by_name = {c.filename: c for c in pool}
    selector = Selector(by_name.values())
    local = Selector(c for c in by_name.values() if present is None or c.filename in present)
    wanted = list(dict.fromkeys(types))
    unknown = [f"{s}_{t}" for s, t in wanted if not selector.history((s, t))]
    if unknown:
        some = ", ".join(f"{s}_{t}" for s, t in selector.keys()[:6])
        raise InputError(f"{field}: no issue of {', '.join(unknown)} is known to the catalogue",
                         hint=(f"known types include {some}" if some else
                               "the catalogue is empty: give a repository or import an index"))
    best_of = [selector.apply(Rule(m.obs_date, m.analysis_date, m.category)).by_key()
               for m in marks]
    rule_of = [local.apply(Rule(m.obs_date, m.analysis_date, m.category)).by_key()
               for m in marks]
    out = []
    for key in wanted:
        used = tuple((m.used.get(key) if m.used is not None else rule_of[k].get(key))
                     for k, m in enumerate(marks))
        best = tuple(b.get(key) for b in best_of)
        history = sorted(selector.history(key), key=lambda c: c.issue)
        keep = {c.issue for c in (*used, *best) if c is not None}
        shown = _shown(history, keep, marks)
        issues = tuple(Issue(c, None if present is None else c.filename in present)
                       for c in shown)
        out.append(TypeTimeline(key, issues, tuple(c.issue if c else None for c in used),
                                tuple(c.issue if c else None for c in best),
                                len(history) - len(shown)))
    return Timeline(tuple(out), tuple(marks))


# --- the text version -----------------------------------------------------------------------

WIDTH = 48
"""Characters of the date axis in the text version."""


def _scale(lo: CalDate, hi: CalDate, width: int):  # type: ignore[no-untyped-def]
    a, b = lo.epoch(), hi.epoch()
    span = max(b - a, 1)
    return lambda d: min(width - 1, max(0, round((d.epoch() - a) / span * (width - 1))))


def _axis(lo: CalDate, hi: CalDate, width: int) -> str:
    """Year labels under the axis."""
    at = _scale(lo, hi, width)
    line = [" "] * (width + 5)
    first, last = int(lo.text[:4]), int(hi.text[:4])
    step = max(1, (last - first + 1) // 6)
    start = first if lo.text[5:] == "01-01T00:00:00" else first + 1
    for year in range(start, last + 1, step):
        pos = at(CalDate.parse(f"{year}-01-01"))
        text = str(year)
        if pos + len(text) <= len(line) and all(c == " " for c in line[max(0, pos - 1):pos + 4]):
            line[pos:pos + 4] = text
    return "".join(line).rstrip()


def _bar(c: Constituent, at: Any, width: int, hi: CalDate) -> str:
    """``width`` cells: the window over the first ``width - 1``, the last for ``>`` (open)."""
    cells = [" "] * width
    start = at(c.valdate)
    closed = c.evaldate is not None and c.evaldate <= hi
    end = at(c.evaldate) if closed and c.evaldate is not None else width - 1
    for x in range(start, end + 1):
        cells[x] = "="
    cells[start] = "["
    cells[end] = "]" if closed else ">"
    cells[at(c.subdate)] = "s"
    return "".join(cells)


def text_lines(t: Timeline, width: int = WIDTH) -> list[str]:
    """The timeline for a terminal: per type, one line per issue (a bar over the years from
    its validity start ``[`` to its end ``]``, ``>`` when open, ``s`` at its submission date)
    and the dates in words, then the states' dates (``o`` observation, ``a`` analysis) and what
    each used. (:attr:`Timeline.downgrades` says in words what each state skipped.)"""
    lo, hi = t.axis()
    at = _scale(lo, hi, width - 1)
    letters = [chr(ord("A") + k) if len(t.marks) > 1 else "" for k in range(len(t.marks))]
    lines = []
    for k, m in enumerate(t.marks):
        tag = f"{letters[k]}: " if letters[k] else ""
        lines.append(f"{tag}{m.label}: observation {m.obs_date}, analysis {m.analysis_date}")
    for tl in t.types:
        note = tl.hidden_note(len(t.marks))
        lines += ["", tl.name + (f" ({note})" if note else "")]
        lines.append("       " + _axis(lo, hi, width))
        for i in reversed(tl.issues):
            c = i.constituent
            flags = [f"used by {letters[k] or 'the state'}" for k, u in enumerate(tl.used)
                     if u == c.issue]
            for k in range(len(t.marks)):
                d = tl.downgrade(k)
                if d is not None and d.best == c.issue:
                    who = letters[k] or ("the rule" if d.missing else "the state")
                    flags.append(f"missing locally: {who} would select it" if d.missing else
                                 f"eligible for {who}, not used")
            if i.present is False and not any("missing" in f for f in flags):
                flags.append("missing locally")
            end = c.evaldate.date if c.evaldate else "open"
            lines.append(f"  {c.issue:04d} {_bar(c, at, width, hi)}  {c.valdate.date}..{end}, "
                         f"submitted {c.subdate.date}" + (f"  <- {'; '.join(flags)}"
                                                          if flags else ""))
        for k, m in enumerate(t.marks):
            row = [" "] * width
            row[at(m.obs_date)] = "o"
            row[at(m.analysis_date)] = "a"
            used = tl.used[k]
            what = f"issue {used}" if used is not None else "no issue (type absent)"
            lines.append(f"  {letters[k]:>4} {''.join(row)}  o obs, a analysis: {what}")
    return lines


__all__ = ["MAX_ISSUES", "MAX_MARKS", "Issue", "Mark", "Skipped", "Timeline", "TypeTimeline",
           "build_timeline", "manifest_marks", "mark", "parse_type", "text_lines"]
