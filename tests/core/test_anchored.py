"""Every validating pattern is anchored at the very end of the text.

A Python ``$`` also matches before one final newline, so ``EPN_QE_0001.CCF\\n`` passed as a
constituent name (and canonicalised to another file's name), ``obs1\\n`` as a label (a path
component), ``<64 hex>\\n`` as a pinned sha256 and a registry tag with a newline as a tag. The
patterns end in ``\\Z``; these are the cases that were let through.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reprocal.core._names import ConstituentName, check_label
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
    """The house rule, checked over the source: a ``re.compile`` pattern anchored with ``^``
    ends in ``\\Z``, never ``$``."""
    found = []
    for path in sorted((ROOT / "reprocal").rglob("*.py")):
        text = path.read_text()
        for m in re.finditer(r're\.(?:compile|match|search|fullmatch)\(\s*r?f?"\^[^)]*?\$"',
                             text, re.DOTALL):
            found.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}")
    assert found == []
