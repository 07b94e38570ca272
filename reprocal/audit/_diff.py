"""The difference between two calibration states, and which SAS steps it probably affects.

Pure: two :class:`State` values in (constituent lists with their dates), a :class:`StateDiff`
out. Changes are keyed by calibration type ``(SCOPE, TYPEID)``: an issue changed (with both
submission dates), a type added or removed, or the same issue described with other attributes
(a different file under the same name). When both states carry analysis dates each change of
issue says where its newer issue's submission date falls: between the two analysis dates
(expected drift), or already before the earlier one (that state's repository was stale, or the
type's validity differs at its observation date).

Which SAS tasks read which calibration type comes from ``reprocal/data/type_tasks.csv``, an
**approximate** table (see its header).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import attrs

from reprocal.core._constituent import Constituent, differences
from reprocal.core._dates import CalDate
from reprocal.core._names import INSTRUMENT_OF_SCOPE
from reprocal.errors import InputError
from reprocal.state._manifest import ExtraFile, ExtraSet

APPROXIMATE_NOTE = (
    "affected SAS tasks come from an approximate table (reprocal/data/type_tasks.csv): "
    "a guide, not a proof"
)


@attrs.frozen
class TaskTable:
    """Calibration type -> SAS tasks that read it (approximate)."""

    exact: Mapping[tuple[str, str], tuple[str, ...]]
    """``(scope, typeid)`` -> tasks."""
    any_scope: Mapping[str, tuple[str, ...]]
    """``typeid`` -> tasks, for a ``*`` scope row."""

    def tasks(self, scope: str, typeid: str) -> tuple[str, ...]:
        """Tasks for a type: the exact row, else the ``*`` row's tasks that belong to the
        scope's instrument (:func:`task_fits_scope`), else ``()`` (unknown).

        >>> t = parse_type_tasks("scope,typeid,tasks,what\n*,REDIST,rmfgen rgsrmfgen,x")
        >>> t.tasks("EPN", "REDIST"), t.tasks("RGS1", "REDIST")
        (('rmfgen',), ('rgsrmfgen',))
        """
        found = self.exact.get((scope, typeid))
        if found is not None:
            return found
        return tuple(t for t in self.any_scope.get(typeid, ()) if task_fits_scope(t, scope))


_TASK_FAMILIES: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("rgs",), frozenset({"RGS1", "RGS2"})),
    (("em", "mos-"), frozenset({"EMOS1", "EMOS2"})),
    (("ep", "pn-"), frozenset({"EPN"})),
    (("om",), frozenset({"OM"})),
    (("arfgen", "rmfgen", "badpix"), frozenset({"EMOS1", "EMOS2", "EPN"})),
)
"""Task-name prefixes that belong to one instrument's chain (EPIC's responses and bad pixels:
arfgen, rmfgen, badpix; RGS's response is rgsrmfgen)."""

_SHARED_SCOPES = frozenset({"XMM", "XRT1", "XRT2", "XRT3"})
"""Scopes whose constituents serve several instruments (the spacecraft, the mirrors)."""


def task_fits_scope(task: str, scope: str) -> bool:
    """Whether a ``*`` row's ``task`` can read a constituent of ``scope``: an instrument's own
    task (``rgsrmfgen``, ``epchain``, ``omichain`` ...) only for that instrument's scopes;
    other tasks, and every task for the shared scopes, always.

    >>> task_fits_scope("rgsrmfgen", "EPN"), task_fits_scope("rmfgen", "EPN")
    (False, True)
    >>> task_fits_scope("esky2det", "OM"), task_fits_scope("rgsproc", "XMM")
    (True, True)
    """
    if scope in _SHARED_SCOPES:
        return True
    for prefixes, scopes in _TASK_FAMILIES:
        if task.startswith(prefixes):
            return scope in scopes
    return True


def parse_type_tasks(text: str, *, source: str = "type_tasks.csv") -> TaskTable:
    """Parse the table (``#`` lines are comments)."""

    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    exact: dict[tuple[str, str], tuple[str, ...]] = {}
    any_scope: dict[str, tuple[str, ...]] = {}
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    for lineno, row in enumerate(reader, start=2):
        try:
            scope, typeid = row["scope"].strip().upper(), row["typeid"].strip().upper()
            tasks = tuple(row["tasks"].split())
        except (KeyError, AttributeError):
            raise InputError(f"{source}: data line {lineno}: expected scope,typeid,tasks,what"
                             ) from None
        if scope == "*":
            any_scope[typeid] = tasks
        else:
            exact[(scope, typeid)] = tasks
    return TaskTable(exact, any_scope)


