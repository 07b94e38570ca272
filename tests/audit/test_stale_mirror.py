"""The stale-mirror case of the real samples: 0201903501's 2014 event list used RGS1/RGS2
EFFAREACORR issue 8 although issue 9 was submitted on 2014-04-12, before its analysis date
2014-05-08. With a mirror history in which issue 9 reached the repository only after that date,
``audit`` names the late arrival as the cause; with one in which it was there before, it says
the product was not made from this repository."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
from support.archive import clock
from support.dumps import all_dumps, union_catalogue

from reprocal import api
from reprocal.errors import ReprocalWarning
from reprocal.testing import replay

PRODUCT = "0201903501/calindex_from_mos1_exp1_clean_evts.fits"
LATE = ("RGS1_EFFAREACORR_0009.CCF", "RGS2_EFFAREACORR_0009.CCF")


def _repository(samples: Path, tmp_path: Path, nine_arrives: str) -> Path:
    """A repository synced from a mirror of the samples' constituents (replayed with their real
    headers, at a small scale) on 2014-04-20, ``nine_arrives`` and 2018-08-01: each sync brings
    what the mirror then held; the two issues 9 reach the mirror only on ``nine_arrives``."""
    rows = union_catalogue(all_dumps(samples))
    archive = replay(tmp_path / "archive", rows, scale=1e-4)
    mirror, dest = tmp_path / "mirror", tmp_path / "ccf"
    mirror.mkdir()
    dest.mkdir()
    for day in sorted(["2014-04-20", nine_arrives, "2018-08-01"]):
        for c in archive.constituents:
            held_back = c.filename in LATE and day < nine_arrives
            if c.subdate.text <= f"{day}T23:59:59" and not held_back:
                shutil.copy(archive.paths[c.filename], mirror / c.filename)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReprocalWarning)
            assert api.sync(str(mirror), ccf_path=str(dest), clock=clock(day)).ok
    return dest


def test_audit_names_the_late_arrival_as_the_cause(samples: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Must show: issue 9 arrived on 2014-06-01, after the event list's analysis date: audit
    says the repository was stale because of that late arrival."""
    dest = _repository(samples, tmp_path, "2014-06-01")
    args = ["audit", str(samples / PRODUCT), "--ccf-path", str(dest), "--catalog",
            str(tmp_path / "c.db"), "--today", "2026-01-01"]
    done = cli(*args)
    assert done.returncode == 1, done.stderr
    for scope in ("RGS1", "RGS2"):
        line = (f"    {scope}_EFFAREACORR: product used issue 8, but issue 9 was submitted "
                "2014-04-12, before the analysis date 2014-05-08: the repository used was stale: "
                f"{scope}_EFFAREACORR_0009.CCF arrived in this repository only on 2014-06-01 "
                f"(from {tmp_path / 'mirror'}), after the analysis date: a stale mirror, the late "
                "arrival is the cause\n")
        assert line in done.stdout
    doc = json.loads(cli(*args, "--json").stdout)
    stale = [f for f in doc["findings"] if f["verdict"] == "stale"]
    assert [(f["used"], f["expected"], f["cause"]) for f in stale] == [
        ("RGS1_EFFAREACORR_0008.CCF", "RGS1_EFFAREACORR_0009.CCF", "late-arrival"),
        ("RGS2_EFFAREACORR_0008.CCF", "RGS2_EFFAREACORR_0009.CCF", "late-arrival")]


def test_audit_with_issue_9_here_in_time_points_elsewhere(samples: Path, tmp_path: Path) -> None:
    """The same product against a repository that had issue 9 since 2014-04-20: the stale
    state cannot be this repository's, and audit says so."""
    dest = _repository(samples, tmp_path, "2014-04-20")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprocalWarning)
        r = api.audit([samples / PRODUCT], ccf_path=str(dest), catalog=str(tmp_path / "c.db"),
                      today="2026-01-01")
    stale = [f for f in r.entries[0].report.findings if f.verdict.value == "stale"]
    assert [f.cause for f in stale] == ["held-then", "held-then"]
    assert stale[0].explanation.endswith(
        "; yet RGS1_EFFAREACORR_0009.CCF was in this repository since 2014-04-20, before the "
        "analysis date: the product was not made from this repository as it then was (another "
        "SAS_CCFPATH, or a copy)")


def test_selection_as_held_then_reproduces_the_stale_event_list(samples: Path,
                                                                tmp_path: Path) -> None:
    """``cif --held-on 2014-05-08`` over the late-arrival repository gives exactly the event
    list's 118 rows, the two issues 8 included: what cifbuild wrote that day."""
    dest = _repository(samples, tmp_path, "2014-06-01")
    event_list = all_dumps(samples)["0201903501_evt_calindex"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReprocalWarning)
        r = api.cif(obs_date=event_list.obs_date, analysis_date=event_list.analysis_date,
                    held_on=event_list.analysis_date, ccf_path=str(dest),
                    catalog=str(tmp_path / "c.db"), output=str(tmp_path / "then.cif"))
        now = api.cif(obs_date=event_list.obs_date, analysis_date=event_list.analysis_date,
                      ccf_path=str(dest), catalog=str(tmp_path / "c.db"),
                      output=str(tmp_path / "now.cif"))
    assert [c.filename for c in r.constituents] == [c.filename for c in event_list.constituents]
    differ = {c.filename for c in now.constituents} ^ {c.filename for c in r.constituents}
    assert differ == {*LATE, "RGS1_EFFAREACORR_0008.CCF", "RGS2_EFFAREACORR_0008.CCF"}


@pytest.fixture(autouse=True)
def _no_network_needed() -> None:
    """These syncs read a local directory mirror: no server."""
