"""``pin``, ``rebuild`` and ``upgrade_manifest``: manifests."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._inputs import (
    DateLike,
    PathLike,
    analysis,
    directories,
    manifest_of,
    observation,
    open_repository,
    signer_of,
    warn,
    warn_gaps,
)
from reprocal.core._constituent import DEFAULT_CATEGORY
from reprocal.core._dates import resolve
from reprocal.core._names import check_label
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.progress import Progress, or_null
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._resolve import Resolution
from reprocal.repo._walk import DEFAULT_GLOB
from reprocal.state._manifest import Manifest, load_manifest, save_manifest
from reprocal.state._pin import ObsRequest
from reprocal.state._rebuild import RebuiltCif

# --- pin ------------------------------------------------------------------------------------


def extra_json(x: Any) -> dict[str, Any]:
    """An extra set as the commands' ``--json`` documents give it."""
    return {"label": x.label, "kind": x.kind, "id": str(x.id), "files": len(x.files),
            "bytes": x.bytes, "url": x.url, "tarball": x.tarball.path if x.tarball else None}


def _requests(*, obs_date: DateLike | None = None, odf: PathLike | None = None,
             obs_list: PathLike | None = None, analysis_date: DateLike | None = None,
             obs_id: str | None = None, names: Names = PARAMETERS) -> list[ObsRequest]:
    """The observations to pin: one (``obs_date`` or ``odf``, with ``analysis_date``), or those
    of an observation list (``obs_list``; ``analysis_date`` is the default of its rows).
    ``now`` is resolved here, once per value."""
    given = [x for x in (obs_date, odf, obs_list) if x]
    if len(given) > 1:
        raise InputError(f"give one of {names('obs_date')}, {names('odf')}, {names('obs_list')}")
    if obs_list:
        return _listed(obs_list, analysis_date, obs_id, names)
    if not analysis_date:
        raise InputError(f"{names('analysis_date')} is required (a date, or 'now' to pin "
                         "today's state)")
    if obs_id is not None:
        check_label(obs_id, field=names("obs_id"))
    found_id, obs = observation(obs_date, odf, names)
    return [ObsRequest(obs_id or found_id, obs, analysis(analysis_date, obs, names))]


def _listed(obs_list: PathLike, analysis_date: DateLike | None, obs_id: str | None,
            names: Names) -> list[ObsRequest]:
    from reprocal.fits._odf import read_obs_list

    if obs_id:
        raise InputError(f"{names('obs_id')} goes with {names('obs_date')}/{names('odf')}, not "
                         f"{names('obs_list')}")
    default_an = resolve(analysis_date, field=names("analysis_date")) if analysis_date else None
    out = []
    for spec in read_obs_list(Path(obs_list)):
        raw = spec.analysis_date or None
        if raw is None and default_an is None:
            raise InputError(f"{obs_list}: observation {spec.obs_id or spec.obs_date} has no "
                             f"analysis_date and no {names('analysis_date')} was given")
        an = resolve(raw, field=f"{obs_list}: analysis_date") if raw else default_an
        assert an is not None
        out.append(ObsRequest(spec.obs_id, spec.obs_date, an))
    return out


def _sas_version(given: str | None, names: Names) -> tuple[str | None, str | None]:
    """The SAS version to record and where it came from: ``given``, else what this machine's
    SAS says (the ``sasversion`` task on ``$PATH``, else a release in ``$SAS_DIR``), else
    nothing (a warning says so when a SAS seems to be there). A given version that differs
    from the SAS found here is recorded as given, with a warning."""
    from reprocal.provenance._environment import sas_version

    found = sas_version(os.environ)
    known = found if found is not None and found["version"] != "unknown" else None
    if given:
        if known is not None and known["version"] != given:
            warn(f"{names('sas_version')} {given}, but {known['source']} says SAS "
                 f"{known['version']} here; the manifest records {given}")
        return given, names("sas_version")
    if known is not None:
        return known["version"], known["source"]
    if found is not None:
        warn(f"{found['source']} names no SAS release and no `sasversion` is on PATH: the "
             f"manifest records no SAS version (give {names.given('sas_version', 'V')})")
    return None, None


