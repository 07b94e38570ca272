"""The one FITS header parser: cards, END, structural keywords, sizes (reprocal.fits._cards)."""

from __future__ import annotations

import doctest
import warnings
from pathlib import Path

import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.fits._cards import (
    BLOCK,
    HeaderError,
    card_value,
    data_size,
    end_card,
    hdu_problem,
    keywords,
    padded,
    read_header,
    structure,
    table_problem,
)


def test_doctests() -> None:
    """The examples in the module docstrings hold."""
    from reprocal.fits import _cards, _checksum

    for module in (_cards, _checksum):
        assert doctest.testmod(module).failed == 0, module.__name__


def _header(*cards: str) -> bytes:
    raw = "".join(c.ljust(80) for c in cards).encode()
    return raw + b" " * (-len(raw) % BLOCK)


def test_header_keywords_strings_numbers_and_long_strings() -> None:
    """Card values: quotes removed, doubled quotes kept once, comments dropped, OGIP
    CONTINUE long strings joined, first occurrence wins, nothing after END."""
    cards = [
        "SIMPLE  =                    T / conforms",
        "ISSUE   =                   17 / issue",
        "CREATOR = 'O''Brien tool&'",
        "CONTINUE  ' v2'",
        "ISSUE   =                   18",
        "COMMENT this is not a value",
        "END",
        "LATE    = 'after end'",
    ]
    raw = "".join(c.ljust(80) for c in cards).encode()
    assert keywords(raw) == {"SIMPLE": "T", "ISSUE": "17", "CREATOR": "O'Brien tool v2"}


def test_end_card_only_on_a_card_boundary() -> None:
    """An ``END`` + blanks inside another card's value is not the end of the header."""
    raw = _header("COMMENT  END", "", "EXTNAME = 'X'", "END")
    assert raw.find(b"END" + b" " * 77) == 9
    assert end_card(raw) == 240
    assert structure(raw) == {"EXTNAME": "X"}


def test_read_header_reads_blocks_to_end() -> None:
    """A header of two blocks is read whole; the blocks after END are not asked for."""
    raw = _header(*[f"KEY{i:<5}= {i}" for i in range(40)], "END")
    blocks = [raw[BLOCK:], b"never read"]
    assert read_header(raw[:BLOCK], lambda: blocks.pop(0)) == raw
    assert blocks == [b"never read"]


@pytest.mark.parametrize(("rest", "message"), [
    ([b"X" * 100], "truncated"),
    ([b"XTENSION= 'BINTABLE'".ljust(BLOCK)], "no END card"),
])
def test_read_header_problems(rest: list[bytes], message: str) -> None:
    """The file ends inside the header, or the next HDU starts before any END card."""
    first = _header("SIMPLE  = T")[:BLOCK]
    with pytest.raises(HeaderError, match=f"^{message}$"):
        read_header(first, lambda: rest.pop(0))


@pytest.mark.parametrize(("cards", "size"), [
    (["BITPIX  = 8", "NAXIS   = 0"], 0),
    (["BITPIX  = 16", "NAXIS   = 2", "NAXIS1  = 3", "NAXIS2  = 5"], 30),
    (["BITPIX  = 8", "NAXIS   = 2", "NAXIS1  = 12", "NAXIS2  = 4", "PCOUNT  = 100",
      "GCOUNT  = 1"], 148),
    (["BITPIX  = -32", "NAXIS   = 2", "NAXIS1  = 0", "NAXIS2  = 3", "GROUPS  = T",
      "PCOUNT  = 2", "GCOUNT  = 10"], 200),  # random groups: NAXIS1 = 0 is no axis
    (["BITPIX  = 8", "NAXIS   = 1"], "missing NAXIS1"),
    (["NAXIS   = 1", "NAXIS1  = 1"], "missing BITPIX"),
    (["BITPIX  = 7", "NAXIS   = 1", "NAXIS1  = 1"], "BITPIX = 7"),
    (["BITPIX  = 8", "NAXIS   = 1", "NAXIS1  = -1"], "negative NAXIS/NAXISn/PCOUNT/GCOUNT"),
    (["BITPIX  = 8", "NAXIS   = 1", "NAXIS1  = 1.5"], "NAXIS1 = 1.5"),
])
def test_data_size(cards: list[str], size: int | str) -> None:
    """The data bytes the size keywords announce (FITS 4.0 eq. 2), or why they cannot."""
    keys = structure(_header(*cards, "END"))
    if isinstance(size, int):
        assert data_size(keys) == size
    else:
        with pytest.raises(HeaderError, match=f"^{size}$"):
            data_size(keys)


_TABLE = ["XTENSION= 'BINTABLE'", "BITPIX  = 8", "NAXIS   = 2", "NAXIS2  = 1"]


