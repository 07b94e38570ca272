"""``cifbuild``: SAS's ``cifbuild`` task by its own parameters, writing the CIF it would write
and, beside it, a manifest pinning that state.

The parameters are cifbuild's (the set its CIFs record in ``XPROC0``, cifbuild-4.8 in the real
samples), under cifbuild's names and defaults, so that a script or the pySAS task wrapper that
calls ``cifbuild`` keeps working when reprocal's drop-in is first on ``PATH``. What it does
that cifbuild does not, it says: ``now`` is resolved once and written as a literal; a silent
downgrade cifbuild would make (a newer eligible issue known but missing locally) is made the
same way, cifbuild-compatible, but warned about and recorded in the manifest as an incomplete
state. The CIF is written by the same code as ``reprocal cif``, so its rows are the ones
``reprocal cif`` writes for the same dates.

Errors name the parameters as cifbuild spells them (``analysisdate: ...``).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._inputs import DateLike, PathLike, analysis, open_repository, warn
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate, resolve
from reprocal.errors import PARAMETERS, InputError, LocalIOError, Names, OdfError
from reprocal.progress import Progress
from reprocal.repo._resolve import Gap, Resolution
from reprocal.repo._walk import DEFAULT_GLOB
from reprocal.state._manifest import Manifest


@attrs.frozen
class TaskParameter:
    """One parameter of the cifbuild task, as SAS declares it."""

    name: str
    kind: str
    """``bool`` (``yes``/``no``), ``string``, ``date`` (a date or ``now``), ``paths``."""
    default: str
    """The default, as SAS writes it."""
    help: str
    parent: str | None = None
    """The boolean parameter that switches this one on (``withccfpath`` for ``ccfpath``)."""


CIFBUILD_PARAMETERS: tuple[TaskParameter, ...] = (
    TaskParameter("calindexset", "string", "ccf.cif", "the CIF to write"),
    TaskParameter("withccfpath", "bool", "no",
                  "search ccfpath instead of $SAS_CCFPATH"),
    TaskParameter("ccfpath", "paths", ".",
                  "directories of CCF constituents (':' or blank separated)", "withccfpath"),
    TaskParameter("recurse", "bool", "no", "also search subdirectories"),
    TaskParameter("fileglob", "string", DEFAULT_GLOB, "file-name patterns, '|'-separated"),
    TaskParameter("fullpath", "bool", "no", "absolute paths in FNAME (else base names)"),
    TaskParameter("withobservationdate", "bool", "no",
                  "take the observation date from observationdate instead of $SAS_ODF"),
    TaskParameter("observationdate", "date", "now", "the observation date",
                  "withobservationdate"),
    TaskParameter("analysisdate", "date", "now",
                  "only calibration submitted by this date is used ('now' is written as the "
                  "literal time)"),
    TaskParameter("category", "string", DEFAULT_CATEGORY, "the CATEGORY of constituents to use"),
    TaskParameter("ignorecategory", "bool", "no", "select regardless of CATEGORY"),
    TaskParameter("masterindex", "bool", "no",
                  "write a master index (every constituent found, no date selection) instead "
                  "of a CIF"),
    TaskParameter("withmasterindexset", "bool", "no",
                  "select from the master index masterindexset instead of the files"),
    TaskParameter("masterindexset", "string", "ccf.mif", "the master index to select from",
                  "withmasterindexset"),
    TaskParameter("append", "bool", "no",
                  "add to an existing CIF the types it lacks (not implemented: refused)"),
    TaskParameter("usecanonicalname", "bool", "no",
                  "name the CIF rrrr_ppppppooll.cif from the ODF's revolution and observation"),
)
"""Every parameter reprocal's cifbuild takes; any other is refused by name."""

SUBPARAMETERS = {p.name: p.parent for p in CIFBUILD_PARAMETERS if p.parent}
"""Sub-parameter -> the boolean that enables it."""

