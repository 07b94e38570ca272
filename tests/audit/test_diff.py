"""Diff of two calibration states: changes by type, notes on dates, affected SAS tasks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.dumps import all_dumps

from reprocal.audit._diff import State, diff_states, parse_type_tasks, render, type_tasks
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError


def C(name: str, sub: str = "2010-01-01", val: str = "2000-01-01") -> Constituent:
    return Constituent(ConstituentName.parse(name), valdate=val, subdate=sub)


def S(label: str, *cs: Constituent, an: str | None = None) -> State:
    return State(label, cs, CalDate.parse("2004-06-17"), CalDate.parse(an) if an else None)


CASES = [
    # (A, B, expected describe() lines)
    ([C("EPN_CTI_0032.CCF", "2014-04-04")], [C("EPN_CTI_0045.CCF", "2014-09-06")],
     ["EPN CTI: issue 32 (submitted 2014-04-04) -> 45 (submitted 2014-09-06)"]),
    ([], [C("EMOS1_BADPIX_0003.CCF")], ["EMOS1 BADPIX: added, issue 3 (submitted 2010-01-01)"]),
    ([C("RGS1_REDIST_0002.CCF")], [], ["RGS1 REDIST: removed, was issue 2 (submitted 2010-01-01)"]),
    ([C("XMM_BORESIGHT_0023.CCF", "2012-07-21")], [C("XMM_BORESIGHT_0023.CCF", "2012-07-22")],
     ["XMM BORESIGHT: issue 23 in both, attributes differ (SUBDATE 2012-07-21T00:00:00 vs "
      "2012-07-22T00:00:00); the same issue with other attributes: a different file under the "
      "same name, not newer calibration"]),
    ([C("EPN_CTI_0032.CCF")], [C("EPN_CTI_0032.CCF")], []),
]


@pytest.mark.parametrize(("a", "b", "lines"), CASES)
def test_changes(a: list[Constituent], b: list[Constituent], lines: list[str]) -> None:
    """Changed, added, removed and same-issue-other-attributes, in words."""
    d = diff_states(S("A", *a), S("B", *b))
    assert [c.describe() for c in d.changes] == lines
    assert d.unchanged == (1 if a == b else 0)


def test_same_issue_with_both_analysis_dates_is_never_stale() -> None:
    """One issue described two ways is a different file under the same name, whatever the
    analysis dates say: never "that repository was stale"."""
    a = S("A", C("EPN_CTI_0045.CCF", "2014-09-06"), an="2018-07-27")
    b = S("B", C("EPN_CTI_0045.CCF", "2014-09-07"), an="2020-01-01")
    (change,) = diff_states(a, b).changes
    assert change.note == ("the same issue with other attributes: a different file under the "
                           "same name, not newer calibration")
    assert "stale" not in change.describe()


@pytest.mark.parametrize(("sub", "note"), [
    ("2014-09-06", "issue 45 was submitted 2014-09-06, between the analysis dates 2014-05-08 (A) "
                   "and 2018-07-27 (B)"),
    ("2014-04-04", "issue 45 was already submitted 2014-04-04, before the analysis date "
                   "2014-05-08 of A: that repository was stale (or validity differs at its "
                   "observation date)"),
    ("2019-01-01", "issue 45 was submitted 2019-01-01, after both analysis dates: B's ANALDATE is "
                   "wrong or its calibration was patched"),
])
def test_notes_place_the_submission_date(sub: str, note: str) -> None:
    """With both analysis dates known, each change says where the newer issue came from."""
    a = S("A", C("EPN_CTI_0032.CCF", "2010-01-01"), an="2014-05-08")
    b = S("B", C("EPN_CTI_0045.CCF", sub), an="2018-07-27")
    (change,) = diff_states(a, b).changes
    assert change.note == note
    (back,) = diff_states(b, a).changes  # the newer issue on A's side: the names swap
    swap = {"(A)": "(B)", "(B)": "(A)", "of A:": "of B:", "B's": "A's"}
    assert back.note == re.sub("|".join(re.escape(k) for k in swap), lambda m: swap[m[0]], note)


@pytest.mark.parametrize(("scope", "typeid", "tasks"), [
    ("EPN", "CTI", ("epchain", "epevents")),
    ("EMOS1", "ADUCONV", ("emchain", "emevents", "emenergy")),
    ("EPN", "QUANTUMEF", ("arfgen",)),
    ("XRT3", "XAREAEF", ("arfgen",)),
    ("EPN", "FILTERTRANSX", ("arfgen",)),
    ("EMOS2", "REDIST", ("rmfgen",)),  # the * row's rgsrmfgen is RGS's, not MOS's
    ("RGS2", "REDIST", ("rgsrmfgen",)),
    ("EPN", "BADPIX", ("badpix", "badpixfind", "epchain")),
    ("XMM", "BORESIGHT", ("attcalc", "emchain", "epchain", "rgsproc", "omichain")),
    ("EMOS1", "LINCOORD", ("attcalc", "emchain")),
    ("EPN", "NOSUCHTYPE", ()),
])
def test_type_tasks(scope: str, typeid: str, tasks: tuple[str, ...]) -> None:
    """The shipped table: exact scope first, then any scope (only the tasks of the scope's own
    instrument, the shared scopes aside); unknown types have no tasks."""
    assert type_tasks().tasks(scope, typeid) == tasks


def test_type_table_covers_every_sample_type(samples: Path) -> None:
    """Every calibration type in the real CIFs has an entry in the table."""
    table = type_tasks()
    keys = {c.key for s in all_dumps(samples).values() for c in s.constituents}
    assert sorted(f"{s}_{t}" for s, t in keys if not table.tasks(s, t)) == []


def test_parse_type_tasks_rejects_bad_rows() -> None:
    """A table without the expected columns is refused with the line."""
    with pytest.raises(InputError) as exc:
        parse_type_tasks("# c\nscope,typeid\nEPN,CTI\n", source="t.csv")
    assert exc.value.one_line() == "t.csv: data line 2: expected scope,typeid,tasks,what"


def test_duplicate_type_is_not_a_state() -> None:
    """Two issues of one type on one side is not one calibration state."""
    with pytest.raises(InputError) as exc:
        diff_states(S("A", C("EPN_CTI_0001.CCF"), C("EPN_CTI_0002.CCF")), S("B"))
    assert exc.value.one_line() == ("A: EPN CTI is listed twice (issues 1 and 2); not one "
                                    "calibration state")


@pytest.mark.parametrize("obsid", ["0201903501", "0404910601"])
def test_real_event_list_vs_cif(samples: Path, obsid: str) -> None:
    """The samples' event list and later CIF differ in exactly these 10 types."""
    dumps = all_dumps(samples)
    d = diff_states(dumps[f"{obsid}_evt_calindex"], dumps[f"{obsid}_ccf_cif"])
    assert d.unchanged == 108
    assert [(c.key, c.a.issue, c.b.issue) for c in d.changes] == [  # type: ignore[union-attr]
        (("EMOS1", "QUANTUMEF"), 19, 21), (("EMOS2", "QUANTUMEF"), 19, 21),
        (("EPN", "CTI"), 32, 45), (("EPN", "REDIST"), 11, 12),
        (("RGS1", "EFFAREACORR"), 8, 9), (("RGS2", "EFFAREACORR"), 8, 9),
        (("XMM", "BORESIGHT"), 23, 24), (("XRT1", "XAREAEF"), 8, 9),
        (("XRT2", "XAREAEF"), 9, 10), (("XRT3", "XAREAEF"), 11, 12),
    ]
    assert sorted(d.by_instrument()) == ["EPIC-MOS", "EPIC-pn", "RGS", "mirrors",
                                         "spacecraft (shared)"]
    between = [c for c in d.changes if "between the analysis dates" in c.note]
    stale = [c for c in d.changes if "was stale" in c.note]
    assert len(between) == 8
    assert [c.key for c in stale] == [("RGS1", "EFFAREACORR"), ("RGS2", "EFFAREACORR")]
    tasks = d.affected_tasks()
    assert tasks["epevents"] == ["EPN_CTI"]
    assert tasks["rmfgen"] == ["EPN_REDIST"]
    assert tasks["arfgen"] == ["EMOS1_QUANTUMEF", "EMOS2_QUANTUMEF", "XRT1_XAREAEF",
                               "XRT2_XAREAEF", "XRT3_XAREAEF"]
    text = "\n".join(render(d))
    assert "10 calibration type(s) differ (10 changed, 0 added, 0 removed); 108 identical" in text
    assert "SAS steps probably affected (approximate table):" in text