@attrs.frozen
class PinResult:
    """The manifest :func:`pin` wrote, and its provenance record."""

    manifest: Manifest
    """The pinned state (its analysis dates are literals: ``now`` was resolved)."""
    path: Path
    """The manifest file, as given."""
    record: Path
    """The provenance record of the pin."""
    resolutions: tuple[Resolution, ...]
    """Each observation's resolution, with its gaps (pinned only with ``allow_incomplete``)."""
    sas_version_source: str | None = None
    """Where ``manifest.sas_version`` came from: the parameter, ``sasversion`` or ``SAS_DIR``
    (``None``: no version recorded)."""

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.manifest.files)

    def observation_ids(self) -> list[tuple[str, str]]:
        """(label, observation id) of each observation, in order."""
        m = self.manifest
        return [(label, str(i)) for label, i in zip(m.labels(), m.observation_ids, strict=True)]

    def _repr_html_(self) -> str:
        return self.manifest._repr_html_()

    def to_table(self) -> Any:
        """The pinned constituents (:meth:`reprocal.state.Manifest.to_table`)."""
        return self.manifest.to_table()

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {"manifest": str(self.path.resolve()), "calibration_id": m.calibration_id,
                "observation_ids": dict(self.observation_ids()),
                "observations": len(m.observations), "constituents": len(m.files),
                "bytes": self.bytes, "sas_version": m.sas_version,
                "sas_version_source": self.sas_version_source,
                "extras": [extra_json(x) for x in m.extras]}


