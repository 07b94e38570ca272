"""``api.bundle``, ``api.bundle_verify`` and ``api.run``."""

from __future__ import annotations

import sys
from pathlib import Path

from reprocal import api


def test_bundle_then_a_tampered_copy(synthetic_repo, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A bundle verifies; one changed byte is a problem, reported with the CheckFailed the CLI
    exits 1 with."""
    monkeypatch.chdir(tmp_path)
    api.pin(obs_date="2010-01-01", analysis_date="2015-01-01", ccf_path=synthetic_repo.root,
            output="m.json")
    b = api.bundle("m.json", output="b", date="2020-01-01", license="CC-BY-4.0", authors=["Jane Doe"], publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>")
    assert b.bundle.tarball == Path("b.tar") and b.to_json()["tarball"] == "b.tar"
    assert api.bundle_verify("b.tar").ok
    with open(tmp_path / "b" / "manifest.json", "ab") as fh:
        fh.write(b" ")
    bad = api.bundle_verify(tmp_path / "b")
    assert not bad.ok and bad.failure is not None and bad.failure.exit_code == 1
    assert bad.published_under is None


def test_run_returns_the_exit_status(tmp_path: Path) -> None:
    """A failing command is a result (its status), with its record written."""
    r = api.run([sys.executable, "-c", "raise SystemExit(7)"], cwd=tmp_path,
                record=tmp_path / "r.json")
    assert r.exit_status == 7 and r.to_json()["exit_status"] == 7
    assert r.run.record_path == tmp_path / "r.json" and r.run.record_path.is_file()
