"""A sentence for the paper: the methods paragraph (SAS version, calibration id, analysis
dates, constituents, extra sets, reprocal's version, how to reproduce) and, with a DOI, a
BibTeX entry; in the bundle's README, report and crate too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reprocal import api
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError
from reprocal.report._cite import bib_escape, citation, parse_doi
from reprocal.state._manifest import Generator, Manifest, build, save_manifest

ROWS = [Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05", fsize=2880),
        Constituent(ConstituentName("XRT3", "XAREAEF", 12), valdate="2000-01-01",
                    subdate="2014-09-20T06:00:05", fsize=5760)]
HASHES = {ROWS[0].filename: (2880, "a" * 64), ROWS[1].filename: (5760, "b" * 64)}


def _manifest(n: int = 1, sas: str | None = "21.0.0", pinned_by: str = "9.9") -> Manifest:
    obs = [(f"02019035{i:02d}", CalDate.parse(f"200{4 + i}-06-17T10:38:28"),
            CalDate.parse("2018-07-27T17:50:42"), "XMMCCF", ROWS) for i in range(n)]
    return build(obs, HASHES, sas_version=sas, generator=Generator("reprocal", pinned_by, "pin"))


def test_paragraph_says_everything_needed() -> None:
    m = _manifest()
    c = citation(m, version="9.9")
    assert c.paragraph == (
        "The XMM-Newton data were calibrated with the Current Calibration Files (CCF) that the "
        "selection rule of the SAS task cifbuild gives for observation 0201903500 (observation "
        "date 2004-06-17T10:38:28 UTC) at the analysis date 2018-07-27T17:50:42 UTC, using SAS "
        f"21.0.0: 2 CCF constituents, calibration state {m.calibration_id}. The state was pinned "
        "with reprocal 9.9 (every constituent by its SHA-256 digest, in manifest.json) and can be "
        "reproduced offline by running reprocal fetch and then reprocal rebuild on manifest.json.")
    assert c.bibtex is None and c.notes == ()


def test_several_observations_and_no_sas_version() -> None:
    c = citation(_manifest(3, sas=None), version="9.9")
    assert "for 3 observations (0201903500, 0201903501, 0201903502), with observation dates " \
           "from 2004-06-17T10:38:28 to 2006-06-17T10:38:28 UTC" in c.paragraph
    assert "using SAS" not in c.paragraph
    assert c.notes == ("the manifest records no SAS version, so the paragraph names none: give "
                       "the SAS version you used, or pin with it",)


def test_bibtex_with_a_doi_is_escaped() -> None:
    from reprocal.report._cite import Credits

    m = _manifest()
    c = citation(m, version="9.9", doi="10.5281/zenodo.123",
                 credits=Credits(("Jane Doe", "Team {X} & Co"), "ESA_ESAC", "2018-07-27",
                                 "Calibration 50% {done}"))
    assert c.bibtex is not None
    key = "rpcal_" + m.calibration_id.rsplit(":", 1)[-1][:12]
    assert c.bibtex.splitlines() == [
        f"@misc{{{key},",
        r"  author    = {Doe, Jane and Co, Team \{X\} \&},",
        r"  title     = {{Calibration 50\% \{done\}}},",
        "  year      = {2018},",
        r"  publisher = {ESA\_ESAC},",
        "  doi       = {10.5281/zenodo.123},",
        "  url       = {https://doi.org/10.5281/zenodo.123},",
        rf"  note      = {{XMM-Newton CCF calibration state {m.calibration_id}, 2 constituents; pinned with reprocal 9.9}}",
        "}"]
    assert c.paragraph.endswith("; it is archived at https://doi.org/10.5281/zenodo.123.")
    assert bib_escape("a}b") == r"a\}b"


@pytest.mark.parametrize("text, doi", [("10.5281/zenodo.123", "10.5281/zenodo.123"),
                                       ("https://doi.org/10.5281/zenodo.9", "10.5281/zenodo.9"),
                                       ("doi:10.1000/xyz(1)", "10.1000/xyz(1)")])
def test_dois(text: str, doi: str) -> None:
    assert parse_doi(text) == doi


@pytest.mark.parametrize("text", ["zenodo.123", "10.12/x", "10.5281/a b", "10.5281/}x"])
def test_bad_dois(text: str) -> None:
    with pytest.raises(InputError, match="is not a DOI"):
        parse_doi(text)


def test_bundle_with_a_doi_cites_itself(tmp_path: Path) -> None:
    """A bundle written with --doi: README and report.html hold the paragraph and BibTeX, the
    crate's cite-as is the DOI, and `cite BUNDLE` reads them back."""
    path = save_manifest(_manifest(), tmp_path / "m.json")
    b = api.bundle(path, output=tmp_path / "b", license="CC-BY-4.0", authors=["Jane Doe"],
                   publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>",
                   doi="https://doi.org/10.5281/zenodo.4242").bundle
    readme = (b.directory / "README.md").read_text()
    assert "## Cite" in readme and "```bibtex" in readme and "doi       = {10.5281/zenodo.4242}" in readme
    crate = json.loads((b.directory / "ro-crate-metadata.json").read_text())
    root = next(e for e in crate["@graph"] if e["@id"] == "./")
    assert root["cite-as"] == "https://doi.org/10.5281/zenodo.4242"
    report = (b.directory / "report.html").read_text()
    assert "10.5281/zenodo.4242" in report and "@misc{rpcal_" in report
    r = api.cite(b.directory)
    assert r.citation.doi == "10.5281/zenodo.4242"
    assert r.citation.bibtex is not None and "author    = {Doe, Jane}" in r.citation.bibtex
    assert api.bundle_verify(b.directory).ok


