"""``api.index``, ``api.cif``, ``api.show``: Python values in, results out; ``now`` resolved
once and returned; warnings are warnings."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from support.progress import RecordingProgress

from reprocal import api
from reprocal.errors import ReprocalWarning

OBS = "2010-01-01T00:00:00"


def test_now_is_resolved_once_and_returned(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``analysis_date="now"`` is read from the clock once; the result gives the literal that
    was used (and written into the CIF), so the caller can record it."""
    before = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    r = api.cif(obs_date=OBS, analysis_date="now", ccf_path=synthetic_repo.root,
                output=tmp_path / "c.cif")
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert before <= r.analysis_date.to_datetime().replace(tzinfo=None) <= after
    assert api.show(tmp_path / "c.cif").table.analysis_date == r.analysis_date
    assert r.to_json()["analysis_date"] == str(r.analysis_date)
    assert r.obs_date == api.CalDate.parse(OBS) and r.obs_id is None and not r.gaps


def test_analysis_before_observation_is_a_warning(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """As in cifbuild, only a warning (a ReprocalWarning); the CIF is written."""
    with pytest.warns(ReprocalWarning, match="analysis date 2009-01-01T00:00:00 is before the "
                                             "observation date 2010-01-01T00:00:00"):
        r = api.cif(obs_date=OBS, analysis_date=api.CalDate.parse("2009-01-01"),
                    ccf_path=[synthetic_repo.root], output=tmp_path / "c.cif")
    assert (tmp_path / "c.cif").is_file() and r.constituents


def test_gaps_are_warned_and_returned(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A newer eligible issue indexed but now missing: one warning per gap and a summary; the
    result carries the gap (cifbuild would say nothing)."""
    copy = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    catalog = tmp_path / "c.sqlite"
    first = api.cif(obs_date=OBS, analysis_date="2020-01-01", ccf_path=copy, catalog=catalog,
                    output=tmp_path / "a.cif")
    gone = first.constituents[0]
    (copy / gone.filename).unlink()
    with pytest.warns(ReprocalWarning) as caught:
        r = api.cif(obs_date=OBS, analysis_date="2020-01-01", ccf_path=copy, catalog=catalog,
                    output=tmp_path / "b.cif")
    assert [g.missing.filename for g in r.gaps] == [gone.filename]
    assert [str(w.message) for w in caught] == [
        r.gaps[0].describe(),
        "1 newer eligible issue(s) missing: cifbuild would silently use older ones; "
        "`reprocal fetch` can fill the gaps"]
    assert r.to_json()["gaps"] == [r.gaps[0].describe()]


def test_index_reports_progress_and_counts(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The walk has no known size (start(None)), then one update per header read."""
    progress = RecordingProgress()
    r = api.index(ccf_path=synthetic_repo.root, catalog=tmp_path / "c.sqlite", progress=progress)
    assert progress.starts == [(None, None)] and progress.done == r.report.read == 150
    assert (r.ok, r.constituents, r.catalog) == (True, 150, tmp_path / "c.sqlite")
    assert r.to_json()["constituents"] == 150
