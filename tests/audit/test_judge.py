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
    assert f.explanation == ("EPN_CTI: issue 32 of the product and the catalogue's "
                             "EPN_CTI_0032.CCF are a different file under the same name "
                             "(SUBDATE 2010-01-01T00:00:00 in the product, "
                             "2011-01-01T00:00:00 in the catalogue)")


def test_judge_same_name_other_size_is_a_different_file() -> None:
    """The size (and the MD5 column, where both know it) tell files of one name apart too."""
    used = C("EPN_CTI_0032.CCF", fsize=2880)
    f = judge(RULE, ("EPN", "CTI"), used, C("EPN_CTI_0032.CCF", fsize=5760),
              C("EPN_CTI_0032.CCF", fsize=5760))
    assert (f.verdict, f.explanation.split("(")[1]) == (
        Verdict.DIFFERS, "FSIZE 2880 in the product, 5760 in the catalogue)")
    same = judge(RULE, ("EPN", "CTI"), used, C("EPN_CTI_0032.CCF"), C("EPN_CTI_0032.CCF"))
    assert same.verdict is Verdict.AGREES  # a size the catalogue does not know is no difference


def test_same_issue_newer_submission_in_catalogue_is_not_stale() -> None:
    """The catalogue's copy of the product's issue was submitted after the analysis date (so
    the rule over the catalogue picks an older issue): a different file under the same name,
    never a stale repository; re-made today it is "attributes differ", not "stale" either."""
    used = C("EPN_CTI_0032.CCF", "2010-01-01")
    known = [C("EPN_CTI_0031.CCF", "2009-01-01"), C("EPN_CTI_0032.CCF", "2015-01-01"),
             C("EMOS1_QE_0001.CCF"), C("EMOS2_QE_0001.CCF")]
    state = State("p", (used, C("EMOS1_QE_0001.CCF"), C("EMOS2_QE_0001.CCF")), OBS, AN)
    rep = audit_state(state, known, today=CalDate.parse("2026-01-01"))
    (bad,) = rep.disagreements
    assert bad.verdict is Verdict.DIFFERS and "a different file under the same name" in bad.explanation
    text = "\n".join(render(rep))
    assert "stale" not in text
    assert "EPN CTI: issue 32 in both, attributes differ" in text


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
    others = (C("EMOS1_QE_0001.CCF"), C("EMOS2_QE_0001.CCF"))
    state = State("p", (C("EPN_CTI_0040.CCF", "2015-01-01"), *others), OBS, AN)
    rep = audit_state(state, [C("EPN_CTI_0032.CCF"), *others])
    assert rep.describes and rep.unknown == 1
    (f,) = rep.disagreements
    assert f.verdict is Verdict.NOT_ELIGIBLE and f.expected.issue == 32  # type: ignore[union-attr]


def test_a_catalogue_that_does_not_describe_the_product_says_so_once() -> None:
    """More than half of the product's rows unknown to the catalogue (or different from it):
    one line up front saying so, the rows judged against themselves only, no row-by-row
    disagreements with an unrelated catalogue, and no "re-made today" verdict."""
    rows = tuple(C(f"EPN_T{i}_0005.CCF") for i in range(10))
    known = [C(f"EPN_T{i}_0006.CCF") for i in range(10)] + [C("EPN_T0_0005.CCF"),
                                                            C("EPN_T1_0005.CCF", "2011-01-01")]
    rep = audit_state(State("evts.fits", rows, OBS, AN), known, today=CalDate.parse("2026-01-01"))
    assert (rep.describes, rep.unknown, rep.different) == (False, 8, 1)
    assert rep.disagreements == () and rep.ok and rep.today_changes == ()
    assert render(rep)[1:] == [
        "  the catalogue (12 constituents) does not describe this product's calibration: 8 of "
        "its 10 rows are unknown to it and 1 are a different file under the same name; judged "
        "against its own 10 rows only (give --import-index the master index of the archive it "
        "was made from, or --ccf-path its repository)",
        "  every row satisfies the selection rule at its own dates",
        "  re-made with today's calibration (2026-01-01): not judged (the catalogue does not "
        "describe the product)"]
    doc = rep.to_json()
    assert (doc["catalogue_describes"], doc["today_judged"]) == (False, False)
    half = audit_state(State("p", rows, OBS, AN), [*rows[:5], *known[5:10]])
    assert half.describes  # exactly half unknown still describes


