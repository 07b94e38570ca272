"""``api.fetch`` (and its dry run and script) and ``api.unused``, against loopback mirrors."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.progress import RecordingProgress
from support.servers import Fault, MirrorServer, make_files, write_manifest

from reprocal import api
from reprocal.errors import CheckFailed, ReprocalWarning
from reprocal.state._manifest import load_manifest

pytestmark = pytest.mark.network


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, list, Path]:  # type: ignore[type-arg]
    items = make_files(tmp_path / "mirror", 6)
    return tmp_path / "mirror", items, write_manifest(tmp_path / "m.json", items)


def test_fetch_into_a_new_directory(state, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The destination is created (a warning says so); bytes are reported to the progress."""
    mirror, items, manifest = state
    progress = RecordingProgress()
    with MirrorServer(mirror) as server, \
            pytest.warns(ReprocalWarning, match=f"creating repository directory {tmp_path / 'new'}"):
        r = api.fetch(manifest, ccf_path=tmp_path / "new", mirrors=[server.url],
                      progress=progress)
    assert r.ok and r.report.count("fetched") == 6 and r.unpinned == 0
    assert progress.starts == [(sum(i.size for i in items), 6)]
    assert sorted(progress.finished_items) == sorted(i.filename for i in items)


def test_a_failed_fetch_is_reported(state, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file no mirror has: the result says which, with each attempt; raise_if_failed()
    raises the CheckFailed the CLI exits 1 with."""
    mirror, items, manifest = state
    (tmp_path / "repo").mkdir()
    with MirrorServer(mirror) as server:
        server.faults = {items[0].filename: Fault("404")}
        r = api.fetch(manifest, ccf_path=tmp_path / "repo", mirrors=[server.url], retries=0)
    assert not r.ok and [x.filename for x in r.report.failed] == [items[0].filename]
    with pytest.raises(CheckFailed, match=r"1 of 6 files could not be fetched"):
        r.raise_if_failed()


def test_plan_and_script_touch_nothing(state, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The dry run plans every file into a directory that does not exist yet (and leaves it
    so); the script needs no repository at all."""
    mirror, items, manifest = state
    p = api.fetch_plan(manifest, ccf_path=tmp_path / "later", mirrors=[str(mirror)])
    assert [x.entry.item.filename for x in p.planned] == sorted(i.filename for i in items)
    assert p.bytes == sum(i.size for i in items) and not (tmp_path / "later").exists()
    s = api.fetch_script(load_manifest(manifest), mirrors=[str(mirror)],
                         output=tmp_path / "get.sh")
    assert s.files == 6 and s.path == tmp_path / "get.sh" and s.path.read_text().startswith("#!")


def test_unused_takes_manifest_objects(state, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Manifests as objects are named by their state id in the result."""
    mirror, items, manifest = state
    (mirror / "EPN_OLD_0001.CCF").write_bytes(b"x")
    m = load_manifest(manifest)
    r = api.unused([m], ccf_path=mirror)
    assert r.files == (mirror / "EPN_OLD_0001.CCF",) and r.bytes == 1
    assert r.to_json()["manifests"] == [m.calibration_id]
