"""What the benchmarks share: the machine's description, paired timings, the strongest hashing
baseline (OpenSSL on every core) and a child's peak memory."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def machine() -> dict[str, str]:
    """CPU model, cores, SHA-NI, RAM, kernel, Python and OpenSSL versions."""
    cpu, flags = "unknown cpu", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown cpu":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1]
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    openssl = shutil.which("openssl")
    ssl = (subprocess.run([openssl, "version"], capture_output=True, text=True).stdout.strip()
           if openssl else "not installed")
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "sha_ni": "yes" if " sha_ni" in flags else "no",
        "ram": f"{mem:.0f} GiB", "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "openssl": ssl,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def stats(xs: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def _cpu() -> float:
    """CPU seconds used so far by this process (every thread) and its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def paired(ours: Callable[[], Any], base: Callable[[], Any], n: int = 3, *,
           between: Callable[[], Any] | None = None
           ) -> tuple[dict[str, float], dict[str, float]]:
    """Run both ``n`` times, interleaved (the baseline first on odd rounds, so neither always
    runs on a cache the other warmed); wall-time medians with min and max, and the median CPU
    seconds (``cpu``: on a loaded machine the wall time is mostly waiting for a core).
    ``between`` runs after each timed call, untimed: removing the files a side wrote, so that
    neither side waits for the kernel to write back the other's (or its own earlier) output."""
    a: list[float] = []
    b: list[float] = []
    ca: list[float] = []
    cb: list[float] = []
    for i in range(n):
        order = [(ours, a, ca), (base, b, cb)] if i % 2 == 0 else [(base, b, cb), (ours, a, ca)]
        for fn, out, cpu in order:
            c, t = _cpu(), time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
            cpu.append(_cpu() - c)
            if between is not None:
                between()
    return ({**stats(a), "cpu": statistics.median(ca)}, {**stats(b), "cpu": statistics.median(cb)})


def row(name: str, ours: dict[str, float], baseline: str, base: dict[str, float],
        note: str = "", **extra: Any) -> dict[str, Any]:
    """One results row from two :func:`stats` (medians, with the ranges)."""
    if "cpu" in ours and "cpu" in base:
        cpu = f"CPU s {ours['cpu']:.3f} vs {base['cpu']:.3f}"
        note = f"{note}; {cpu}" if note else cpu
    return {"name": name, "reprocal_s": ours["median"], "reprocal_range": (ours["min"], ours["max"]),
            "baseline": baseline, "baseline_s": base["median"],
            "baseline_range": (base["min"], base["max"]), "note": note, **extra}


def openssl_sha256(paths: Sequence[os.PathLike[str] | str], jobs: int | None = None
                   ) -> Callable[[], None]:
    """``xargs -0 -P<cores> openssl dgst -sha256`` over ``paths``: the fastest way to hash
    files here (OpenSSL's SHA-NI path on every core; coreutils sha256sum has none)."""
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("openssl not found")
    jobs = jobs or os.cpu_count() or 1
    per = max(1, min(64, len(paths) // (jobs * 4) or 1))
    data = b"\0".join(os.fsencode(str(p)) for p in paths)

    def run() -> None:
        subprocess.run(["xargs", "-0", "-P", str(jobs), "-n", str(per), exe, "dgst", "-sha256"],
                       input=data, check=True, stdout=subprocess.DEVNULL)

    return run


def command(cmd: Sequence[str], env: dict[str, str] | None = None,
            cwd: str | os.PathLike[str] | None = None) -> Callable[[], None]:
    """A callable running ``cmd`` (output discarded; a failure raises)."""

    def run() -> None:
        subprocess.run(list(cmd), env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    return run


def peak_rss_mb(cmd: Sequence[str], env: dict[str, str] | None = None) -> float:
    """The peak resident memory of ``cmd`` in MB (``/usr/bin/time -f %M``)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024
