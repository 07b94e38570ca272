"""Hostile inputs for the reports and figures (``audit --html``, ``diff --html``, ``timeline``,
``view``, ``notes``, ``cite``, a bundle's ``report.html``).

Markup in product file names, in column names and units, in release-note titles and URLs, in a
manifest's free-text fields; release-note lists that are FIFOs, devices, too large or not text;
outputs that are FIFOs, directories or links to a victim. Every page stays text (no script but
its own, no event handler, no load), every bad input is one line and a documented exit code,
nothing is written outside the case's place and no partial output is left.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from support.hostile import check
from support.pages import assert_self_contained

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.fits._calindex import write_cif
from reprocal.state._manifest import build, save_manifest
from reprocal.testing import write_table_constituent

EVIL = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
ROWS = [Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06", fsize=2880, creator=EVIL),
        Constituent(ConstituentName("XRT3", "XAREAEF", 12), valdate="2000-01-01",
                    subdate="2014-09-20", fsize=5760, creator=EVIL)]


def _cif(path: Path, rows: list[Constituent] = ROWS) -> Path:
    write_cif(path, rows, obs_date="2004-06-17T10:38:28", analysis_date="2018-07-27T17:50:42")
    return path


def _clean_page(path: Path) -> None:
    text = path.read_text()
    assert_self_contained(text)
    page = assert_self_contained(text)  # no script but ours, no on* attribute, no load
    assert not page.all("img") and "<img" not in text and "<script>alert" not in text


def test_markup_in_product_names_stays_text(runner, box: Path, outside) -> None:  # type: ignore[no-untyped-def]
    """A CIF named with markup, audited and diffed to HTML: the name is shown, as text."""
    evil = _cif(box / f"{EVIL.replace('/', '')}.cif")
    older = _cif(box / "older.cif", [ROWS[0].__class__(ConstituentName("EPN", "CTI", 44),
                                                       valdate="2000-01-01",
                                                       subdate="2013-01-01", fsize=2880)])
    r = runner("audit", evil, "--import-index", evil, "--today", "2020-01-01", "--html",
               box / "a.html", cwd=box)
    check(r, (0, 1), outside=outside, lines=None)
    _clean_page(box / "a.html")
    assert "&lt;script&gt;alert(2)&lt;script&gt;" in (box / "a.html").read_text()
    r = runner("diff", older, evil, "--html", box / "d.html", cwd=box)
    check(r, 1, outside=outside, lines=0)  # the states differ: diff exits 1
    _clean_page(box / "d.html")
    r = runner("timeline", "EPN_CTI", "--state", evil, "--state", older, "--import-index", evil,
               "-o", box / "t.svg", cwd=box)
    check(r, 0, outside=outside, lines=None)
    svg = (box / "t.svg").read_text()
    assert "<script" not in svg and "<img" not in svg


def test_markup_in_columns_and_units(runner, box: Path, outside) -> None:  # type: ignore[no-untyped-def]
    """A constituent whose column names and units are markup (and '$' mathtext): listed as
    text, plotted with the characters drawn, no markup in the SVG."""
    c = Constituent(ConstituentName("EPN", "QUANTUMEF", 17), valdate="2000-01-01",
                    subdate="2017-01-01", creator=EVIL)
    path = box / "EPN_QUANTUMEF_0017.CCF"
    with warnings.catch_warnings():  # astropy advises against such names; we write them anyway
        warnings.simplefilter("ignore")
        write_table_constituent(path, c, [("QE<script>", [
            ("E<b>", "E", '"><svg onload=alert(3)>', [1.0, 2.0, 3.0]),
            ("$\\frac{1}{0}$", "E", "$x^", [0.1, 0.2, 0.3])])])
    r = runner("view", path, cwd=box)
    check(r, 0, outside=outside, lines=0)
    assert "E<b>" in r.stdout  # a terminal shows the name as it is
    r = runner("view", path, "--x", "E<b>", "--y", "$\\frac{1}{0}$", "-o", box / "v.svg", cwd=box)
    check(r, 0, outside=outside, lines=0)
    svg = (box / "v.svg").read_text()
    assert "<script" not in svg and "<svg onload" not in svg and "<b>" not in svg
    assert "$\\frac{1}{0}$" in svg  # drawn as characters, not parsed as mathtext


@pytest.mark.parametrize("make, says", [
    (lambda p: os.mkfifo(p), "is a FIFO (named pipe), not a regular file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b"release,constituents\n1,\xff\xfe\n"), "not UTF-8 text"),
    (lambda p: p.write_text("release,constituents\n" + "1,EPN_CTI_0001.CCF\n" * 40000),
     "is larger than the limit of 65536 bytes"),
    (lambda p: p.write_text("release,constituents,url\n1,EPN_CTI_0001.CCF,javascript:alert(1)\n"),
     "url 'javascript:alert(1)' is not an http(s) URL"),
    (lambda p: p.write_text("release,constituents\n1,<script>\n"), "data line 1: "),
])
def test_hostile_release_note_lists(runner, box: Path, outside, make, says: str) -> None:  # type: ignore[no-untyped-def]
    """A list that is not a small text file of notes is refused before anything is written."""
    notes = box / "notes.csv"
    make(notes)
    cif = _cif(box / "ccf.cif")
    r = runner("--limit", "document-size=64KiB", "audit", cif, "--import-index", cif, "--html",
               box / "a.html", "--release-notes", notes, cwd=box)
    check(r, 2, outside=outside, says=says)
    assert not (box / "a.html").exists()
    r = runner("--limit", "document-size=64KiB", "notes", "EPN_CTI", "--release-notes", notes,
               cwd=box)
    check(r, 2, outside=outside, says=says)


def test_hostile_titles_and_manifest_text_in_a_bundle_report(runner, box: Path, outside) -> None:  # type: ignore[no-untyped-def]
    """Markup in a note's title, the manifest's SAS version, the bundle's title and authors:
    report.html shows each as text."""
    hashes = {c.filename: (c.fsize or 2880, "c" * 64) for c in ROWS}
    m = save_manifest(build([("0201903501", CalDate.parse("2004-06-17"),
                              CalDate.parse("2018-07-27"), "XMMCCF", ROWS),
                             ("0404910601", CalDate.parse("2006-05-27"),
                              CalDate.parse("2018-07-27"), "XMMCCF", ROWS[:1])], hashes,
                            sas_version=EVIL), box / "m.json")
    notes = box / "notes.csv"
    notes.write_text(f"release,version,constituents,title\n1,1-0,EPN_CTI_0045.CCF,{EVIL.replace(',', ' ')}\n")
    r = runner("bundle", m, "-o", box / "b", "--license", "CC-BY-4.0", "--author",
               'Jane "Doe" & Sons', "--publisher", "ESA ESAC <https://www.cosmos.esa.int/web/esac>",
               "--name", EVIL, "--release-notes", notes, cwd=box)
    check(r, 0, outside=outside, lines=0)
    report = box / "b" / "report.html"
    _clean_page(report)
    assert "Jane &quot;Doe&quot; &amp; Sons" in report.read_text()
    r = runner("cite", box / "b", cwd=box)
    check(r, 0, outside=outside, lines=0)


@pytest.mark.parametrize("target", ["dir", "nodir/t.png", "t.docx"])
def test_hostile_outputs_leave_nothing(runner, box: Path, outside, synthetic_repo,  # type: ignore[no-untyped-def]
                                       target: str) -> None:
    """-o a directory, a path in no directory, a format not offered: exit 2 naming it,
    nothing half-written, no temporary file left."""
    out = box / target
    if target == "dir":
        out.mkdir()
    before = sorted(p.name for p in box.iterdir())
    r = runner("timeline", "EPN_CTI", "--ccf-path", synthetic_repo.root, "--obs-date",
               "2010-01-01", "--analysis-date", "2015-01-01", "-o", out, cwd=box)
    check(r, 2, outside=outside, lines=None, says=str(target.split("/")[-1]))
    assert r.err_lines[-1].startswith("reprocal: error: ")
    assert sorted(p.name for p in box.iterdir()) == before


def test_output_fifo_is_replaced_not_written_into(runner, box: Path, outside,  # type: ignore[no-untyped-def]
                                                  synthetic_repo) -> None:
    """-o a FIFO: the figure is renamed over it (nothing blocks on the pipe)."""
    out = box / "fifo.png"
    os.mkfifo(out)
    r = runner("timeline", "EPN_CTI", "--ccf-path", synthetic_repo.root, "--obs-date",
               "2010-01-01", "--analysis-date", "2015-01-01", "-o", out, cwd=box)
    check(r, 0, outside=outside, lines=None, seconds=15)
    assert out.is_file() and out.read_bytes().startswith(b"\x89PNG")


def test_output_link_to_a_victim_replaces_the_link_only(runner, box: Path, outside,  # type: ignore[no-untyped-def]
                                                        synthetic_repo) -> None:
    """-o a symbolic link to a file outside: the figure replaces the link, the victim keeps
    its bytes."""
    out = box / "t.png"
    out.symlink_to(outside.victim)
    r = runner("timeline", "EPN_CTI", "--ccf-path", synthetic_repo.root, "--obs-date",
               "2010-01-01", "--analysis-date", "2015-01-01", "-o", out, cwd=box)
    check(r, 0, outside=outside, lines=None)
    assert not out.is_symlink() and out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("what", ["fifo", "/dev/zero", "text"])
def test_hostile_constituents_for_view(runner, box: Path, outside, what: str) -> None:  # type: ignore[no-untyped-def]
    """view of a FIFO, a device or a text file: exit 2, one line naming it, never blocking."""
    path = box / "EPN_QUANTUMEF_0017.CCF"
    if what == "fifo":
        os.mkfifo(path)
    elif what == "text":
        path.write_text("SIMPLE? no\n" * 400)
    else:
        path = Path(what)
    r = runner("view", path, "--x", "A", "--y", "B", cwd=box)
    check(r, 2, outside=outside, says=str(path), seconds=10)
