"""verify: full (FITS sums + sha256, parallel) vs openssl on every core; stat, cold and warm cache.

Rows follow benchmarks/run.py (``name``, ``reprocal_s``, ``baseline``, ``baseline_s``, ``note``).
Both sides read the same files in the same run. "page cache warm" rows follow a first full read;
"evicted" rows first drop only these files from the page cache (``posix_fadvise(DONTNEED)``, no
root, nothing else on the machine is touched), so they include the disk.

Standalone (generates its own repository, deletes it after)::

    python benchmarks/bench_verify.py /tmp/bench --files 1550 --gb 2
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from _measure import command, openssl_sha256, paired, row  # noqa: E402


def _evict(paths: list[Path]) -> None:
    """Drop these files' pages from the page cache (only theirs)."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _stat_walk(dirs: list[Path]) -> float:
    t = time.perf_counter()
    for d in dirs:
        for entry in os.scandir(d):
            entry.stat()
    return time.perf_counter() - t


def run_on(workdir: str | os.PathLike[str], repo_dir: str | os.PathLike[str],
           *, cli: bool = True) -> list[dict[str, Any]]:
    """The measurements over every constituent file in ``repo_dir`` (caches in ``workdir``)."""
    from reprocal.core._names import is_constituent_name
    from reprocal.fs._hashing import default_jobs, hash_files
    from reprocal.repo._verify import Expected, verify_files
    from reprocal.repo._verifycache import VerifyCache

    work, repo = Path(workdir), Path(repo_dir)
    work.mkdir(parents=True, exist_ok=True)
    paths = sorted(p for p in repo.iterdir() if p.is_file() and is_constituent_name(p.name))
    n, size = len(paths), sum(p.stat().st_size for p in paths)
    jobs = default_jobs()
    scope = f"{n} files, {size / 1e9:.2f} GB"
    # the pinned state: sizes and hashes (this first read also warms the page cache)
    digests = hash_files(paths)
    expected = [Expected(p.name, p.stat().st_size, str(digests[str(p)])) for p in paths]
    rows: list[dict[str, Any]] = []

    def cache(name: str) -> VerifyCache:
        path = work / f"{name}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return VerifyCache(path)

    # full, page cache warm: paired with openssl on every core, interleaved, medians
    openssl = openssl_sha256(paths, jobs)
    base_name = f"xargs -P{jobs} openssl dgst -sha256"
    rounds = iter(range(100))

    def full() -> None:
        with cache(f"full{next(rounds)}") as c:
            report = verify_files(expected, [repo], level="full", cache=c, jobs=jobs)
        assert report.ok, report.counts()

    openssl()  # the page cache holds every file for both
    ours, base = paired(full, openssl, n=3)
    rows.append(row(f"verify --level full, cold verify cache ({scope}, page cache warm)", ours,
                    base_name, base,
                    f"FITS CHECKSUM/DATASUM of every HDU + sha256, {jobs} hashing threads"))
    hashed, base = paired(lambda: hash_files(paths, jobs=jobs), openssl, n=3)
    rows.append(row(f"sha256 only, hash_files ({scope}, page cache warm)", hashed, base_name,
                    base, f"{jobs} threads (hashlib releases the GIL)"))
    # full, these files evicted from the page cache first (one pair: the disk is slow)
    def cold_full() -> None:
        _evict(paths)
        full()

    def cold_openssl() -> None:
        _evict(paths)
        openssl()

    ours_cold, base_cold = paired(cold_full, cold_openssl, n=1)
    rows.append(row(f"verify --level full, cold verify cache ({scope}, evicted)", ours_cold,
                    base_name, base_cold, "both read from disk (eviction included on both sides)"))
    # stat: cold (empty cache: sizes only) and warm (after a full verify), fresh connections
    walk = min(_stat_walk([repo]) for _ in range(3))
    colds = []
    for i in range(3):
        with cache(f"statcold{i}") as c:
            colds.append(_timed(lambda c=c: verify_files(expected, [repo], cache=c))[0])
    rows.append({"name": f"verify --level stat, cold verify cache ({n} files)",
                 "reprocal_s": min(colds), "baseline": "os.scandir+stat walk",
                 "baseline_s": walk, "note": "sizes only: nothing verified yet"})
    warms = []
    for _ in range(3):
        t0 = time.perf_counter()
        with VerifyCache(work / "full1.sqlite") as c:
            report = verify_files(expected, [repo], cache=c)
        warms.append(time.perf_counter() - t0)
        assert report.ok and report.reused == n, report.counts()
    rows.append({"name": f"verify --level stat, warm verify cache ({n} files)",
                 "reprocal_s": min(warms), "baseline": "os.scandir+stat walk",
                 "baseline_s": walk, "note": "open cache + walk + one lookup + verdicts"})
    if cli:
        rows.extend(_cli_row(work, repo, paths, expected, n))
    return rows


