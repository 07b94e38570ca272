"""``make bench``: run every benchmark and write benchmarks/RESULTS.md (machine and date).

Each ``bench_*.py`` module exposes ``run(ctx) -> list[dict]`` rows with ``name``, ``reprocal_s``,
``baseline``, ``baseline_s`` and ``note``; the ratio is computed here. ``ctx`` gives a work
directory and a shared full-scale synthetic repository (generated once).
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _measure import machine  # noqa: E402


class Context:
    """What benchmarks share: a work directory and (lazily) a full-scale repository."""

    def __init__(self, work: Path, scale: float):
        self.work = work
        self.scale = scale
        self._repo = None

    @property
    def repo(self):  # type: ignore[no-untyped-def]
        if self._repo is None:
            from reprocal.testing._synthetic import generate

            t = time.perf_counter()
            self._repo = generate(self.work / "ccf", seed=7, scale=self.scale)
            size = sum(p.stat().st_size for p in self._repo.paths.values())
            print(f"  generated {len(self._repo.paths)} files, {size / 1e9:.2f} GB in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
        return self._repo


def main() -> int:
    scale = float(os.environ.get("REPROCAL_BENCH_SCALE", "1.0"))
    # the benchmarks' own directory inside the one given: only it is ever removed, never a
    # directory $REPROCAL_BENCH_DIR happened to name
    work = Path(os.environ.get("REPROCAL_BENCH_DIR", HERE / "work")) / "reprocal-bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ctx = Context(work, scale)
    # an installed package runs from compiled bytecode; an editable install in an environment
    # with PYTHONDONTWRITEBYTECODE would compile every module in every process it times
    compileall.compile_dir(str(ROOT / "reprocal"), quiet=1)
    compileall.compile_file(str(ROOT / "_reprocal_cli.py"), quiet=1)
    only = [x for x in os.environ.get("REPROCAL_BENCH_ONLY", "").split(",") if x]
    began = time.perf_counter()
    sections = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        t0 = time.perf_counter()
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"== {path.stem}", flush=True)
        try:
            rows = mod.run(ctx)
        except Exception as exc:  # a broken benchmark is reported, the others still run
            rows = [{"name": path.stem, "note": f"FAILED: {type(exc).__name__}: {exc}"}]
        for r in rows:
            print("  ", r, flush=True)
        took = time.perf_counter() - t0
        print(f"  ({took:.0f} s)", flush=True)
        sections.append((path.stem, (mod.__doc__ or "").strip().splitlines()[0:1], rows, took))
    write_results(sections, scale, time.perf_counter() - began)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _fmt(x: object, spread: object = None) -> str:
    if isinstance(x, float):
        text = f"{x:.3f}"
        if isinstance(spread, tuple) and spread[0] != spread[1]:
            text += f" ({spread[0]:.3f}–{spread[1]:.3f})"
        return text
    return "" if x is None else str(x)


def write_results(sections, scale: float, took: float) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    m = machine()
    lines = [
        "# Benchmark results", "",
        f"Written by `make bench` on {now} in {took / 60:.1f} min.", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, SHA-NI {m['sha_ni']}, {m['ram']} RAM, "
        f"{m['kernel']}, Python {m['python']}, {m['openssl']}; load average at the end "
        f"{m['load']} (the machine is shared: compare the two sides of a row, not rows).", "",
        f"Repository: synthetic, seed 7, scale {scale} (full scale = ~1550 files, ~4 GB).", "",
        "Each row is paired: reprocal and its baseline run in the same process, interleaved; "
        "times are medians (min–max) unless the note says otherwise. The ratio is reprocal / "
        "baseline (below 1: reprocal is faster).",
        "",
    ]
    for name, doc, rows, secs in sections:
        lines += [f"## {name}", ""]
        if doc:
            lines += [f"{doc[0]} ({secs:.0f} s)", ""]
        lines += ["| benchmark | reprocal (s) | baseline | baseline (s) | ratio | note |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            ratio = (r["reprocal_s"] / r["baseline_s"]
                     if r.get("reprocal_s") and r.get("baseline_s") else None)
            lines.append(
                f"| {r.get('name', '')} | {_fmt(r.get('reprocal_s'), r.get('reprocal_range'))} | "
                f"{r.get('baseline', '')} | {_fmt(r.get('baseline_s'), r.get('baseline_range'))} "
                f"| {_fmt(ratio)} | {r.get('note', '')} |")
        lines.append("")
    out = Path(os.environ.get("REPROCAL_BENCH_RESULTS", HERE / "RESULTS.md"))
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def timed(cmd: list[str], **kw) -> float:  # type: ignore[no-untyped-def]
    """Wall time of a subprocess (for baselines such as sha256sum, curl, tar)."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
