"""Pinning: resolve observations against a repository, hash what they select, write a manifest.

``now`` never reaches here: the caller resolves it once (at the edge, :mod:`reprocal.api`) and
passes a literal. A state whose selection is known to be incomplete (a newer eligible issue is
known but missing) is refused unless ``allow_incomplete``: pinning it would pin a silent
downgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

from reprocal._version import __version__
from reprocal.core._constituent import DEFAULT_CATEGORY
from reprocal.core._dates import CalDate
from reprocal.core._names import check_label
from reprocal.errors import PARAMETERS, FitsFormatError, IncompleteStateError, Names
from reprocal.progress import Progress
from reprocal.repo._repository import Repository
from reprocal.repo._resolve import Resolution
from reprocal.repo._verify import hash_and_remember
from reprocal.repo._verifycache import VerifyCache
from reprocal.state._manifest import Generator, Manifest, RecordedGap, build


@attrs.frozen
class ObsRequest:
    """One observation to pin."""

    label: str | None = attrs.field(
        validator=lambda _i, _a, v: v is None or check_label(v, field="observation label"))
    """A label for the observation, usually its XMM ObsID (in no id; checked as a label)."""
    obs_date: CalDate
    """The observation date (pinned as given)."""
    analysis_date: CalDate
    """The analysis date (a literal; ``now`` already resolved)."""


def pin(
    repo: Repository,
    requests: Sequence[ObsRequest],
    *,
    category: str = DEFAULT_CATEGORY,
    ignore_category: bool = False,
    allow_incomplete: bool = False,
    sas_version: str | None = None,
    jobs: int | None = None,
    method: str = "pin: cifbuild selection over a local repository",
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> tuple[Manifest, list[Resolution]]:
    """Resolve every request, hash the union of selected files once, build the manifest.

    ``progress`` is told ``start(files to hash)``, then one ``update`` per file hashed;
    ``names`` spells ``allow_incomplete`` in the refusal; ``method`` is the generator's (what
    made the selection)."""
    resolutions = [repo.resolve(r.obs_date, r.analysis_date, category=category,
                                ignore_category=ignore_category) for r in requests]
    return pin_resolved(requests, resolutions, category=category,
                        allow_incomplete=allow_incomplete, sas_version=sas_version, jobs=jobs,
                        method=method, progress=progress, names=names), resolutions


def pin_resolved(
    requests: Sequence[ObsRequest],
    resolutions: Sequence[Resolution],
    *,
    category: str = DEFAULT_CATEGORY,
    allow_incomplete: bool = False,
    sas_version: str | None = None,
    jobs: int | None = None,
    method: str = "pin: cifbuild selection over a local repository",
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> Manifest:
    """The manifest of requests already resolved (one resolution per request, in order):
    refused when incomplete unless ``allow_incomplete``, every selected file hashed once."""
    gaps = [
        f"{r.label or r.obs_date}: {g.describe()}"
        for r, res in zip(requests, resolutions, strict=True) for g in res.gaps
    ]
    if gaps and not allow_incomplete:
        raise IncompleteStateError(
            f"{len(gaps)} newer eligible issue(s) are known but missing locally: "
            + "; ".join(gaps[:3]) + (" ..." if len(gaps) > 3 else ""),
            gaps=tuple(gaps),
            hint=f"fetch them (`reprocal fetch`) or pass {names.given('allow_incomplete')} to pin "
                 "the downgrade",
        )
    paths: dict[str, Path] = {}
    shared: set[int] = set()  # observations of one class share their paths' mapping
    for res in resolutions:
        if id(res.paths) not in shared:
            shared.add(id(res.paths))
            paths.update(res.paths)
    # Hash and FITS-check in one pass, remembered so the first `verify` after a pin is a stat walk.
    if progress is not None:
        progress.start(len(paths))
    with VerifyCache() as cache:
        digests = hash_and_remember(sorted(map(str, paths.values())), cache=cache, jobs=jobs,
                                    progress=progress)
    hashes: dict[str, tuple[int, str]] = {}
    for name, path in paths.items():
        digest = digests[str(path)]
        if isinstance(digest, Exception):
            raise FitsFormatError(f"cannot read while hashing: {digest}", path=path)
        hashes[name] = (path.stat().st_size, digest)
    if allow_incomplete and gaps:
        method += " (pinned although incomplete)"
    return build(
        ((r.label, r.obs_date, r.analysis_date, category, res.chosen)
         for r, res in zip(requests, resolutions, strict=True)),
        hashes, sas_version=sas_version, generator=Generator("reprocal", __version__, method),
        gaps=[[RecordedGap(g.missing.filename, g.selected.filename if g.selected else None)
               for g in res.gaps] for res in resolutions],
    )
