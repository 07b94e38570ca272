"""Rebuild: rewrite each observation's CIF from a manifest alone (no network, no clock).

Every pinned file must be present with the pinned size and sha256 first; the CIF rows then come
from the manifest, so rebuilding twice gives identical rows (and identical bytes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import attrs

from .errors import CheckFailed
from .hashing import hash_files
from .manifest import Manifest


@attrs.frozen
class RebuiltCif:
    """One CIF written by :func:`rebuild`."""

    label: str
    """The observation's id, or ``obs<N>``."""
    path: Path
    """Where the CIF was written."""
    rows: int
    """Number of constituents."""


def locate(manifest: Manifest, dirs: Sequence[Path]) -> tuple[dict[str, Path], list[str]]:
    """Find each pinned file in ``dirs`` (first directory wins, as in ``SAS_CCFPATH``)."""
    found: dict[str, Path] = {}
    missing = []
    for f in manifest.files:
        for d in dirs:
            p = d / f.filename
            if p.is_file():
                found[f.filename] = p
                break
        else:
            missing.append(f.filename)
    return found, missing


def check_pinned_bytes(manifest: Manifest, dirs: Sequence[Path], *, jobs: int | None = None,
                       progress: object | None = None) -> dict[str, Path]:
    """Every pinned file present with its pinned size and sha256, or :class:`CheckFailed`."""
    found, missing = locate(manifest, dirs)
    problems = [f"{n}: missing" for n in missing]
    sized = {}
    for f in manifest.files:
        p = found.get(f.filename)
        if p is None:
            continue
        size = p.stat().st_size
        if size != f.size:
            problems.append(f"{f.filename}: size {size}, pinned {f.size}")
        else:
            sized[f.filename] = p
    digests = hash_files([str(p) for p in sized.values()], jobs=jobs, progress=progress)
    for name, p in sized.items():
        if digests[str(p)] != manifest.file(name).sha256:
            problems.append(f"{name}: sha256 differs from the pinned one")
    if problems:
        raise CheckFailed(
            f"{len(problems)} pinned constituent(s) not as pinned: " + "; ".join(problems[:5])
            + (" ..." if len(problems) > 5 else ""),
            hint="run `reprocal verify` for the full report, `reprocal fetch` to repair",
        )
    return found


def rebuild(
    manifest: Manifest,
    dirs: Sequence[Path],
    out_dir: str | os.PathLike[str],
    *,
    fullpath: bool = False,
    jobs: int | None = None,
    progress: object | None = None,
) -> list[RebuiltCif]:
    """Check the pinned bytes, then write ``OUT/<label>/ccf.cif`` for every observation."""
    from .calindex import write_cif

    found = check_pinned_bytes(manifest, dirs, jobs=jobs, progress=progress)
    out = []
    for label, obs in zip(manifest.labels(), manifest.observations, strict=True):
        rows = manifest.constituents_for(obs)
        target = Path(out_dir) / label / "ccf.cif"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_cif(
            target, rows, obs_date=obs.obs_date, analysis_date=obs.analysis_date,
            category=obs.category,
            paths={n: found[n].resolve() for n in obs.files} if fullpath else None,
        )
        out.append(RebuiltCif(label, target, len(rows)))
    return out
