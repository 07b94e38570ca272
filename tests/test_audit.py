"""Audit: the product's calibration judged against the rule over the catalogue, explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprocal.audit import Local, LocalCopy, Verdict, audit_state, check_local, judge, render
from reprocal.constituent import Constituent
from reprocal.dates import CalDate
from reprocal.diff import State
from reprocal.names import ConstituentName
from reprocal.select import Rule
from tests.dumps import all_dumps, union_catalogue

OBS, AN = CalDate.parse("2004-06-17T10:20:58"), CalDate.parse("2014-05-08T13:54:01")
RULE = Rule(OBS, AN)


def C(name: str, sub: str = "2010-01-01", val: str = "2000-01-01", end: str | None = None,
      category: str = "XMMCCF", fsize: int | None = None) -> Constituent:
    return Constituent(ConstituentName.parse(name), valdate=val, evaldate=end, subdate=sub,
                       category=category, fsize=fsize)


JUDGE = [
    # (used, expected, verdict, explanation)
    (C("EPN_CTI_0032.CCF"), C("EPN_CTI_0032.CCF"), Verdict.AGREES, ""),
    (C("EPN_CTI_0012.CCF"), C("EPN_CTI_0013.CCF", "2013-06-01"), Verdict.STALE,
     "EPN_CTI: product used issue 12, but issue 13 was submitted 2013-06-01, before the analysis "
     "date 2014-05-08: the repository used was stale"),
    (C("EPN_CTI_0014.CCF", "2014-09-06"), C("EPN_CTI_0013.CCF"), Verdict.NOT_ELIGIBLE,
     "EPN_CTI: issue 14 used, but it was submitted 2014-09-06T00:00:00, after the analysis date "
     "2014-05-08T13:54:01: the product's ANALDATE is wrong or the calibration was patched; the "
     "rule gives issue 13 (submitted 2010-01-01)"),
    (C("EPN_CTI_0014.CCF", val="2005-01-01"), C("EPN_CTI_0013.CCF"), Verdict.NOT_ELIGIBLE,
     "EPN_CTI: issue 14 used, but its validity starts 2005-01-01T00:00:00, after the observation "
     "date 2004-06-17T10:20:58: the product's OBSVDATE is not the one its calibration was "
     "selected for; the rule gives issue 13 (submitted 2010-01-01)"),
    (C("EPN_CTI_0014.CCF", end="2003-01-01"), None, Verdict.NOT_ELIGIBLE,
     "EPN_CTI: product used issue 14, but its validity ended 2003-01-01T00:00:00, before the "
     "observation date 2004-06-17T10:20:58: the product's OBSVDATE is not the one its "
     "calibration was selected for"),
    (C("EPN_CTI_0014.CCF", category="SCISIMCCF"), None, Verdict.NOT_ELIGIBLE,
     "EPN_CTI: product used issue 14, but its category is SCISIMCCF, the product's is XMMCCF"),
    (None, C("EPN_CTI_0013.CCF", "2013-06-01"), Verdict.MISSING_TYPE,
     "EPN_CTI: absent from the product, but issue 13 (submitted 2013-06-01) is eligible at its "
     "dates: the repository used lacked the type"),
]


@pytest.mark.parametrize(("used", "expected", "verdict", "text"), JUDGE)
def test_judge(used, expected, verdict, text) -> None:  # type: ignore[no-untyped-def]
    """Each way a product can disagree with the rule, explained in words."""
    f = judge(RULE, ("EPN", "CTI"), used, expected)
    assert (f.verdict, f.explanation) == (verdict, text)


def test_judge_same_name_other_file() -> None:
    """Same file name, other attributes than the catalogue's copy: a different file."""
    f = judge(RULE, ("EPN", "CTI"), C("EPN_CTI_0032.CCF", "2010-01-01"),
              C("EPN_CTI_0032.CCF"), C("EPN_CTI_0032.CCF", "2011-01-01"))
    assert f.verdict is Verdict.DIFFERS
    assert f.explanation == ("EPN_CTI: issue 32 is not the file the catalogue knows under that "
                             "name (SUBDATE 2010-01-01T00:00:00 in the product, "
                             "2011-01-01T00:00:00 in the catalogue)")


def test_check_local() -> None:
    """Missing, different size, different sha256, matching."""
    used = C("EPN_CTI_0032.CCF", fsize=2880)
    copy = LocalCopy(Path("/ccf/EPN_CTI_0032.CCF"), C("EPN_CTI_0032.CCF", fsize=5760))
    assert check_local(used, None) == (Local.MISSING, "EPN_CTI_0032.CCF is not in the local "
                                                      "repository")
    assert check_local(used, copy) == (
        Local.DIFFERENT, "/ccf/EPN_CTI_0032.CCF: size 5760 bytes, the product's row says 2880")
    assert check_local(used, copy, sha256="aa", hash_file=lambda p: "bb") == (
        Local.DIFFERENT, "/ccf/EPN_CTI_0032.CCF: sha256 bb, the product pinned aa")
    assert check_local(used, copy, sha256="aa", hash_file=lambda p: "aa") == (
        Local.OK, "/ccf/EPN_CTI_0032.CCF")
    same = LocalCopy(copy.path, C("EPN_CTI_0032.CCF", fsize=2880))
    assert check_local(used, same) == (Local.OK, "/ccf/EPN_CTI_0032.CCF")


