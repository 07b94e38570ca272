"""verify over a generated repository of the real calibration types (many HDUs per file)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from reprocal.fs._hashing import hash_files
from reprocal.repo._repocheck import verify_repository
from reprocal.repo._verify import Expected, verify_files
from reprocal.repo._verifycache import RACY_NS, VerifyCache
from reprocal.testing._synthetic import corrupt, truncate


@pytest.fixture
def repo(synthetic_repo, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of the session's synthetic repository (tampering allowed)."""
    root = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    time.sleep(2 * RACY_NS / 1e9)  # past the copies' ctime tick, as for any real repository
    return root


def test_every_generated_file_passes_the_raw_byte_walk(repo: Path) -> None:
    """Files written by astropy with CHECKSUM/DATASUM on every HDU all pass, headers agree."""
    report = verify_repository(repo)
    assert report.ok, report.problems()[:3]
    assert report.counts()["ok"] == len(list(repo.iterdir()))


def test_synthetic_tampering_at_full(repo: Path, tmp_path: Path) -> None:
    """synthetic.corrupt (one data byte) and synthetic.truncate are caught; the rest is ok,
    and a second full verify reads every file again (all but the truncated one, which its size
    decides)."""
    paths = sorted(repo.iterdir())
    digests = hash_files(paths)
    pinned = [Expected(p.name, p.stat().st_size, str(digests[str(p)])) for p in paths]
    with VerifyCache(tmp_path / "v.sqlite") as cache:
        assert verify_files(pinned, repo, level="full", cache=cache).ok
        corrupt(paths[0])
        truncate(paths[1], paths[1].stat().st_size - 2880)
        report = verify_files(pinned, repo, level="full", cache=cache)
    counts = report.counts()
    assert (counts["corrupt"], counts["wrong-size"], counts["ok"]) == (1, 1, len(paths) - 2)
    assert report.result(paths[0].name).detail.startswith("FITS checksum failed: HDU ")
    assert report.hashed == len(paths) - 1  # the truncated one is decided by its size


def test_pin_then_verify_through_the_cli(cli, repo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The real commands end to end: pin, verify full (exit 0), corrupt a pinned file,
    verify stat says modified and full says corrupt (exit 1)."""
    manifest = tmp_path / "m.json"
    r = cli("pin", "--obs-date", "2010-06-01", "--analysis-date", "2015-01-01", "--ccf-path",
            str(repo), "--allow-incomplete", "-o", str(manifest))
    assert r.returncode == 0, r.stderr
    r = cli("verify", str(manifest), "--ccf-path", str(repo), "--level", "full", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["counts"]["ok"] == len(doc["results"]) > 10
    victim = doc["results"][0]["file"]
    corrupt(repo / victim)
    r = cli("verify", str(manifest), "--ccf-path", str(repo), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["results"][0]["status"] == "modified"
    r = cli("verify", str(manifest), "--ccf-path", str(repo), "--level", "full", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["results"][0]["status"] == "corrupt"
