"""Fetch from a loopback HTTP mirror: `reprocal fetch` (verified, atomic) against curl over the same files.

Many small files and a few large ones (~200 MB by default), one Python ThreadingHTTPServer on
127.0.0.1 serving both. Baselines: curl fetching every file in one process (keep-alive, no
check), the same followed by ``sha256sum -c`` (what reprocal also does), and ``curl --parallel``
with as many connections as ``reprocal fetch --jobs``. Each side starts from an empty directory;
process start-up is included on both sides.

``run(ctx)`` takes the benchmark runner's context (or any work directory) and returns rows; run
this file directly to print them.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

SMALL = (300, 100_000)   # count, bytes: ~30 MB of small constituents
LARGE = (4, 42_000_000)  # count, bytes: ~170 MB of large ones
SCOPES = ("EPN", "EMOS1", "EMOS2", "RGS1", "RGS2", "OM", "XMM", "XRT1", "XRT2", "XRT3")


def _make(root: Path, count: int, size: int, prefix: str, rnd: random.Random) -> list[object]:
    from reprocal.fetch._engine import FetchItem

    items = []
    block = rnd.randbytes(1 << 20)
    for i in range(count):
        name = f"{SCOPES[i % len(SCOPES)]}_{prefix}{i // len(SCOPES):03d}_0001.CCF"
        # unique bytes per file without generating 200 MB of randomness
        data = (i.to_bytes(8, "big") + block * (size // len(block) + 1))[:size]
        (root / name).write_bytes(data)
        items.append(FetchItem(name, size, hashlib.sha256(data).hexdigest()))
    return items


def _timed(cmd: list[str], **kw) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _curl_config(items, url: str, dest: Path, path: Path) -> Path:  # type: ignore[no-untyped-def]
    lines = [f'url = "{url}{i.filename}"\noutput = "{dest / i.filename}"\n' for i in items]
    path.write_text("".join(lines))
    return path


def _sums(items, dest: Path, path: Path) -> Path:  # type: ignore[no-untyped-def]
    path.write_text("".join(f"{i.sha256}  {dest / i.filename}\n" for i in items))
    return path


def _case(work: Path, label: str, items, url: str, jobs: int) -> list[dict]:  # type: ignore[no-untyped-def]
    from support.servers import write_manifest

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    manifest = write_manifest(work / f"{label}.json", items)
    total = sum(i.size for i in items) / 1e6
    dest = _fresh(work / "dest")
    reprocal_s = _timed([sys.executable, "-m", "reprocal", "fetch", str(manifest), "--ccf-path",
                         str(dest), "--mirror", url, "--jobs", str(jobs)], env=env)
    reprocal_1 = _timed([sys.executable, "-m", "reprocal", "fetch", str(manifest), "--ccf-path",
                         str(_fresh(dest)), "--mirror", url, "--jobs", "1"], env=env)
    again_s = _timed([sys.executable, "-m", "reprocal", "fetch", str(manifest), "--ccf-path",
                      str(dest), "--mirror", url, "--verify", "size"], env=env)
    config = _curl_config(items, url, _fresh(dest), work / "curl.cfg")
    curl_s = _timed(["curl", "-fsS", "-K", str(config)])
    sums = _sums(items, dest, work / "sums")
    check_s = _timed(["sha256sum", "-c", "--quiet", str(sums)])
    config = _curl_config(items, url, _fresh(dest), work / "curl.cfg")
    par_s = _timed(["curl", "-fsS", "--no-progress-meter", "--parallel", "--parallel-max",
                    str(jobs), "-K", str(config)])
    n = len(items)
    what = f"{n} files, {total:.0f} MB"
    return [
        {"name": f"{label}: {what}, --jobs 1", "reprocal_s": reprocal_1,
         "baseline": "curl, one process, keep-alive", "baseline_s": curl_s,
         "note": "reprocal also checks size+sha256, fsyncs and renames each file, and starts "
                 "Python (~0.25 s)"},
        {"name": f"{label}: {what}, --jobs 1", "reprocal_s": reprocal_1,
         "baseline": "curl then sha256sum -c", "baseline_s": curl_s + check_s, "note": ""},
        {"name": f"{label}: {what}, --jobs {jobs}", "reprocal_s": reprocal_s,
         "baseline": f"curl --parallel-max {jobs}", "baseline_s": par_s,
         "note": "2-core machine shared with the server"},
        {"name": f"{label}: re-run, all present (--verify size)", "reprocal_s": again_s,
         "baseline": "curl, one process", "baseline_s": curl_s,
         "note": "nothing is downloaded again"},
    ]


def _rsync_case(work: Path, items, mirror: Path) -> list[dict]:  # type: ignore[no-untyped-def]
    """``reprocal fetch`` from an rsync daemon against rsync itself fetching the same files
    (``--files-from``, one process), both into an empty directory."""
    from support.servers import RsyncDaemon, write_manifest

    if shutil.which("rsync") is None:
        return [{"name": "rsync: fetch from an rsync daemon", "note": "skipped: no rsync"}]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    manifest = write_manifest(work / "rsync.json", items)
    names = work / "names.txt"
    names.write_text("".join(f"{i.filename}\n" for i in items))
    total = sum(i.size for i in items) / 1e6
    (work / "rsyncd").mkdir(exist_ok=True)
    with RsyncDaemon(mirror, work / "rsyncd") as daemon:
        ours, theirs = [], []
        for _ in range(3):
            ours.append(_timed([sys.executable, "-m", "reprocal", "fetch", str(manifest),
                                "--ccf-path", str(_fresh(work / "dest")), "--mirror",
                                daemon.url], env=env))
            theirs.append(_timed(["rsync", "-q", "--no-motd", f"--files-from={names}",
                                  daemon.url, f"{_fresh(work / 'dest')}/"]))
    ours.sort()
    theirs.sort()
    return [{"name": f"rsync: {len(items)} files, {total:.0f} MB from an rsync daemon",
             "reprocal_s": ours[1], "reprocal_range": (ours[0], ours[-1]),
             "baseline": "rsync --files-from (one process, no check)", "baseline_s": theirs[1],
             "baseline_range": (theirs[0], theirs[-1]),
             "note": "reprocal: one rsync for the batch; size+sha256, fsync and rename of "
                     "each file as it arrives; Python start-up included; medians of 3"}]


def run(ctx) -> list[dict]:  # type: ignore[no-untyped-def]
    """Rows for benchmarks/run.py; ``ctx`` is its context (``.work``) or a directory."""
    from support.servers import MirrorServer

    work = Path(getattr(ctx, "work", ctx)) / "fetch"
    scale = float(os.environ.get("REPROCAL_BENCH_FETCH_SCALE", "1.0"))
    mirror = _fresh(work / "mirror")
    rnd = random.Random(11)
    small = _make(mirror, max(1, int(SMALL[0] * scale)), SMALL[1], "S", rnd)
    large = _make(mirror, LARGE[0], max(2880, int(LARGE[1] * scale)), "L", rnd)
    rows = []
    with MirrorServer(mirror) as server:
        rows += _case(work, "small", small, server.url, 4)
        rows += _case(work, "large", large, server.url, 4)
    rows += _rsync_case(work, small[:118], mirror)
    # a real mirror's shape: 50 ms to answer, 20 MB/s per connection (parallelism matters)
    with MirrorServer(mirror, latency=0.05, rate=20e6) as server:
        rows += [dict(r, name=f"shaped (50 ms, 20 MB/s a connection) {r['name']}")
                 for r in _case(work, "mixed", small[:100] + large, server.url, 4)
                 if "--jobs 4" in r["name"]]
    shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for row in run(Path(tmp)):
            ratio = row["reprocal_s"] / row["baseline_s"]
            print(f"{row['name']:<48} reprocal {row['reprocal_s']:7.2f} s   "
                  f"{row['baseline']:<30} {row['baseline_s']:7.2f} s   ratio {ratio:5.2f}")
