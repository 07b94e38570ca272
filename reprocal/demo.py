"""``make demo``: reprocal end to end on a bundled sample repository.

Every step runs the real ``reprocal`` command in a subprocess and prints it first, so what you see
is what you would type. Output goes to ``demo-out/`` (recreated on each run).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "xmm-cif-samples"
REAL_OBS = SHARED / "0201901401" / "0809_0201901401_SCX00000SUM.SAS"
ANALYSIS_DATE = "2018-07-27T17:25:14"


class Demo:
    def __init__(self, out: Path):
        self.out = out
        self.env = dict(os.environ)
        self.env["REPROCAL_CATALOG"] = str(out / "catalog.sqlite")
        self.env["XDG_CACHE_HOME"] = str(out / "cache")
        self.env.pop("SAS_CCFPATH", None)
        self.step_no = 0

    def step(self, title: str, text: str = "") -> None:
        self.step_no += 1
        print(f"\n\033[1m== {self.step_no}. {title}\033[0m" if sys.stdout.isatty()
              else f"\n== {self.step_no}. {title}")
        if text:
            print(textwrap.fill(text, 100))

    def run(self, *args: str, expect: int = 0, show: int | None = 40) -> str:
        """Run ``reprocal ARGS`` in demo-out, print the command and its output."""
        shown = " ".join(shlex.quote(a) for a in args)
        print(f"$ reprocal {shown}")
        proc = subprocess.run([sys.executable, "-m", "reprocal", *args], cwd=self.out,
                              env=self.env, capture_output=True, text=True)
        text = (proc.stdout + proc.stderr).rstrip()
        lines = text.splitlines()
        if show is not None and len(lines) > show:
            lines = lines[:show] + [f"  ... ({len(lines) - show} more lines)"]
        if lines:
            print("\n".join("  " + line for line in lines))
        if proc.returncode != expect:
            print(f"demo: `reprocal {shown}` exited {proc.returncode}, expected {expect}",
                  file=sys.stderr)
            raise SystemExit(1)
        if expect:
            print(f"  (exit status {proc.returncode}, as expected)")
        return proc.stdout


def main() -> int:
    out = ROOT / "demo-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    d = Demo(out)
    from .synthetic import generate

    d.step("A sample calibration repository",
           "A seeded synthetic CCF: the 118 real calibration types, issue histories 1998-2026, "
           "validity windows tiling time with 1-second gaps, real-shaped FITS headers, sizes scaled "
           "down so the demo stays small.")
    repo = generate(out / "ccf", seed=1, scale=0.0005)
    size = sum(p.stat().st_size for p in repo.paths.values())
    print(f"  generated {len(repo.paths)} constituents ({size / 1e6:.1f} MB) in {out / 'ccf'}")

    d.step("Index it", "Only headers are read; a second run re-reads nothing unchanged.")
    d.run("index", "--ccf-path", "ccf")
    d.run("index", "--ccf-path", "ccf")

    summary = REAL_OBS if REAL_OBS.exists() else None
    if summary is None:
        from .odf import demo_summary_path

        summary = Path(str(demo_summary_path()))
    d.step("The CIF cifbuild would write",
           f"Observation date read from the ODF summary {summary.name}; analysis date pinned to "
           f"{ANALYSIS_DATE} instead of cifbuild's default 'now'.")
    d.run("cif", "--odf", str(summary), "--analysis-date", ANALYSIS_DATE, "--ccf-path", "ccf",
          "-o", "ccf.cif")
    d.run("show", "ccf.cif", show=12)

    for extra in _EXTRA_STEPS:
        extra(d, summary)

    print("\nDemo finished: everything above ran for real, in demo-out/.")
    return 0


def _pin_rebuild(d: Demo, summary: Path) -> None:
    d.step("Pin the state in a manifest",
           "Observation date, analysis date and every selected constituent's sha256; its "
           "calibration id names the state on any machine.")
    d.run("pin", "--odf", str(summary), "--analysis-date", ANALYSIS_DATE, "--ccf-path", "ccf",
          "--sas-version", "21.0.0", "-o", "manifest.json")
    d.step("Rebuild the CIF from the manifest alone", "No network, no clock; rows equal step 3's.")
    d.run("rebuild", "manifest.json", "--ccf-path", "ccf", "-o", "rebuilt")


_EXTRA_STEPS = [_pin_rebuild]

if __name__ == "__main__":
    raise SystemExit(main())
