"""What a notebook user meets: ``_repr_html_`` of resolutions, manifests, audits, diffs and
timelines (escaped fragments), ``to_table()`` as astropy Tables, ``to_pandas()`` when pandas is
installed (and a clear error naming it when not)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from astropy.table import Table

from reprocal import api
from reprocal.errors import ComponentUnavailable
from reprocal.repo._repository import Repository

OBS, AN = "2010-01-01T00:00:00", "2015-01-01T00:00:00"


@pytest.fixture
def results(synthetic_repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    ccf = str(synthetic_repo.root)
    pinned = api.pin(obs_date=OBS, analysis_date=AN, ccf_path=ccf, output="m.json")
    cif = api.cif(obs_date=OBS, analysis_date=AN, ccf_path=ccf, output="c.cif")
    audit = api.audit(["c.cif"], ccf_path=ccf, today="2020-01-01")
    diff = api.diff("c.cif", f"obs={OBS},an=2020-01-01", ccf_path=ccf)
    with Repository([synthetic_repo.root]) as repo:
        from reprocal.core._dates import CalDate

        resolution = repo.resolve(CalDate.parse(OBS), CalDate.parse(AN))
    return {"pin": pinned, "manifest": pinned.manifest, "cif": cif, "audit": audit,
            "diff": diff, "resolution": resolution, "show": api.show("c.cif"),
            "report": audit.entries[0].report, "state diff": diff.diff}


@pytest.mark.parametrize("name", ["pin", "manifest", "cif", "audit", "diff", "resolution",
                                  "report", "state diff", "show"])
def test_repr_html_is_an_escaped_fragment(results, name: str) -> None:  # type: ignore[no-untyped-def]
    html = results[name]._repr_html_()
    assert isinstance(html, str) and html.startswith("<p>") and "<script" not in html
    if name not in ("audit", "report"):  # an audit that agrees, with no change today: words only
        assert "<table" in html
    assert "<html" not in html  # a fragment for the notebook's cell, not a page


@pytest.mark.parametrize("name, rows, columns", [
    ("manifest", lambda r: len(r["manifest"].files), {"file", "issue", "valdate", "sha256", "size"}),
    ("pin", lambda r: len(r["manifest"].files), {"file", "sha256"}),
    ("cif", lambda r: len(r["cif"].constituents), {"file", "subdate", "newer_missing"}),
    ("resolution", lambda r: len(r["resolution"].chosen), {"file", "path", "newer_missing"}),
    ("show", lambda r: len(r["cif"].constituents), {"file", "issue", "subdate"}),
    ("audit", lambda r: len(r["report"].findings), {"product", "verdict", "explanation"}),
    ("report", lambda r: len(r["report"].findings), {"typeid", "verdict", "local"}),
    ("diff", lambda r: len(r["state diff"].changes), {"typeid", "a_issue", "b_issue", "tasks"}),
])
def test_to_table_is_an_astropy_table(results, name: str, rows, columns: set[str]) -> None:  # type: ignore[no-untyped-def]
    table = results[name].to_table()
    assert isinstance(table, Table)
    assert len(table) == rows(results) and columns <= set(table.colnames)
    if "issue" in table.colnames:
        assert table["issue"].dtype.kind == "i"  # numbers stay numbers, for sorting


def test_empty_diff_table_keeps_its_columns(results) -> None:  # type: ignore[no-untyped-def]
    same = api.diff("c.cif", "c.cif")
    assert len(same.to_table()) == 0 and "a_issue" in same.to_table().colnames


def test_to_pandas_when_pandas_is_installed(results) -> None:  # type: ignore[no-untyped-def]
    pandas = pytest.importorskip("pandas", reason="pandas is optional (not a dependency)")
    frame = results["manifest"].to_pandas()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == len(results["manifest"].files)
    assert list(results["diff"].to_pandas().columns)[:3] == ["instrument", "scope", "typeid"]
    for name in ("pin", "cif", "show", "resolution", "audit"):  # every constituent list
        assert len(results[name].to_pandas()) == len(results[name].to_table())


def test_to_pandas_without_pandas_says_so(results, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
    with pytest.raises(ComponentUnavailable) as exc:
        results["manifest"].to_pandas()
    assert exc.value.one_line() == ("to_pandas() needs pandas, which reprocal does not install; "
                                    "pip install pandas, or use to_table()")


def test_timeline_and_view_show_their_figures(synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    t = api.timeline(["EPN_CTI"], ccf_path=str(synthetic_repo.root), obs_date=OBS,
                     analysis_date=AN)
    html = t._repr_html_()
    assert html.startswith("<svg ") and 'id="timeline-' in html
    assert t.figure().axes  # a matplotlib Figure, for a notebook to show or restyle