@pytest.mark.parametrize(("cards", "problem"), [
    (["NAXIS1  = 30", "TFIELDS = 4", "TFORM1  = '1J'", "TFORM2  = '16A'", "TFORM3  = '9X'",
      "TFORM4  = '1PE(10)'"], None),
    (["NAXIS1  = 0", "TFIELDS = 0"], None),
    (["NAXIS1  = 4", "TFIELDS = 1", "TFORM1  = 'E'"], None),
    (["NAXIS1  = 5", "TFIELDS = 1", "TFORM1  = 'E'"],
     "the TFORMs add up to 4 bytes a row, NAXIS1 = 5"),
    (["NAXIS1  = 4", "TFIELDS = 2", "TFORM1  = 'E'"], "TFORM2 = (missing)"),
    (["NAXIS1  = 4", "TFIELDS = 1", "TFORM1  = '4Z'"], "TFORM1 = 4Z"),
    (["NAXIS1  = 4", "TFIELDS = one"], "TFIELDS = one"),
])
def test_table_problem(cards: list[str], problem: str | None) -> None:
    """A binary table's TFORMs must describe NAXIS1 bytes a row (FITS 4.0 section 7.3.1)."""
    assert table_problem(structure(_header(*_TABLE, *cards, "END"))) == problem


@pytest.mark.parametrize(("cards", "problem"), [
    (["SIMPLE  = T"], None),
    (["SIMPLE  = F"], "SIMPLE = F: not standard FITS"),
    (["XTENSION= 'IMAGE   '"], None),
    (["XTENSION= 'BINTABLF'"], "XTENSION = 'BINTABLF' is not a registered extension type"),
    ([*_TABLE, "NAXIS1  = 4", "TFIELDS = 1", "TFORM1  = 'J'"], None),
    ([*_TABLE, "NAXIS1  = 4", "TFIELDS = 1", "TFORM1  = 'K'"],
     "not a readable binary table (the TFORMs add up to 8 bytes a row, NAXIS1 = 4)"),
])
def test_hdu_problem(cards: list[str], problem: str | None) -> None:
    """The rules beyond sizes: SIMPLE = T, a registered XTENSION, a table that fits NAXIS1."""
    assert hdu_problem(structure(_header(*cards, "END"))) == problem


@pytest.mark.parametrize("sample", ["0201901401/mos1_exp1_clean_evts.fits", "0201901401/ccf.cif"])
def test_real_headers_read_like_astropy(samples: Path, sample: str) -> None:
    """Every HDU of real SAS files: the structural keywords, the data size and the keyword
    values are what astropy reads, and every binary table describes its rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(samples / sample) as hdul:
            raw = (samples / sample).read_bytes()
            for hdu in hdul:
                info = hdu.fileinfo()
                header = raw[info["hdrLoc"]:info["datLoc"]]
                keys = structure(header)
                assert padded(data_size(keys)) == info["datSpan"]
                assert hdu_problem(keys) is None
                every = keywords(header)
                assert {k: every[k] for k in keys} == keys
                for key, text in every.items():
                    value = hdu.header[key]
                    if isinstance(value, bool):
                        assert text == ("T" if value else "F"), key
                    elif isinstance(value, (str, int)):
                        assert text == str(value).rstrip(), key


_KEYS = st.sampled_from(["BITPIX", "NAXIS", "NAXIS1", "NAXIS12", "PCOUNT", "GCOUNT", "GROUPS",
                         "EXTNAME", "TFIELDS", "TFORM3", "CHECKSUM", "DATASUM", "XTENSION",
                         "OTHER", "HISTORY", "COMMENT", "END"])
_VALUES = st.one_of(st.integers(-10**6, 10**6).map(str), st.sampled_from(["T", "F", ""]),
                    st.text("AB '/=END", max_size=20).map(lambda t: "'" + t.replace("'", "''") + "'"),
                    st.text("0123456789 /'=ENDX", max_size=30))


@settings(max_examples=300, deadline=None)
@given(cards=st.lists(st.tuples(_KEYS, _VALUES, st.booleans()), max_size=40))
def test_structure_is_keywords_restricted(cards: list[tuple[str, str, bool]]) -> None:
    """The fast structural scan reads exactly what the card-by-card reader reads, for those
    keywords, whatever the cards (END anywhere, values holding '=', quotes, 'END', '/')."""
    text = [f"{k:<8}= {v}"[:80] if eq else f"{k:<8}{v}"[:80] for k, v, eq in cards]
    raw = _header(*text, "END")
    every = keywords(raw)
    assert structure(raw) == {k: v for k, v in every.items() if k in {
        "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS12", "PCOUNT", "GCOUNT",
        "GROUPS", "EXTNAME", "TFIELDS", "TFORM3", "CHECKSUM", "DATASUM"}}


def _reference_value(card: bytes) -> str:
    """A card's value by the FITS string rule as one regular expression (the slow way)."""
    import re

    rest = card[10:].lstrip()
    if rest[:1] != b"'":
        return rest.split(b"/", 1)[0].strip().decode("ascii", "replace")
    m = re.match(rb"'((?:[^']|'')*)'", rest)
    return (m.group(1).replace(b"''", b"'") if m else rest[1:]).decode("ascii",
                                                                      "replace").rstrip()


@settings(max_examples=500, deadline=None)
@given(value=st.text("ab '/&", max_size=70))
def test_card_value_is_the_string_rule(value: str) -> None:
    """Strings without an escaped quote take a fast path; it reads what the rule reads."""
    card = f"KEY     = {value}".ljust(80)[:80].encode()
    assert card_value(card) == _reference_value(card)
