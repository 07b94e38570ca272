"""Examples that run while the documentation is built: the ``session`` directive.

A ``session`` block is what a reader would type and see, either shell lines::

    ```{session}
    $ reprocal pin --obs-date 2010-01-01 --analysis-date 2015-01-01 --ccf-path ccf -o m.json
    Pinned 1 observation(s), 118 constituents (...) to m.json
    ...
    ```

or Python in the interpreter's form (``>>>`` and ``...`` prompts, then the output), as
:mod:`doctest` reads it. Each ``reprocal`` line runs the real command in this process
(``reprocal.cli.main``: the entry point of the console script) and each Python example runs in
one namespace per page; the output must match what the page shows (doctest's rules:
``...`` stands for any text, white space is normalised), and a command's exit status, when not
0, is shown as ``(exit status N)``. A mismatch is a warning, so ``make docs`` (``-W``) fails.

Every page with sessions gets its own working directory, made on its first session, holding a
seeded synthetic calibration repository in ``ccf/`` (what ``reprocal.testing.generate`` writes:
real calibration types and headers, tiny sizes) and nothing of the user's: the catalogue, cache
and Docker configuration are the working directory's, and ``SAS_CCFPATH`` is unset.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import shlex
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
ISOLATED = ("SAS_CCFPATH", "SAS_CCF", "SAS_ODF", "REPROCAL_CATALOG", "REPROCAL_MIRRORS",
            "REPROCAL_LIMITS", "REPROCAL_REGISTRY_USER", "REPROCAL_REGISTRY_PASSWORD")


class Workspace:
    """One page's working directory, its synthetic repository and its Python namespace."""

    def __init__(self) -> None:
        from reprocal.testing import generate

        self.root = Path(tempfile.mkdtemp(prefix="reprocal-docs-"))
        self.env = {"XDG_CACHE_HOME": str(self.root / ".cache"),
                    "DOCKER_CONFIG": str(self.root / ".docker"), "COLUMNS": "100"}
        (self.root / ".docker").mkdir()
        generate(self.root / "ccf", seed=1, scale=1e-4, files=200)
        self.globs: dict[str, Any] = {"__name__": "__session__"}

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """In the working directory, with its environment, for the time of one session."""
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        try:
            for var in ISOLATED:
                os.environ.pop(var, None)
            os.environ.update(self.env)
            os.chdir(self.root)
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                yield
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _run_command(line: str) -> str:
    """``$ reprocal ARGS``: the output (stdout then stderr) and the exit status if not 0."""
    from reprocal.cli import main

    argv = shlex.split(line)
    if not argv or argv[0] != "reprocal":
        raise ValueError(f"a session runs reprocal commands only, not {line!r}")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv[1:])
    text = out.getvalue() + err.getvalue()
    return text + (f"(exit status {code})\n" if code else "")


def _shell(lines: list[str]) -> list[tuple[str, str, str]]:
    """``(command, expected, got)`` for each ``$`` line of a shell session."""
    out = []
    i = 0
    while i < len(lines):
        command = lines[i][2:]
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        want = "\n".join(expected).strip("\n")
        out.append((command, want + "\n" if want else "", _run_command(command)))
    return out


class SessionDirective(SphinxDirective):
    """``{session}``: run the block (shell lines or Python), check its output, show it."""

    has_content = True

    def _workspace(self) -> Workspace:
        if self.env.docname not in WORKSPACES:
            WORKSPACES[self.env.docname] = Workspace()
        return WORKSPACES[self.env.docname]

    def run(self) -> list[nodes.Node]:
        text = "\n".join(self.content)
        python = text.lstrip().startswith(">>>")
        ws = self._workspace()
        where = (self.env.docname, self.lineno)
        with ws.entered():
            if python:
                self._python(text, ws, where)
            else:
                self._check_shell(list(self.content), where)
        block = nodes.literal_block(text, text)
        block["language"] = "pycon" if python else "console"
        self.set_source_info(block)
        return [block]

    def _check_shell(self, lines: list[str], where: tuple[str, int]) -> None:
        if not lines or not lines[0].startswith("$ "):
            logger.warning("a session starts with '$ reprocal ...' or '>>>'", location=where)
            return
        checker = doctest.OutputChecker()
        for command, want, got in _shell(lines):
            if not checker.check_output(want, got, FLAGS):
                logger.warning(f"`{command}` printed what the page does not show:\n"
                               f"--- the page\n{want}--- the command\n{got}", location=where)

    def _python(self, text: str, ws: Workspace, where: tuple[str, int]) -> None:
        test = doctest.DocTestParser().get_doctest(text, ws.globs, "session", where[0], 0)
        report = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test, out=report.write, clear_globs=False)
        ws.globs.update(test.globs)  # a DocTest runs in a copy: the page's next session sees these
        if runner.failures:
            logger.warning(f"a Python example did not give what the page shows:\n"
                           f"{report.getvalue()}", location=where)


WORKSPACES: dict[str, Workspace] = {}
"""Page -> its workspace, while the page is read."""


def _cleanup(app: Sphinx, exception: Exception | None) -> None:
    while WORKSPACES:
        WORKSPACES.popitem()[1].remove()


def _doc_read(app: Sphinx, doctree: nodes.document) -> None:
    ws = WORKSPACES.pop(app.env.docname, None)
    if ws is not None:
        ws.remove()


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("session", SessionDirective)
    app.connect("doctree-read", _doc_read)
    app.connect("build-finished", _cleanup)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
