"""The HTML reports (audit --html, diff --html, a bundle's report.html): self-contained (no
load from anywhere, a CSP allowing only the page's own script), every value escaped, the
sections present; then the same pages rendered in headless Chromium: the DOM (tables, links,
figures), no console error, no request but the page itself, sorting that works, and a
screenshot kept as a test artefact."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from support.browser import open_browser, render
from support.pages import assert_self_contained

from reprocal import api
from reprocal.fits._calindex import read_calindex
from reprocal.state._manifest import build, save_manifest

PUBLISHER = "ESA ESAC <https://www.cosmos.esa.int/web/esac>"


# --- the pages, from real samples -------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An audit of the real 2014 event-list state against a catalogue of the samples, the diff
    of that state with the later ccf.cif, and a bundle of both sample observations' CIFs as
    one two-observation manifest."""
    import warnings

    out = tmp_path_factory.mktemp("pages")
    evt = samples / "0201903501" / "calindex_from_mos1_exp1_clean_evts.fits"
    cif = samples / "0201903501" / "ccf.cif"
    other = samples / "0404910601" / "ccf.cif"
    notes = out / "notes.csv"
    notes.write_text("release,version,constituents,title\n"
                     "XMM-CCF-REL-312,1-4,EPN_CTI_0045.CCF,EPIC-pn CTI <b>update</b>\n")
    with warnings.catch_warnings():  # a module fixture runs before the per-test cache: its own
        warnings.simplefilter("ignore")  # catalogues, never the user's
        api.audit([evt], import_index=[evt, cif, other], today="2018-07-27",
                  html=out / "audit.html", release_notes=notes, catalog=out / "a.sqlite")
        api.diff(str(evt), str(cif), import_index=[evt, cif], html=out / "diff.html",
                 release_notes=notes, catalog=out / "d.sqlite")
    tables = [read_calindex(p) for p in (cif, other)]
    hashes = {c.filename: (c.fsize or 2880, hashlib.sha256(c.filename.encode()).hexdigest())
              for t in tables for c in t.rows}
    manifest = build([(p.parent.name, t.obs_date, t.analysis_date, "XMMCCF", t.rows)
                      for p, t in zip((cif, other), tables, strict=True)], hashes,
                     sas_version="14.0.0")
    m = save_manifest(manifest, out / "manifest.json")
    b = api.bundle(m, output=out / "bundle", license="CC-BY-4.0", authors=["Jane Doe"],
                   publisher=PUBLISHER, doi="10.5281/zenodo.1234", release_notes=notes)
    return {"audit": out / "audit.html", "diff": out / "diff.html",
            "bundle": b.bundle.directory / "report.html"}


@pytest.mark.parametrize("name", ["audit", "diff", "bundle"])
def test_pages_are_self_contained_and_escaped(pages: dict[str, Path], name: str) -> None:
    text = pages[name].read_text()
    page = assert_self_contained(text)
    assert len(page.all("svg")) >= 1
    assert "<b>update</b>" not in text  # a note's title from the list stays text
    if name != "audit":  # the 2014 state does not use EPN_CTI_0045, the note's constituent
        assert 'title="EPIC-pn CTI &lt;b&gt;update&lt;/b&gt;"' in text
    sections = {a.get("id") for a in page.all("section")}
    assert {"audit"} <= sections if name == "audit" else {"timelines", "constituents"} <= sections


def test_bundle_report_is_reproducible(pages: dict[str, Path], tmp_path: Path) -> None:
    """The same manifest bundled again gives the same report.html bytes."""
    m = pages["bundle"].parent / "manifest.json"
    again = api.bundle(m, output=tmp_path / "b", license="CC-BY-4.0", authors=["Jane Doe"],
                       publisher=PUBLISHER, doi="10.5281/zenodo.1234",
                       release_notes=pages["audit"].parent / "notes.csv")
    assert (again.bundle.directory / "report.html").read_bytes() == pages["bundle"].read_bytes()


# --- in a real browser ------------------------------------------------------------------------


