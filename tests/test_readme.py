"""The README's Python example runs as written (on a synthetic repository)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_python_example_runs(synthetic_repo, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The notebook example (the Python API section's first block): resolve, report gaps,
    write a CIF, pin a manifest and save it, verify it."""
    api_section = (ROOT / "README.md").read_text().split("\n## Python API\n", 1)[1]
    block = re.search(r"```python\n(.*?)```", api_section, re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    code = block.group(1).replace('"/data/ccf"', repr(str(synthetic_repo.root)))
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "ccf.cif").exists()
    assert (tmp_path / "manifest.json").exists()  # the example saves what it pins


def test_readme_starts_with_the_two_commands() -> None:
    """A newcomer's first two commands: make demo, make test."""
    head = (ROOT / "README.md").read_text().split("```")[1]
    assert [line.split()[:2] for line in head.strip().splitlines()] == [["make", "demo"], ["make", "test"]]