_CIFBUILD_NAMES = Names({"obs_date": "observationdate", "analysis_date": "analysisdate",
                         "ccf_path": "ccfpath", "fileglob": "fileglob", "odf": "SAS_ODF"})
"""How the building blocks' errors spell what they are about, in cifbuild's words."""


@attrs.frozen
class CifbuildResult:
    """What :func:`cifbuild` wrote."""

    output: Path
    """The CIF (or master index), as written (``usecanonicalname`` decides its name)."""
    manifest_path: Path | None
    """The manifest beside it (``None``: no state to pin, see :attr:`notes`)."""
    manifest: Manifest | None
    obs_id: str | None
    """The ODF's observation id (``None`` when the date was given)."""
    obs_date: CalDate | None
    analysis_date: CalDate | None
    """The analysis date used (``now`` resolved: the literal the CIF and manifest carry)."""
    analysis_was_now: bool
    category: str
    constituents: tuple[Constituent, ...]
    """The rows written."""
    gaps: tuple[Gap, ...] = ()
    """Newer eligible issues known but missing: cifbuild's silent downgrades, made and warned."""
    withdrawn: tuple[str, ...] = ()
    """One warning per type a withdrawal touches (see :func:`withdrawal_notes`)."""
    notes: tuple[str, ...] = ()
    """What else differs from a plain run (no manifest, an implied parameter)."""

    @property
    def complete(self) -> bool:
        return not self.gaps

    def to_json(self) -> dict[str, Any]:
        from reprocal.api._cif import rows_json

        m = self.manifest
        return {"output": str(self.output.resolve()),
                "manifest": str(self.manifest_path.resolve()) if self.manifest_path else None,
                "calibration_id": m.calibration_id if m else None,
                "observation_id": str(m.observation_ids[0]) if m else None,
                "obs_id": self.obs_id,
                "obs_date": str(self.obs_date) if self.obs_date else None,
                "analysis_date": str(self.analysis_date) if self.analysis_date else None,
                "analysis_was_now": self.analysis_was_now, "category": self.category,
                "complete": self.complete, "gaps": [g.describe() for g in self.gaps],
                "withdrawn": list(self.withdrawn), "notes": list(self.notes),
                "constituents": rows_json(self.constituents)}


def manifest_beside(cif: PathLike) -> Path:
    """Where the manifest of a CIF goes: ``ccf.cif`` -> ``ccf.manifest.json``.

    >>> manifest_beside("odf/ccf.cif"), manifest_beside("x")
    (PosixPath('odf/ccf.manifest.json'), PosixPath('x.manifest.json'))
    """
    p = Path(cif)
    return p.with_name((p.stem if p.suffix else p.name) + ".manifest.json")


def split_ccfpath(value: str | os.PathLike[str]) -> list[str]:
    """cifbuild's ``ccfpath``: directories separated by ``:`` or blanks.

    >>> split_ccfpath("/a:/b /c"), split_ccfpath(" ")
    (['/a', '/b', '/c'], [])
    """
    return [p for p in re.split(r"[:\s]+", os.fspath(value)) if p]


def withdrawal_notes(res: Resolution) -> tuple[str, ...]:
    """One warning per calibration type whose selection a withdrawal touches (the repository's
    mirror history dates them), for the CIF the drop-in writes: cifbuild's own choice over the
    files present (:meth:`~reprocal.repo._resolve.Resolution.as_kept`).

    cifbuild on a repository that kept a withdrawn file selects it like any other, and so does
    the drop-in; the warning says so, and what ``reprocal cif`` and a mirror pruned with ESA's
    ``rsync --delete`` give instead.
    """
    out = []
    for e in res.withdrawals:
        w, since = e.withdrawn.filename, e.withdrawal.since
        pruned = (f"issue {e.pruned.issue} ({e.pruned.filename})" if e.pruned is not None
                  else "no issue of the type")
        if e.before_analysis:
            mine = (f"issue {e.selected.issue} ({e.selected.filename})" if e.selected is not None
                    else "no issue of the type")
            out.append(f"cifbuild-compatible withdrawal: {w} was withdrawn from the archive on "
                       f"{since}, before the analysis date; like cifbuild on a repository that "
                       f"kept it, the CIF uses it (`reprocal cif` skips it and gives {mine}; a "
                       f"mirror following --delete gives {pruned})")
        else:
            out.append(f"withdrawal: {w} was withdrawn from the archive on {since}, after the "
                       f"analysis date; the CIF uses it, as users then had it (a mirror that "
                       f"followed --delete since gives {pruned})")
    return tuple(out)