@cache
def type_tasks() -> TaskTable:
    """The table shipped in ``reprocal/data/type_tasks.csv``."""
    text = resources.files("reprocal").joinpath("data/type_tasks.csv").read_text()
    return parse_type_tasks(text)


@attrs.frozen
class State:
    """A calibration state: the constituents one CIF/product/manifest/date pair selects."""

    label: str
    """How the user named it (a path, ``obs=...,an=...``)."""
    constituents: tuple[Constituent, ...]
    """One per calibration type."""
    obs_date: CalDate | None = None
    analysis_date: CalDate | None = None
    extras: tuple[ExtraSet, ...] | None = None
    """The extra calibration sets (a manifest's; ``None``: the state cannot say, a CIF)."""


@attrs.frozen
class ExtraChange:
    """One file of an extra calibration set that differs between A and B."""

    set: str
    """The set's label."""
    path: str
    a: ExtraFile | None
    """A's file (``None``: added in B)."""
    b: ExtraFile | None
    """B's file (``None``: removed in B)."""

    @property
    def kind(self) -> str:
        return "added" if self.a is None else "removed" if self.b is None else "changed"

    def describe(self) -> str:
        if self.a is None or self.b is None:
            f = self.b or self.a
            assert f is not None
            return f"{self.kind} {self.path} ({f.size} bytes, sha256 {f.sha256[:12]}...)"
        return (f"changed {self.path}: {self.a.size} -> {self.b.size} bytes, sha256 "
                f"{self.a.sha256[:12]}... -> {self.b.sha256[:12]}...")

    def to_json(self) -> dict[str, Any]:
        def side(f: ExtraFile | None) -> dict[str, Any] | None:
            return None if f is None else {"size": f.size, "sha256": f.sha256}

        return {"set": self.set, "path": self.path, "kind": self.kind, "a": side(self.a),
                "b": side(self.b)}


def diff_extras(a: Sequence[ExtraSet], b: Sequence[ExtraSet]) -> tuple[ExtraChange, ...]:
    """The files of the sets (matched by label) that differ, set by set, path by path."""
    sa, sb = {x.label: x for x in a}, {x.label: x for x in b}
    out = []
    for label in sorted(set(sa) | set(sb)):
        fa = {f.path: f for f in (sa[label].files if label in sa else ())}
        fb = {f.path: f for f in (sb[label].files if label in sb else ())}
        out += [ExtraChange(label, p, fa.get(p), fb.get(p)) for p in sorted(set(fa) | set(fb))
                if fa.get(p) != fb.get(p)]
    return tuple(out)


