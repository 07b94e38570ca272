"""``api.pin``, ``api.rebuild``, ``api.upgrade_manifest``: values in, the manifest and its
record out."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from support.progress import RecordingProgress

from reprocal import api
from reprocal.provenance._record import load_record
from reprocal.state._manifest import V1ManifestNotice, load_manifest

OBS, AN = "2010-01-01", "2020-01-01T00:00:00"
V1 = Path(__file__).resolve().parents[1] / "state" / "data" / "v1-manifest.json"


def test_pin_returns_the_manifest_and_records_the_call(synthetic_repo, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch) -> None:
    """The result holds the manifest written; the record names the API call as its command
    (the CLI gives its own command line instead)."""
    monkeypatch.chdir(tmp_path)
    r = api.pin(obs_date=api.CalDate.parse(OBS), analysis_date=AN, ccf_path=synthetic_repo.root,
                output=Path("m.json"))
    assert load_manifest("m.json") == r.manifest
    assert r.record == tmp_path / "m.json.prov.json"
    assert load_record(r.record).command == ("reprocal.api.pin",)
    assert str(r.manifest.observations[0].analysis_date) == AN


def test_pin_progress_indexes_then_hashes(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One display for the whole pin: start(None) for the walk, start(files) for the hashing."""
    progress = RecordingProgress()
    r = api.pin(obs_date=OBS, analysis_date=AN, ccf_path=synthetic_repo.root,
                catalog=tmp_path / "c.sqlite", output=tmp_path / "m.json", progress=progress)
    assert progress.starts == [(None, None), (len(r.manifest.files), None)]
    assert progress.done == 150 + len(r.manifest.files)


def test_rebuild_takes_a_manifest_object(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A manifest may be given as the object itself; the CIFs are the ones its file gives."""
    pinned = api.pin(obs_date=OBS, analysis_date=AN, ccf_path=synthetic_repo.root,
                     obs_id="o1", output=tmp_path / "m.json")
    a = api.rebuild(pinned.manifest, ccf_path=synthetic_repo.root, output=tmp_path / "a")
    b = api.rebuild(tmp_path / "m.json", ccf_path=synthetic_repo.root, output=tmp_path / "b")
    assert [c.label for c in a.cifs] == ["o1"]
    assert (a.cifs[0].path.read_bytes() == b.cifs[0].path.read_bytes())
    assert a.to_json()["calibration_id"] == b.to_json()["calibration_id"]


def test_upgrade_keeps_the_old_id(tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The version-1 manifest is read without a notice; the result has both."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", V1ManifestNotice)
        r = api.upgrade_manifest(V1, output=tmp_path / "new.json")
    assert r.old.source_schema == "reprocal.manifest/v1"
    assert r.new.upgraded_from == json.loads(V1.read_text())["calibration_id"]
    assert load_manifest(tmp_path / "new.json").calibration_id == r.new.calibration_id
