"""What no pin needs (reprocal.fetch._unused): listed by the walker's rule, nothing deleted."""

from __future__ import annotations

import os
from pathlib import Path

from support.servers import make_files, write_manifest

from reprocal.fetch._unused import unused_files
from reprocal.state._manifest import load_manifest


def test_unused_follows_the_name_rule(tmp_path: Path) -> None:
    """A pinned file stored in lower case is used; an unpinned one in lower case is unused;
    hidden files, a case the glob misses and other names are not constituents, so not listed.
    Sizes add up; nothing is removed."""
    repo = tmp_path / "ccf"
    items = make_files(repo, 4)
    manifest = load_manifest(write_manifest(tmp_path / "m.json", items[:2]))
    os.replace(repo / items[0].filename, repo / items[0].filename.lower())
    os.replace(repo / items[2].filename, repo / items[2].filename.lower())
    os.replace(repo / items[3].filename, repo / (items[3].filename[:-4] + ".Ccf"))
    (repo / f".{items[1].filename}.part").write_bytes(b"x")
    (repo / "notes.txt").write_text("notes")
    before = sorted(os.listdir(repo))
    report = unused_files([manifest], repo)
    assert [f.path for f in report.files] == [repo / items[2].filename.lower()]
    assert (report.manifests, report.bytes) == (1, items[2].size)
    assert {f.name for f in unused_files([], [repo]).files} == {i.filename for i in items[:3]}
    assert sorted(os.listdir(repo)) == before