def pin(
    *,
    obs_date: DateLike | None = None,
    odf: PathLike | None = None,
    obs_list: PathLike | None = None,
    analysis_date: DateLike | None = None,
    obs_id: str | None = None,
    output: PathLike,
    category: str = DEFAULT_CATEGORY,
    sas_version: str | None = None,
    allow_incomplete: bool = False,
    jobs: int | None = None,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    recurse: bool = False,
    fileglob: str = DEFAULT_GLOB,
    esas_caldb: PathLike | None = None,
    extras: Sequence[str] = (),
    sign: PathLike | None = None,
    argv: Sequence[str] | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> PinResult:
    """Pin a calibration state: resolve the observations against the
    repository, hash every selected file, write the manifest ``output`` and its provenance
    record (``<output>.prov.json``, giving ``argv`` as the command; default: this call).

    ``esas_caldb`` (a directory, a tarball, or a tarball's URL) and ``extras`` (each
    ``[LABEL=]DIR|FILE``) are pinned too, as extra calibration sets (in the state id): each is
    checked whole first (a tarball member by member: no ``..``, absolute, linked or duplicate
    members), then kept in the repository, ``extras/<label>/`` of the first ``ccf_path``
    directory that has it (else of the first), where every other command finds it.

    A state with a newer eligible issue known but missing is refused
    (:class:`~reprocal.errors.IncompleteStateError`) unless ``allow_incomplete``. ``sign``: a
    private key (``reprocal key generate``) to sign the record with.

    The manifest records the SAS version: ``sas_version`` if given, else what this machine's
    SAS says (``sasversion`` on ``$PATH``, else a release named in ``$SAS_DIR``); it is in no
    id. ``PinResult.sas_version_source`` says which.
    """
    from reprocal.provenance._recorder import record_command
    from reprocal.state._pin import pin as pin_state

    started = datetime.now(timezone.utc)
    signer = signer_of(sign)
    sas, sas_source = _sas_version(sas_version, names)
    wanted = _requests(obs_date=obs_date, odf=odf, obs_list=obs_list, analysis_date=analysis_date,
                      obs_id=obs_id, names=names)
    scanned = []
    if esas_caldb is not None or extras:
        from reprocal.api._extras import scan_sources

        scanned = scan_sources(esas_caldb, extras, directories(ccf_path, names), names, jobs=jobs)
    with open_repository(ccf_path, names, catalog=catalog, recurse=recurse, fileglob=fileglob,
                         progress=progress) as repo:
        manifest, resolutions = pin_state(
            repo, wanted, category=category, allow_incomplete=allow_incomplete,
            sas_version=sas, jobs=jobs, progress=progress, names=names)
        dirs = repo.dirs
    if scanned:
        from reprocal.api._extras import install_sets
        from reprocal.state._manifest import with_extras

        manifest = with_extras(manifest, install_sets(scanned, list(dirs)))
    for res in resolutions:
        warn_gaps(res)
    save_manifest(manifest, output)
    record = record_command("pin", outputs=[output], manifest=manifest, started=started,
                            argv=["reprocal.api.pin"] if argv is None else argv, signer=signer)
    return PinResult(manifest, Path(output), record, tuple(resolutions), sas_source)


# --- rebuild --------------------------------------------------------------------------------


@attrs.frozen
class RebuildResult:
    """The CIFs :func:`rebuild` wrote."""

    manifest: Manifest
    dirs: tuple[Path, ...]
    """The repository whose bytes were checked."""
    cifs: tuple[RebuiltCif, ...]
    """One per observation: ``OUT/<label>/ccf.cif``."""
    extras: tuple[tuple[str, Path], ...] = ()
    """Each extra set, copied to ``OUT/extras/<label>/``."""

    def to_json(self) -> dict[str, Any]:
        return {"calibration_id": self.manifest.calibration_id,
                "cifs": [{"label": c.label, "observation_id": c.observation_id,
                          "path": str(c.path.resolve()), "rows": c.rows} for c in self.cifs],
                "extras": {label: str(p.resolve()) for label, p in self.extras}}


def rebuild(
    manifest: Manifest | PathLike,
    *,
    ccf_path: CcfPath = None,
    output: PathLike = "cif",
    fullpath: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> RebuildResult:
    """Rewrite each observation's CIF from ``manifest`` alone (offline, no clock), once every
    pinned file of ``ccf_path`` is checked (size, FITS checksums, sha256): ``output/<label>/ccf.cif``;
    the manifest's extra sets, checked too, are copied to ``output/extras/<label>/``."""
    from reprocal.state._rebuild import rebuild as rebuild_cifs
    from reprocal.state._rebuild import rebuild_extras

    m = manifest_of(manifest)
    dirs = directories(ccf_path, names)
    or_null(progress).start(len(m.files))
    cifs = rebuild_cifs(m, dirs, output, fullpath=fullpath, jobs=jobs, progress=progress)
    extras = rebuild_extras(m, dirs, output, jobs=jobs)
    return RebuildResult(m, dirs, tuple(cifs), tuple(extras.items()))


# --- manifest upgrade -----------------------------------------------------------------------


@attrs.frozen
class UpgradeResult:
    """The version-2 manifest :func:`upgrade_manifest` wrote."""

    path: Path
    """Where it was written, as given."""
    old: Manifest
    """The manifest as read (``old.source_schema`` says which version)."""
    new: Manifest
    """The version-2 manifest (``new.upgraded_from``: the old id)."""

    def to_json(self) -> dict[str, Any]:
        return {"manifest": str(self.path.resolve()), "from_schema": self.old.source_schema,
                "calibration_id": self.new.calibration_id, "upgraded_from": self.new.upgraded_from}


def upgrade_manifest(manifest: PathLike, *, output: PathLike | None = None) -> UpgradeResult:
    """Rewrite a manifest as version 2: the same constituents, the new ids, the old id kept in
    ``upgraded_from``. ``output`` defaults to ``manifest`` itself (replaced atomically)."""
    from reprocal.state._manifest import V1ManifestNotice, upgrade

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", V1ManifestNotice)
        old = load_manifest(manifest)
    new = upgrade(old)
    target = manifest if output is None else output
    save_manifest(new, target)
    return UpgradeResult(Path(target), old, new)


__all__ = ["PinResult", "RebuildResult", "UpgradeResult", "pin", "rebuild", "upgrade_manifest"]
