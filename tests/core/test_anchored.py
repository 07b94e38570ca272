"""Every validating pattern is anchored at the very end of the text.

A Python ``$`` also matches before one final newline, so ``EPN_QE_0001.CCF\\n`` passed as a
constituent name (and canonicalised to another file's name), ``obs1\\n`` as a label (a path
component), ``<64 hex>\\n`` as a pinned sha256 and a registry tag with a newline as a tag. The
patterns end in ``\\Z``; these are the cases that were let through.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName, canonical_filename, check_label
from reprocal.errors import ReprocalError
from reprocal.image._registry import Reference
from reprocal.repo._verify import Expected

HEX = "ab" * 32
ROOT = Path(__file__).resolve().parents[2]

CASES = [
    ("constituent name", lambda v: ConstituentName.parse(v), "EPN_QE_0001.CCF"),
    ("label", lambda v: check_label(v), "obs1"),
    ("pinned sha256", lambda v: Expected("EPN_QE_0001.CCF", 1, v), HEX),
    ("image reference", lambda v: Reference.parse(v), "127.0.0.1:5000/ccf:v1"),
]


@pytest.mark.parametrize(("what", "check", "good"), CASES, ids=[c[0] for c in CASES])
def test_a_trailing_newline_is_refused(what: str, check, good: str) -> None:  # type: ignore[no-untyped-def]
    check(good)  # the value itself is accepted
    with pytest.raises(ReprocalError):
        check(good + "\n")


def test_no_validating_pattern_ends_in_a_dollar() -> None:
    """The house rule, checked over the source: a pattern given to ``re`` that is anchored
    with ``^`` ends in ``\\Z``, never ``$`` (each ``re.compile``/``match``/``search`` call whose
    pattern is a literal, implicit concatenations joined)."""
    found = []
    for path in sorted((ROOT / "reprocal").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(pattern := node.args[0].value, str)
                    and pattern.startswith("^") and pattern.endswith("$")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("name", ["EPN_QE_\u0660\u0660\u0660\u0661.CCF", "EPN_QE_0001.CCF\u0131",
                                  "EPN_QE\u0131_0001.CCF"])
def test_a_constituent_name_is_ascii(name: str) -> None:
    """``\\d`` and ``int()`` take Arabic-Indic digits and ``"ı".upper()`` is ``I``: such a name
    would have canonicalised to another file's name."""
    assert canonical_filename(name) is None
    with pytest.raises(ReprocalError):
        ConstituentName.parse(name)


def test_a_date_is_ascii() -> None:
    with pytest.raises(ReprocalError):
        CalDate.parse("\uff12\uff10\uff10\uff14-05-09")
