"""Extra calibration sets read from the synthetic caldb and response trees: what a source pins,
the id it gets, what a manifest keeps of it, and what a manifest may not hold."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import pytest

from reprocal.core._dates import CalDate
from reprocal.errors import InputError, ManifestError
from reprocal.state._extras import install, scan, source_of, split_option
from reprocal.state._manifest import (
    ExtraFile,
    ExtraSet,
    ResponseChoice,
    build,
    check_extras,
    load_manifest,
    save_manifest,
    with_extras,
)
from reprocal.testing import caldb_tarball, write_caldb, write_responses
from reprocal.testing._extras import CALDB_FILES, CALDB_TOP

OBS = [("0201901401", CalDate.parse("2004-05-09T13:00:16"), CalDate.parse("2018-07-27"),
        "XMMCCF", [])]


def _set(path: Path, kind: str = "esas-caldb", label: str | None = None) -> ExtraSet:
    return scan(source_of(path, kind=kind, label=label, field="--test")).set


def test_a_tarball_and_the_tree_it_unpacks_to_are_the_same_set(tmp_path: Path) -> None:
    """The id is over the files (paths, sizes, sha256); the tarball is provenance only."""
    tb = _set(caldb_tarball(tmp_path / "esas_caldb.tar.gz"))
    tree = _set(write_caldb(tmp_path / "tree", top=CALDB_TOP).parent)
    assert [f.path for f in tb.files] == [f"{CALDB_TOP}/{n}" for n in CALDB_FILES]
    assert tb.files == tree.files and tb.id == tree.id
    assert tb.tarball is not None and tb.tarball.path == "esas_caldb.tar.gz"
    assert tree.tarball is None
    assert tb.root == tree.root == CALDB_TOP  # what ESAS_CALDB points at


def test_a_changed_caldb_file_changes_the_set_and_state_ids(tmp_path: Path) -> None:
    one = _set(caldb_tarball(tmp_path / "a" / "esas_caldb.tar.gz"))
    two = _set(caldb_tarball(tmp_path / "b" / "esas_caldb.tar.gz", changed=["pn-fwc.fits.gz"]))
    assert one.id != two.id
    changed = [f.path for f, g in zip(one.files, two.files, strict=True) if f != g]
    assert changed == [f"{CALDB_TOP}/pn-fwc.fits.gz"]
    m1, m2 = build(OBS, {}, extras=[one]), build(OBS, {}, extras=[two])
    assert m1.observation_ids == m2.observation_ids
    assert m1.calibration_id != m2.calibration_id
    # the same bytes again: the same id, whatever the label or where it came from
    again = attrs.evolve(one, label="caldb", url="https://heasarc.example/esas.tgz",
                         tarball=None)
    assert build(OBS, {}, extras=[again]).calibration_id == m1.calibration_id


def test_responses_with_version_txt_pin_every_file(tmp_path: Path) -> None:
    written = write_responses(tmp_path / "responses", mos_epochs=2)
    x = _set(tmp_path / "responses", kind="canned-response")
    assert x.label == "responses" and x.kind == "canned-response"
    assert sorted(f.path for f in x.files) == sorted(written)
    assert "Version.txt" in {f.path for f in x.files}
    assert x.root == ""


def test_hidden_names_of_a_directory_are_skipped_and_said(tmp_path: Path) -> None:
    src = write_caldb(tmp_path / "caldb")
    (src / ".DS_Store").write_bytes(b"junk")
    got = scan(source_of(src, kind="other", label="mine", field="--extra"))
    assert got.skipped == (".DS_Store",)
    assert ".DS_Store" not in {f.path for f in got.set.files}


def test_install_puts_the_set_in_its_home_and_leaves_right_files_alone(tmp_path: Path) -> None:
    tb = caldb_tarball(tmp_path / "esas_caldb.tar.gz")
    scanned = scan(source_of(tb, kind="esas-caldb", label=None, field="--esas-caldb"))
    repo = tmp_path / "repo"
    repo.mkdir()
    home = repo / "extras" / "esas-caldb"
    done = install(scanned, home)
    assert len(done) == len(CALDB_FILES) + 1  # the files and the tarball kept beside them
    assert (repo / "extras" / "esas_caldb.tar.gz").read_bytes() == tb.read_bytes()
    for f in scanned.set.files:
        assert (home / f.path).stat().st_size == f.size
    assert install(scanned, home) == []  # everything right already: nothing written
    (home / scanned.set.files[0].path).write_bytes(b"damaged")
    assert [p for p, _ in install(scanned, home)] == [home / scanned.set.files[0].path]


def test_the_manifest_keeps_sets_tarballs_and_choices_byte_for_byte(tmp_path: Path) -> None:
    caldb = _set(caldb_tarball(tmp_path / "esas_caldb.tar.gz"))
    write_responses(tmp_path / "responses", mos_epochs=1)
    resp = _set(tmp_path / "responses", kind="canned-response")
    choice = ResponseChoice("PN/epn_e1_ff20_sY9.rmf", ("0201901401",), "pn", "ff20", "s", "Y9",
                            "e1", CalDate.parse("2000-02-01"), CalDate.parse("2007-01-01"),
                            "ESA canned-response slides")
    resp = attrs.evolve(resp, choices=(choice,))
    m = with_extras(build(OBS, {}), [caldb, resp])
    p = save_manifest(m, tmp_path / "m.json")
    again = load_manifest(p)
    assert again == m and again.dumps() == p.read_bytes()
    assert again.caldb == caldb and again.extra("responses").choices == (choice,)
    # choices are provenance: not in the id
    assert attrs.evolve(resp, choices=()).id == resp.id


@pytest.mark.parametrize(("sets", "says"), [
    ([ExtraSet("a", "esas-caldb", (ExtraFile("x", 1, "ab" * 32),)),
      ExtraSet("b", "esas-caldb", (ExtraFile("x", 1, "ab" * 32),))], "ESAS_CALDB names one"),
    ([ExtraSet("a", "other", (ExtraFile("x", 1, "ab" * 32), ExtraFile("x/y", 1, "ab" * 32)))],
     "both a file and a directory"),
    ([ExtraSet("a", "other", (ExtraFile("d/.part", 1, "ab" * 32),))], "hidden part"),
    ([ExtraSet("a", "nonsense", (ExtraFile("x", 1, "ab" * 32),))], "is not one of"),
    ([ExtraSet("a", "other", (ExtraFile("x", 1, "ab" * 32),), tarball=ExtraFile(
        "../t.tgz", 1, "ab" * 32))], "tarball.name"),
    ([ExtraSet("a", "other", (ExtraFile("x", 1, "ab" * 32),), choices=(ResponseChoice(
        "x", (), "pn", "ff", "s", "Y9", "e1", CalDate.parse("2000-02-01"), None, "s"),))],
     "only canned-response sets"),
])
def test_what_a_manifest_may_not_hold(sets, says) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ManifestError, match=says):
        check_extras(sets, [])


def test_a_label_that_is_no_label_is_refused(tmp_path: Path) -> None:
    assert split_option("caldb=/data/esas", field="--extra") == ("caldb", "/data/esas")
    assert split_option("/a=b/c", field="--extra") == (None, "/a=b/c")
    with pytest.raises(InputError, match="--extra"):
        split_option("", field="--extra")
    odd = tmp_path / "has space"
    shutil.copytree(write_caldb(tmp_path / "c"), odd)
    with pytest.raises(InputError, match="cannot be a set's label"):
        source_of(odd, kind="other", label=None, field="--extra")