def test_no_change_today_only_over_a_catalogue_that_knows_more() -> None:
    """A catalogue holding only the product's own rows cannot say "no change": it says it
    cannot tell; one more constituent and it says "no change" and over how many."""
    rows = (C("EPN_CTI_0032.CCF"), C("EMOS1_QE_0001.CCF"))
    today = CalDate.parse("2026-01-01")
    only = audit_state(State("p", rows, OBS, AN), list(rows), today=today)
    assert (only.beyond, only.today_judged) == (0, False)
    assert render(only)[1:] == [
        "  every row satisfies the selection rule at its own dates; the catalogue knows no "
        "constituent beyond the product's own 2 rows, so it cannot tell whether a newer one "
        "was eligible",
        "  re-made with today's calibration (2026-01-01): cannot tell (the catalogue knows no "
        "constituent beyond the product's own rows)"]
    more = audit_state(State("p", rows, OBS, AN), [*rows, C("EMOS2_QE_0009.CCF", val="2010-01-01")],
                       today=today)
    assert render(more)[1:] == [
        "  agrees with the selection rule at its own dates over the catalogue (3 known "
        "constituents)",
        "  re-made with today's calibration (2026-01-01): no change (over 3 known constituents, "
        "1 beyond the product's own rows)"]


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
        Local.DIFFERENT, f"/ccf/{second.filename}: VALDATE 1999-01-01T00:00:00 here, "
                         f"{second.valdate} in the product")
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
    known = json.loads(cli(*args, "--json").stdout)["catalogue_constituents"]
    assert f"re-made with today's calibration (2026-01-01), over {known} known constituents, " \
        "10 type(s) would change:" in done.stdout
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
    assert dates.returncode == 1, dates.stderr  # they differ
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


# --- explanations through the CLI -------------------------------------------------------------


def _cif(cli, ccf: Path, out: Path, an: str = "2018-07-27T17:25:14") -> list[Constituent]:  # type: ignore[no-untyped-def]
    done = cli("cif", "--obs-date", "2006-05-27T09:57:27", "--analysis-date", an,
               "--ccf-path", str(ccf), "-o", str(out))
    assert done.returncode == 0, done.stderr
    from reprocal.fits._calindex import read_calindex

    return list(read_calindex(out).rows)


