"""calview-like views: a constituent's layout, one column against another with another issue
overlaid (checked in the SVG and the PNG's pixels), and the bad inputs: not FITS, no such
column or HDU, a column that is not numeric, another type, a format matplotlib is not asked
to write. Each is one line, exit 2, no output file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.validators import assert_output_valid

from reprocal import api
from reprocal.errors import FitsFormatError, InputError


def test_layout_lists_extensions_and_columns(qe_files: tuple[Path, Path]) -> None:
    """HDUs with their kind, rows and columns (format, unit, dimensions), from headers alone."""
    r = api.view(qe_files[1])
    assert r.plot is None
    assert_output_valid(r.to_json(), r)
    assert r.lines()[1:] == [
        "  [0] PRIMARY (PRIMARY): no data",
        "  [1] QUANTUM_EFFICIENCY (BINTABLE): 30 rows, 3 columns",
        "        ENERGY               E [eV]",
        "        QE                   E",
        "        LABEL                8A",
        "  [2] CCD_QE (BINTABLE): 3 rows, 2 columns",
        "        ENERGY               30E [eV]",
        "        QE                   30E",
    ]
    assert r.lines()[0].endswith("EPN_QUANTUMEF_0017.CCF: EPN_QUANTUMEF_0017.CCF, valid "
                                 "2000-01-01T00:00:00..open, submitted 2017-03-01T00:00:00")
    assert r.to_json()["layouts"][0]["hdus"][2]["columns"][0] == {"name": "ENERGY", "format": "30E",
                                                    "unit": "eV", "dim": ""}


def test_qe_against_energy_with_the_other_issue(qe_files: tuple[Path, Path], tmp_path: Path
                                                ) -> None:
    """QE against ENERGY of issue 17 with issue 16 overlaid: two lines, labelled by file, the
    axis labelled with its unit; the PNG has the two colours where the curves are."""
    old, new = qe_files
    svg = api.view(new, x="ENERGY", y="QE", vs=[old], output=tmp_path / "qe.svg")
    assert svg.plot is not None
    assert_output_valid(svg.to_json(), svg)
    assert [s.label for s in svg.plot.series] == ["EPN_QUANTUMEF_0017.CCF", "EPN_QUANTUMEF_0016.CCF"]
    assert svg.plot.xlabel == "ENERGY [eV]" and svg.plot.ylabel == "QE"
    text = (tmp_path / "qe.svg").read_text()
    assert 'id="series-0-0"' in text and 'id="series-1-0"' in text
    for label in ("ENERGY [eV]", "QE", "EPN_QUANTUMEF_0017.CCF", "EPN_QUANTUMEF_0016.CCF",
                  "EPN_QUANTUMEF_0017.CCF: QUANTUM_EFFICIENCY"):
        assert f">{label}<" in text, label
    assert svg.plot.series[1].y[0][-1] == pytest.approx(0.9, rel=1e-3)

    from matplotlib.image import imread

    png = api.view(new, x="ENERGY", y="QE", vs=[old], output=tmp_path / "qe.png")
    assert png.output == tmp_path / "qe.png"
    pixels = imread(png.output)[:, :, :3]
    blue, vermillion = (0x00 / 255, 0x72 / 255, 0xB2 / 255), (0xD5 / 255, 0x5E / 255, 0x00 / 255)
    for colour in (blue, vermillion):
        near = (abs(pixels - colour).max(axis=2) < 0.08).sum()
        assert near > 200, colour  # each curve is drawn (hundreds of pixels of its colour)


def test_vector_columns_one_line_per_row(qe_files: tuple[Path, Path]) -> None:
    """A table of vector columns (one row per CCD): one line per row."""
    r = api.view(qe_files[1], hdu="CCD_QE", x="energy", y="qe")
    assert r.plot is not None and len(r.plot.series[0].x) == 3
    assert r.lines()[1].startswith("  EPN_QUANTUMEF_0017.CCF row 1: (100, 0.11")
    by_number = api.view(qe_files[1], hdu="2", x="ENERGY", y="QE")
    assert by_number.plot == r.plot


def test_name_found_in_the_repository(qe_files: tuple[Path, Path]) -> None:
    """A constituent given by its name (any case) is found in --ccf-path."""
    r = api.view("epn_quantumef_0016.ccf", ccf_path=str(qe_files[0].parent))
    assert r.layouts[0].path == qe_files[0]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(x="ENERGY", y="NOPE"), InputError,
     "y: no column NOPE in HDU QUANTUM_EFFICIENCY of {new}; columns: ENERGY, QE, LABEL"),
    (dict(x="ENERGY", y="LABEL"), InputError,
     "{new} HDU QUANTUM_EFFICIENCY: column LABEL is not numeric (str values); plot a numeric column"),
    (dict(x="ENERGY", y="QE", hdu="NOPE"), InputError,
     "hdu: {new} has no HDU NOPE (HDUs: PRIMARY, QUANTUM_EFFICIENCY, CCD_QE)"),
    (dict(x="ENERGY", y="QE", hdu="0"), InputError,
     "hdu: HDU PRIMARY of {new} is not a table"),
    (dict(x="ENERGY"), InputError, "give x and y together"),
    (dict(x="ENERGY", y="QE", output="qe.docx"), InputError,
     "output: qe.docx has '.docx'; a figure is written as .png, .svg, .pdf"),
    (dict(output="qe.png"), InputError, "output needs columns to plot: give x and y"),
])
def test_bad_columns_and_formats(qe_files: tuple[Path, Path], kwargs: dict[str, str],
                                 error: type[Exception], message: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error) as exc:
        api.view(qe_files[1], **kwargs)
    assert exc.value.one_line() == message.format(new=qe_files[1])  # type: ignore[attr-defined]
    assert not list(tmp_path.glob("qe.*"))


def test_other_type_and_not_fits(qe_files: tuple[Path, Path], synthetic_repo, tmp_path: Path  # type: ignore[no-untyped-def]
                                 ) -> None:
    """--vs of another type, and a file that is not FITS, are refused naming the file."""
    other = next(p for p in synthetic_repo.root.iterdir() if p.name.startswith("EPN_CTI_"))
    with pytest.raises(InputError, match=rf"vs: {re.escape(str(other))} is {other.name}, not an "
                                         "issue of EPN_QUANTUMEF"):
        api.view(qe_files[1], x="ENERGY", y="QE", vs=[other])
    text = tmp_path / "EPN_QUANTUMEF_0018.CCF"
    text.write_text("not FITS at all\n")
    with pytest.raises(FitsFormatError) as exc:
        api.view(text)
    assert exc.value.one_line() == f"{text}: not a FITS file (no SIMPLE card)"


def test_cli_view(cli, qe_files: tuple[Path, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The command: layout, a plot written, and a missing column is one line, exit 2."""
    old, new = qe_files
    layout = cli("view", str(new))
    assert layout.returncode == 0 and "[1] QUANTUM_EFFICIENCY (BINTABLE): 30 rows" in layout.stdout
    out = tmp_path / "p.pdf"
    plot = cli("view", str(new), "--x", "ENERGY", "--y", "QE", "--vs", str(old), "-o", str(out))
    assert plot.returncode == 0, plot.stderr
    assert plot.stdout == (f"Wrote {out}: QE against ENERGY [eV] for EPN_QUANTUMEF_0017.CCF, "
                           "EPN_QUANTUMEF_0016.CCF\n")
    assert out.read_bytes().startswith(b"%PDF")
    bad = cli("view", str(new), "--x", "ENERGY", "--y", "QEX", "-o", str(tmp_path / "q.png"))
    assert bad.returncode == 2
    assert bad.stderr == (f"reprocal: error: --y: no column QEX in HDU QUANTUM_EFFICIENCY of "
                          f"{new}; columns: ENERGY, QE, LABEL\n")
    assert not (tmp_path / "q.png").exists()
    missing = cli("view", "EPN_QUANTUMEF_0099.CCF", "--ccf-path", str(new.parent))
    assert missing.returncode == 2
    assert missing.stderr == ("reprocal: error: CONSTITUENT: EPN_QUANTUMEF_0099.CCF is not in "
                              "the repository --ccf-path; fetch it, or give its path\n")


def test_notebook_views(qe_files: tuple[Path, Path]) -> None:
    """A layout shows as text, a plot as its SVG; figure() is the matplotlib figure."""
    layout = api.view(qe_files[1])
    assert layout._repr_html_().startswith("<pre>") and "QUANTUM_EFFICIENCY" in layout._repr_html_()
    with pytest.raises(InputError, match="no columns were plotted"):
        layout.figure()
    plot = api.view(qe_files[1], x="ENERGY", y="QE", vs=[qe_files[0]])
    assert plot._repr_html_().startswith("<svg ") and 'id="view-series-1-0"' in plot._repr_html_()
    assert plot.figure().axes[0].get_xscale() == "log"  # an energy grid over decades
