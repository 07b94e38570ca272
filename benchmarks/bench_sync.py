"""sync of a full-scale mirror (no change; 20 new files) against rsync of the same module, same run.

The mirror is the full-scale synthetic archive (~1550 files, ~4 GB) served by one loopback
rsync daemon (and, for one row, by an nginx-style HTTP index). Each side starts from its own
copy of the archive (hard links: no bytes copied); reprocal's copy was adopted by one sync
first (every file hashed and recorded as found, timed as its own row). Then:

* a no-change sync: reprocal costs the listing (``rsync --list-only`` of the module), one
  ``stat`` walk, reading the history and two records; rsync lists the module and compares
  sizes and mtimes;
* 20 new files (new issues of 20 real types, real sizes) published on the mirror: both fetch
  exactly those (reprocal: one rsync per file through the fetch engine, 4 at a time, each
  FITS-checked, renamed into place and recorded with its sha256).

Both sides run as processes (start-up included). ``run(ctx)`` returns the rows.
"""

from __future__ import annotations

import os
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

RECIPE = ["-a", "--delete", "--delete-after", "--force", "--include=*.CCF", "--exclude=*/"]
"""ESA's mirroring recipe (without -v)."""


def _timed(cmd: list[str], **kw) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def _best(cmd: list[str], n: int = 3, **kw) -> float:  # type: ignore[no-untyped-def]
    return min(_timed(cmd, **kw) for _ in range(n))


def _stat_walk(root: Path) -> float:
    t = time.perf_counter()
    for entry in os.scandir(root):
        entry.stat()
    return time.perf_counter() - t


def _copy(src: Path, dst: Path) -> Path:
    """A hard-linked copy of the *.CCF files (no bytes copied)."""
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for p in src.glob("*.CCF"):
        os.link(p, dst / p.name)
    return dst


def _new_files(repo, mirror: Path, count: int, round_: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``count`` new issues of real types, each the size of its type's newest file."""
    import attrs

    from reprocal.core._dates import CalDate
    from reprocal.core._names import ConstituentName
    from reprocal.testing._ccfwrite import write_constituent

    newest: dict[tuple[str, str], object] = {}
    for c in repo.constituents:
        if c.key not in newest or c.issue > newest[c.key].issue:  # type: ignore[attr-defined]
            newest[c.key] = c
    names = []
    for c in sorted(newest.values(), key=lambda c: c.filename)[round_::7][:count]:  # type: ignore[attr-defined]
        new = attrs.evolve(c, name=ConstituentName(c.scope, c.typeid, c.issue + 1 + round_),  # type: ignore[attr-defined]
                           subdate=CalDate.parse("2026-11-20"), date=CalDate.parse("2026-11-20"))
        write_constituent(mirror / new.filename, new, seed=99)
        names.append(new.filename)
    return names


def run(ctx) -> list[dict]:  # type: ignore[no-untyped-def]
    """Rows for benchmarks/run.py (``ctx``: its context, with the full-scale repository)."""
    from support.servers import MirrorServer, RsyncDaemon

    repo = ctx.repo
    work = Path(ctx.work) / "sync"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    mirror = _copy(repo.root, work / "mirror")
    n = len(list(mirror.glob("*.CCF")))
    gb = sum(p.stat().st_size for p in mirror.glob("*.CCF")) / 1e9
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               XDG_CACHE_HOME=str(work / "cache"))
    reprocal = [sys.executable, "-m", "reprocal", "sync"]
    rows: list[dict] = []
    (work / "rsyncd").mkdir()
    with RsyncDaemon(mirror, work / "rsyncd") as daemon:
        ours, theirs = _copy(mirror, work / "ours"), _copy(mirror, work / "theirs")
        adopt = _timed([*reprocal, "--mirror", daemon.url, "--ccf-path", str(ours)], env=env)
        listing = _best(["rsync", "--no-motd", "--list-only", "--no-h", daemon.url])
        walk = min(_stat_walk(ours) for _ in range(3))
        still = _best([*reprocal, "--mirror", daemon.url, "--ccf-path", str(ours)], env=env)
        recipe = _best(["rsync", *RECIPE, daemon.url, f"{theirs}/"])
        rows += [
            {"name": f"first sync of an existing mirror ({n} files, {gb:.2f} GB: all hashed, "
                     "recorded as found)", "reprocal_s": adopt, "baseline": "rsync (ESA's "
             "recipe), no change", "baseline_s": recipe, "note": "once per repository"},
            {"name": f"no-change sync, rsync module ({n} files)", "reprocal_s": still,
             "baseline": "rsync (ESA's recipe), same module", "baseline_s": recipe,
             "note": f"of which listing {listing:.3f} s (rsync --list-only), stat walk "
                     f"{walk:.3f} s; the rest is Python start-up, the history and 2 records"},
            {"name": f"no-change sync, rsync module ({n} files)", "reprocal_s": still,
             "baseline": "rsync --list-only + stat walk", "baseline_s": listing + walk,
             "note": "what the sync must cost at least"},
        ]
        best_new, best_rsync, size = None, None, 0
        for round_ in range(2):
            added = _new_files(repo, mirror, 20, round_)
            size = sum((mirror / a).stat().st_size for a in added)
            mine = _timed([*reprocal, "--mirror", daemon.url, "--ccf-path", str(ours)], env=env)
            rs = _timed(["rsync", *RECIPE, daemon.url, f"{theirs}/"])
            assert all((ours / a).is_file() and (theirs / a).is_file() for a in added)
            best_new = mine if best_new is None else min(best_new, mine)
            best_rsync = rs if best_rsync is None else min(best_rsync, rs)
        rows.append({"name": f"sync with 20 new files ({size / 1e6:.0f} MB), rsync module",
                     "reprocal_s": best_new, "baseline": "rsync (ESA's recipe), same module",
                     "baseline_s": best_rsync,
                     "note": "reprocal: 20 rsync transfers (4 at a time), FITS checks, sha256, "
                             "history records; best of 2 rounds"})
        http_ours = _copy(mirror, work / "http")
        with MirrorServer(mirror, index="nginx") as srv:
            _timed([*reprocal, "--mirror", srv.url, "--ccf-path", str(http_ours)], env=env)
            over_http = _best([*reprocal, "--mirror", srv.url, "--ccf-path", str(http_ours)],
                              env=env)
        recipe = _best(["rsync", *RECIPE, daemon.url, f"{theirs}/"])
        rows.append({"name": f"no-change sync, HTTP index page ({n + 40} files)",
                     "reprocal_s": over_http, "baseline": "rsync (ESA's recipe), same files "
                     "as a module", "baseline_s": recipe, "note": "nginx-style autoindex page"})
    shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(HERE))
    from run import Context  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory() as tmp:
        scale = float(os.environ.get("REPROCAL_BENCH_SCALE", "1.0"))
        for row in run(Context(Path(tmp), scale)):
            ratio = row["reprocal_s"] / row["baseline_s"]
            print(f"{row['name']:<70} {row['reprocal_s']:7.3f} s  {row['baseline']:<40} "
                  f"{row['baseline_s']:7.3f} s  ratio {ratio:6.2f}")
