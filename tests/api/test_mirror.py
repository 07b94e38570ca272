"""The mirror history as a record of the past: five simulated days of syncs reproduce what the
repository held each day, and selection as of each day equals selection over that day's files;
withdrawals reach ``cif``, ``pin`` and ``audit``; the valid-now subset; fingerprints; drift."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from support.archive import Archive, C, clock, served, sha256
from support.components import program

from reprocal import api
from reprocal.core._dates import CalDate
from reprocal.core._select import select
from reprocal.core._subset import valid_subset
from reprocal.errors import ReprocalWarning
from reprocal.repo._history import read_history

pytestmark = pytest.mark.network

BASE = ["EPN_CTI_0001.CCF", "EPN_QE_0001.CCF", "EMOS1_ADUCONV_0001.CCF", "RGS1_EFFAREA_0001.CCF",
        "OM_FILTER_0001.CCF"]
OBS_DATES = ["2001-01-01", "2004-06-17T10:20:58", "2010-01-01", "2014-03-01"]


def quiet_sync(*args, **kw):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprocalWarning)
        return api.sync(*args, **kw)


def five_days(a: Archive, url: str, dest: Path) -> dict[str, dict[str, str]]:
    """Five days of changes to the mirror and one sync a day; what the repository held at the
    end of each day (name -> sha256)."""
    held: dict[str, dict[str, str]] = {}
    for n in BASE:
        a.publish(C(n, subdate="2014-01-01"))
    days = {
        "2014-04-01": lambda: None,
        "2014-04-02": lambda: a.publish(C("EPN_CTI_0002.CCF", subdate="2014-04-02")),
        # ESA withdraws issue 2; an issue submitted on day 1 reaches the mirror only now
        "2014-04-03": lambda: (a.withdraw("EPN_CTI_0002.CCF"),
                               a.publish(C("EPN_QE_0002.CCF", subdate="2014-04-01"))),
        "2014-04-04": lambda: None,  # nothing changes
        "2014-04-05": lambda: a.publish(C("EPN_CTI_0003.CCF", subdate="2014-04-05")),
    }
    for day, change in days.items():
        change()
        a.end_of(day)
        r = quiet_sync(url, ccf_path=str(dest), clock=clock(f"{day}T12:00:00"))
        assert r.ok
        held[day] = {p.name: sha256(p) for p in sorted(dest.glob("*.CCF"))}
    return held


@pytest.mark.parametrize("kind", ["rsync", "nginx"])
def test_five_days_of_history_reproduce_each_day(tmp_path: Path, kind: str) -> None:
    """Must show: the history says exactly what the repository held at the end of each of five
    days, and selection as of each day (``cif --held-on DAY --analysis-date DAY``: the files
    held then, withdrawals as of then) equals selection over the files the mirror held that
    day, for every observation date; while selection over today's files does not (a late
    arrival, a withdrawal)."""
    if kind == "rsync":
        program("rsync")
    a = Archive(tmp_path / "mirror")
    dest = tmp_path / "ccf"
    dest.mkdir()
    with served(kind, a.root, tmp_path / "rsyncd") as url:
        held = five_days(a, url, dest)
    h = read_history(dest)
    assert len(h.syncs()) == 5
    differs_from_today = 0
    for day, files in held.items():
        end = CalDate.parse(f"{day}T23:59:59")
        then = h.held_on(end)
        assert {n: x.sha256 for n, x in then.files.items()} == files
        for obs in OBS_DATES:
            with warnings.catch_warnings():  # a late arrival is a gap then: said, not tested
                warnings.simplefilter("ignore", ReprocalWarning)
                r = api.cif(obs_date=obs, analysis_date=end, held_on=end, ccf_path=str(dest),
                            catalog=str(tmp_path / "c.db"), output=str(tmp_path / "x.cif"))
            mirror_then = select(a.constituents(set(a.days[day])), CalDate.parse(obs), end)
            assert [c.filename for c in r.constituents] == [c.filename for c in mirror_then]
            plain = select(a.constituents(), CalDate.parse(obs), end)
            differs_from_today += plain.chosen != mirror_then.chosen
    assert differs_from_today > 0  # without the history, the past is not reproduced


def test_withdrawal_in_cif_pin_and_audit(tmp_path: Path) -> None:
    """After a withdrawal: cif and pin for a later analysis date skip the file (as cifbuild on a
    --delete mirror) and say so; for an earlier one they keep it and say a pruned mirror lacks
    it; audit of a product that used it says so in its first lines."""
    a = Archive(tmp_path / "mirror")
    for n in BASE:
        a.publish(C(n, subdate="2014-01-01"))
    a.publish(C("EPN_CTI_0002.CCF", subdate="2014-02-01"))
    dest = tmp_path / "ccf"
    dest.mkdir()
    quiet_sync(str(a.root), ccf_path=str(dest), clock=clock("2014-03-01"))
    early = api.cif(obs_date="2010-01-01", analysis_date="2014-03-15", ccf_path=str(dest),
                    catalog=str(tmp_path / "c.db"), output=str(tmp_path / "early.cif"))
    a.withdraw("EPN_CTI_0002.CCF")
    quiet_sync(str(a.root), ccf_path=str(dest), clock=clock("2014-04-01"))
    assert (dest / "EPN_CTI_0002.CCF").exists()  # withdrawn, never deleted
    cat = str(tmp_path / "c.db")
    with pytest.warns(ReprocalWarning, match="EPN_CTI_0002.CCF was withdrawn from the archive "
                      "on 2014-04-01T00:00:00, before the analysis date: skipped"):
        late = api.cif(obs_date="2010-01-01", analysis_date="2014-05-01", ccf_path=str(dest),
                       catalog=cat, output=str(tmp_path / "late.cif"))
    assert "EPN_CTI_0001.CCF" in [c.filename for c in late.constituents]
    assert [w.withdrawn.filename for w in late.withdrawals] == ["EPN_CTI_0002.CCF"]
    with pytest.warns(ReprocalWarning, match="after the analysis date: it is used, as users "
                      "then had it; a mirror that followed --delete since lacks it and gives "
                      "issue 1"):
        again = api.cif(obs_date="2010-01-01", analysis_date="2014-03-15", ccf_path=str(dest),
                        catalog=cat, output=str(tmp_path / "again.cif"))
    assert again.constituents == early.constituents
    with pytest.warns(ReprocalWarning, match="before the analysis date: skipped"):
        pinned = api.pin(obs_date="2010-01-01", analysis_date="2014-05-01", ccf_path=str(dest),
                         catalog=cat, output=str(tmp_path / "m.json"))
    assert "EPN_CTI_0002.CCF" not in [f.filename for f in pinned.manifest.files]
    # the early CIF used the file: audit says so first, and judges it as users then had it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprocalWarning)
        r = api.audit([tmp_path / "early.cif"], ccf_path=str(dest), catalog=cat,
                      today="2014-05-01")
    lines = r.entries[0].lines()
    assert lines[1:3] == ["  used 1 constituent(s) since withdrawn from the archive:",
                          "    EPN_CTI_0002.CCF: withdrawn from "
                          f"{a.root} since 2014-04-01T00:00:00, after its analysis date"]
    assert r.ok  # made before the withdrawal: it agrees with the rule at its own dates


def test_a_product_made_after_the_withdrawal_from_a_kept_mirror(tmp_path: Path) -> None:
    """A CIF made after the withdrawal on a mirror that kept the file: audit's verdict is
    'withdrawn', naming what cifbuild on a --delete mirror would have used."""
    from reprocal.fits._calindex import write_cif

    a = Archive(tmp_path / "mirror")
    for n in BASE:
        a.publish(C(n, subdate="2014-01-01"))
    a.publish(C("EPN_CTI_0002.CCF", subdate="2014-02-01"))
    dest = tmp_path / "ccf"
    dest.mkdir()
    quiet_sync(str(a.root), ccf_path=str(dest), clock=clock("2014-03-01"))
    a.withdraw("EPN_CTI_0002.CCF")
    quiet_sync(str(a.root), ccf_path=str(dest), clock=clock("2014-04-01"))
    kept = select(a.constituents(), CalDate.parse("2010-01-01"), CalDate.parse("2014-05-01"))
    write_cif(tmp_path / "kept.cif", kept.chosen, obs_date=CalDate.parse("2010-01-01"),
              analysis_date=CalDate.parse("2014-05-01"), category="XMMCCF")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprocalWarning)
        r = api.audit([tmp_path / "kept.cif"], ccf_path=str(dest),
                      catalog=str(tmp_path / "c.db"), today="2014-05-01")
    (bad,) = r.entries[0].report.disagreements
    assert bad.verdict.value == "withdrawn"
    assert bad.explanation == (
        "EPN_CTI: product used issue 2, but it was withdrawn from the archive on "
        "2014-04-01T00:00:00, before the analysis date 2014-05-01T00:00:00: the product was made "
        "from a mirror that kept the file (one that followed --delete would not have had it); "
        "the rule gives issue 1")
    assert not r.ok


def test_valid_now_subset_and_what_a_reduced_mirror_lacks(tmp_path: Path) -> None:
    """--subset valid-now fetches the newest master index the mirror lists, reads it, and
    mirrors exactly what the rule can select today for some observation date; a historic
    analysis date then says what this reduced mirror lacks (the master index, now in the
    repository, tells the catalogue what exists)."""
    from reprocal.fits._calindex import write_master_index

    a = Archive(tmp_path / "mirror")
    cs = [C("EPN_CTI_0001.CCF", subdate="2001-01-01"), C("EPN_CTI_0002.CCF", subdate="2005-01-01"),
          C("EPN_CTI_0003.CCF", subdate="2012-01-01"),
          C("EPN_QE_0001.CCF", valdate="2000-01-01", evaldate="2004-12-31T23:59:59",
            subdate="2001-01-01"),
          C("EPN_QE_0002.CCF", valdate="2005-01-01", subdate="2006-01-01"),
          C("OM_FILTER_0001.CCF", subdate="2001-01-01")]
    for c in cs:
        a.publish(c)
    write_master_index(a.root / "XMM_CALINDEX_0001.CCF", a.constituents())
    dest = tmp_path / "ccf"
    dest.mkdir()
    r = quiet_sync(str(a.root), ccf_path=str(dest), subset="valid-now",
                   catalog=str(tmp_path / "c.db"), clock=clock("2020-01-01"))
    want = valid_subset(cs, CalDate.parse("2020-01-01"))
    got = {x.filename for x in r.report.arrived}
    assert got == set(want) | {"XMM_CALINDEX_0001.CCF"}
    assert got == {"EPN_CTI_0003.CCF", "EPN_QE_0001.CCF", "EPN_QE_0002.CCF", "OM_FILTER_0001.CCF",
                   "XMM_CALINDEX_0001.CCF"}
    with pytest.warns(ReprocalWarning) as said:
        api.cif(obs_date="2004-06-01", analysis_date="2008-01-01", ccf_path=str(dest),
                catalog=str(tmp_path / "c.db"), output=str(tmp_path / "old.cif"))
    assert [str(w.message) for w in said] == [
        "EPN_CTI_0002.CCF (submitted 2005-01-01T00:00:00) is eligible but missing locally; the "
        "type would be absent from the CIF",
        "1 newer eligible issue(s) missing: cifbuild would silently use older ones; `reprocal "
        "fetch` can fill the gaps"]


def test_a_reduced_mirror_dropping_a_superseded_file_is_not_a_withdrawal(tmp_path: Path) -> None:
    """On ESA's valid set, a file that left it because a newer issue superseded it is recorded
    as superseded; one still valid that disappears is a withdrawal."""
    a = Archive(tmp_path / "XMM_VALID_CCF")
    a.publish(C("EPN_CTI_0001.CCF", subdate="2001-01-01"))
    a.publish(C("OM_FILTER_0001.CCF", subdate="2001-01-01"))
    dest = tmp_path / "ccf"
    dest.mkdir()
    first = quiet_sync(str(a.root), ccf_path=str(dest), catalog=str(tmp_path / "c.db"),
                       clock=clock("2014-01-01"))
    assert first.mirror_set == "valid"
    a.publish(C("EPN_CTI_0002.CCF", subdate="2014-01-10"))
    a.withdraw("EPN_CTI_0001.CCF")
    a.withdraw("OM_FILTER_0001.CCF")
    r = quiet_sync(str(a.root), ccf_path=str(dest), catalog=str(tmp_path / "c.db"),
                   clock=clock("2014-01-11"))
    assert r.report.superseded == ("EPN_CTI_0001.CCF",)
    assert r.report.withdrawn == ("OM_FILTER_0001.CCF",)
    assert [w.name for w in read_history(dest).withdrawals()] == ["OM_FILTER_0001.CCF"]


def test_fingerprints_across_sites_and_mirrors(tmp_path: Path) -> None:
    """Two sites synced from one mirror have one fingerprint; a changed byte at one site shows
    as bytes differ; against the mirror's listing, names and sizes agree."""
    a = Archive(tmp_path / "mirror")
    for n in BASE:
        a.publish(C(n))
    one, two = tmp_path / "site1", tmp_path / "site2"
    for d in (one, two):
        d.mkdir()
        quiet_sync(str(a.root), ccf_path=str(d), clock=clock("2014-01-01"))
    f1 = api.fingerprint(ccf_path=str(one), against=str(two))
    assert f1.ok and f1.comparison.level == "content"  # type: ignore[union-attr]
    assert f1.fingerprint.content == api.fingerprint(ccf_path=str(two)).fingerprint.content
    saved = tmp_path / "site1.json"
    import json
    saved.write_text(json.dumps(f1.to_json()))
    (two / "EPN_QE_0001.CCF").chmod(0o644)
    data = bytearray((two / "EPN_QE_0001.CCF").read_bytes())
    data[-1] ^= 1
    (two / "EPN_QE_0001.CCF").write_bytes(bytes(data))
    f2 = api.fingerprint(ccf_path=str(two), against=str(saved))
    assert not f2.ok
    assert [n for n, *_ in f2.comparison.contents] == ["EPN_QE_0001.CCF"]  # type: ignore[union-attr]
    f3 = api.fingerprint(ccf_path=str(one), against=a.root.as_uri())
    assert f3.ok and f3.comparison.level == "names-sizes"  # type: ignore[union-attr]