def test_cli_same_issue_other_attributes_is_a_different_file(cli, synthetic_repo,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    """A product whose row for a file differs from the repository's file of that name (here its
    SUBDATE): "a different file under the same name", in the judgement and in what re-making it
    today would change, never "stale"."""
    import attrs

    from reprocal.fits._calindex import write_cif

    rows = _cif(cli, synthetic_repo.root, tmp_path / "ccf.cif")
    victim = rows[3]
    rows[3] = attrs.evolve(victim, subdate="1998-01-02T00:00:00")
    write_cif(tmp_path / "p.cif", rows, obs_date="2006-05-27T09:57:27",
              analysis_date="2018-07-27T17:25:14")
    done = cli("audit", str(tmp_path / "p.cif"), "--ccf-path", str(synthetic_repo.root),
               "--catalog", str(tmp_path / "c.db"), "--today", "2026-01-01")
    assert done.returncode == 1
    assert "stale" not in done.stdout
    assert (f"    {victim.scope}_{victim.typeid}: issue {victim.issue} of the product and the "
            f"catalogue's {victim.filename} are a different file under the same name (SUBDATE "
            f"1998-01-02T00:00:00 in the product, {victim.subdate} in the catalogue)"
            ) in done.stdout.splitlines()
    assert any(line.startswith(f"    {victim.scope} {victim.typeid}: issue {victim.issue} in "
                               "both, attributes differ") and line.endswith(
                                   "a different file under the same name, not newer calibration")
               for line in done.stdout.splitlines())


def test_cli_a_catalogue_that_does_not_describe_the_product(cli, samples: Path, synthetic_repo,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    """A real CIF audited against a synthetic repository (another archive): one line saying the
    catalogue does not describe it, instead of a disagreement per row."""
    done = cli("audit", str(samples / "0201903501" / "ccf.cif"), "--ccf-path",
               str(synthetic_repo.root), "--catalog", str(tmp_path / "c.db"), "--today",
               "2026-01-01")
    lines = done.stdout.splitlines()
    assert lines[1].startswith("  the catalogue (150 constituents) does not describe this "
                               "product's calibration: ")
    assert lines[2] == "  every row satisfies the selection rule at its own dates"
    assert "disagree" not in done.stdout
    assert lines[-1] == ("  re-made with today's calibration (2026-01-01): not judged (the "
                         "catalogue does not describe the product)")
    assert len(lines) == 16 and lines[-2] == "    ... and 108 more (--json lists all)"


def test_cli_no_change_today_needs_a_catalogue_that_knows_more(cli, samples: Path,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    """A catalogue made of the product's own rows cannot vouch that nothing newer exists."""
    cif = str(samples / "0201903501" / "ccf.cif")
    done = cli("audit", cif, "--import-index", cif, "--catalog", str(tmp_path / "c.db"),
               "--today", "2026-01-01")
    assert done.returncode == 0, done.stderr
    assert "no change" not in done.stdout
    assert done.stdout.splitlines()[-1] == (
        "  re-made with today's calibration (2026-01-01): cannot tell (the catalogue knows no "
        "constituent beyond the product's own rows)")


# --- audit --pin never pins other bytes than the product used --------------------------------


def _replace(path: Path, c: Constituent) -> None:
    """Write another file under ``path``'s name: the constituent ``c`` (its size, its MD5)."""
    from reprocal.testing._synthetic import write_constituent

    path.unlink()
    write_constituent(path, c, seed=99)


def test_cli_audit_pin_refuses_local_files_of_another_size(cli, synthetic_repo,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    """Two files of the product's CALINDEX present locally under the same names but with other
    sizes: `audit --pin` writes nothing, exits 1 and names both; `--pin-local` pins the local
    bytes and the manifest says it does not reproduce the product."""
    import shutil

    import attrs

    from reprocal.state._manifest import load_manifest

    ccf = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    rows = _cif(cli, ccf, tmp_path / "p.cif")
    a, b = rows[2], rows[7]
    for c in (a, b):
        _replace(ccf / c.filename, attrs.evolve(c, fsize=(c.fsize or 0) + 2 * 2880))
    args = ("audit", str(tmp_path / "p.cif"), "--pin", "-o", str(tmp_path / "m.json"),
            "--ccf-path", str(ccf), "--catalog", str(tmp_path / "c.db"))
    done = cli(*args)
    assert done.returncode == 1
    assert not (tmp_path / "m.json").exists()
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"reprocal: error: cannot pin {tmp_path / 'p.cif'}: 2 local "
                           "constituent(s) are not what the product used: ")
    for c in (a, b):
        assert (f"{ccf / c.filename}: size {(c.fsize or 0) + 5760} bytes, the product's row says "
                f"{c.fsize}") in line
    assert "--pin-local" in line and "nothing was written" in line
    done = cli(*args, "--pin-local")
    assert done.returncode == 1  # the audit still finds the local copies differ
    assert "it does NOT reproduce the product: 2 constituent(s) pinned from local bytes" in done.stdout
    m = load_manifest(tmp_path / "m.json")
    assert "does NOT reproduce the product" in m.generator.method
    assert m.file(a.filename).size == (a.fsize or 0) + 5760


def test_cli_audit_pin_refuses_a_local_file_with_another_md5(cli, synthetic_repo,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path) -> None:
    """Same size, another MD5 keyword (where both know it): not the file the product used."""
    import shutil

    import attrs

    ccf = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    rows = _cif(cli, ccf, tmp_path / "p.cif")
    victim = rows[5]
    _replace(ccf / victim.filename, attrs.evolve(victim, md5="0" * 32))
    done = cli("audit", str(tmp_path / "p.cif"), "--pin", "-o", str(tmp_path / "m.json"),
               "--ccf-path", str(ccf), "--catalog", str(tmp_path / "c.db"))
    assert done.returncode == 1 and not (tmp_path / "m.json").exists()
    assert (f"{ccf / victim.filename}: MD5 {'0' * 32}, the product's row says {victim.md5}"
            in done.stderr)
