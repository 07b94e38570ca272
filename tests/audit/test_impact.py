"""Reverse impact: which files under a tree used a constituent."""

from __future__ import annotations

from pathlib import Path

from reprocal.audit._impact import find_uses, parse_target
from reprocal.core._dates import CalDate
from reprocal.state._manifest import build, save_manifest
from reprocal.testing._synthetic import generate


def test_a_manifest_of_many_constituents_is_found(tmp_path: Path) -> None:
    """A version-2 manifest names its schema after its constituents (sorted keys), past the
    first 4 KiB once it pins more than a few files: it is still recognised (it was skipped)."""
    repo = generate(tmp_path / "ccf", seed=0, scale=1e-4, files=150)
    chosen = repo.selected("2010-01-01", "2015-01-01").chosen
    m = build([("o1", CalDate.parse("2010-01-01"), CalDate.parse("2015-01-01"), "XMMCCF", chosen)],
              {c.filename: (repo.paths[c.filename].stat().st_size, "0" * 64) for c in chosen})
    (tmp_path / "out").mkdir()
    path = save_manifest(m, tmp_path / "out" / "m.json")
    assert path.read_text().index('"schema"') > 4096
    (tmp_path / "out" / "other.json").write_text('{"schema": "something else"}')
    (tmp_path / "out" / "broken.json").write_text("{not json")
    name = chosen[0].filename
    report = find_uses(parse_target(name), [tmp_path / "out"])
    assert [(Path(u.path).name, u.kind, u.constituent, u.detail) for u in report.uses] == [
        ("m.json", "manifest", name, "observations o1")]
    assert report.problems == ()