@attrs.frozen
class Change:
    """One calibration type that differs between A and B."""

    key: tuple[str, str]
    """``(SCOPE, TYPEID)``."""
    a: Constituent | None
    """A's constituent (``None``: the type is added in B)."""
    b: Constituent | None
    """B's constituent (``None``: the type is removed in B)."""
    tasks: tuple[str, ...] = ()
    """SAS tasks that probably read this type (approximate)."""
    note: str = ""
    """Where the change comes from, when both states have analysis dates."""

    @property
    def kind(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        return "changed"

    @property
    def instrument(self) -> str:
        return INSTRUMENT_OF_SCOPE.get(self.key[0], self.key[0])

    def describe(self) -> str:
        """``EPN CTI: issue 32 (submitted 2014-04-04) -> 45 (submitted 2014-09-06)``."""
        name = f"{self.key[0]} {self.key[1]}"
        if self.a is None:
            assert self.b is not None
            text = f"{name}: added, issue {self.b.issue} (submitted {self.b.subdate.date})"
        elif self.b is None:
            text = f"{name}: removed, was issue {self.a.issue} (submitted {self.a.subdate.date})"
        elif self.a.issue == self.b.issue:
            text = f"{name}: issue {self.a.issue} in both, attributes differ ({_fields(self.a, self.b)})"
        else:
            text = (f"{name}: issue {self.a.issue} (submitted {self.a.subdate.date}) -> "
                    f"{self.b.issue} (submitted {self.b.subdate.date})")
        return text + (f"; {self.note}" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        def side(c: Constituent | None) -> dict[str, Any] | None:
            if c is None:
                return None
            return {"file": c.filename, "issue": c.issue, "subdate": c.subdate.text,
                    "valdate": c.valdate.text,
                    "evaldate": c.evaldate.text if c.evaldate else None}

        return {"scope": self.key[0], "typeid": self.key[1], "instrument": self.instrument,
                "kind": self.kind, "a": side(self.a), "b": side(self.b),
                "tasks": list(self.tasks), "note": self.note, "text": self.describe()}


def _fields(a: Constituent, b: Constituent) -> str:
    return ", ".join(f"{f} {'open' if va is None else va} vs {'open' if vb is None else vb}"
                     for f, va, vb in differences(a, b))


SAME_NAME = ("the same issue with other attributes: a different file under the same name, "
             "not newer calibration")


def _note(c: Change, a: State, b: State, names: tuple[str, str]) -> str:
    """Where B's (newer) issue's submission date falls relative to the two analysis dates; for
    the same issue on both sides, that it is another file under one name (no date says which
    is newer, so neither repository is called stale)."""
    if c.a is not None and c.b is not None and c.a.issue == c.b.issue:
        return SAME_NAME
    if a.analysis_date is None or b.analysis_date is None or c.kind == "removed":
        return ""
    new, old, young, old_name, new_name = c.b, a, b, names[0], names[1]
    if c.a is not None and c.b is not None and c.a.issue > c.b.issue:
        new, old, young, old_name, new_name = c.a, b, a, names[1], names[0]  # A holds the newer
    assert new is not None and old.analysis_date and young.analysis_date
    lo, hi = old.analysis_date, young.analysis_date
    sub = new.subdate
    if sub > lo and sub <= hi:
        return (f"issue {new.issue} was submitted {sub.date}, between the analysis dates "
                f"{lo.date} ({old_name}) and {hi.date} ({new_name})")
    if sub <= lo:
        return (f"issue {new.issue} was already submitted {sub.date}, before the analysis date "
                f"{lo.date} of {old_name}: that repository was stale (or validity differs "
                f"at its observation date)")
    return (f"issue {new.issue} was submitted {sub.date}, after both analysis dates: "
            f"{new_name}'s ANALDATE is wrong or its calibration was patched")


@attrs.frozen
class StateDiff:
    """All differences between two states."""

    a: State
    b: State
    changes: tuple[Change, ...]
    """Sorted by (SCOPE, TYPEID)."""
    unchanged: int
    """Types with the same constituent on both sides."""
    extras: tuple[ExtraChange, ...] = ()
    """Files of extra calibration sets that differ (when both states say what they pin)."""

    def extras_by_set(self) -> dict[str, list[ExtraChange]]:
        out: dict[str, list[ExtraChange]] = {}
        for c in self.extras:
            out.setdefault(c.set, []).append(c)
        return out

    def of_kind(self, kind: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    def by_instrument(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        for c in self.changes:
            out.setdefault(c.instrument, []).append(c)
        return out

    def affected_tasks(self) -> dict[str, list[str]]:
        """Task -> the types (``SCOPE_TYPEID``) changed that it probably reads."""
        out: dict[str, list[str]] = {}
        for c in self.changes:
            for t in c.tasks:
                out.setdefault(t, []).append(f"{c.key[0]}_{c.key[1]}")
        return dict(sorted(out.items()))

    def unknown_types(self) -> list[str]:
        return [f"{c.key[0]}_{c.key[1]}" for c in self.changes if not c.tasks]

    def to_table(self) -> Any:
        """One row per change (type, kind, both sides' issue and dates, tasks), as an astropy
        ``Table``."""
        from reprocal.fits._tabular import rows_table

        def side(c: Constituent | None, what: str) -> Any:
            return getattr(c, what) if c is not None else None

        return rows_table([
            {"instrument": c.instrument, "scope": c.key[0], "typeid": c.key[1],
             "kind": c.kind, "a_issue": side(c.a, "issue"), "b_issue": side(c.b, "issue"),
             "a_subdate": c.a.subdate.text if c.a else None,
             "b_subdate": c.b.subdate.text if c.b else None,
             "tasks": " ".join(c.tasks), "note": c.note} for c in self.changes],
            names=["instrument", "scope", "typeid", "kind", "a_issue", "b_issue", "a_subdate",
                   "b_subdate", "tasks", "note"])

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        from reprocal.fits._tabular import to_pandas

        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        from reprocal._html import element, join, table

        rows = [[c.instrument, f"{c.key[0]}_{c.key[1]}", c.kind,
                 c.a.issue if c.a else "-", c.b.issue if c.b else "-", " ".join(c.tasks),
                 c.note] for c in self.changes]
        head = render(self)[:3]
        return str(join([element("p", "; ".join(head)),
                         table(["instrument", "type", "change", "A", "B", "SAS tasks", "note"],
                               rows)]))

    def to_json(self) -> dict[str, Any]:
        def state(s: State) -> dict[str, Any]:
            return {"label": s.label, "constituents": len(s.constituents),
                    "obs_date": s.obs_date.text if s.obs_date else None,
                    "analysis_date": s.analysis_date.text if s.analysis_date else None}

        return {
            "a": state(self.a), "b": state(self.b), "unchanged": self.unchanged,
            "counts": {k: len(self.of_kind(k)) for k in ("changed", "added", "removed")},
            "by_instrument": {i: [c.to_json() for c in cs] for i, cs in self.by_instrument().items()},
            "affected_tasks": self.affected_tasks(), "tasks_note": APPROXIMATE_NOTE,
            "extras": {k: [c.to_json() for c in cs] for k, cs in self.extras_by_set().items()},
        }


def _by_key(constituents: Iterable[Constituent], label: str) -> dict[tuple[str, str], Constituent]:
    out: dict[tuple[str, str], Constituent] = {}
    for c in constituents:
        if c.key in out and out[c.key] != c:

            raise InputError(f"{label}: {c.scope} {c.typeid} is listed twice "
                             f"(issues {out[c.key].issue} and {c.issue}); not one calibration state")
        out[c.key] = c
    return out


def diff_states(a: State, b: State, *, table: TaskTable | None = None,
                names: tuple[str, str] = ("A", "B")) -> StateDiff:
    """Compare two states type by type; ``names`` are how the notes refer to them."""
    table = table or type_tasks()
    ka, kb = _by_key(a.constituents, a.label), _by_key(b.constituents, b.label)
    changes = []
    unchanged = 0
    for key in sorted(set(ka) | set(kb)):
        ca, cb = ka.get(key), kb.get(key)
        if ca is not None and cb is not None and ca.issue == cb.issue and not differences(ca, cb):
            unchanged += 1
            continue
        change = Change(key, ca, cb, table.tasks(*key))
        changes.append(attrs.evolve(change, note=_note(change, a, b, names)))
    extras = (diff_extras(a.extras, b.extras) if a.extras is not None and b.extras is not None
              else ())
    return StateDiff(a, b, tuple(changes), unchanged, extras)


def _dates(s: State) -> str:
    """`` (observation date X, analysis date Y)``: both dates a side carries (OBSVDATE and
    ANALDATE of a table), so two states that differ by either can be told apart.

    >>> _dates(State("a", (), CalDate.parse("2004-06-17"), CalDate.parse("2018-07-27")))
    ' (observation date 2004-06-17T00:00:00, analysis date 2018-07-27T00:00:00)'
    """
    said = [f"{what} {d}" for what, d in (("observation date", s.obs_date),
                                           ("analysis date", s.analysis_date)) if d]
    return f" ({', '.join(said)})" if said else ""


def render(d: StateDiff) -> Sequence[str]:
    """Human-readable lines."""
    lines = [f"A: {d.a.label}{_dates(d.a)}", f"B: {d.b.label}{_dates(d.b)}"]
    counts = ", ".join(f"{len(d.of_kind(k))} {k}" for k in ("changed", "added", "removed"))
    lines.append(f"{len(d.changes)} calibration type(s) differ ({counts}); {d.unchanged} identical")
    for instrument, changes in d.by_instrument().items():
        lines.append(f"{instrument}:")
        lines.extend(f"  {c.describe()}" for c in changes)
    for label, extras in d.extras_by_set().items():
        lines.append(f"extra set {label}: {len(extras)} file(s) differ")
        lines.extend(f"  {c.describe()}" for c in extras)
    tasks = d.affected_tasks()
    if tasks:
        lines.append("SAS steps probably affected (approximate table):")
        lines.extend(f"  {t}: {', '.join(types)}" for t, types in tasks.items())
    if d.unknown_types():
        lines.append(f"  (no task known for: {', '.join(d.unknown_types())})")
    return lines


__all__ = ["APPROXIMATE_NOTE", "SAME_NAME", "Change", "ExtraChange", "State", "StateDiff",
           "TaskTable", "diff_extras", "diff_states", "parse_type_tasks", "render",
           "task_fits_scope", "type_tasks"]
