"""HTML fragments, escaped: the one way reprocal writes markup.

Every value that reaches a page goes through :func:`esc` (or :func:`element`, which escapes its
text children and attribute values), so a constituent name, a creator string, a label or a
path holding ``<script>`` stays text. Markup already built is a :class:`Markup` and is not
escaped twice. Links are written only for ``http(s)`` URLs and in-page anchors
(:func:`safe_href`): a ``javascript:`` or ``data:`` URL read from a file is shown as text.

Used by the reports (:mod:`reprocal.report`) and by the ``_repr_html_`` of the models a
notebook shows (manifests, resolutions, audits, diffs). Pure: strings in, strings out.

>>> element("td", "<b>", class_="x")
'<td class="x">&lt;b&gt;</td>'
>>> link("javascript:alert(1)", "click")
'click'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlparse


class Markup(str):
    """Text that is already safe HTML (built here, never read from a file)."""


def esc(value: object) -> Markup:
    """``value`` as HTML text: ``&``, ``<``, ``>``, quotes escaped; :class:`Markup` as is."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


_NAME = re.compile(r"^[a-z][a-z0-9-]*\Z")


def element(tag: str, *children: object, **attributes: object) -> Markup:
    """``<tag attr="...">children</tag>``: children escaped unless :class:`Markup`;
    attributes escaped, ``None``/``False`` left out, ``True`` written bare, a trailing ``_``
    dropped (``class_``) and ``_`` in names written ``-`` (``aria_label``)."""
    if not _NAME.match(tag):
        raise ValueError(f"not a tag name: {tag!r}")
    attrs = []
    for name, value in attributes.items():
        name = name.rstrip("_").replace("_", "-")
        if not _NAME.match(name):
            raise ValueError(f"not an attribute name: {name!r}")
        if value is None or value is False:
            continue
        attrs.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    inner = "".join(esc(c) for c in children if c is not None)
    return Markup(f"<{tag}{''.join(attrs)}>{inner}</{tag}>")


def join(parts: Iterable[object], sep: str = "") -> Markup:
    """Several fragments as one (each escaped unless :class:`Markup`)."""
    return Markup(esc(sep).join(esc(p) for p in parts))


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an ``http(s)`` URL with a host, or an in-page anchor (``#id``);
    else ``None``: nothing read from a file becomes a script or data link."""
    if not url:
        return None
    if url.startswith("#") and re.fullmatch(r"#[A-Za-z0-9_.:-]+", url):
        return url
    try:
        parsed = urlparse(url)
    except ValueError:
        return None
    if parsed.scheme in ("http", "https") and parsed.netloc and not re.search(r"[\s<>\"'`]", url):
        return url
    return None


def link(url: str | None, text: object, *, title: str | None = None) -> Markup:
    """A link to ``url`` when :func:`safe_href` accepts it, else ``text`` alone."""
    href = safe_href(url)
    if href is None:
        return esc(text)
    return element("a", text, href=href, rel=None if href.startswith("#") else "noopener",
                   title=title or None)


def table(headers: Sequence[object], rows: Iterable[Sequence[object]], *,
          sortable: bool = False, caption: object = None, id_: str | None = None,
          numeric: Sequence[int] = ()) -> Markup:
    """A table: ``headers`` (a ``<th>`` each), ``rows`` (a ``<td>`` per cell, escaped unless
    :class:`Markup`). ``sortable`` marks it for the reports' sorting script; ``numeric`` are
    the columns aligned right (numbers)."""
    head = element("tr", *(element("th", h, scope="col") for h in headers))
    body = join(element("tr", *(element("td", cell, class_="num" if i in numeric else None)
                                for i, cell in enumerate(row))) for row in rows)
    parts = [element("caption", caption) if caption is not None else None,
             element("thead", head), element("tbody", body)]
    return element("table", *parts, class_="sortable" if sortable else None, id=id_)


def definitions(items: Iterable[tuple[object, object]]) -> Markup:
    """A ``<dl>`` of (term, description) pairs."""
    return element("dl", *(join([element("dt", k), element("dd", v)]) for k, v in items))


__all__ = ["Markup", "definitions", "element", "esc", "join", "link", "safe_href", "table"]
