"""Calibration ids: the definition's test vectors (from docs/calibration-id.md), RFC 8785, the
text form and its parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprocal.core._calid import CalibrationId, canonical, digest, observation_id_of
from reprocal.core._constituent import Constituent
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError
from reprocal.state._manifest import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "calibration-id.md"


def _vectors() -> list[dict]:  # type: ignore[type-arg]
    text = DOC.read_text()
    block = re.search(r"## Test vectors.*?```json\n(.*?)```", text, re.S)
    assert block is not None, "docs/calibration-id.md lost its test vectors"
    return json.loads(block.group(1))  # type: ignore[no-any-return]


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["level"])
def test_documented_vectors(vector: dict) -> None:  # type: ignore[type-arg]
    """Each documented level's members hash to the documented digest."""
    assert digest(vector["level"], vector["object"]) == vector["sha256"]


def test_vectors_chain() -> None:
    """The documented levels compose: set over the constituents, obs over the set, state over
    obs and extra."""
    v = {x["level"] + str(i): x for i, x in enumerate(_vectors())}
    c1, c2, s, o, x, state = (v[k] for k in ("constituent0", "constituent1", "set2", "obs3",
                                             "extra4", "state5"))
    assert s["object"]["constituents"] == sorted([c1["sha256"], c2["sha256"]])
    assert o["object"]["set"] == s["sha256"]
    assert state["object"] == {"observations": [o["sha256"]], "extras": [x["sha256"]]}


def test_the_library_agrees_with_the_documented_obs_vector() -> None:
    """A manifest built from the documented constituents has the documented observation id."""
    vec = _vectors()
    rows, hashes = [], {}
    for entry in vec[:2]:
        o = entry["object"]
        c = Constituent(ConstituentName.parse(o["name"]), valdate=o["valdate"],
                        evaldate=o["evaldate"], subdate=o["subdate"], date=o["date"],
                        category=o["category"], telescop=o["telescop"], creator=o["creator"],
                        extsequ=o["extsequ"], extseqid=o["extseqid"], md5=o["md5"],
                        fsize=o["size"])
        rows.append(c)
        hashes[c.filename] = (o["size"], o["sha256"])
    obs = vec[3]["object"]
    from reprocal.core._dates import CalDate

    m = build([("any-label", CalDate.parse(obs["obs_date"]), CalDate.parse(obs["analysis_date"]),
                obs["category"], rows)], hashes)
    assert m.observation_ids[0].hex == vec[3]["sha256"]
    assert observation_id_of(rows, {k: v[1] for k, v in hashes.items()}, obs["obs_date"],
                             obs["analysis_date"], obs["category"]).hex == vec[3]["sha256"]


def test_rfc8785_example() -> None:
    """The RFC's own canonicalisation example."""
    text = ('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
            '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
            '"literals":[null,true,false]}')
    expected = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,'
                '1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    assert canonical(json.loads(text)) == expected.encode()


def test_rfc8785_sorts_by_utf16_code_units() -> None:
    """Member order is by UTF-16 code units (not code points): U+10000 sorts before U+FFFF."""
    assert canonical({"\uffff": 1, "\U00010000": 2}) == '{"\U00010000":2,"\uffff":1}'.encode()


PARSE = [
    ("rpcal:2:obs:" + "a" * 64, (2, "obs")),
    ("rpcal:2:state:" + "0" * 64, (2, "state")),
    ("RPCAL:2:STATE:" + "0" * 64, (2, "state")),
    ("sha256:" + "b" * 64, (1, "state")),
]


@pytest.mark.parametrize(("text", "expected"), PARSE)
def test_parse(text: str, expected: tuple[int, str]) -> None:
    """Both schemes parse; v1 ids are version 1."""
    cid = CalibrationId.parse(text)
    assert (cid.version, cid.level) == expected
    assert str(cid) == text.lower()


BAD = [
    ("sha256:xyz", "calibration id: 'sha256:xyz' is not a calibration id (rpcal:2:obs:<64 hex>, "
                   "rpcal:2:state:<64 hex>, or a reprocal 0.1 sha256:<64 hex>)"),
    ("rpcal:3:obs:" + "a" * 64, "calibration id: 'rpcal:3:obs:" + "a" * 64 + "' is an id of scheme "
     "version 3, level 'obs'; this reprocal knows rpcal:2:{constituent,set,obs,extra,state}; "
     "upgrade reprocal"),
    ("", "calibration id: '' is not a calibration id (rpcal:2:obs:<64 hex>, rpcal:2:state:<64 "
         "hex>, or a reprocal 0.1 sha256:<64 hex>)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_ids(text: str, message: str) -> None:
    """Anything else is one input error saying what an id looks like."""
    with pytest.raises(InputError) as err:
        CalibrationId.parse(text)
    assert err.value.one_line() == message


@given(st.sampled_from(["obs", "state", "set", "extra", "constituent"]),
       st.text("0123456789abcdef", min_size=64, max_size=64))
def test_text_round_trip(level: str, hexdigits: str) -> None:
    """Property: every id's text parses back to itself."""
    cid = CalibrationId(2, level, hexdigits)
    assert CalibrationId.parse(str(cid)) == cid


def test_v1_id_described_as_such() -> None:
    """A v1 id says in words what it is."""
    assert "a version-1 id, from reprocal 0.1" in CalibrationId.parse("sha256:" + "c" * 64).describe()


_plain_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(max_codepoint=127)),
    lambda kids: st.lists(kids, max_size=4)
    | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=6), kids, max_size=4),
    max_leaves=12)


@given(_plain_json)
def test_canonical_fast_path_is_jcs(value: object) -> None:
    """The json-module shortcut for ASCII text, integers, booleans and null writes the RFC 8785
    bytes exactly (control characters, big integers and nesting included)."""
    import rfc8785

    assert canonical(value) == rfc8785.dumps(value)
    for big in (2**53, -(2**53)):  # outside JCS's integers: refused, as before
        with pytest.raises(rfc8785.IntegerDomainError):
            canonical({"n": big})


@given(st.dictionaries(st.text(st.characters(max_codepoint=130), max_size=6),
                       st.text(st.characters(max_codepoint=130), max_size=8) | st.none()
                       | st.integers(-(2**53) + 1, 2**53 - 1) | st.booleans(), max_size=6))
def test_canonical_of_flat_text_is_jcs(value: dict[str, object]) -> None:
    """The shortcut for a dictionary of printable ASCII text (an observation id's object)
    writes the RFC 8785 bytes; quotes, backslashes, control and non-ASCII characters leave it
    for the general path, which writes them too."""
    import rfc8785

    assert canonical(value) == rfc8785.dumps(value)


@given(st.dictionaries(st.text(max_size=4), st.text(max_size=4) | st.floats(allow_nan=False,
                                                                            allow_infinity=False),
                       max_size=3))
def test_canonical_of_other_values_is_jcs(value: dict) -> None:
    """Non-ASCII text and floats still go through the RFC 8785 encoder."""
    import rfc8785

    try:
        want = rfc8785.dumps(value)
    except Exception:  # lone surrogates: refused either way
        with pytest.raises(Exception):  # noqa: B017
            canonical(value)
        return
    assert canonical(value) == want


def test_mixed_key_types_are_refused_as_rfc8785_refuses_them() -> None:
    import rfc8785

    with pytest.raises(rfc8785.CanonicalizationError):
        canonical({1: "a", "b": "c"})