def test_drift_report_after_a_sync(tmp_path: Path) -> None:
    """A manifest pinned before a new issue arrived is listed by --report-drift after the sync
    that brought it."""
    a = Archive(tmp_path / "mirror")
    for n in BASE:
        a.publish(C(n, subdate="2001-01-01"))
    dest = tmp_path / "ccf"
    dest.mkdir()
    quiet_sync(str(a.root), ccf_path=str(dest), clock=clock("2014-01-01"))
    work = tmp_path / "paper"
    work.mkdir()
    api.pin(obs_date="2010-01-01", analysis_date="2014-01-01", ccf_path=str(dest),
            catalog=str(tmp_path / "c.db"), output=str(work / "m.json"))
    a.publish(C("EPN_CTI_0002.CCF", subdate="2014-02-01"))
    r = quiet_sync(str(a.root), ccf_path=str(dest), clock=clock("2014-02-02"),
                   report_drift=[work], catalog=str(tmp_path / "c.db"))
    assert r.drift is not None and r.drift.scanned >= 1
    found = [(d.path, n.describe()) for d in r.drift.drifted for n in d.newer]
    assert [p for p, _ in found] == [str(work / "m.json")]
    assert any("EPN_CTI_0002.CCF is newer than the pinned EPN_CTI_0001.CCF (with today's "
               "analysis date)" in text for _, text in found)
