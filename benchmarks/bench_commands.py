"""Commands as a user runs them: start-up, pin --obs-list and verify at 100 to 10,000 observations.

Every row runs the CLI in a fresh process (``python -m reprocal``), paired with the baseline the
issue names: ``python -c pass`` for start-up; Python start-up plus a stat walk of the repository
for ``verify`` (what a stat verify must cost at least); OpenSSL on every core over the files a
pin selects (the hashing it must do) for ``pin``. Peak memory is ``/usr/bin/time -f %M``.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for _p in (HERE.parent, HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from _measure import command, openssl_sha256, paired, peak_rss_mb, row  # noqa: E402

AN = "2026-06-01T00:00:00"
SIZES = (100, 1000, 10_000)


def _obs_list(path: Path, n: int) -> Path:
    rng = random.Random(1)
    lines = ["obs_id,obs_date,analysis_date"]
    for i in range(n):
        lines.append(f"{i:010d},{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-"
                     f"{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00,{AN}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(ctx: Any) -> list[dict[str, Any]]:
    work = ctx.work / "commands"
    work.mkdir(parents=True, exist_ok=True)
    root = str(ctx.repo.root)
    env = dict(os.environ, PYTHONPATH=str(HERE.parent),
               REPROCAL_CATALOG=str(work / "catalog.sqlite"),
               REPROCAL_VERIFY_CACHE=str(work / "verify.sqlite"))
    rp = [sys.executable, "-m", "reprocal"]
    command([*rp, "index", "--ccf-path", root], env)()
    rows = []
    # start-up
    ours, base = paired(command([*rp, "--version"], env), command([sys.executable, "-c", "pass"]),
                        n=7)
    rows.append(row("reprocal --version", ours, "python -c pass", base, "interpreter start-up "
                    "is in both"))
    ours, base = paired(command([sys.executable, "-c", "import reprocal.cli"], env),
                        command([sys.executable, "-c", "pass"]), n=7)
    rows.append(row("python -c 'import reprocal.cli'", ours, "python -c pass", base))
    walk = command([sys.executable, "-c",
                    f"import os\nfor e in os.scandir({root!r}): e.stat()"])
    # one observation: 118 constituents
    one = work / "one.json"
    command([*rp, "pin", "--obs-date", "2012-03-04T05:06:07", "--analysis-date", AN,
             "--ccf-path", root, "--sas-version", "21.0", "-o", str(one)], env)()
    n_one = len(json.loads(one.read_text())["constituents"])
    ours, base = paired(command([*rp, "verify", str(one), "--ccf-path", root], env), walk, n=5)
    rows.append(row(f"verify (stat) of one observation ({n_one} constituents)", ours,
                    "python start-up + stat walk of the repository", base,
                    "includes the newer-issue check over the repository"))
    for n in SIZES:
        lst = _obs_list(work / f"obs{n}.csv", n)
        out = work / f"m{n}.json"
        pin = [*rp, "pin", "--obs-list", str(lst), "--ccf-path", root, "--sas-version", "21.0",
               "-o", str(out)]
        command(pin, env)()  # the manifest, and the file list of the baseline
        doc = json.loads(out.read_text())
        files = [Path(root) / c["name"] for c in doc["constituents"]]
        size = sum(c["size"] for c in doc["constituents"])
        ours, base = paired(command(pin, env), openssl_sha256(files), n=3)
        rss = peak_rss_mb(pin, env)
        rows.append(row(f"pin --obs-list, {n:,} observations (one analysis date)", ours,
                        f"openssl -P{os.cpu_count()} of the {len(files)} files they use "
                        f"({size / 1e6:.0f} MB)", base,
                        f"peak RSS {rss:.0f} MB; manifest {out.stat().st_size / 1e6:.2f} MB; "
                        "pin also reads the FITS checksums"))
        ours, base = paired(command([*rp, "verify", str(out), "--ccf-path", root], env), walk,
                            n=3)
        rows.append(row(f"verify (stat) of that manifest ({n:,} observations)", ours,
                        "python start-up + stat walk of the repository", base,
                        "schema, model, ids, stat of each file, newer-issue check"))
    return rows
