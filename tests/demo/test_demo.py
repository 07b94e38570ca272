"""``make demo``, the README's first command, runs end to end as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_demo_runs_to_the_end(tmp_path: Path) -> None:
    """``python -m reprocal.demo`` in an empty directory (no samples beside it: the bundled ODF
    summary) exits 0 after every step, the checks meant to fail (a tampered repository, a
    tampered bundle) having failed with exit 1. The manifest v2 change broke it at the verify
    step for a while, and no test noticed."""
    done = subprocess.run([sys.executable, "-m", "reprocal.demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "Demo finished: everything above ran for real, in demo-out/."
    assert lines.count("  (exit status 1, as expected)") == 2  # tampered repository and bundle
    assert any(line.startswith("$ reprocal verify manifest.json --ccf-path ccf-tampered")
               for line in lines)
    assert (tmp_path / "demo-out" / "bundle.tar").is_file()
    # the campaign over the three sample observations, then again with nothing run twice
    assert any("3 done (3 run now, 0 done before), 0 failed, 0 pending" in line for line in lines)
    assert any("3 done (0 run now, 3 done before), 0 failed, 0 pending" in line for line in lines)
    assert (tmp_path / "demo-out" / "campaign" / "campaign.json").is_file()


def test_the_demo_shows_the_real_samples(tmp_path: Path, samples: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's steps on the real samples (found through $REPROCAL_SAMPLES or ../shared,
    where they once were looked for beside the installed package, so these steps never ran):
    the audit and diff, the ten changed types' timelines as a picture with content (bars of
    the issue used: two per type) and as text, the diff as an HTML page."""
    import numpy as np
    from matplotlib.image import imread

    from reprocal.demo import Demo
    from reprocal.demo._provenance import real_samples

    out = tmp_path / "demo-out"
    out.mkdir()
    real_samples(Demo(out), samples)
    text = capsys.readouterr().out
    for step in ("Audit a real SAS event list", "Diff it with the CIF made in 2018",
                 "See what changed", "Reverse impact"):
        assert f". {step}" in text
    assert "Wrote changes.png: 10 type(s), 20 issue(s), 2 state(s)" in text
    assert "    0032 [" in text and "<- used by A" in text
    pixels = imread(out / "changes.png")[:, :, :3]
    bar = np.all(np.abs(pixels - np.array([0, 114, 178]) / 255) < 0.02, axis=2)  # issue used
    rows = bar.any(axis=1)
    assert int(np.count_nonzero(rows[1:] & ~rows[:-1])) >= 20  # 2 per type (+ the legend's)
    page = (out / "diff.html").read_text()
    assert page.count("<svg") >= 1 and "XRT3_XAREAEF" in page


def test_the_demo_finds_the_samples_where_it_says() -> None:
    """$REPROCAL_SAMPLES, else ../shared/data/xmm-cif-samples from the current directory."""
    import os

    code = "from reprocal.demo import SHARED; print(SHARED)"
    env = dict(os.environ, REPROCAL_SAMPLES="/somewhere/samples")
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert got.stdout.strip() == "/somewhere/samples"


def test_the_demo_without_the_campaign_extra_says_how_to_get_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A plain ``pip install reprocal`` has no Dask: the demo's campaign step says so and how
    to add it, instead of failing the demo."""
    from reprocal.demo import Demo, _campaign

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    _campaign(Demo(tmp_path), tmp_path / "summary.md")
    out = capsys.readouterr().out
    assert "Campaigns (skipped)" in out and "'reprocal[campaign]'" in out
    assert not (tmp_path / "campaign").exists()