def test_real_identical_states(samples: Path) -> None:
    """0201901401's event list and CIF select the same constituents."""
    dumps = all_dumps(samples)
    d = diff_states(dumps["0201901401_evt_calindex"], dumps["0201901401_ccf_cif"])
    assert (d.changes, d.unchanged) == ((), 118)


def test_json_shape() -> None:
    """--json: counts, per-instrument changes, tasks and the approximation note."""
    d = diff_states(S("A", C("EPN_CTI_0032.CCF")), S("B", C("EPN_CTI_0045.CCF")))
    doc = d.to_json()
    assert doc["counts"] == {"changed": 1, "added": 0, "removed": 0}
    (change,) = doc["by_instrument"]["EPIC-pn"]
    assert change["a"]["file"] == "EPN_CTI_0032.CCF" and change["b"]["issue"] == 45
    assert doc["affected_tasks"] == {"epchain": ["EPN_CTI"], "epevents": ["EPN_CTI"]}
    assert "approximate" in doc["tasks_note"]


def test_cli_diff_manifest_observations(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A manifest of several observations needs `#OBS`; then its states compare."""
    from reprocal.state._manifest import build, save_manifest

    cti, redist = C("EPN_CTI_0045.CCF"), C("EPN_REDIST_0012.CCF")
    m = build([("obsA", CalDate.parse("2004-06-17"), CalDate.parse("2018-07-27"), "XMMCCF",
                [cti, redist]),
               ("obsB", CalDate.parse("2006-05-27"), CalDate.parse("2018-07-27"), "XMMCCF", [cti])],
              {cti.filename: (2880, "a" * 64), redist.filename: (2880, "b" * 64)})
    path = str(save_manifest(m, tmp_path / "m.json"))
    bad = cli("diff", path, path)
    assert bad.returncode == 2
    assert bad.stderr == (f"reprocal: error: {path} holds 2 observations; name one as "
                          f"{path}#<obs> (obsA, obsB)\n")
    done = cli("diff", f"{path}#obsA", f"{path}#obsB", "--json")
    assert done.returncode == 1, done.stderr  # they differ
    doc = json.loads(done.stdout)
    assert doc["counts"] == {"changed": 0, "added": 0, "removed": 1}
    assert doc["by_instrument"]["EPIC-pn"][0]["text"] == (
        "EPN REDIST: removed, was issue 12 (submitted 2010-01-01)")
    missing = cli("diff", f"{path}#obsC", path + "#obsA")
    assert missing.stderr == f"reprocal: error: {path}: no observation 'obsC' (it has obsA, obsB)\n"