def test_without_chromium_the_browser_tests_skip_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No browser: a skip naming what is missing (Chromium, or the playwright package); with
    $REPROCAL_TEST_REQUIRE_BROWSER set, as in CI, a failure instead."""
    import os
    import sys

    from support import browser

    real_path = os.environ.get("PATH", "")
    monkeypatch.delenv(browser.REQUIRE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on it
    with pytest.raises(pytest.skip.Exception, match=r"chromium not found on PATH \(Debian package"):
        with open_browser(tmp_path):
            pass
    monkeypatch.setenv(browser.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="REPROCAL_TEST_REQUIRE_BROWSER is set, but"):
        with open_browser(tmp_path):
            pass
    monkeypatch.delenv(browser.REQUIRE)
    monkeypatch.setenv("PATH", real_path)
    monkeypatch.setitem(sys.modules, "playwright", None)
    with pytest.raises(pytest.skip.Exception, match="playwright package is not installed"):
        with open_browser(tmp_path):
            pass


def test_a_blank_screenshot_is_refused(tmp_path: Path) -> None:
    """The screenshot check tells a page from a blank or an error page."""
    from PIL import Image
    from support.browser import assert_shows_something

    blank = tmp_path / "blank.png"
    Image.new("RGB", (1280, 900), "white").save(blank)
    with pytest.raises(AssertionError, match="almost no text"):
        assert_shows_something(blank)
    dark = tmp_path / "dark.png"
    Image.new("RGB", (1280, 900), "black").save(dark)
    with pytest.raises(AssertionError, match="light background"):
        assert_shows_something(dark)


def _clean(r) -> None:  # type: ignore[no-untyped-def]
    """Nothing went wrong loading the page, and it loaded nothing but itself."""
    assert r.errors == [] and r.console_errors == [] and r.dialogs == []
    assert {u.split("#")[0] for u in r.requests} == {r.page.url.split("#")[0]}


def _sorts(page, table: str, column: str) -> None:  # type: ignore[no-untyped-def]
    """Clicking a heading sorts the rows by it, ascending then descending (numbers as numbers)."""
    heads = page.locator(f"{table} thead th")
    names = heads.all_inner_texts()
    col = [n.strip() for n in names].index(column)
    heads.nth(col).click()
    cells = page.locator(f"{table} tbody tr td:nth-child({col + 1})").all_inner_texts()
    assert heads.nth(col).get_attribute("aria-sort") == "ascending"
    values = [float(c) if c.strip().replace(".", "").isdigit() else c for c in cells]
    assert values == sorted(values)
    heads.nth(col).click()
    cells = page.locator(f"{table} tbody tr td:nth-child({col + 1})").all_inner_texts()
    values = [float(c) if c.strip().replace(".", "").isdigit() else c for c in cells]
    assert values == sorted(values, reverse=True)


def test_bundle_report_in_chromium(pages: dict[str, Path], tmp_path: Path) -> None:
    """A bundle's report.html in headless Chromium: the state (calibration id, dates), the
    observations, the cite paragraph and BibTeX, the timelines of the types that differ between
    the two observations, every constituent linked to its release note, the commands; the
    tables sort; nothing errs; a screenshot is kept."""
    manifest = api.cite(pages["bundle"].parent).manifest
    with open_browser(tmp_path) as browser:
        r = render(browser, pages["bundle"], tmp_path / "bundle-report.png")
        _clean(r)
        page = r.page
        assert page.title() == "Calibration bundle"
        assert manifest.calibration_id in page.locator("#state").inner_text()
        assert page.locator("#observations-table tbody tr").count() == 2
        obs_text = page.locator("#observations").inner_text()
        assert "2004-06-17T10:38:28" in obs_text and "2006-05-27T09:57:27" in obs_text
        cite = page.locator("#cite").inner_text()
        assert "calibration state " + manifest.calibration_id in cite and "@misc{rpcal_" in cite
        assert "using SAS 14.0.0" in cite
        rows = page.locator("#constituents-table tbody tr")
        assert rows.count() == len(manifest.files)
        links = page.locator("#constituents-table tbody a")
        assert links.count() == len(manifest.files)
        hrefs = set(links.evaluate_all("els => els.map(e => e.href)"))
        assert hrefs == {"https://www.cosmos.esa.int/web/xmm-newton/ccf-release-notes",
                         "https://xmmweb.esac.esa.int/docs/documents/CAL-SRN-0312-1-4.pdf"}
        figures = page.locator("#timelines figure svg")
        assert figures.count() >= 1
        bars = page.locator("#timelines svg [id*='bar-']").count()
        assert bars >= 2 and page.locator("#timelines figcaption").count() == figures.count()
        box = figures.first.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 150
        assert "reprocal fetch manifest.json --ccf-path ccf" in page.locator("#reproduce").inner_text()
        _sorts(page, "#constituents-table", "issue")
        _sorts(page, "#constituents-table", "constituent")


def test_audit_and_diff_pages_in_chromium(pages: dict[str, Path], tmp_path: Path) -> None:
    """The audit of the real 2014 state: the stale RGS types explained, their timelines with
    the selected issue marked; the diff: ten changes, their timelines; no errors."""
    with open_browser(tmp_path) as browser:
        a = render(browser, pages["audit"], tmp_path / "audit-report.png")
        _clean(a)
        text = a.page.locator("#product-0").inner_text()
        assert "2 type(s) disagree with the selection rule" in text
        assert "RGS1_EFFAREACORR: product used issue 8, but issue 9 was submitted 2014-04-12" in text
        svg = a.page.locator("#product-0 figure svg").first
        assert svg.locator("[id$='bar-RGS1_EFFAREACORR-0009']").count() == 1
        assert svg.locator("[id$='used-RGS1_EFFAREACORR-0008']").count() == 1
        assert "eligible for A, not used" in (svg.text_content() or "")
        _sorts(a.page, "#constituents-0", "type")
        d = render(browser, pages["diff"], tmp_path / "diff-report.png")
        _clean(d)
        assert d.page.locator("#changes-table tbody tr").count() == 10
        assert d.page.locator("#timelines svg [id*='bar-']").count() == 20
        assert d.page.locator("#timelines figure").count() == 2  # 10 types, 8 a figure
        _sorts(d.page, "#changes-table", "type")
