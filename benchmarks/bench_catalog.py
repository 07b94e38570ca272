"""Catalogue build (cold, warm) against a plain directory stat walk; selection for 10,000 observations."""

from __future__ import annotations

import os
import random
import time


def _stat_walk(root: str) -> float:
    t = time.perf_counter()
    for entry in os.scandir(root):
        entry.stat()
    return time.perf_counter() - t


def _scaling(work) -> list[dict]:  # type: ignore[no-untyped-def]
    """index cold and warm at 1x, 2x and 4x the files of the archive (small files: the cost is
    per file, its header and its stat)."""
    from reprocal.repo._catalog import Catalog
    from reprocal.testing._synthetic import generate

    rows = []
    for k in (1, 2, 4):
        repo = generate(work / f"index{k}x" / "ccf", seed=k, scale=0.002, files=1563 * k)
        root, n = str(repo.root), len(repo.paths)
        walk = min(_stat_walk(root) for _ in range(3))
        with Catalog(work / f"index{k}x" / "catalog.sqlite") as cat:
            t = time.perf_counter()
            cat.refresh([repo.root])
            cold = time.perf_counter() - t
            warm = []
            for _ in range(3):
                t = time.perf_counter()
                cat.refresh([repo.root])
                warm.append(time.perf_counter() - t)
        rows += [{"name": f"index cold, {k}x ({n} files)", "reprocal_s": cold,
                  "baseline": "os.scandir+stat walk", "baseline_s": walk},
                 {"name": f"index warm, {k}x ({n} files)", "reprocal_s": min(warm),
                  "baseline": "os.scandir+stat walk", "baseline_s": walk}]
    return rows


def run(ctx) -> list[dict]:  # type: ignore[no-untyped-def]
    from reprocal.core._dates import CalDate
    from reprocal.core._select import Rule, Selector
    from reprocal.repo._catalog import Catalog

    repo = ctx.repo
    root = str(repo.root)
    n = len(repo.paths)
    walk = min(_stat_walk(root) for _ in range(3))
    db = ctx.work / "catalog.sqlite"
    cat = Catalog(db)
    t = time.perf_counter()
    cat.refresh([repo.root])
    cold = time.perf_counter() - t
    warm = []
    for _ in range(3):
        t = time.perf_counter()
        report = cat.refresh([repo.root])
        warm.append(time.perf_counter() - t)
        assert report.read == 0
    rows = [
        {"name": f"index cold ({n} files, headers read)", "reprocal_s": cold,
         "baseline": "os.scandir+stat walk", "baseline_s": walk},
        {"name": f"index warm ({n} files, nothing changed)", "reprocal_s": min(warm),
         "baseline": "os.scandir+stat walk", "baseline_s": walk},
    ]
    rows += _scaling(ctx.work)
    present = [lf.constituent for lf in cat.present([repo.root])]
    rng = random.Random(1)
    dates = [(CalDate.parse(f"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-"
                            f"{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00"),
              CalDate.parse("2026-01-01")) for _ in range(10_000)]
    t = time.perf_counter()
    s = Selector(present)
    total = sum(len(s.select(o, a)) for o, a in dates)
    sel = time.perf_counter() - t
    naive_n = 200
    t = time.perf_counter()
    for o, a in dates[:naive_n]:
        rule = Rule(o, a)
        best: dict = {}
        for c in present:  # the straightforward rule: filter everything, keep the max per type
            if rule.eligible(c) and (c.key not in best or c.issue > best[c.key].issue):
                best[c.key] = c
    naive = (time.perf_counter() - t) * len(dates) / naive_n
    rows.append({"name": "select 10,000 observations (one Selector)", "reprocal_s": sel,
                 "baseline": "filter all with Rule.eligible per observation (extrapolated from 200)",
                 "baseline_s": naive, "note": f"{total} rows selected"})
    cat.close()
    return rows
