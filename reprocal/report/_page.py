"""Self-contained HTML pages: one file per report, readable offline and in ten years.

A page holds everything it shows: the CSS and a small table-sorting script inline, the figures
as inline SVG (:meth:`reprocal.report._figure.Drawing.svg`), no font, image, script or style
fetched from anywhere. A Content-Security-Policy forbids every load and every script but the
page's own (by its hash), so even a value that slipped past escaping could not run or call
out. Every value is escaped by :mod:`reprocal._html`.

Pages are reproducible: the same inputs give the same bytes (no clock; the figures' SVG has no
date), so a bundle's ``report.html`` is as deterministic as its tarball.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence

from reprocal._html import Markup, definitions, element, esc, join, link, table
from reprocal._version import __version__
from reprocal.core._constituent import Constituent
from reprocal.report._notes import Notes
from reprocal.report._timeline import Timeline

CSS = """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --rule: #d0d0d0; --accent: #0072B2;
  --warn: #D55E00; --ok: #009E73; }
* { box-sizing: border-box; }
body { font: 15px/1.5 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 76rem; padding: 1.5rem 2rem 3rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .6rem;
  border-bottom: 1px solid var(--rule); padding-bottom: .2rem; } h3 { font-size: 1.05rem; }
.sub { color: var(--muted); margin: 0; }
code, pre, .id { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
.id { word-break: break-all; }
pre { background: #f6f6f6; border: 1px solid var(--rule); padding: .8rem 1rem; overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: .4rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding: .2rem 0; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f0f4f8; position: sticky; top: 0; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #999; }
table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--ink); }
table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: var(--ink); }
.verdict-bad { color: var(--warn); font-weight: bold; } .verdict-ok { color: var(--ok); }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; }
a { color: var(--accent); }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
@media print { thead th { position: static; } }
"""

SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-sort');
    if (v === null) { v = cell.textContent.trim(); }
    var n = Number(v.replace(/,/g, ''));
    return (v === '' || isNaN(n)) ? [1, v.toLowerCase()] : [0, n];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) { return a[0] - b[0]; }
    return a[1] < b[1] ? -1 : (a[1] > b[1] ? 1 : 0);
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      th.setAttribute('aria-sort', 'none');
      function sort() {
        var ascending = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute('aria-sort', 'none'); });
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          return compare(key(a.cells[col]), key(b.cells[col])) * (ascending ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
      });
    });
  });
})();
"""


def _script_hash() -> str:
    digest = hashlib.sha256(SCRIPT.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


CSP = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       f"script-src '{_script_hash()}'; base-uri 'none'; form-action 'none'")
"""Nothing is loaded from anywhere; the only script that runs is :data:`SCRIPT`."""


def document(title: str, subtitle: str, sections: Iterable[Markup]) -> str:
    """The whole page."""
    head = join([
        Markup('<meta charset="utf-8">'),
        Markup(f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        Markup(f'<meta name="generator" content="reprocal {esc(__version__)}">'),
        element("title", title), Markup(f"<style>{CSS}</style>")])
    body = join([
        element("header", element("h1", title), element("p", subtitle, class_="sub")),
        element("main", *sections),
        element("footer", f"Written by reprocal {__version__}. Self-contained: this page loads "
                          "nothing from the network. Dates are UTC. Click a column heading to "
                          "sort a table."),
        Markup(f"<script>{SCRIPT}</script>")])
    return f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>{head}</head>\n<body>{body}</body>\n</html>\n"


def section(id_: str, title: str, *content: object) -> Markup:
    return element("section", element("h2", title), *content, id=id_)


def figure(t: Timeline, prefix: str, caption: str = "") -> Markup:
    """A timeline as an inline SVG figure with its caption."""
    from reprocal.report._figure import draw_timeline

    drawing = draw_timeline(t)
    return element("figure", drawing.svg(prefix),
                   element("figcaption", caption or drawing.summary), class_="timeline")


def constituent_table(rows: Sequence[Constituent], notes: Notes, *,
                      sha256: Mapping[str, str] | None = None,
                      local: Mapping[str, str] | None = None, caption: str | None = None,
                      id_: str = "constituents-table") -> Markup:
    """The constituents, sortable, each with its release note's link."""
    headers = ["constituent", "scope", "type", "issue", "valid from", "valid to", "submitted",
               "size (bytes)"]
    if sha256 is not None:
        headers.append("sha256")
    if local is not None:
        headers.append("local copy")
    headers.append("release note")
    body = []
    for c in rows:
        note = notes.link(c.filename)
        cells: list[object] = [element("code", c.filename), c.scope, c.typeid, c.issue,
                               c.valdate.text, c.evaldate.text if c.evaldate else "open",
                               c.subdate.text, c.fsize if c.fsize is not None else ""]
        if sha256 is not None:
            digest = sha256.get(c.filename, "")
            cells.append(element("span", digest[:16] + ("…" if digest else ""), class_="id",
                                 title=digest))
        if local is not None:
            cells.append(local.get(c.filename, ""))
        cells.append(link(note.url, note.text, title=note.note.title if note.note else None))
        body.append(cells)
    return table(headers, body, sortable=True, caption=caption, id_=id_, numeric=(3, 7))


def state_list(items: Iterable[tuple[str, object]]) -> Markup:
    return definitions((k, v) for k, v in items if v is not None and v != "")


def code_id(value: object) -> Markup:
    return element("span", value, class_="id")


def commands(lines: Sequence[str]) -> Markup:
    return element("pre", element("code", "\n".join(lines)))


__all__ = ["CSP", "CSS", "SCRIPT", "code_id", "commands", "constituent_table", "document",
           "figure", "section", "state_list"]
