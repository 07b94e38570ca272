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
