"""Canned response matrices, pure: names as ESA's slides spell them, the epoch of a date on and
around each pn boundary, epoch tables that do not hold together, and choosing one matrix."""

from __future__ import annotations

import pytest

from reprocal.core._dates import CalDate
from reprocal.core._responses import (
    EpochTableError,
    NoEpochError,
    NoMatrixError,
    ResponseName,
    ResponseRequest,
    choose,
    epochs_from_headers,
    parse_epoch_table,
)
from reprocal.state._responses import package_epochs, parse_listing
from reprocal.testing import response_names

D = CalDate.parse


@pytest.mark.parametrize(("name", "parsed"), [
    ("epn_e1_ff20_sY9.rmf", ("pn", 1, "ff", 20, "s", "Y9", None)),
    ("epn_e2_ff20_sdY9.rmf", ("pn", 2, "ff", 20, "sd", "Y9", None)),
    ("epn_e1_ff20_sY0.rmf", ("pn", 1, "ff", 20, "s", "Y0", None)),
    ("epn_e2_ff20_dY5.rmf", ("pn", 2, "ff", 20, "d", "Y5", None)),
    ("m1_e1_im_pall_c.rmf", ("m1", 1, "im", None, "pall", "c", None)),
    ("m2_e6_im_p0_w.rmf", ("m2", 6, "im", None, "p0", "w", None)),
    ("m1_e11_tu_p0_o.rmf", ("m1", 11, "tu", None, "p0", "o", None)),
    # the scheme's own shape, with a version and separate rows; any case
    ("EPN_E3_SW20_S_Y9_v19.rmf", ("pn", 3, "sw", 20, "s", "Y9", "v19")),
])
def test_the_slides_examples_parse(name, parsed) -> None:  # type: ignore[no-untyped-def]
    n = ResponseName.parse(name)
    assert (n.camera, n.epoch, n.mode, n.adu, n.patterns, n.position, n.version) == parsed


@pytest.mark.parametrize("name", ["epn_e0_ff20_sY9.rmf", "epn_ff20_sY9.rmf", "pn_e1.rmf",
                                  "epn_e1_xx20_sY9.rmf", "m1_e1_im_pall_q.rmf",
                                  "epn_e1_ff20_sY9_what_is_this.rmf", "epn_e1_ff20_sY9.arf"])
def test_a_name_that_does_not_follow_the_scheme_is_reported(name: str) -> None:
    assert ResponseName.read(name) is None
    with pytest.raises(Exception, match="is not a canned response matrix name"):
        ResponseName.parse(name)
    parsed, unreadable = parse_listing([f"PN/{name}"])
    assert parsed == [] and unreadable == ([f"PN/{name}"] if name.endswith(".rmf") else [])


@pytest.mark.parametrize(("date", "epoch"), [
    ("2000-02-01T00:00:00", "e1"), ("2006-12-31T23:59:59", "e1"), ("2007-01-01T00:00:00", "e2"),
    ("2007-01-01T00:00:01", "e2"), ("2013-12-31T23:59:59", "e2"), ("2014-01-01T00:00:00", "e3"),
    ("2024-06-01T00:00:00", "e3"),
])
def test_the_pn_epoch_on_and_around_each_boundary(date: str, epoch: str) -> None:
    """Each epoch includes its start and excludes its end (ESA's slides: e1 2000-02-01 to
    2007-01-01, e2 to 2014-01-01, e3 after)."""
    table = package_epochs()
    assert table.epoch_at("pn", D(date)).label == epoch
    request = ResponseRequest.of("pn", "ff20", "s", "Y9")
    paths = [p for p in response_names(mos_epochs=1) if p.startswith("PN/")]
    parsed, _ = parse_listing(paths)
    got = choose(parsed, request, D(date), table, source="area")
    assert got.path == f"PN/epn_{epoch}_ff20_sY9.rmf"
    assert f"is in pn epoch {epoch}" in got.reason


def test_before_the_first_epoch_and_mos_without_a_source_say_why() -> None:
    table = package_epochs()
    with pytest.raises(NoEpochError, match="before the first pn epoch e1"):
        table.epoch_at("pn", D("2000-01-31T23:59:59"))
    with pytest.raises(NoEpochError, match="no epochs are known for MOS1"):
        table.epoch_at("m1", D("2005-01-01"))  # nothing invented: the slides give no MOS dates


@pytest.mark.parametrize(("text", "says"), [
    ("camera,epoch,start,end\nm1,e1,2000-01-01,2005-01-01\nm1,e2,2004-01-01,\n", "overlap"),
    ("camera,epoch,start,end\nm1,e2,2005-01-01,\nm1,e1,2000-01-01,2005-01-01\n", "not in order"),
    ("camera,epoch,start,end\nm1,e1,2005-01-01,2001-01-01\n", "before it starts"),
    ("camera,epoch,start,end\nm1,e1,2000-01-01,\nm1,e2,2005-01-01,\n", "has no end but e2"),
    ("camera,epoch,start,end\nm3,e1,2000-01-01,\n", "is not pn, m1 or m2"),
    ("camera,when\npn,2000\n", "expected camera,epoch,start,end"),
])
def test_an_epoch_table_that_does_not_hold_together(text: str, says: str) -> None:
    with pytest.raises(EpochTableError, match=says):
        parse_epoch_table(text, source="t.csv")


def test_epochs_from_headers_end_only_where_the_next_one_starts() -> None:
    found = [(ResponseName.parse("m1_e1_im_p0_c.rmf"), D("2000-01-01")),
             (ResponseName.parse("m1_e2_im_p0_c.rmf"), D("2001-02-04")),
             (ResponseName.parse("m1_e4_im_p0_c.rmf"), D("2004-01-01"))]
    table = epochs_from_headers(found, source="area")
    assert table.epoch_at("m1", D("2000-06-01")).label == "e1"
    with pytest.raises(NoEpochError, match="no source says where that epoch ends"):
        table.epoch_at("m1", D("2002-01-01"))  # e2's end: e3 is not there to say
    with pytest.raises(NoEpochError, match="no source says where that epoch ends"):
        table.epoch_at("m1", D("2012-01-01"))  # after the last one known: not guessed


def test_no_matrix_for_the_epoch_says_where_there_is_one() -> None:
    parsed, _ = parse_listing(["PN/epn_e1_ff20_sY9.rmf", "PN/epn_e2_ff20_sY9.rmf"])
    with pytest.raises(NoMatrixError, match=r"has it for epoch\(s\) e1, e2 only"):
        choose(parsed, ResponseRequest.of("pn", "ff", "s", "Y9"), D("2015-01-01"),
               package_epochs(), source="area")
    with pytest.raises(NoMatrixError, match="no matrix of that camera, mode"):
        choose(parsed, ResponseRequest.of("pn", "sw", "s", "Y9"), D("2005-01-01"),
               package_epochs(), source="area")
