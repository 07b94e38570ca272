"""The terminal bar: the CLI's implementation of the one progress protocol; drawn on a
terminal, silent otherwise."""

from __future__ import annotations

import io
import threading

import pytest

from reprocal.cli._progress import Bar
from reprocal.progress import Progress


def _drive(progress: Progress) -> None:
    progress.start(3000, items=3)
    threads = [threading.Thread(target=lambda: [progress.update(10) for _ in range(100)])
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("A", "B", "C"):
        progress.finished(name)


def test_bar_draws_bytes_and_files_on_a_terminal() -> None:
    """Enabled: bytes on the bar (updates from several threads all counted), files finished
    in the postfix."""
    out = io.StringIO()
    with Bar("fetch", unit="B", unit_scale=True, enabled=True, file=out) as bar:
        _drive(bar)
        assert bar._tqdm.n == 3000 and bar._tqdm.total == 3000
    text = out.getvalue()
    assert "fetch" in text and "3/3 files" in text


def test_bar_is_silent_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the bar follows stderr: not a terminal (a pipe, a log, a test), nothing."""
    out = io.StringIO()
    monkeypatch.setattr("reprocal.cli._progress.stderr_is_tty", lambda: False)
    with Bar("indexing", file=out) as bar:
        _drive(bar)
    assert out.getvalue() == ""
    monkeypatch.setattr("reprocal.cli._progress.stderr_is_tty", lambda: True)
    with Bar("indexing", file=out) as bar:
        bar.update(1)
    assert "indexing" in out.getvalue()


def test_unknown_total_counts_up() -> None:
    """start(None): no total known (a directory walk), the bar counts what is done."""
    out = io.StringIO()
    with Bar("indexing", total=5, enabled=True, file=out) as bar:
        bar.start(None)
        bar.update(7)
        assert bar._tqdm.total is None and bar._tqdm.n == 7


def test_a_bar_off_imports_no_tqdm() -> None:
    """With stderr no terminal the bar draws nothing and tqdm is not even imported (it is a
    tenth of a command's start-up)."""
    import subprocess
    import sys

    code = ("import sys\nfrom reprocal.cli._progress import Bar\n"
            "with Bar('x', enabled=False) as b:\n    b.start(3, items=2); b.update(); b.finished('a')\n"
            "print('tqdm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