def test_cli_cite(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = save_manifest(_manifest(sas=None), tmp_path / "m.json")
    r = cli("cite", str(path), "--doi", "10.5281/zenodo.7", "--sas-version", "21.0.0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("The XMM-Newton data were calibrated")
    assert "using SAS 21.0.0" in r.stdout and re.search(r"^@misc\{rpcal_[0-9a-f]{12},$",
                                                        r.stdout, re.M)
    plain = cli("cite", str(path))
    assert plain.stderr == ("reprocal: warning: the manifest records no SAS version, so the "
                            "paragraph names none: give the SAS version you used, or pin with "
                            "it\n")
    assert "pinned with reprocal 9.9 " in plain.stdout and "@misc" not in plain.stdout
    bad = cli("cite", str(path), "--doi", "nope")
    assert bad.returncode == 2 and bad.stderr == "reprocal: error: --doi: 'nope' is not a DOI (10.<registrant>/<suffix>)\n"


def test_paragraph_names_the_version_that_pinned_not_the_one_citing() -> None:
    """A manifest pinned by reprocal 0.1.3 and cited by a later reprocal says 0.1.3; one that
    records no version names none, and says so."""
    c = citation(_manifest(pinned_by="0.1.3"), version="9.9", doi="10.5281/zenodo.1")
    assert "pinned with reprocal 0.1.3 (every constituent" in c.paragraph
    assert "9.9" not in c.paragraph and c.bibtex is not None and "pinned with reprocal 0.1.3}" in c.bibtex
    none = citation(_manifest(pinned_by=""), version="9.9")
    assert "pinned with" not in none.paragraph
    assert "Every constituent is recorded by its SHA-256 digest in manifest.json and can be " \
           "reproduced offline" in none.paragraph
    assert none.notes == ("the manifest records no tool version, so the paragraph names none "
                          "(cited with reprocal 9.9)",)


def test_cli_cite_reads_a_bundle_tar(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The bundle as it travels (its tar, plain or gzip): the same paragraph and BibTeX as its
    directory, read without unpacking; a cut tar, or one without a manifest, is one line."""
    import gzip
    import tarfile

    path = save_manifest(_manifest(), tmp_path / "m.json")
    b = api.bundle(path, output=tmp_path / "b", license="CC-BY-4.0", authors=["Jane Doe"],
                   publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>",
                   doi="10.5281/zenodo.4242").bundle
    assert b.tarball is not None
    from_dir = cli("cite", str(b.directory))
    from_tar = cli("cite", str(b.tarball))
    assert from_tar.returncode == 0, from_tar.stderr
    assert from_tar.stdout == from_dir.stdout and "doi       = {10.5281/zenodo.4242}" in from_tar.stdout
    gz = tmp_path / "bundle.tar.gz"
    gz.write_bytes(gzip.compress(b.tarball.read_bytes()))
    assert cli("cite", str(gz)).stdout == from_dir.stdout
    cut = tmp_path / "cut.tar"
    cut.write_bytes(b.tarball.read_bytes()[:1536])
    r = cli("cite", str(cut))
    assert r.returncode == 2 and r.stderr.startswith(f"reprocal: error: {cut}: not a readable tar")
    bare = tmp_path / "bare.tar"
    with tarfile.open(bare, "w") as tar:
        tar.add(b.directory / "README.md", arcname="b/README.md")
    r = cli("cite", str(bare))
    assert r.returncode == 2 and r.stderr == (f"reprocal: error: {bare}: a bundle tar that holds "
                                              "no manifest.json; give a manifest or a whole "
                                              "bundle\n")
