"""Tables made from the code, so that the documentation cannot drift from it:

- ``{exit-codes}``: :data:`reprocal.errors.EXIT_CODES`, with the exception classes that exit with
  each code;
- ``{json-outputs}``: :data:`reprocal.api.OUTPUTS`, each command's ``--json`` document, the API
  result it comes from and its schema in ``schemas/``;
- ``{schema} NAME``: one schema of ``schemas/`` (its title, description and the JSON itself).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def _table(header: list[str], rows: list[list[nodes.Node | str]],
           widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    head += _row(header)
    body = nodes.tbody()
    group += body
    for r in rows:
        body += _row(r)
    return table


def _row(cells: list[nodes.Node | str]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        para = nodes.paragraph()
        para += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
        entry += para
        row += entry
    return row


def _errors_by_code() -> dict[int, list[str]]:
    from reprocal import errors

    out: dict[int, list[str]] = {}
    todo = [errors.ReprocalError]
    while todo:
        cls = todo.pop(0)
        if cls.__module__ == "reprocal.errors":
            out.setdefault(cls.exit_code, []).append(cls.__name__)
        todo.extend(cls.__subclasses__())
    return out


class ExitCodes(SphinxDirective):
    """The exit-code table."""

    def run(self) -> list[nodes.Node]:
        from reprocal.errors import EXIT_CODES

        classes = _errors_by_code()
        rows: list[list[nodes.Node | str]] = []
        for code, meaning in EXIT_CODES.items():
            names = ", ".join(sorted(classes.get(code, [])))
            rows.append([nodes.literal(text=str(code)), meaning,
                         nodes.literal(text=names) if names else ""])
        return [_table(["code", "meaning", "raised as (reprocal.errors)"], rows, [8, 50, 42])]


class JsonOutputs(SphinxDirective):
    """The table of ``--json`` documents and their schemas."""

    def run(self) -> list[nodes.Node]:
        from reprocal.api import OUTPUTS

        rows: list[list[nodes.Node | str]] = []
        for command, (result, schema) in OUTPUTS.items():
            rows.append([nodes.literal(text=f"reprocal {command} --json"),
                         nodes.literal(text=f"api.{result}"), nodes.literal(text=f"schemas/{schema}")])
        return [_table(["command", "API result", "schema"], rows, [40, 30, 40])]


class Schema(SphinxDirective):
    """One published schema: its title and description, then the document."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        text = (resources.files("reprocal.schemas") / name).read_text(encoding="utf-8")
        doc: dict[str, Any] = json.loads(text)
        out: list[nodes.Node] = []
        para = nodes.paragraph()
        para += nodes.strong(text=doc.get("title", name))
        para += nodes.Text(" (")
        para += nodes.literal(text=f"schemas/{name}")
        para += nodes.Text(")")
        out.append(para)
        if doc.get("description"):
            out.append(nodes.paragraph(text=doc["description"]))
        block = nodes.literal_block(text, text)
        block["language"] = "json"
        out.append(block)
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("exit-codes", ExitCodes)
    app.add_directive("json-outputs", JsonOutputs)
    app.add_directive("schema", Schema)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
