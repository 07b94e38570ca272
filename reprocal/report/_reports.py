"""The three pages: an audit (``audit --html``), a diff (``diff --html``) and a bundle's
``report.html``. Each shows the state's dates and calibration id, the explanations, the
timelines of what differs and the constituent table with release-note links; a bundle's adds
the methods paragraph and the commands to reproduce."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reprocal._html import Markup, element, join, table
from reprocal.audit._diff import State, StateDiff
from reprocal.audit._judge import AuditReport, Local
from reprocal.core._constituent import Constituent
from reprocal.report._cite import Citation
from reprocal.report._notes import Notes
from reprocal.report._page import (
    code_id,
    commands,
    constituent_table,
    document,
    figure,
    section,
    state_list,
)
from reprocal.report._timeline import MAX_MARKS, Mark, build_timeline, manifest_marks, mark
from reprocal.state._manifest import Manifest

TYPES_PER_FIGURE = 8
"""Types drawn in one figure at most (more are split over several figures)."""


def timelines(keys: Sequence[tuple[str, str]], known: Iterable[Constituent],
              marks: Sequence[Mark], present: set[str] | None, prefix: str) -> list[Markup]:
    """The figures of ``keys`` (a few types each)."""
    keys = list(dict.fromkeys(keys))
    if not keys or not marks:
        return []
    pool = list(known)
    out = []
    for n in range(0, len(keys), TYPES_PER_FIGURE):
        chunk = keys[n:n + TYPES_PER_FIGURE]
        t = build_timeline(chunk, pool, marks[:MAX_MARKS], present=present)
        out.append(figure(t, f"{prefix}{n // TYPES_PER_FIGURE}-"))
    return out


def _dated(s: State) -> bool:
    return s.obs_date is not None and s.analysis_date is not None


# --- audit ----------------------------------------------------------------------------------


def _findings(r: AuditReport) -> Markup:
    bad = r.disagreements
    if r.rule is None:
        return element("p", "Not judged: the product carries no observation or analysis date.")
    if not bad:
        words = (f"Agrees with the selection rule at its own dates over the catalogue "
                 f"({r.known} known constituents)." if r.known else
                 "Every row satisfies the selection rule at its own dates; the catalogue knew "
                 "no other constituents to compare with.")
        return element("p", words, class_="verdict-ok")
    rows = [[f"{f.key[0]}_{f.key[1]}", f.used.issue if f.used else "-",
             f.expected.issue if f.expected else "-", element("span", f.verdict.value,
                                                              class_="verdict-bad"),
             f.explanation] for f in bad]
    return join([element("p", f"{len(bad)} type(s) disagree with the selection rule at the "
                              "product's own dates:", class_="verdict-bad"),
                 table(["type", "issue used", "rule gives", "verdict", "explanation"], rows,
                       sortable=True, numeric=(1, 2))])


def _today(r: AuditReport) -> Markup:
    if r.today is None:
        return Markup("")
    if not r.today_changes:
        return element("p", f"Re-made with today's calibration ({r.today.date}): no change.")
    rows = [[f"{c.key[0]}_{c.key[1]}", c.a.issue if c.a else "-", c.b.issue if c.b else "-",
             c.kind, c.note] for c in r.today_changes]
    return join([element("h3", f"Re-made with today's calibration ({r.today.date}), "
                               f"{len(r.today_changes)} type(s) would change"),
                 table(["type", "product's issue", "today's issue", "change", "why"], rows,
                       sortable=True, numeric=(1, 2))])


def _availability(r: AuditReport) -> Markup:
    checked = [f for f in r.findings if f.local is not Local.NOT_USED]
    if not checked:
        return element("p", "Local availability was not checked (no repository given).")
    missing = r.unavailable
    text = (f"Locally: {len(checked) - len(missing)} of {len(checked)} constituents present "
            "with matching content.")
    items = [element("li", f"{f.local.value}: {f.local_detail}") for f in missing]
    return join([element("p", text, class_="verdict-bad" if missing else "verdict-ok"),
                 element("ul", *items) if items else Markup("")])


def audit_section(n: int, facts: Sequence[tuple[str, object]], r: AuditReport,
                  known: Sequence[Constituent], present: set[str] | None, notes: Notes
                  ) -> Markup:
    """One product: its state, the verdicts, the timelines of what disagrees or would change,
    its constituents."""
    s = r.state
    keys = [f.key for f in r.disagreements] + [c.key for c in r.today_changes]
    marks = []
    if _dated(s):
        assert s.obs_date is not None and s.analysis_date is not None
        marks.append(mark("the product", s.obs_date, s.analysis_date, used=s.constituents))
        if r.today is not None:
            marks.append(mark(f"today ({r.today.date})", s.obs_date, r.today))
    figures = timelines(keys, [*known, *s.constituents], marks, present, f"audit{n}-")
    local = {f.used.filename: f.local.value for f in r.findings
             if f.used is not None and f.local is not Local.NOT_USED}
    return element(
        "article",
        element("h2", s.label),
        state_list(facts),
        element("h3", "Explanations"), _findings(r), _availability(r), _today(r),
        element("h3", "Timelines of what differs"),
        *(figures or [element("p", "Nothing differs: no timeline to draw.")]),
        element("h3", "Constituents"),
        constituent_table(sorted(s.constituents, key=lambda c: c.key), notes,
                          local=local or None, id_=f"constituents-{n}"),
        id=f"product-{n}", class_="product")


def audit_page(entries: Sequence[tuple[Sequence[tuple[str, object]], AuditReport]],
               known: Sequence[Constituent], present: set[str] | None, notes: Notes) -> str:
    """The page of an audit: one article per calibration state read."""
    ok = all(r.ok for _, r in entries)
    summary = (f"{len(entries)} calibration state(s) audited: "
               + ("every one agrees with the selection rule and is available." if ok else
                  "some disagree with the selection rule or are not available locally."))
    parts = [audit_section(n, facts, r, known, present, notes)
             for n, (facts, r) in enumerate(entries)]
    return document("Calibration audit", summary, [section("audit", "Products", *parts)])


# --- diff -----------------------------------------------------------------------------------


def _state_facts(name: str, s: State) -> list[tuple[str, object]]:
    return [(f"{name}", s.label), (f"{name}: observation date", s.obs_date),
            (f"{name}: analysis date", s.analysis_date),
            (f"{name}: constituents", len(s.constituents))]


def diff_page(d: StateDiff, known: Sequence[Constituent], notes: Notes) -> str:
    """The page of a diff: both states, the changes with their SAS tasks, their timelines."""
    counts = ", ".join(f"{len(d.of_kind(k))} {k}" for k in ("changed", "added", "removed"))
    summary = f"{len(d.changes)} calibration type(s) differ ({counts}); {d.unchanged} identical."
    rows = [[c.instrument, f"{c.key[0]}_{c.key[1]}", c.kind,
             f"{c.a.issue} ({c.a.subdate.date})" if c.a else "-",
             f"{c.b.issue} ({c.b.subdate.date})" if c.b else "-",
             " ".join(c.tasks) or "(unknown)", c.note] for c in d.changes]
    changes = table(["instrument", "type", "change", "A: issue (submitted)",
                     "B: issue (submitted)", "SAS tasks (approximate)", "where it comes from"],
                    rows, sortable=True, id_="changes-table")
    marks = [mark(f"{name}: {s.label}", s.obs_date, s.analysis_date, used=s.constituents)
             for name, s in (("A", d.a), ("B", d.b))
             if s.obs_date is not None and s.analysis_date is not None]
    keys = [c.key for c in d.changes]
    pool = [*known, *d.a.constituents, *d.b.constituents]
    figures = timelines(keys, pool, marks, None, "diff-")
    if keys and not figures:
        figures = [element("p", "No timeline: a state carries no observation or analysis date.")]
    differing = sorted({c for ch in d.changes for c in (ch.a, ch.b) if c is not None},
                       key=lambda c: (c.key, c.issue))
    return document("Calibration diff", summary, [
        section("state", "The two states", state_list(_state_facts("A", d.a)
                                                        + _state_facts("B", d.b))),
        section("explanations", "What differs", changes,
                element("p", "The SAS tasks come from an approximate table "
                             "(reprocal/data/type_tasks.csv): a guide, not a proof.")),
        section("timelines", "Timelines of what differs",
                *(figures or [element("p", "Nothing differs.")])),
        section("constituents", "Constituents that differ",
                constituent_table(differing, notes, caption="issues of the types that differ, "
                                                            "from A and from B")),
    ])


# --- bundle ---------------------------------------------------------------------------------


def _differing_types(m: Manifest) -> list[tuple[str, str]]:
    """Types whose issue differs between the manifest's observations (or is absent from some)."""
    seen: dict[tuple[str, str], set[int | None]] = {}
    per_obs = [{c.key: c.issue for c in m.constituents_for(o)} for o in m.observations]
    keys = sorted({k for issues in per_obs for k in issues})
    for k in keys:
        seen[k] = {issues.get(k) for issues in per_obs}
    return [k for k in keys if len(seen[k]) > 1]


