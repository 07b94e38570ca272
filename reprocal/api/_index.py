"""``index``: index a calibration repository (only new or changed files are read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._checked import Checked
from reprocal.api._inputs import PathLike, open_repository, warn
from reprocal.errors import PARAMETERS, Names, RepositoryError
from reprocal.progress import Progress
from reprocal.repo._catalog import ScanReport
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._walk import DEFAULT_GLOB


@attrs.frozen
class IndexResult(Checked):
    """What :func:`index` did."""

    report: ScanReport
    """The scan: files read, unchanged, gone, and problems found."""
    catalog: Path
    """The catalogue database."""
    constituents: int
    """Constituents present in the directories."""
    types: int
    """Distinct (scope, type) among them."""
    imported: Mapping[str, int]
    """Expected constituents imported, by master index given."""
    expected: int
    """Expected constituents the catalogue now knows (present or not)."""
    master_index: Path | None
    """The master index written, if one was asked for."""
    failure: RepositoryError | None = attrs.field(default=None, eq=False)
    """Why the index is unusable (no constituent at all), else ``None``."""

    @property
    def dirs(self) -> tuple[Path, ...]:
        return self.report.dirs

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = self.report.to_json()
        doc.update(catalog=str(self.catalog), constituents=self.constituents, types=self.types,
                   imported=dict(self.imported), expected=self.expected)
        return doc


def index(
    *,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    recurse: bool = False,
    fileglob: str = DEFAULT_GLOB,
    import_index: Sequence[PathLike] = (),
    write_master_index: PathLike | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> IndexResult:
    """Index the repository of ``ccf_path`` (``None``: ``$SAS_CCFPATH``) in ``catalog``
    (``None``: ``$REPROCAL_CATALOG`` or the user cache directory); import master indexes as
    expected content; optionally write a master index of what is present.

    An empty repository is reported, not raised: see :attr:`IndexResult.failure`. ``rebuild``:
    start the catalogue afresh, keeping the old (damaged) one aside as ``NAME.damaged``.
    """
    if rebuild:
        from reprocal.repo._catalog import set_aside

        aside = set_aside(catalog)
        if aside is not None:
            warn(f"the old catalogue is kept as {aside}; import any master index again")
    with open_repository(ccf_path, names, catalog=catalog, recurse=recurse, fileglob=fileglob,
                         progress=progress) as repo:
        imported = {str(path): repo.import_index(path) for path in import_index}
        present = repo.present()
        if write_master_index is not None:
            from reprocal.fits._calindex import write_master_index as write_mif

            write_mif(write_master_index, [lf.constituent for lf in present])
        report = repo.last_scan
        assert report is not None
        expected = len(repo.catalog.expected())
        failure = None
        if not present:
            failure = RepositoryError(
                f"no calibration constituents in {':'.join(map(str, repo.dirs))}",
                hint=f"check {names('ccf_path')} / SAS_CCFPATH and {names('fileglob')}")
        return IndexResult(
            report, repo.catalog.path, len(present), len({lf.constituent.key for lf in present}),
            imported, expected, Path(write_master_index) if write_master_index else None,
            failure)


__all__ = ["IndexResult", "index"]
