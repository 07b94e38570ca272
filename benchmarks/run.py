"""``make bench``: run every benchmark and write benchmarks/RESULTS.md (machine, load and date);
``REPROCAL_BENCH_ONLY=bench_sync,...`` re-runs those alone and replaces their sections.

Each ``bench_*.py`` module exposes ``run(ctx) -> list[dict]`` rows with ``name``, ``reprocal_s``,
``baseline``, ``baseline_s`` and ``note``; the ratio is computed here. ``ctx`` gives a work
directory and a shared full-scale synthetic repository (generated once).
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


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


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> int:
    scale = float(os.environ.get("REPROCAL_BENCH_SCALE", "1.0"))
    work = Path(os.environ.get("REPROCAL_BENCH_DIR", HERE / "work"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ctx = Context(work, scale)
    # an installed package runs from compiled bytecode; an editable install in an environment
    # with PYTHONDONTWRITEBYTECODE would compile every module in every process it times
    compileall.compile_dir(str(ROOT / "reprocal"), quiet=1)
    compileall.compile_file(str(ROOT / "_reprocal_cli.py"), quiet=1)
    load = os.getloadavg()[0]
    only = [x for x in os.environ.get("REPROCAL_BENCH_ONLY", "").split(",") if x]
    sections = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
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
        sections.append((path.stem, (mod.__doc__ or "").strip().splitlines()[0:1], rows))
    if only:
        rerun_results(sections, scale, (load, os.getloadavg()[0]))
    else:
        write_results(sections, scale, (load, os.getloadavg()[0]))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _fmt(x: object) -> str:
    if isinstance(x, float):
        return f"{x:.3f}"
    return "" if x is None else str(x)


def section_lines(name: str, doc: list[str], rows: list[dict]) -> list[str]:
    """One benchmark's heading, summary and table (ending with a blank line)."""
    lines = [f"## {name}", ""]
    if doc:
        lines += [doc[0], ""]
    lines += ["| benchmark | reprocal (s) | baseline | baseline (s) | ratio | note |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = (r["reprocal_s"] / r["baseline_s"]
                 if r.get("reprocal_s") and r.get("baseline_s") else None)
        lines.append(
            f"| {r.get('name', '')} | {_fmt(r.get('reprocal_s'))} | {r.get('baseline', '')} | "
            f"{_fmt(r.get('baseline_s'))} | {_fmt(ratio)} | {r.get('note', '')} |")
    lines.append("")
    return lines


def write_results(sections, scale: float, load: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results", "",
        f"Written by `make bench` on {now}.", "",
        f"Machine: {machine()}; load average {load[0]:.1f} at the start, {load[1]:.1f} at the "
        "end (other work on the machine slows both sides of a ratio, not always alike)", "",
        f"Repository: synthetic, seed 7, scale {scale} (full scale = ~1550 files, ~4 GB).", "",
        "Ratios are reprocal time / baseline time in the same run (below 1 means reprocal is faster).",
        "",
    ]
    for name, doc, rows in sections:
        lines += section_lines(name, doc, rows)
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print(f"wrote {HERE / 'RESULTS.md'}")


def rerun_results(sections, scale: float, load: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    """``REPROCAL_BENCH_ONLY=bench_a,bench_b``: replace those sections of RESULTS.md, each
    saying when it was re-run and at what load; the others stay as their run wrote them."""
    path = HERE / "RESULTS.md"
    head, *old = path.read_text().split("\n## ")
    body = {part.split("\n", 1)[0]: part for part in old}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for name, doc, rows in sections:
        lines = section_lines(name, doc, rows)
        lines.insert(2, f"Re-run alone (`REPROCAL_BENCH_ONLY={name}`) on {now}, scale {scale}, "
                        f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end.")
        lines.insert(3, "")
        body[name] = "\n".join(lines)[len("## "):]
    path.write_text("\n## ".join([head, *(body[k] for k in sorted(body))]).rstrip("\n") + "\n")
    print(f"updated {path}")


def timed(cmd: list[str], **kw) -> float:  # type: ignore[no-untyped-def]
    """Wall time of a subprocess (for baselines such as sha256sum, curl, tar)."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