def bundle_page(m: Manifest, facts: Sequence[tuple[str, object]], cite: Citation,
                reproduce: Sequence[str], files: Mapping[str, str], notes: Notes) -> str:
    """A bundle's ``report.html``."""
    obs_rows = [[label, element("span", str(oid), class_="id"), o.obs_date.text,
                 o.analysis_date.text, o.category, len(o.files),
                 "; ".join(f"{g.missing} missing, {g.selected or 'nothing'} used" for g in o.gaps)
                 or "none"]
                for label, oid, o in zip(m.labels(), m.observation_ids, m.observations,
                                         strict=True)]
    keys = _differing_types(m)
    marks = manifest_marks(m)
    figures = timelines(keys, [f.constituent for f in m.files], marks, None, "bundle-")
    gaps = [g for o in m.observations for g in o.gaps]
    if not figures:
        figures = [element("p", "Every observation uses the same issue of every type"
                                + ("." if gaps else "; no gap was recorded when the state was "
                                   "pinned."))]
    sums = {f.filename: f.sha256 for f in m.files}
    return document("Calibration bundle", f"Calibration state {m.calibration_id}", [
        section("state", "Calibration state", state_list(facts)),
        section("observations", "Observations",
                table(["observation", "observation id", "OBSVDATE", "ANALDATE", "category",
                       "constituents", "gaps recorded at pin time"], obs_rows, sortable=True,
                      numeric=(5,), id_="observations-table")),
        section("cite", "Cite this calibration", element("p", cite.paragraph),
                *([element("pre", element("code", cite.bibtex))] if cite.bibtex else [])),
        section("timelines", "Timelines of what differs between observations", *figures),
        section("constituents", "Constituents",
                constituent_table([f.constituent for f in m.files], notes, sha256=sums)),
        section("reproduce", "Reproduce", commands(reproduce)),
        section("files", "Files of the bundle",
                table(["file", "sha256"], [[element("code", f), code_id(d)]
                                           for f, d in sorted(files.items())],
                      sortable=True, id_="files-table")),
    ])


__all__ = ["TYPES_PER_FIGURE", "audit_page", "audit_section", "bundle_page", "diff_page",
           "timelines"]
