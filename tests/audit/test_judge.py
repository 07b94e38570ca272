"""Audit: the product's calibration judged against the rule over the catalogue, explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.dumps import all_dumps, union_catalogue

from reprocal.audit._diff import State
from reprocal.audit._judge import Local, LocalCopy, Verdict, audit_state, check_local, judge, render
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Rule

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


# --- through the CLI, over the real files ---------------------------------------------------


def _imports(samples: Path) -> list[str]:
    """--import-index of every real table: a catalogue replaying the samples' metadata."""
    files = sorted(samples.glob("*/ccf.cif")) + sorted(samples.glob("*/calindex_from_*")) + \
        [samples / "0201901401" / "mos1_exp1_clean_evts.fits"]
    return [arg for f in files for arg in ("--import-index", str(f))]


@pytest.mark.parametrize("obsid", ["0201903501", "0404910601"])
def test_cli_audit_real_event_list(cli, samples: Path, tmp_path: Path, obsid: str) -> None:  # type: ignore[no-untyped-def]
    """`audit` names the two stale RGS types, exits 1, and lists the 10 changes today would
    bring; --json gives per-constituent findings."""
    product = samples / obsid / "calindex_from_mos1_exp1_clean_evts.fits"
    args = ["audit", str(product), "--catalog", str(tmp_path / "c.db"), *_imports(samples),
            "--today", "2026-01-01"]
    done = cli(*args)
    assert done.returncode == 1, done.stderr
    for line in EXPECTED_STALE:
        assert f"    {line}\n" in done.stdout
    assert "re-made with today's calibration (2026-01-01), 10 type(s) would change:" in done.stdout
    doc = json.loads(cli(*args, "--json").stdout)
    assert doc["agrees"] is False and len(doc["findings"]) == 118
    stale = [f for f in doc["findings"] if f["verdict"] == "stale"]
    assert [(f["used"], f["expected"], f["expected_subdate"]) for f in stale] == [
        ("RGS1_EFFAREACORR_0008.CCF", "RGS1_EFFAREACORR_0009.CCF", "2014-04-12T06:00:05"),
        ("RGS2_EFFAREACORR_0008.CCF", "RGS2_EFFAREACORR_0009.CCF", "2014-04-12T06:00:05")]
    assert len(doc["today_changes"]) == 10


def test_cli_audit_real_files_that_agree(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The full event list of 0201901401 and the three CIFs agree: exit 0, kinds recognised."""
    products = [samples / "0201901401" / "mos1_exp1_clean_evts.fits",
                *sorted(samples.glob("*/ccf.cif"))]
    done = cli("audit", *map(str, products), "--catalog", str(tmp_path / "c.db"),
               *_imports(samples), "--json")
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert [d["kind"] for d in docs] == ["event list", "CIF", "CIF", "CIF"]
    assert all(d["agrees"] for d in docs)


def test_cli_audit_pin_needs_the_bytes(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--pin of a CALINDEX product with no local copies: exit 4, saying what is missing."""
    empty = tmp_path / "ccf"
    empty.mkdir()
    done = cli("audit", str(samples / "0201903501" / "ccf.cif"), "--pin", "-o",
               str(tmp_path / "m.json"), "--ccf-path", str(empty), "--catalog",
               str(tmp_path / "c.db"))
    assert done.returncode == 4
    assert "118 constituent(s) are neither pinned nor present locally" in done.stderr
    assert not (tmp_path / "m.json").exists()


def test_cli_audit_uses(cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    """Reverse impact over the samples: which tables used EPN CTI issue 45, and each RGS1
    EFFAREACORR issue."""
    done = cli("audit", "--uses", "epn_cti_0045", str(samples), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["target"] == "EPN_CTI_0045.CCF"
    assert sorted(Path(u["path"]).relative_to(samples).as_posix() for u in doc["uses"]) == [
        "0201901401/ccf.cif", "0201901401/mos1_exp1_clean_evts.fits", "0201903501/ccf.cif",
        "0404910601/ccf.cif"]
    by_type = json.loads(cli("audit", "--uses", "RGS1_EFFAREACORR", str(samples), "--json").stdout)
    assert sorted({u["constituent"] for u in by_type["uses"]}) == [
        "RGS1_EFFAREACORR_0008.CCF", "RGS1_EFFAREACORR_0009.CCF"]


def test_cli_diff_real(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`diff` of an event list and a CIF; and of a date pair (over the catalogue) and a file."""
    evt = str(samples / "0404910601" / "calindex_from_mos1_exp1_clean_evts.fits")
    doc = json.loads(cli("diff", evt, str(samples / "0404910601" / "ccf.cif"), "--json").stdout)
    assert doc["counts"] == {"changed": 10, "added": 0, "removed": 0}
    assert doc["unchanged"] == 108
    dates = cli("diff", "obs=2006-05-27T09:39:57,an=2014-05-08T13:54:47", evt, "--catalog",
                str(tmp_path / "c.db"), *_imports(samples), "--json")
    assert dates.returncode == 0, dates.stderr
    d = json.loads(dates.stdout)
    assert sorted(c["typeid"] + c["scope"] for cs in d["by_instrument"].values() for c in cs) == [
        "EFFAREACORRRGS1", "EFFAREACORRRGS2"]


def test_cli_audit_pps_calind_and_stamped_event_list(cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A gzip PPS CALIND product is recognised; a stamped real event list gives its CALINDEX
    plus the stamp's calibration id and image digest."""
    import gzip
    import shutil

    from reprocal.fits._stamp import Stamp, stamp_file

    pps = tmp_path / "P0201903501OBX000CALIND0000.FTZ"
    pps.write_bytes(gzip.compress((samples / "0201903501" / "ccf.cif").read_bytes()))
    evt = tmp_path / "evts.fits"
    shutil.copyfile(samples / "0201901401" / "mos1_exp1_clean_evts.fits", evt)
    evt.chmod(0o644)
    stamp_file(evt, Stamp(calibration_id="sha256:" + "1" * 64, image_digest="sha256:" + "2" * 64,
                          version="0.1.0"))
    done = cli("audit", str(pps), str(evt), "--catalog", str(tmp_path / "c.db"),
               *_imports(samples), "--json")
    assert done.returncode == 0, done.stderr
    pps_doc, evt_doc = json.loads(done.stdout)
    assert (pps_doc["kind"], pps_doc["constituents"], pps_doc["agrees"]) == (
        "PPS CALIND product", 118, True)
    assert (evt_doc["kind"], evt_doc["calibration_id"], evt_doc["image_digest"]) == (
        "event list", "sha256:" + "1" * 64, "sha256:" + "2" * 64)