def _observation(withobservationdate: bool, observationdate: DateLike
                 ) -> tuple[str | None, str | None, CalDate]:
    """(obs id, revolution, date): from ``observationdate``, or the ODF of ``$SAS_ODF``."""
    from reprocal.fits._odf import observation_date

    if withobservationdate:
        return None, None, resolve(observationdate, field="observationdate")
    if not os.environ.get("SAS_ODF", "").strip():
        raise OdfError("SAS_ODF is not set, and withobservationdate=no",
                       hint="set SAS_ODF to the ODF directory (or its *SUM.SAS file), or give "
                            "withobservationdate=yes observationdate=DATE")
    obs = observation_date(None)
    return obs.obs_id, obs.revolution, obs.start


def _target(calindexset: PathLike, usecanonicalname: bool, obs_id: str | None,
            revolution: str | None) -> Path:
    """The CIF's path: ``calindexset``, or with ``usecanonicalname`` ``rrrr_ppppppooll.cif``
    in its directory."""
    if not usecanonicalname:
        return Path(calindexset)
    if not (obs_id and revolution):
        raise InputError("usecanonicalname=yes names the CIF after the ODF's revolution and "
                         "observation, and there is no ODF",
                         hint="set SAS_ODF and withobservationdate=no, or usecanonicalname=no")
    return Path(calindexset).parent / f"{revolution}_{obs_id}.cif"


def _refuse_clobber(paths: list[Path]) -> None:
    for p in paths:
        if os.path.lexists(p):
            raise LocalIOError("exists, and clobbering is off (--noclobber or SAS_CLOBBER=0)",
                               path=p, hint="remove it, give another calindexset, or allow "
                                            "clobbering")


