"""The one JSON reader (reprocal.fs._json.parse_json): limits on integers and nesting hold on
both of its paths (Python's integer guard on, and turned off by an application)."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprocal.errors import InputError
from reprocal.fs._json import MAX_INT_DIGITS, parse_json


@pytest.fixture(params=["guarded", "unguarded"])
def guard(request: pytest.FixtureRequest) -> object:
    """Python's own guard as it comes, and turned off (``set_int_max_str_digits(0)``, as an
    application may): the reader checks each integer literal itself then."""
    if request.param == "unguarded":
        if not hasattr(sys, "set_int_max_str_digits"):
            pytest.skip("Python without the integer-conversion guard")
        before = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        yield request.param
        sys.set_int_max_str_digits(before)
    else:
        yield request.param


@pytest.mark.parametrize("digits", [MAX_INT_DIGITS + 1, 400, 4301, 20_000])
@pytest.mark.parametrize("where", ['{"a": %s}', "[1, [2, [%s]]]", "%s", '{"a": -%s}'])
def test_a_long_integer_is_refused_by_its_digits(guard: object, digits: int, where: str
                                                 ) -> None:
    text = where % ("7" * digits)
    with pytest.raises(InputError, match=f"doc.json: an integer of {digits} digits; at most "
                                         f"{MAX_INT_DIGITS} are accepted"):
        parse_json(text, source="doc.json")


def test_nesting_past_the_limit_is_refused(guard: object) -> None:
    for deep in ("[" * 65 + "]" * 65, '{"a":' * 65 + "1" + "}" * 65):
        with pytest.raises(InputError, match="nested deeper than the limit of 64 levels"):
            parse_json(deep, source="doc.json")
    assert parse_json("[" * 64 + "]" * 64, source="doc.json") is not None


_json = st.recursive(st.none() | st.booleans() | st.text(max_size=5)
                     | st.integers(-(10**MAX_INT_DIGITS) + 1, 10**MAX_INT_DIGITS - 1),
                     lambda kids: st.lists(kids, max_size=3)
                     | st.dictionaries(st.text(max_size=3), kids, max_size=3), max_leaves=10)


@given(_json)
def test_documents_within_the_limits_read_as_json_reads_them(doc: object) -> None:
    import json

    assert parse_json(json.dumps(doc), source="doc.json") == doc


_B = "7" * 25


@pytest.mark.parametrize("text", [
    f"[{_B}, NaN]", f"[{_B}, ]", f"[[{_B}], {'8' * 30}]", f"[{_B}, " + "[" * 5000 + "]" * 5000 + "]",
])
def test_the_first_problem_in_the_document_is_the_one_named(guard: object, text: str) -> None:
    """Whichever path reads it, the message is the one the document order gives: the first
    long integer, before a later constant, syntax error, longer integer or deep nesting (the
    shortcut once named the later problem)."""
    with pytest.raises(InputError, match="an integer of 25 digits"):
        parse_json(text, source="doc.json")
