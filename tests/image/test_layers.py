"""Layer planning: stable type groups, the layer limit, one changed type touches one layer."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._names import SCOPES
from reprocal.errors import InputError
from reprocal.image._layers import (
    MAX_LAYERS,
    LayerFile,
    TypedFile,
    parse_sha256sums,
    plan_layers,
    sha256sums,
    type_group,
)


def _file(scope: str, typeid: str, issue: int = 1) -> TypedFile:
    name = f"{scope}_{typeid}_{issue:04d}.CCF"
    data = name.encode()
    return TypedFile(scope, typeid, LayerFile(f"ccf/{name}", data, len(data),
                                              hashlib.sha256(data).hexdigest()))


@pytest.mark.parametrize(("scope", "typeid", "k", "group"), [
    ("EPN", "QUANTUMEF", 32, 8),
    ("XMM", "MISCDATA", 32, 12),
    ("EMOS1", "ADUCONV", 32, 1),
    ("epn", "quantumef", 32, 8),
    ("EPN", "QUANTUMEF", 7, 0),
])
def test_type_group_is_a_fixed_function_of_the_type(scope, typeid, k, group):
    """The group is sha256('SCOPE_TYPEID') mod k: pinned values, case-insensitive."""
    assert type_group(scope, typeid, k) == group


@pytest.mark.parametrize("k", [0, 100, -1])
def test_type_group_refuses_k_out_of_range(k):
    """k must leave room for the top layer within 100 layers."""
    with pytest.raises(InputError, match=rf"^layer groups: {k} is not in 1\.\.99$"):
        type_group("EPN", "QUANTUMEF", k)


def test_empty_groups_make_no_layer_and_top_is_last():
    """Only groups holding files become layers, in group order; the top layer comes last."""
    files = [_file("EPN", "QUANTUMEF"), _file("XMM", "MISCDATA"), _file("EMOS1", "ADUCONV")]
    top = [LayerFile("ccf/SHA256SUMS", b"x", 1, hashlib.sha256(b"x").hexdigest())]
    plan = plan_layers(files, top)
    assert [layer.group for layer in plan] == [1, 8, 12, None]
    assert plan[-1].name == "calibration top"
    assert plan[1].types == ("EPN_QUANTUMEF",)


def test_issues_of_one_type_share_its_layer():
    """Two issues of a type land in the same group (the key ignores the issue)."""
    plan = plan_layers([_file("EPN", "QUANTUMEF", 1), _file("EPN", "QUANTUMEF", 2)], [])
    assert len(plan) == 1 and len(plan[0].files) == 2


def test_same_path_twice_is_refused():
    """A path may appear once in an image."""
    with pytest.raises(InputError, match=r"^calibration: ccf/EPN_QUANTUMEF_0001\.CCF appears "
                       r"twice in one image$"):
        plan_layers([_file("EPN", "QUANTUMEF"), _file("EPN", "QUANTUMEF")], [])


def test_layer_limit_counts_the_base():
    """Base layers plus calibration layers may not exceed 100."""
    files = [_file("EPN", f"T{i}") for i in range(200)]
    with pytest.raises(InputError) as err:
        plan_layers(files, [], k=32, base_layers=70)
    assert err.value.one_line() == (
        "image would have 102 layers (70 from the base, 32 calibration); the limit is 100; "
        "use a base image with fewer layers (squash it) or fewer type groups")


types = st.lists(
    st.tuples(st.sampled_from(SCOPES), st.from_regex(r"[A-Z][A-Z0-9]{0,16}", fullmatch=True)),
    min_size=1, max_size=60, unique=True)


@settings(max_examples=60, deadline=None)
@given(types=types, k=st.integers(1, 99), changed=st.integers(0, 59))
def test_one_changed_type_touches_one_layer(types, k, changed):
    """A new issue of one type changes exactly the layer of that type; others are equal."""
    old = [_file(s, t) for s, t in types]
    i = changed % len(types)
    new = list(old)
    new[i] = _file(types[i][0], types[i][1], 2)
    a, b = plan_layers(old, [], k=k), plan_layers(new, [], k=k)
    assert len(a) <= min(k, len(types)) <= MAX_LAYERS
    assert [x.group for x in a] == [x.group for x in b]
    differ = [x.group for x, y in zip(a, b, strict=True) if x != y]
    assert differ == [type_group(*types[i], k)]
    every = [f.path for layer in a for f in layer.files]
    assert sorted(every) == sorted(f.file.path for f in old)


def test_sha256sums_is_sha256sum_format_sorted_by_path():
    """`<hex>  <path>` lines, sorted by path bytes, parse back to the same map."""
    data = sha256sums([("b.CCF", "1" * 64), ("a/c.cif", "2" * 64), ("SHA", "3" * 64)])
    assert data == (f"{'3' * 64}  SHA\n{'2' * 64}  a/c.cif\n{'1' * 64}  b.CCF\n").encode()
    assert parse_sha256sums(data) == {"b.CCF": "1" * 64, "a/c.cif": "2" * 64, "SHA": "3" * 64}


@pytest.mark.parametrize(("data", "message"), [
    (b"abc  x\n", "'abc  x'"),
    (("0" * 64 + " x\n").encode(), "'" + "0" * 64 + " x'"),
    (("0" * 63 + "g  x\n").encode(), "'" + "0" * 63 + "g  x'"),
])
def test_parse_sha256sums_refuses_malformed_lines(data, message):
    """An unparsable line is an error naming the line, never a silent skip."""
    with pytest.raises(InputError) as err:
        parse_sha256sums(data)
    assert err.value.message == ("SHA256SUMS: line 1 is not in sha256sum format (64 hex digits, "
                                 "two spaces, a path): " + message)


def test_sha256sums_refuses_absolute_paths():
    """Paths are relative to /ccf."""
    with pytest.raises(InputError, match="is not a plain relative path"):
        sha256sums([("/ccf/x", "0" * 64)])