def cifbuild(
    *,
    calindexset: PathLike = "ccf.cif",
    withccfpath: bool = False,
    ccfpath: str | os.PathLike[str] = ".",
    recurse: bool = False,
    fileglob: str = DEFAULT_GLOB,
    fullpath: bool = False,
    withobservationdate: bool = False,
    observationdate: DateLike = "now",
    analysisdate: DateLike = "now",
    category: str = DEFAULT_CATEGORY,
    ignorecategory: bool = False,
    masterindex: bool = False,
    withmasterindexset: bool = False,
    masterindexset: PathLike = "ccf.mif",
    append: bool = False,
    usecanonicalname: bool = False,
    clobber: bool = True,
    catalog: PathLike | None = None,
    argv: list[str] | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> CifbuildResult:
    """Do what ``cifbuild`` does with these parameters (cifbuild's names and defaults), offline:
    write the CIF ``calindexset`` from the constituents of ``$SAS_CCFPATH`` (``ccfpath`` with
    ``withccfpath``) for the observation of ``$SAS_ODF`` (``observationdate`` with
    ``withobservationdate``) and ``analysisdate``, and beside it the manifest pinning that state
    (:func:`manifest_beside`). ``clobber=False`` (SAS's ``--noclobber``) refuses to replace
    existing files. ``masterindex`` writes a master index of every constituent found instead
    (no state, so no manifest); ``withmasterindexset`` selects from ``masterindexset`` and pins
    the result when the repository holds every selected file. ``append=True`` is refused.
    """
    if append:
        raise InputError("append=yes is not implemented by reprocal's cifbuild: the manifest "
                         "must pin every row's bytes, and rows carried over from an existing "
                         "CIF were selected under other dates",
                         hint="build the CIF in one run (append=no), or use SAS's own cifbuild "
                              "for incremental CIFs")
    ccf_path = split_ccfpath(ccfpath) if withccfpath else None
    if withccfpath and not ccf_path:
        raise InputError("ccfpath is empty and withccfpath=yes",
                         hint="give ccfpath=DIR[:DIR...], or withccfpath=no for $SAS_CCFPATH")
    if masterindex:
        return _master_index(Path(calindexset), ccf_path, recurse, fileglob, category, clobber,
                             catalog, progress)
    obs_id, revolution, obs = _observation(withobservationdate, observationdate)
    an = analysis(analysisdate, obs, _CIFBUILD_NAMES)
    was_now = isinstance(analysisdate, str) and analysisdate.strip().lower() == "now"
    target = _target(calindexset, usecanonicalname, obs_id, revolution)
    beside = manifest_beside(target)
    if not clobber:
        _refuse_clobber([target, beside])
    if withmasterindexset:
        return _from_master_index(Path(masterindexset), target, beside, ccf_path, obs_id, obs,
                                  an, was_now, category, ignorecategory, fullpath, recurse,
                                  fileglob, catalog, argv, progress)
    started = datetime.now(timezone.utc)
    with open_repository(ccf_path, _CIFBUILD_NAMES, catalog=catalog, recurse=recurse,
                         fileglob=fileglob, progress=progress) as repo:
        res = repo.resolve(obs, an, category=category,
                           ignore_category=ignorecategory).as_kept()
        withdrawn = withdrawal_notes(res)
        for line in withdrawn:
            warn(line)
        _warn_downgrades(res)
        repo.write_cif(res, target, fullpath=fullpath)
        manifest = _pin(res, obs_id, obs, an, category, ignorecategory, beside, target,
                        started, argv, progress)
    return CifbuildResult(target, beside, manifest, obs_id, obs, an, was_now, category,
                          tuple(res.chosen), res.gaps, withdrawn)


def _warn_downgrades(res: Resolution) -> None:
    """One warning per silent downgrade cifbuild would make (and this CIF makes too)."""
    for gap in res.gaps:
        instead = (f"issue {gap.selected.issue}" if gap.selected else "no issue of that type")
        warn(f"cifbuild-compatible downgrade: {gap.missing.filename} (submitted "
             f"{gap.missing.subdate}) is eligible but missing locally; like cifbuild, the CIF "
             f"uses {instead} instead")
    if res.gaps:
        warn(f"{len(res.gaps)} silent downgrade(s) cifbuild would not have mentioned; the "
             "manifest records the state as incomplete (`reprocal fetch` can fill the gaps, "
             "then run cifbuild again)")


def _pin(res: Resolution, obs_id: str | None, obs: CalDate, an: CalDate, category: str,
         ignorecategory: bool, beside: Path, target: Path, started: datetime,
         argv: list[str] | None, progress: Progress | None) -> Manifest:
    """Hash what the CIF names, save the manifest and the provenance record."""
    from reprocal.api._pin import _sas_version
    from reprocal.provenance._recorder import record_command
    from reprocal.state._manifest import save_manifest
    from reprocal.state._pin import ObsRequest, pin_resolved

    method = "cifbuild (reprocal's drop-in): cifbuild selection over a local repository"
    if ignorecategory:
        method += ", ignorecategory=yes (rows selected regardless of CATEGORY)"
    used = sorted(e.withdrawn.filename for e in res.withdrawals
                  if e.before_analysis and e.withdrawn in res.chosen)
    if used:
        method += (", withdrawn constituents selected as cifbuild on a repository that kept "
                   f"them: {', '.join(used)}")
    sas, _ = _sas_version(None, Names({"sas_version": "--sas-version"}))
    manifest = pin_resolved([ObsRequest(obs_id, obs, an)], [res], category=category,
                            allow_incomplete=True, sas_version=sas, method=method,
                            progress=progress)
    save_manifest(manifest, beside)
    record_command("cifbuild", outputs=[target, beside], manifest=manifest, started=started,
                   argv=["cifbuild"] if argv is None else argv)
    return manifest


def _master_index(target: Path, ccf_path: list[str] | None, recurse: bool, fileglob: str,
                  category: str, clobber: bool, catalog: PathLike | None,
                  progress: Progress | None) -> CifbuildResult:
    """``masterindex=yes``: every constituent found, one row each, no date selection."""
    from reprocal.fits._calindex import write_master_index

    if not clobber:
        _refuse_clobber([target])
    with open_repository(ccf_path, _CIFBUILD_NAMES, catalog=catalog, recurse=recurse,
                         fileglob=fileglob, progress=progress) as repo:
        rows = [lf.constituent for lf in repo.present()]
    write_master_index(target, rows)
    return CifbuildResult(target, None, None, None, None, None, False, category, tuple(rows),
                          notes=("masterindex=yes: a master index is no calibration state; no "
                                 "manifest was written",))


def _from_master_index(table: Path, target: Path, beside: Path, ccf_path: list[str] | None,
                       obs_id: str | None, obs: CalDate, an: CalDate, was_now: bool,
                       category: str, ignorecategory: bool, fullpath: bool, recurse: bool,
                       fileglob: str, catalog: PathLike | None, argv: list[str] | None,
                       progress: Progress | None) -> CifbuildResult:
    """``withmasterindexset=yes``: select from the table alone (as ``reprocal cif
    --master-index``); pin the result when the repository holds every selected file, with the
    attributes the table gives it."""
    from reprocal.api._cif import cif
    from reprocal.core._select import Rule, Selection
    from reprocal.errors import RepositoryError

    if fullpath:
        raise InputError("fullpath=yes needs the files; it does not go with "
                         "withmasterindexset=yes")
    started = datetime.now(timezone.utc)
    made = cif(obs_date=obs, analysis_date=an, category=category, ignore_category=ignorecategory,
               output=target, master_index=table)
    manifest, why = None, ""
    try:
        with open_repository(ccf_path, _CIFBUILD_NAMES, catalog=catalog, recurse=recurse,
                             fileglob=fileglob, progress=progress) as repo:
            present = {lf.filename: lf for lf in repo.present()}
            differ = [c.filename for c in made.constituents
                      if c.filename not in present
                      or _selection_attributes(present[c.filename].constituent)
                      != _selection_attributes(c)]
            if differ:
                why = (f"{len(differ)} constituent(s) the master index selects are not in the "
                       f"repository as it describes them ({', '.join(differ[:3])}"
                       f"{' ...' if len(differ) > 3 else ''})")
            else:
                rule = Rule(obs, an, category, ignorecategory, master_index=True)
                chosen = tuple(present[c.filename].constituent for c in made.constituents)
                res = Resolution(rule, Selection(rule, chosen),
                                 {c.filename: present[c.filename].path for c in chosen}, ())
                manifest = _pin(res, obs_id, obs, an, category, ignorecategory, beside,
                                target, started, argv, progress)
    except RepositoryError as exc:  # no repository: the CIF stands, without a manifest
        why = exc.one_line()
    notes = (f"no manifest written: {why}",) if why else ()
    for n in notes:
        warn(n)
    return CifbuildResult(target, beside if manifest else None, manifest, obs_id, obs, an,
                          was_now, category, made.constituents, notes=notes)


def _selection_attributes(c: Constituent) -> tuple[object, ...]:
    return (c.filename, c.valdate, c.evaldate, c.subdate, c.category)


__all__ = ["CIFBUILD_PARAMETERS", "SUBPARAMETERS", "CifbuildResult", "TaskParameter",
           "cifbuild", "manifest_beside", "split_ccfpath", "withdrawal_notes"]