def _cli_row(work: Path, repo: Path, paths: list[Path], expected: list[Any],
             n: int) -> list[dict[str, Any]]:
    """``reprocal verify M`` (warm caches) as a user runs it, against an empty command."""
    from reprocal.core._dates import CalDate
    from reprocal.fits._headers import read_constituent
    from reprocal.state._manifest import build, save_manifest

    hashes = {e.filename: (e.size, e.sha256) for e in expected}
    # a manifest observation selects one issue per type: the k-th issues of every type make
    # observation k, so the manifest pins every file
    by_rank: dict[int, list[Any]] = {}
    seen: dict[tuple[str, str], int] = {}
    for c in sorted((read_constituent(p) for p in paths), key=lambda c: c.filename):
        rank = seen[c.key] = seen.get(c.key, -1) + 1
        by_rank.setdefault(rank, []).append(c)
    when = CalDate.parse("2030-01-01")
    manifest = build([(f"obs{k}", when, when, "XMMCCF", cs) for k, cs in sorted(by_rank.items())],
                     hashes)
    m = save_manifest(manifest, work / "all.json")
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPROCAL_VERIFY_CACHE=str(work / "full1.sqlite"),
               REPROCAL_CATALOG=str(work / "catalog.sqlite"))
    cmd = [sys.executable, "-m", "reprocal", "verify", str(m), "--ccf-path", str(repo), "--json"]
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warms the catalogue
    version = [sys.executable, "-m", "reprocal", "--version"]
    ours, base = paired(command(cmd, env), command(version, env), n=5)
    import json

    from reprocal.state._manifest import load_manifest

    load = min(_timed(lambda: load_manifest(m))[0] for _ in range(3))
    parse = min(_timed(lambda: json.loads(m.read_bytes()))[0] for _ in range(3))
    return [
        row(f"reprocal verify MANIFEST --level stat, warm ({n} files, CLI)", ours,
            "python -m reprocal --version", base,
            "whole command: start-up, manifest load, verify, newer-issue check"),
        {"name": f"load_manifest ({n} constituents: schema + model + calibration id)",
         "reprocal_s": load, "baseline": "json.loads", "baseline_s": parse,
         "note": "part of the CLI row above"},
    ]


def run(ctx: Any) -> list[dict[str, Any]]:
    """Entry point for benchmarks/run.py: the shared full-scale synthetic repository."""
    return run_on(ctx.work / "verify", ctx.repo.root)


def _make_repo(root: Path, files: int, total_bytes: float, seed: int = 7) -> None:
    """A stand-in repository when reprocal.testing._synthetic is absent: ``files`` valid constituents,
    sizes multiples of 2880, most small, a few tens of MB."""
    import numpy as np
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    raw = rng.lognormal(mean=0.0, sigma=1.6, size=files)
    sizes = np.clip(raw / raw.sum() * total_bytes, 2880, 70e6)
    root.mkdir(parents=True, exist_ok=True)
    for i, nbytes in enumerate(sizes):
        name = f"EPN_T{i // 10:04d}_{i % 10 + 1:04d}.CCF"
        h = fits.Header()
        for k, v in (("TELESCOP", "XMM"), ("SCOPE", "EPN"), ("TYPEID", f"T{i // 10:04d}"),
                     ("ISSUE", i % 10 + 1), ("VALDATE", "2000-01-01T00:00:00"),
                     ("SUBDATE", "2001-01-01T00:00:00"), ("CATEGORY", "XMMCCF"),
                     ("EXTSEQU", "ANY"), ("EXTSEQID", "DATA")):
            h[k] = v
        data = rng.integers(0, 255, size=max(1, int(nbytes) // 2880 * 2880 - 2 * 2880),
                            dtype=np.uint8)
        fits.HDUList([fits.PrimaryHDU(header=h), fits.ImageHDU(data, name="DATA")]).writeto(
            root / name, checksum=True)


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--files", type=int, default=1550)
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--keep", action="store_true", help="Keep the generated repository.")
    args = ap.parse_args(argv)
    repo = args.workdir / "ccf"
    try:
        t = time.perf_counter()
        try:
            from reprocal.testing._synthetic import generate

            generate(repo, seed=7, scale=args.gb / 4.0, files=args.files)
        except ImportError:
            _make_repo(repo, args.files, args.gb * 1e9)
        print(f"generated in {time.perf_counter() - t:.1f} s", flush=True)
        for row in run_on(args.workdir / "work", repo):
            ratio = row["baseline_s"] / row["reprocal_s"] if row["reprocal_s"] else float("nan")
            print(f"{row['name']}\n    reprocal {row['reprocal_s']:.3f} s   "
                  f"{row['baseline']} {row['baseline_s']:.3f} s   ratio {ratio:.1f}x   "
                  f"{row['note']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