def test_no_dates_is_unjudged() -> None:
    """A state without OBSVDATE/ANALDATE is listed, not judged."""
    rep = audit_state(State("x", (C("EPN_CTI_0032.CCF"),)), [C("EPN_CTI_0033.CCF")])
    assert [f.verdict for f in rep.findings] == [Verdict.UNJUDGED]
    assert rep.ok
    assert "not judged" in "\n".join(render(rep))


def test_unknown_issue_is_still_judged() -> None:
    """An issue the catalogue never heard of is judged by the rule itself."""
    state = State("p", (C("EPN_CTI_0040.CCF", "2015-01-01"),), OBS, AN)
    rep = audit_state(state, [C("EPN_CTI_0032.CCF")])
    (f,) = rep.findings
    assert f.verdict is Verdict.NOT_ELIGIBLE and f.expected.issue == 32  # type: ignore[union-attr]


EXPECTED_STALE = [
    "RGS1_EFFAREACORR: product used issue 8, but issue 9 was submitted 2014-04-12, before the "
    "analysis date 2014-05-08: the repository used was stale",
    "RGS2_EFFAREACORR: product used issue 8, but issue 9 was submitted 2014-04-12, before the "
    "analysis date 2014-05-08: the repository used was stale",
]


@pytest.mark.parametrize("obsid", ["0201903501", "0404910601"])
def test_real_event_list_against_replayed_catalogue(samples: Path, obsid: str) -> None:
    """With a catalogue replaying every row of the samples, the 2014 event list's CALINDEX
    disagrees only where a newer issue was already submitted (RGS effective-area corrections:
    a stale repository); the other 8 of the 10 differences from the 2018 CIF were submitted
    after its analysis date, so the rule agrees with the product there, and re-making it today
    would change all 10."""
    dumps = all_dumps(samples)
    known = union_catalogue(dumps)
    rep = audit_state(dumps[f"{obsid}_evt_calindex"], known, today=CalDate.parse("2026-01-01"))
    assert [f.explanation for f in rep.disagreements] == EXPECTED_STALE
    assert len(rep.findings) == 118
    cif = {c.key: c for c in dumps[f"{obsid}_ccf_cif"].constituents}
    for f in rep.findings:
        if f.verdict is Verdict.AGREES and f.used != cif[f.key]:
            # one of the 8: submitted between the two analysis dates
            assert AN < cif[f.key].subdate <= dumps[f"{obsid}_ccf_cif"].analysis_date  # type: ignore[operator]
    changed = {c.key: (c.a.issue, c.b.issue) for c in rep.today_changes}  # type: ignore[union-attr]
    assert changed == {k: (f.used.issue, cif[k].issue) for k, f in  # type: ignore[union-attr]
                       ((f.key, f) for f in rep.findings) if f.used != cif[k]}
    assert len(changed) == 10


@pytest.mark.parametrize("table", ["0201901401_evt_calindex", "0201901401_ccf_cif",
                                   "0201903501_ccf_cif", "0404910601_ccf_cif"])
def test_real_tables_that_agree(samples: Path, table: str) -> None:
    """The CIFs (2018) and the 2015 event list agree with the rule over the replayed catalogue."""
    dumps = all_dumps(samples)
    rep = audit_state(dumps[table], union_catalogue(dumps))
    assert rep.disagreements == ()
    assert "agrees with the selection rule" in "\n".join(render(rep))


def test_availability_in_report(samples: Path) -> None:
    """With a local repository holding two files, the rest are reported missing."""
    dumps = all_dumps(samples)
    state = dumps["0201903501_evt_calindex"]
    first, second = state.constituents[:2]
    local = {first.filename: LocalCopy(Path("/ccf") / first.filename, first),
             second.filename: LocalCopy(Path("/ccf") / second.filename,
                                        Constituent(second.name, valdate="1999-01-01",
                                                    subdate=second.subdate))}
    rep = audit_state(state, union_catalogue(dumps), local=local)
    assert len(rep.unavailable) == 117
    f = rep.findings[1]
    assert (f.local, f.local_detail) == (
        Local.DIFFERENT, f"/ccf/{second.filename}: VALDATE {second.valdate} in the product, "
                         "1999-01-01T00:00:00 in the catalogue")
    assert "locally: 1 of 118 constituents present with matching content" in "\n".join(render(rep))
