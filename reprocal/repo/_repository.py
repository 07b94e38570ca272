"""A calibration repository: its directories plus the catalogue that indexes them.

The notebook entry point::

    from reprocal import Repository
    with Repository("/data/ccf") as repo:          # or Repository() for $SAS_CCFPATH
        res = repo.resolve("2004-05-09T13:00:16", "2018-07-27T17:25:14")
        repo.write_cif(res, "ccf.cif")

A repository that opened its catalogue closes it (``close()``, or the end of the ``with``); a
:class:`Catalog` passed in belongs to the caller and stays open.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._select import Rule
from reprocal.core._withdrawal import Withdrawals
from reprocal.errors import RepositoryError
from reprocal.progress import Progress
from reprocal.repo._catalog import Catalog, LocalFile, ScanReport
from reprocal.repo._ccfpath import CcfPath, ccf_dirs
from reprocal.repo._resolve import Resolution, Resolver
from reprocal.repo._walk import DEFAULT_GLOB, ListedFile


class Repository:
    """Directories of constituents (``SAS_CCFPATH`` order, see
    :func:`reprocal.repo._ccfpath.ccf_dirs`), indexed by a :class:`Catalog`.

    ``catalog`` is a path (opened here, closed by :meth:`close`; ``None``: the default
    catalogue) or an open :class:`Catalog` (the caller's, never closed here).
    """

    def __init__(
        self,
        ccf_path: CcfPath = None,
        *,
        catalog: Catalog | str | os.PathLike[str] | None = None,
        recurse: bool = False,
        fileglob: str = DEFAULT_GLOB,
        refresh: bool = True,
        progress: Progress | None = None,
        listed: Mapping[Path, Sequence[ListedFile]] | None = None,
    ):
        self.dirs = ccf_dirs(ccf_path)
        self._owns_catalog = not isinstance(catalog, Catalog)
        self.catalog = catalog if isinstance(catalog, Catalog) else Catalog.open(catalog)
        self.recurse = recurse
        self.fileglob = fileglob
        self.last_scan: ScanReport | None = None
        self._snapshot: tuple[list[LocalFile], list[Constituent], Withdrawals] | None = None
        self._resolver: Resolver | None = None
        if refresh:
            try:
                self.refresh(progress=progress, listed=listed)
            except BaseException:  # nobody holds this repository yet to close it
                self.close()
                raise

    def close(self) -> None:
        """Close the catalogue if this repository opened it (a passed-in one stays open)."""
        if self._owns_catalog:
            self.catalog.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self, *, progress: Progress | None = None,
                listed: Mapping[Path, Sequence[ListedFile]] | None = None) -> ScanReport:
        """Re-scan the directories (only new or changed files are read; ``listed``: their
        files as just listed, see :meth:`Catalog.refresh`)."""
        self._snapshot = self._resolver = None
        self.last_scan = self.catalog.refresh(
            self.dirs, recurse=self.recurse, fileglob=self.fileglob, progress=progress,
            listed=listed)
        return self.last_scan

    def import_index(self, path: str | os.PathLike[str]) -> int:
        """Import a master index / CALINDEX table as expected content (see
        :meth:`Catalog.import_calindex`); later resolutions see it."""
        self._snapshot = self._resolver = None
        return self.catalog.import_calindex(path)

    def present(self, *, above: Mapping[tuple[str, str], int] | None = None,
                valid_by: CalDate | None = None) -> list[LocalFile]:
        """The valid constituent files (see :meth:`Catalog.present`: ``above``, only those
        with a higher issue than it gives for their type, ``valid_by``, valid by then)."""
        return self.catalog.present(self.dirs, recurse=self.recurse, above=above,
                                    valid_by=valid_by)

    def resolve(
        self,
        obs_date: CalDate | str,
        analysis_date: CalDate | str,
        *,
        category: str = DEFAULT_CATEGORY,
        ignore_category: bool = False,
        held_on: CalDate | None = None,
    ) -> Resolution:
        """Apply cifbuild's rule to this repository (``now`` must be resolved by the caller).

        ``held_on``: select among the files the mirror histories say the repository held at
        that moment (what cifbuild run then would have seen), not among those present now."""
        rule = Rule(CalDate.parse(obs_date, field="observation date"),
                    CalDate.parse(analysis_date, field="analysis date"),
                    category, ignore_category)
        # Read the catalogue once per refresh, not once per observation (pin --obs-list).
        if self._snapshot is None:
            here = self.present()
            self._snapshot = (here, self.catalog.known(self.dirs, recurse=self.recurse,
                                                       present=here),
                              self.catalog.withdrawals(self.dirs))
        present, known, withdrawals = self._snapshot
        if held_on is not None:
            then = self.held_on(held_on)
            present = [lf for lf in present if lf.filename in then]
        if not present:
            raise RepositoryError(
                f"no calibration constituents found in {':'.join(map(str, self.dirs))}",
                hint="cifbuild would write an empty CIF here; check --ccf-path / SAS_CCFPATH",
            )
        if held_on is not None:
            return Resolver(present, known, withdrawals).resolve(rule)
        if self._resolver is None:
            self._resolver = Resolver(present, known, withdrawals)
        return self._resolver.resolve(rule)

    def held_on(self, date: CalDate) -> set[str]:
        """The constituent names the directories' mirror histories say were held at ``date``;
        a repository without a history, or a date before it began, is an error (nothing can
        say what it held)."""
        from reprocal.repo._history import read_history

        held: set[str] = set()
        starts = []
        for d in self.dirs:
            h = read_history(d)
            if h.start is not None:
                starts.append(h.start)
                held |= set(h.held_on(date).files)
        if not starts:
            raise RepositoryError(f"{':'.join(map(str, self.dirs))} has no mirror history, so "
                                  f"what it held on {date} is not known",
                                  hint="histories are written by `reprocal sync`")
        if date < min(starts):
            raise RepositoryError(f"the mirror history begins on {min(starts)}: what the "
                                  f"repository held on {date} is not known")
        return held

    def withdrawals(self) -> Withdrawals:
        """The withdrawal dates the histories of this repository's directories record."""
        return self.catalog.withdrawals(self.dirs)

    def write_cif(self, resolution: Resolution, out: str | os.PathLike[str], *,
                  fullpath: bool = False) -> Path:
        """Write the CIF of a resolution (base names, or absolute paths with ``fullpath``)."""
        from reprocal.fits._calindex import write_cif  # the CIF writer and table reader: 18 ms

        rule = resolution.rule
        write_cif(
            out, resolution.chosen, obs_date=rule.obs_date, analysis_date=rule.analysis_date,
            category=rule.category, paths=resolution.paths if fullpath else None,
        )
        return Path(out)
