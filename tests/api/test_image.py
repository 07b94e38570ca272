"""``api.image_build`` and ``api.image_verify``: an image and its record; failed checks
reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.imagekit import make_state

from reprocal import api
from reprocal.errors import CheckFailed
from reprocal.image._archive import read_image_tar
from reprocal.provenance._record import load_record


def test_build_records_and_verify_reports(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A manifest object builds the same image as its file; the record names the call; a
    corrupted blob is a failed check, reported."""
    monkeypatch.chdir(tmp_path)
    manifest, repo = make_state(tmp_path / "repo")
    a = api.image_build(manifest, ccf_path=repo, output="a.tar")
    assert load_record(a.record).command == ("reprocal.api.image_build",)
    assert [d.role for d in load_record(a.record).dependencies].count("manifest") == 0
    ok = api.image_verify("a.tar")
    assert ok.ok and ok.report.calibration_id == manifest.calibration_id
    img = read_image_tar(tmp_path / "a.tar")
    with open(tmp_path / "a.tar", "r+b") as fh:
        fh.seek(img.members[img.config_path].offset + 2)
        fh.write(b"#")
    bad = api.image_verify(tmp_path / "a.tar")
    assert not bad.ok and bad.to_json()["ok"] is False
    with pytest.raises(CheckFailed, match="check\\(s\\) failed"):
        bad.raise_if_failed()


def test_bad_tag_before_anything_is_read(tmp_path: Path) -> None:
    """The tag is checked first: no manifest is read, nothing is written."""
    with pytest.raises(Exception, match="tag: 'ccf' is not NAME:TAG"):
        api.image_build(tmp_path / "none.json", output=tmp_path / "i.tar", tag="ccf")
    assert not (tmp_path / "i.tar").exists()
