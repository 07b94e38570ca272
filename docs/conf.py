"""Sphinx configuration of reprocal's documentation (``make docs``: warnings are errors).

The pages are Markdown (MyST); the CLI reference is generated from the click commands
(sphinx-click), the API reference from the docstrings (autodoc), the exit-code and output-schema
tables from the code (``_ext/tables.py``), and the user guide's examples are run while it is
built, their output compared with what the page shows (``_ext/sessions.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from reprocal._version import __version__  # noqa: E402  (the installed reprocal)

project = "reprocal"
author = "the reprocal developers"
copyright = "2026, the reprocal developers"  # noqa: A001  (Sphinx's name)
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_click",
    "sessions",
    "tables",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autoclass_content = "class"

html_theme = "alabaster"
html_title = f"reprocal {release}"
html_static_path: list[str] = []
html_theme_options = {"description": "Reproducible XMM-Newton calibration",
                      "fixed_sidebar": True}


def _plain_help(app: object, ctx: object, lines: list[str]) -> None:
    """The commands' help is written for a terminal, not in reST: a ``*`` in it (``*SUM.SAS``)
    is a character, not emphasis."""
    lines[:] = [line.replace("*", r"\*") if not line.lstrip().startswith("..") else line
                for line in lines]


def setup(app: object) -> None:
    for part in ("options", "description", "epilog", "arguments", "envvars"):
        app.connect(f"sphinx-click-process-{part}", _plain_help)  # type: ignore[attr-defined]
