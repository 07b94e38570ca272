"""Campaigns on a Dask LocalCluster against `xargs -P` over the same command; two workers vs one.

Three rows for N trivial tasks (`true`, two workers, ``REPROCAL_BENCH_CAMPAIGN_TASKS``, default
2000): the campaign against `xargs -P 2` running `true` bare (what a shell loop costs, and none
of what a campaign records), and against `xargs -P 2` running `reprocal run --manifest M --obs ID
-- true` per observation (the same per-observation promise from a shell loop: CIF, record, stamps;
timed on a twentieth of the observations and scaled, as it costs a Python start-up each). Then
M tasks of 0.5 s (``REPROCAL_BENCH_CAMPAIGN_SLEEPS``, default 120) on two workers against one.
(Sized so that the whole of ``make bench`` stays within 15 minutes on the 2-core machine.)
The manifest is pinned over a small synthetic repository of its own (the calibration is not
what is measured).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TASKS = int(os.environ.get("REPROCAL_BENCH_CAMPAIGN_TASKS", "2000"))
SLEEPS = int(os.environ.get("REPROCAL_BENCH_CAMPAIGN_SLEEPS", "120"))


def _world(work: Path, n: int) -> tuple[Path, Path]:
    """A repository and the manifest of ``n`` observations pinned over it."""
    from reprocal import api
    from reprocal.testing._synthetic import generate

    ccf = work / "ccf"
    generate(ccf, seed=11, scale=1e-4, files=150)
    rows = ["obs_id,obs_date,analysis_date"] + [
        f"{9000000000 + i},{2001 + i % 20}-0{1 + i % 9}-1{i % 10}T00:00:00,2024-01-01T00:00:00"
        for i in range(n)]
    (work / "obs.csv").write_text("\n".join(rows) + "\n")
    api.pin(obs_list=work / "obs.csv", ccf_path=ccf, catalog=work / "catalog.sqlite",
            output=work / "manifest.json")
    return ccf, work / "manifest.json"


def _campaign(manifest: Path, ccf: Path, out: Path, command: list[str], jobs: int,
              obs_list: Path | None = None) -> float:
    from reprocal import api

    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    r = api.campaign_run(manifest, command, output=out, ccf_path=ccf, jobs=jobs,
                         obs_list=obs_list)
    elapsed = time.perf_counter() - t
    if not r.ok:
        raise RuntimeError(f"campaign failed: {r.status.counts}")
    return elapsed


def _xargs(labels: list[str], command: list[str], jobs: int) -> float:
    t = time.perf_counter()
    subprocess.run(["xargs", "-P", str(jobs), "-I", "{}", *command], input="\n".join(labels),
                   text=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _subset(work: Path, labels: list[str]) -> Path:
    path = work / f"subset-{len(labels)}.csv"
    path.write_text("obs_id\n" + "\n".join(labels) + "\n")
    return path


def run(ctx):  # type: ignore[no-untyped-def]
    from reprocal.state._manifest import load_manifest

    work = ctx.work / "campaign"
    work.mkdir(parents=True, exist_ok=True)
    n = max(TASKS, SLEEPS)
    ccf, manifest = _world(work, n)
    labels = load_manifest(manifest).labels()
    trivial = _campaign(manifest, ccf, work / "out", ["true", "{obs_id}"], 2,
                        _subset(work, labels[:TASKS]))
    bare = _xargs(labels[:TASKS], ["true", "{}"], 2)
    sample = labels[: max(2, TASKS // 20)]
    one_by_one = _xargs(sample, [sys.executable, "-m", "reprocal", "run", "--manifest",
                                str(manifest), "--obs", "{}", "--ccf-path", str(ccf),
                                "--record", str(work / "rec-{}.json"),
                                "--", "true"], 2) * TASKS / len(sample)
    sleeps = _subset(work, labels[:SLEEPS])
    nap = [sys.executable, "-c", "import time; time.sleep(0.5)", "{obs_id}"]
    two = _campaign(manifest, ccf, work / "two", nap, 2, sleeps)
    one = _campaign(manifest, ccf, work / "one", nap, 1, sleeps)
    per = lambda s: f"{1000 * s / TASKS:.1f} ms per task"  # noqa: E731
    return [
        {"name": f"{TASKS} trivial tasks, LocalCluster of 2 workers", "reprocal_s": trivial,
         "baseline": "xargs -P 2 true (records nothing)", "baseline_s": bare,
         "note": f"campaign {per(trivial)} (cluster start-up included); xargs {per(bare)}"},
        {"name": f"{TASKS} trivial tasks, LocalCluster of 2 workers", "reprocal_s": trivial,
         "baseline": "xargs -P 2 reprocal run --manifest --obs (same promise per observation)",
         "baseline_s": one_by_one,
         "note": f"timed on {len(sample)} observations, scaled; {per(one_by_one)}"},
        {"name": f"{SLEEPS} tasks of 0.5 s, 2 workers", "reprocal_s": two,
         "baseline": "the same on 1 worker", "baseline_s": one,
         "note": f"speed-up {one / two:.2f}x (ideal 2, on a 2-core machine); "
                 f"{SLEEPS * 0.5:.0f} s of sleep in all"},
    ]
