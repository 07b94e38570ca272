"""Rebuild: rewrite each observation's CIF from a manifest alone (no network, no clock).

Every pinned file must be present with the pinned size and sha256 first; the CIF rows then come
from the manifest, so rebuilding twice gives identical rows (and identical bytes).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from reprocal.core._names import check_label
from reprocal.errors import CheckFailed
from reprocal.fits._calindex import write_cif
from reprocal.fs._tree import file_chunks, install, safe_dir
from reprocal.progress import Progress
from reprocal.repo._extras import EXTRAS_DIR, ExpectedExtra, extras_home, verify_extras
from reprocal.repo._verify import Expected, verify_files
from reprocal.repo._verifycache import VerifyCache
from reprocal.state._manifest import Manifest, PinnedFile


@attrs.frozen
class RebuiltCif:
    """One CIF written by :func:`rebuild`."""

    label: str
    """The observation's label, or ``obs<N>``."""
    observation_id: str
    """Its observation id (``rpcal:2:obs:<hex>``)."""
    path: Path
    """Where the CIF was written."""
    rows: int
    """Number of constituents."""


def check_pinned_bytes(manifest: Manifest, dirs: Sequence[Path], *,
                       files: Iterable[PinnedFile] | None = None, jobs: int | None = None,
                       progress: Progress | None = None) -> dict[str, Path]:
    """Every pinned file (or those of ``files``) present with its pinned size, FITS checksums
    and sha256 (a ``full`` verify that reuses what the verify cache vouches for: the facts
    established, not a scrub), or :class:`CheckFailed`; returns where each was found."""
    wanted = manifest.files if files is None else tuple(files)
    with VerifyCache() as cache:
        report = verify_files((Expected.from_pinned(f) for f in wanted), list(dirs),
                              level="full", jobs=jobs, cache=cache, reuse=True,
                              progress=progress)
    problems = [f"{r.filename}: {r.status.value}" + (f" ({r.detail})" if r.detail else "")
                for r in report.problems()]
    if problems:
        raise CheckFailed(
            f"{len(problems)} pinned constituent(s) not as pinned: " + "; ".join(problems[:5])
            + (" ..." if len(problems) > 5 else ""),
            hint="run `reprocal verify` for the full report, `reprocal fetch` to repair",
        )
    return {r.filename: r.path for r in report.results if r.path is not None}


def check_pinned_extras(manifest: Manifest, dirs: Sequence[Path], *, jobs: int | None = None
                        ) -> dict[str, Path]:
    """Every file of the manifest's extra sets present in its home with its pinned size and
    sha256 (reusing what the verify cache vouches for), or :class:`CheckFailed` naming the
    first; returns each set's home directory by label (``{}``: the manifest pins none)."""
    if not manifest.extras:
        return {}
    expected = [ExpectedExtra(x.label, f.path, f.size, f.sha256)
                for x in manifest.extras for f in x.files]
    with VerifyCache() as cache:
        report = verify_extras(expected, list(dirs), level="full", cache=cache, reuse=True,
                               jobs=jobs)
    problems = [f"{r.name}: {r.status.value}" + (f" ({r.detail})" if r.detail else "")
                for r in report.problems()]
    if problems:
        raise CheckFailed(
            f"{len(problems)} file(s) of extra calibration sets not as pinned: "
            + "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""),
            hint="run `reprocal verify` for the full report, `reprocal fetch` to repair")
    return {x.label: extras_home(list(dirs), x.label) for x in manifest.extras}


def esas_caldb_of(manifest: Manifest, homes: dict[str, Path]) -> Path | None:
    """What ``ESAS_CALDB`` names for the manifest's caldb (its home, or the one top directory
    its tarball unpacks into), given the homes :func:`check_pinned_extras` found."""
    x = manifest.caldb
    if x is None:
        return None
    home = homes[x.label]
    return home / x.root if x.root else home


def rebuild_extras(manifest: Manifest, dirs: Sequence[Path], out_dir: str | os.PathLike[str],
                   *, jobs: int | None = None) -> dict[str, Path]:
    """Check every file of the manifest's extra sets, then copy each set into
    ``OUT/extras/<label>/`` laid out as its paths say (a caldb as its tarball unpacks), each
    file written to ``.NAME.part``, checked against its pin and renamed; the directory of each
    set by label."""
    if not manifest.extras:
        return {}
    if "extras" in manifest.labels():
        raise CheckFailed("an observation is labelled 'extras': its CIF directory would be "
                          "where the extra sets go", hint="relabel it (pin --obs-id)")
    homes = check_pinned_extras(manifest, dirs, jobs=jobs)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for x in manifest.extras:
        home = safe_dir(root, f"{EXTRAS_DIR}/{x.label}") if x.files else None
        for f in x.files:
            assert home is not None
            install(home, f.path, file_chunks(homes[x.label] / f.path), size=f.size,
                    sha256=f.sha256)
        out[x.label] = root / EXTRAS_DIR / x.label
    return out


def rebuild(
    manifest: Manifest,
    dirs: Sequence[Path],
    out_dir: str | os.PathLike[str],
    *,
    fullpath: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> list[RebuiltCif]:
    """Check the pinned bytes, then write ``OUT/<label>/ccf.cif`` for every observation."""

    found = check_pinned_bytes(manifest, dirs, jobs=jobs, progress=progress)
    out = []
    for label, obs, obs_id in zip(manifest.labels(), manifest.observations,
                                  manifest.observation_ids, strict=True):
        rows = manifest.constituents_for(obs)
        target = Path(out_dir) / check_label(label, field="observation label") / "ccf.cif"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_cif(
            target, rows, obs_date=obs.obs_date, analysis_date=obs.analysis_date,
            category=obs.category,
            paths={n: found[n].resolve() for n in obs.files} if fullpath else None,
        )
        out.append(RebuiltCif(label, str(obs_id), target, len(rows)))
    return out
