"""Timelines: the model (issue used, the newer eligible issue skipped, missing or not), the text
version, the figure checked for content (SVG ids and labels, PNG pixels where the windows are),
the real samples' ten changed types between 2014 and 2018, and the command's bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reprocal import api
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName as N
from reprocal.errors import InputError
from reprocal.report._figure import BLUE, draw_timeline
from reprocal.report._timeline import MAX_ISSUES, build_timeline, mark, parse_type, text_lines

CTI = [Constituent(N("EPN", "CTI", 44), valdate="2000-01-01", subdate="2013-11-01"),
       Constituent(N("EPN", "CTI", 45), valdate="2000-01-01", subdate="2014-09-06")]
XRT = [Constituent(N("XRT1", "XAREAEF", 10), valdate="2000-01-01", evaldate="2005-01-01",
                   subdate="2010-01-01"),
       Constituent(N("XRT1", "XAREAEF", 11), valdate="2005-01-01T00:00:01", subdate="2012-01-01")]
OBS = CalDate.parse("2004-06-17T10:20:58")
EARLY, LATE = CalDate.parse("2014-05-08"), CalDate.parse("2018-07-27")


def _timeline(present: set[str] | None = None):  # type: ignore[no-untyped-def]
    return build_timeline([("EPN", "CTI"), ("XRT1", "XAREAEF")], CTI + XRT,
                          [mark("early", OBS, EARLY), mark("late", OBS, LATE)], present=present)


@pytest.mark.parametrize("text, key", [
    ("EPN_CTI", ("EPN", "CTI")), ("epn_cti", ("EPN", "CTI")),
    ("EPN_CTI_0045.CCF", ("EPN", "CTI")), ("XRT3_XAREAEF_0012", ("XRT3", "XAREAEF")),
    ("EMOS1_CALSOURCEDATA", ("EMOS1", "CALSOURCEDATA")),
])
def test_types_are_parsed(text: str, key: tuple[str, str]) -> None:
    """A type by SCOPE_TYPEID in any case, or by a constituent name."""
    assert parse_type(text) == key


@pytest.mark.parametrize("text", ["CTI", "EPN-CTI", "<b>_X", "TOOLONGSCOPE_X", "EPN_"])
def test_bad_types_are_named(text: str) -> None:
    with pytest.raises(InputError, match=re.escape(f"types: {text!r} is not a calibration type")):
        parse_type(text)


def test_unknown_type_is_one_error_naming_it() -> None:
    """A type no issue of which is known is refused by name, with the types that are known."""
    with pytest.raises(InputError) as exc:
        build_timeline([("EPN", "NOSUCH")], CTI, [mark("s", OBS, EARLY)])
    assert exc.value.one_line() == ("types: no issue of EPN_NOSUCH is known to the catalogue; "
                                    "known types include EPN_CTI")


def test_used_best_and_the_silent_downgrade() -> None:
    """Without issue 45's file, the later state's rule uses 44: a downgrade, marked missing."""
    t = _timeline(present={c.filename for c in CTI + XRT} - {"EPN_CTI_0045.CCF"})
    cti, xrt = t.types
    assert cti.used == (44, 44) and cti.best == (44, 45)
    assert cti.downgrade(0) is None
    d = cti.downgrade(1)
    assert d is not None and (d.best, d.used, d.missing) == (45, 44, True)
    assert xrt.used == (10, 10)  # 11 starts after the observation
    assert [d.describe(n, lab) for n, lab, d in t.downgrades] == [
        "silent downgrade: EPN_CTI for late: issue 45 is eligible but missing locally; issue 44 "
        "is used instead"]
    assert t.to_json()["downgrades"] == [{"type": "EPN_CTI", "state": "late", "best": 45,
                                          "used": 44, "missing": True}]


def test_a_state_that_skipped_a_present_issue_was_stale() -> None:
    """A product that used 44 although 45 was eligible and is present: stale, not missing."""
    t = build_timeline([("EPN", "CTI")], CTI, [mark("product", OBS, LATE, used=CTI[:1])],
                       present={c.filename for c in CTI})
    d = t.types[0].downgrade(0)
    assert d is not None and not d.missing
    assert d.describe("EPN_CTI", "product") == ("EPN_CTI for product: issue 45 was eligible but "
                                                "issue 44 was used (made from a stale repository)")


def test_many_issues_keep_the_ones_that_matter() -> None:
    """Past MAX_ISSUES, the issues used and the newest are drawn; the others are counted."""
    many = [Constituent(N("EMOS1", "ADUCONV", i), valdate=f"{1999 + i // 12}-{1 + i % 12:02d}-01",
                        subdate="2001-01-01") for i in range(1, 61)]
    t = build_timeline([("EMOS1", "ADUCONV")], many, [mark("s", CalDate.parse("2000-02-15"),
                                                           CalDate.parse("2020-01-01"),
                                                           used=[many[2]])])
    tl = t.types[0]
    assert len(tl.issues) == MAX_ISSUES and tl.hidden == 60 - MAX_ISSUES
    assert 3 in [i.number for i in tl.issues] and 60 in [i.number for i in tl.issues]
    # what was left out is said as it is: every issue valid at the observation date is drawn
    assert not {i for i in range(1, 14)} - {i.number for i in tl.issues}
    note = f"{60 - MAX_ISSUES} issue(s) not valid at the observation date left out"
    assert f"EMOS1_ADUCONV ({note})" in text_lines(t)
    assert tl.hidden_note(0) == f"{60 - MAX_ISSUES} older issue(s) left out"
    from reprocal.report._figure import draw_timeline

    title = draw_timeline(t).figure.axes[0].get_title(loc="left")
    assert title == f"EMOS1_ADUCONV  ({note})"


def test_text_version_reads_on_a_terminal() -> None:
    """Per type a line per issue (newest first) with its bar and dates, the states' dates and
    what each used, and who would select the missing file."""
    t = _timeline(present={c.filename for c in CTI + XRT} - {"EPN_CTI_0045.CCF"})
    lines = text_lines(t)
    assert lines[0] == "A: early: observation 2004-06-17T10:20:58, analysis 2014-05-08T00:00:00"
    row45 = next(ln for ln in lines if ln.startswith("  0045 "))
    assert row45.endswith("2000-01-01..open, submitted 2014-09-06  <- missing locally: B would "
                          "select it")
    bar = row45[7:7 + 48]
    assert bar.startswith("[") and bar.endswith(">") and "s" in bar
    row10 = next(ln for ln in lines if ln.startswith("  0010 "))
    assert "]" in row10 and "2000-01-01..2005-01-01" in row10 and "used by A; used by B" in row10
    assert any(ln.strip().startswith("B ") and ln.endswith("issue 44") for ln in lines)


def _svg(t) -> str:  # type: ignore[no-untyped-def]
    return draw_timeline(t).render("svg").decode()


def test_svg_shows_every_window_label_and_mark() -> None:
    """The SVG holds one validity bar per issue, the issue labels, the open ends, the
    submission dates, both states' dates, the issue used and the downgrade in words; no date
    in its metadata."""
    t = _timeline(present={c.filename for c in CTI + XRT} - {"EPN_CTI_0045.CCF"})
    svg = _svg(t)
    assert sorted(re.findall(r'id="bar-([A-Z0-9_]+-\d{4})"', svg)) == [
        "EPN_CTI-0044", "EPN_CTI-0045", "XRT1_XAREAEF-0010", "XRT1_XAREAEF-0011"]
    assert set(re.findall(r'id="open-([A-Z0-9_]+-\d{4})"', svg)) == {
        "EPN_CTI-0044", "EPN_CTI-0045", "XRT1_XAREAEF-0011"}  # 10 ends in 2005
    assert len(re.findall(r'id="submitted-', svg)) == 4
    assert len(re.findall(r'id="(obs|analysis)-[01]-', svg)) == 8
    assert 'id="missing-EPN_CTI-0045"' in svg and 'id="downgrade-EPN_CTI-1"' in svg
    texts = [re.sub(r"\s+", " ", t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    for label in ("issue 44", "issue 45", "issue 10", "issue 11", "EPN_CTI", "XRT1_XAREAEF",
                  "used by A, B", "file missing: B would select it", "date (UTC)",
                  "A (early): observation 2004-06-17", "B (late): analysis 2018-07-27"):
        assert label in texts, label
    assert "<dc:date>" not in svg
    assert _svg(t) == svg  # the same bytes every time


def test_png_has_the_windows_where_they_should_be(tmp_path: Path) -> None:
    """Decoded PNG: inside the used issue's window, the 'used' blue; inside the missing issue's
    window, hatch lines on white; left of every window, the white background."""
    from matplotlib.image import imread

    t = _timeline(present={c.filename for c in CTI + XRT} - {"EPN_CTI_0045.CCF"})
    drawing = draw_timeline(t)
    out = drawing.save(tmp_path / "t.png")
    pixels = imread(out)[:, :, :3]
    boxes = drawing.extents()

    def inside(gid: str):  # type: ignore[no-untyped-def]
        x0, y0, x1, y1 = boxes[gid]
        return pixels[int(y0) + 3:int(y1) - 3, int(x0) + 3:int(x1) - 3]

    blue = tuple(int(BLUE[i:i + 2], 16) / 255 for i in (1, 3, 5))
    used = inside("bar-EPN_CTI-0044").reshape(-1, 3)
    assert (abs(used - blue).max(axis=1) < 0.02).mean() > 0.9  # the window is drawn, in blue
    hatched = inside("bar-EPN_CTI-0045").reshape(-1, 3)
    white = (hatched > 0.97).all(axis=1).mean()
    assert 0.3 < white < 0.97  # hatch lines over white: neither blank nor filled
    x0, y0, _, y1 = boxes["bar-XRT1_XAREAEF-0011"]
    left = pixels[int(y0) + 3:int(y1) - 3, int(boxes["bar-XRT1_XAREAEF-0010"][0]) + 3:int(x0) - 40]
    assert (left > 0.97).all(axis=2).mean() > 0.8  # before issue 11's start: background
    assert pixels.shape[0] == round(drawing.figure.bbox.height)


def test_pdf_is_written_without_a_date(tmp_path: Path) -> None:
    out = draw_timeline(_timeline()).save(tmp_path / "t.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"CreationDate" not in data


def test_hostile_labels_are_text_not_markup_or_mathtext() -> None:
    """A state label with markup or '$' is drawn as characters; nothing of it is markup."""
    label = '<script>alert(1)</script> $\\frac{1}{0}$ & "q"'
    t = build_timeline([("EPN", "CTI")], CTI, [mark(label, OBS, EARLY)])
    svg = draw_timeline(t)
    text = svg.render("svg").decode()
    assert "<script>" not in text
    assert "alert(1)" not in text or "&lt;script&gt;" in text
    inline = svg.svg("x-")
    assert "<script" not in inline and 'aria-label="' in inline


# --- the real samples ---------------------------------------------------------------------------


TEN = sorted(["EMOS1_QUANTUMEF", "EMOS2_QUANTUMEF", "EPN_CTI", "EPN_REDIST", "RGS1_EFFAREACORR",
              "RGS2_EFFAREACORR", "XRT1_XAREAEF", "XRT2_XAREAEF", "XRT3_XAREAEF",
              "XMM_BORESIGHT"])


@pytest.mark.parametrize("obs", ["0201903501", "0404910601"])
def test_real_samples_ten_changed_types_2014_to_2018(samples: Path, tmp_path: Path, obs: str
                                                     ) -> None:
    """The real samples: the event list's CALINDEX (analysis 2014) and the later ccf.cif
    (analysis 2018) differ in ten types; the timeline of those ten, against both states, has
    two issues per type, each used by one state, and says that the 2014 state skipped
    RGS1/RGS2 EFFAREACORR issue 9 although it was submitted before its analysis date."""
    evt = samples / obs / "calindex_from_mos1_exp1_clean_evts.fits"
    cif = samples / obs / "ccf.cif"
    changed = api.diff(str(evt), str(cif)).diff.changes
    types = sorted(f"{c.key[0]}_{c.key[1]}" for c in changed)
    assert types == TEN
    with pytest.warns(UserWarning) as caught:
        r = api.timeline(types, import_index=[evt, cif], states=[str(evt), str(cif)],
                         output=tmp_path / "ten.svg")
    t = r.timeline
    assert [tl.name for tl in t.types] == TEN and len(t.marks) == 2
    for tl in t.types:
        assert len(tl.issues) == 2 and tl.used[0] < tl.used[1] == tl.best[1]
    stale = {(name, d.best, d.used) for name, _, d in t.downgrades}
    assert stale == {("RGS1_EFFAREACORR", 9, 8), ("RGS2_EFFAREACORR", 9, 8)}
    assert len([w for w in caught if "stale repository" in str(w.message)]) == 2
    svg = (tmp_path / "ten.svg").read_text()
    assert len(re.findall(r'id="bar-', svg)) == 20
    for tl in t.types:
        for i in tl.issues:
            assert f'id="bar-{tl.name}-{i.number:04d}"' in svg
            assert f">issue {i.number}<" in svg
        assert f">{tl.name}<" in svg
    assert svg.count(">used by A<") + svg.count(">used by B<") == 20 - 2  # RGS: 'used by B; ...'
    assert svg.count("eligible for A, not used") == 2
    with pytest.warns(UserWarning, match="stale repository"):
        png = api.timeline(types, import_index=[evt, cif], states=[str(evt), str(cif)],
                           output=tmp_path / "ten.png").output
    assert png is not None and png.read_bytes().startswith(b"\x89PNG")
    print(f"\nreal-sample timelines: {tmp_path / 'ten.svg'} and {png}")


# --- the command ----------------------------------------------------------------------------


def test_cli_text_version_and_figure(cli, synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Without -o the text version is printed; with -o the figure is written and named."""
    ccf = str(synthetic_repo.root)
    text = cli("timeline", "EPN_CTI", "--ccf-path", ccf, "--obs-date", "2010-01-01",
               "--analysis-date", "2015-01-01")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == ("observation 2010-01-01, analysis 2015-01-01: "
                                           "observation 2010-01-01T00:00:00, analysis "
                                           "2015-01-01T00:00:00")
    assert "EPN_CTI" in text.stdout and "used by the state" in text.stdout
    out = tmp_path / "cti.png"
    fig = cli("timeline", "EPN_CTI", "--ccf-path", ccf, "--obs-date", "2010-01-01",
              "--analysis-date", "2015-01-01", "-o", str(out))
    assert fig.returncode == 0, fig.stderr
    assert fig.stdout.startswith(f"Wrote {out}: 1 type(s), ")
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (["EPN_NOSUCH", "--obs-date", "2010-01-01", "--analysis-date", "2015-01-01"],
     "reprocal: error: TYPE: no issue of EPN_NOSUCH is known to the catalogue; known types "
     "include "),
    (["EPN_CTI", "--obs-date", "2010-01-01", "--analysis-date", "2015-01-01", "-o", "t.docx"],
     "reprocal: error: -o: t.docx has '.docx'; a figure is written as .png, .svg, .pdf"),
    (["EPN_CTI", "--obs-date", "2010-01-01"],
     "reprocal: error: give --obs-date and --analysis-date together"),
    (["EPN_CTI"], "reprocal: error: give a state: --manifest, --obs-date with --analysis-date, "
                  "or --state"),
    ([], "reprocal: error: TYPE: give at least one calibration type (EPN_CTI)"),
])
def test_cli_bad_input_is_one_line_and_no_file(cli, synthetic_repo, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               args: list[str], message: str) -> None:
    """Unknown type, unwritable format, half a state: exit 2, one line, no output file."""
    r = cli("timeline", *args, "--ccf-path", str(synthetic_repo.root), cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(message) and len(r.stderr.splitlines()) == 1, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_manifest_of_many_observations_shows_the_first_four(tmp_path: Path) -> None:
    """A timeline of a manifest marks its first four observations, and says so."""
    from reprocal.state._manifest import build, save_manifest

    rows = [Constituent(N("EPN", "CTI", 44), valdate="2000-01-01", subdate="2013-11-01",
                        fsize=2880)]
    m = build([(f"obs{i}", CalDate.parse(f"200{i}-01-01"), LATE, "XMMCCF", rows)
               for i in range(1, 7)], {rows[0].filename: (2880, "a" * 64)})
    path = save_manifest(m, tmp_path / "m.json")
    with pytest.warns(UserWarning, match="6 observations; the timeline shows the first 4"):
        r = api.timeline(["EPN_CTI"], manifest=path, import_index=[])
    assert [mk.label for mk in r.timeline.marks] == ["obs1", "obs2", "obs3", "obs4"]
