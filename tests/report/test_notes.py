"""Release notes: ESA's URLs as package data (never fetched), the local list naming each
constituent's XMM-CCF-REL note, overrides checked, bad lists named by line."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from reprocal import api
from reprocal.errors import InputError
from reprocal.report._notes import Notes, parse_notes, places

LIST = """# release notes kept by the team
release,version,constituents,title,url
XMM-CCF-REL-312,1-4,EPN_PHA_0001.CCF,EPIC-pn rate-dependent PHA correction,
323,,EPN_CTI_0045.CCF EPN_CTI_0044.CCF,EPIC-pn CTI,
XMM-CCF-REL-330,1-0,XRT1_XAREAEF_0009.CCF,XRT1 area,https://example.org/rel-330.pdf
"""


def test_the_urls_are_package_data() -> None:
    """The index and the note pattern come from reprocal/data/release_notes.json."""
    shipped = json.loads(resources.files("reprocal").joinpath("data/release_notes.json")
                         .read_text())
    p = places({})
    assert (p.index, p.note) == (shipped["index"], shipped["note"])
    assert p.index == "https://www.cosmos.esa.int/web/xmm-newton/ccf-release-notes"
    assert p.note_url(312, "1-4") == "https://xmmweb.esac.esa.int/docs/documents/CAL-SRN-0312-1-4.pdf"
    assert p.note_url(312, None) is None  # no version: the document's name is not known


def test_links_from_a_local_list(tmp_path: Path) -> None:
    """A listed constituent links to its note's document (or the row's URL); a note without a
    version, and an unlisted constituent, link to the index and say which it is."""
    path = tmp_path / "notes.csv"
    path.write_text(LIST)
    r = api.notes(["EPN_PHA_0001.CCF", "epn_cti_0045.ccf", "XRT1_XAREAEF", "EMOS1_ADUCONV_0079.CCF"],
                  release_notes=path)
    index = "https://www.cosmos.esa.int/web/xmm-newton/ccf-release-notes"
    assert r.lines() == [
        "EPN_PHA_0001.CCF: XMM-CCF-REL-312 (EPIC-pn rate-dependent PHA correction) "
        "https://xmmweb.esac.esa.int/docs/documents/CAL-SRN-0312-1-4.pdf",
        f"EPN_CTI_0045.CCF: XMM-CCF-REL-323 (EPIC-pn CTI) {index}",
        "XRT1_XAREAEF_0009.CCF: XMM-CCF-REL-330 (XRT1 area) https://example.org/rel-330.pdf",
        f"EMOS1_ADUCONV_0079.CCF: no local release note; see ESA's index {index}",
    ]
    assert r.to_json()["source"] == str(path)


def test_without_a_list_everything_links_to_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """No list: a warning, and the index for each name."""
    with pytest.warns(UserWarning, match="no local list of release notes was given"):
        r = api.notes(["EPN_CTI_0045.CCF"])
    assert r.source is None and r.links[0].url.endswith("/ccf-release-notes")


def test_environment_overrides_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pattern may be changed, but only to an http(s) URL using {number} and {version}."""
    monkeypatch.setenv("REPROCAL_RELEASE_NOTE_URL", "https://mirror.example/{number}.pdf")
    assert places().note_url(7, None) == "https://mirror.example/7.pdf"
    for bad, says in [("javascript:alert({number})", "is not an http(s) URL"),
                      ("https://x/{number}/{user}", "is not a URL pattern with {number} and {version}"),
                      ("https://x/{number", "is not a URL pattern")]:
        monkeypatch.setenv("REPROCAL_RELEASE_NOTE_URL", bad)
        with pytest.raises(InputError, match="REPROCAL_RELEASE_NOTE_URL") as exc:
            places()
        assert says in exc.value.one_line()
    monkeypatch.setenv("REPROCAL_RELEASE_NOTE_URL", "https://ok/{number}-{version}")
    monkeypatch.setenv("REPROCAL_RELEASE_NOTES_INDEX", "data:text/html,<script>")
    with pytest.raises(InputError, match="is not an http"):
        places()


@pytest.mark.parametrize("text, message", [
    ("release,constituents\nREL-1,EPN_CTI_0001.CCF\n",
     "notes.csv: data line 1: release 'REL-1' is not XMM-CCF-REL-<number>"),
    ("release,constituents\n12,EPN_CTI.CCF\n", "notes.csv: data line 1: "),
    ("release,version,constituents\n12,v1,EPN_CTI_0001.CCF\n",
     "notes.csv: data line 1: version 'v1' is not a document version (1-4)"),
    ("release,constituents,url\n12,EPN_CTI_0001.CCF,javascript:alert(1)\n",
     "notes.csv: data line 1: url 'javascript:alert(1)' is not an http(s) URL"),
    ("name,file\nx,y\n", "notes.csv: expected a header line release,version,constituents,title"),
])
def test_bad_lists_are_named_by_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_notes(text, source="notes.csv")
    assert exc.value.one_line().startswith(message)


def test_the_last_note_naming_a_constituent_wins() -> None:
    notes = Notes(parse_notes("release,version,constituents\n1,1-0,EPN_CTI_0001.CCF\n"
                              "2,1-1,EPN_CTI_0001.CCF\n"), places({}))
    assert notes.link("EPN_CTI_0001.CCF").text == "XMM-CCF-REL-2"


def test_cli_notes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "notes.csv"
    path.write_text(LIST)
    r = cli("notes", "EPN_CTI", "--release-notes", str(path), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [n["constituent"] for n in doc["notes"]] == ["EPN_CTI_0044.CCF", "EPN_CTI_0045.CCF"]
    bad = cli("notes", "EPN_CTI", "--release-notes", str(tmp_path / "absent.csv"))
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith(f"reprocal: error: {tmp_path / 'absent.csv'}: cannot read")
