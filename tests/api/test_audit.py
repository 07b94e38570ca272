"""``api.audit``, ``api.audit_pin``, ``api.audit_uses`` and ``api.diff``."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprocal import api
from reprocal.core._dates import CalDate
from reprocal.errors import InputError, ReprocalWarning
from reprocal.state._manifest import build, load_manifest, save_manifest
from reprocal.testing._synthetic import generate

OBS, AN = "2010-01-01", "2015-01-01"


@pytest.fixture
def pinned(synthetic_repo, tmp_path: Path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    api.pin(obs_date=OBS, analysis_date=AN, obs_id="o1", ccf_path=synthetic_repo.root,
            output="m.json")
    return "m.json"


def test_audit_without_a_repository_warns(pinned: str) -> None:
    """Local availability is then not checked: a warning naming ``ccf_path``."""
    with pytest.warns(ReprocalWarning, match="no ccf_path or SAS_CCFPATH: local availability"):
        r = api.audit([pinned], today="2026-01-01")
    assert not r.local_checked and r.today == CalDate.parse("2026-01-01")
    assert [e.product.kind for e in r.entries] == ["manifest"]


def test_audit_pin_reproduces_the_state(synthetic_repo, pinned: str) -> None:  # type: ignore[no-untyped-def]
    """The manifest written for a manifest's state has the same ids."""
    r = api.audit_pin(pinned, output="again.json", ccf_path=synthetic_repo.root,
                      today="2026-01-01")
    original = load_manifest(pinned)
    assert r.manifest.calibration_id == original.calibration_id
    assert r.carried == str(original.observation_ids[0])


def test_audit_pin_needs_one_state(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A manifest of two observations holds two states: nothing to pin from it as a whole."""
    monkeypatch.chdir(tmp_path)
    repo = generate(tmp_path / "ccf", seed=0, scale=1e-4, files=20)
    chosen = repo.selected(OBS, AN).chosen
    m = build([(n, CalDate.parse(OBS), CalDate.parse(AN), "XMMCCF", chosen) for n in ("a", "b")],
              {c.filename: (repo.paths[c.filename].stat().st_size, "0" * 64) for c in chosen})
    save_manifest(m, tmp_path / "two.json")
    with pytest.raises(InputError, match="two.json holds 2 calibration states; only a product "
                                         "of one state can be pinned"):
        api.audit_pin("two.json", output="x.json", ccf_path=repo.root)


def test_uses_and_diff(synthetic_repo, pinned: str) -> None:  # type: ignore[no-untyped-def]
    """Reverse impact finds the manifest and its pin's record; a manifest against its own
    dates (selected over the catalogue) differs in nothing."""
    r = api.audit_uses("epn_cti", ["."])
    assert {(Path(u.path).name, u.kind) for u in r.report.uses} == {
        ("m.json", "manifest"), ("m.json.prov.json", "record")}
    d = api.diff(pinned, f"obs={OBS},an={AN}", ccf_path=synthetic_repo.root)
    assert d.to_json()["counts"] == {"changed": 0, "added": 0, "removed": 0}
    assert d.lines()
