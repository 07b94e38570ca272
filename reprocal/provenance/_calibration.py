"""The calibration ``reprocal run`` gives the command it runs, and how the record describes it.

**With a manifest** the command gets the manifest's calibration, not whatever the shell holds:

* one observation of the manifest: the only one, or the one ``obs`` names (a manifest of several
  needs it: each observation has its own CIF and its own id);
* its pinned constituents checked in the repository (``ccf_path``, else ``$SAS_CCFPATH``):
  each present once, with its pinned size, FITS checksums and sha256, read now or vouched for by
  the verify cache (the facts, as ``rebuild`` checks them, not a scrub);
* its CIF written from the manifest, with each ``FNAME`` the absolute path of the file just
  checked, so the command reads exactly those bytes whatever the case of their names or the
  order of the directories; into a private directory that is removed after the run, or to
  ``cif`` when given (kept);
* exported to the command: ``SAS_CCF`` (that CIF), ``SAS_CCFPATH`` (the repository's
  directories) and ``REPROCAL_CALIBRATION_ID`` (the observation id it is stamped with);
* the files of its extra calibration sets checked in their homes (``extras/<label>/``) as the
  constituents are, and, when it pins an ESAS caldb, ``ESAS_CALDB`` exported pointing at it
  (whatever the shell's ``ESAS_CALDB`` said: the manifest's caldb is the one recorded).

A ``SAS_CCF`` the shell already holds (a SAS user nearly always has one from earlier work) is
compared first: if its CALINDEX rows differ from the observation's, the run is refused
(:class:`~reprocal.errors.InputError`, exit 2) naming both, unless ``use_env_ccf`` says to use it.

**With ``use_env_ccf``, or without a manifest**, the command runs with ``$SAS_CCF`` as the shell
set it, and the record and stamp describe that CIF: its rows digest and dates, its constituents
by the sha256 of the files ``$SAS_CCFPATH`` holds for them, and the observation id those amount
to when every one of them is found (else no id: the stamp then carries the rows digest alone).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from reprocal.core._calid import observation_id_of
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent, differences
from reprocal.errors import PARAMETERS, InputError, Names, ReprocalError, ReprocalWarning
from reprocal.fits._calindex import CalIndex, read_calindex, rows_digest, write_cif
from reprocal.fs._hashing import hash_files, sha256_file
from reprocal.provenance._record import Artifact
from reprocal.provenance._recorder import (
    artifact_name,
    constituent_artifacts,
    extra_artifacts,
    file_artifact,
    in_workdir,
)
from reprocal.repo._walk import constituent_files
from reprocal.state._manifest import Manifest, PinnedObservation
from reprocal.state._rebuild import check_pinned_bytes, check_pinned_extras, esas_caldb_of

CALIBRATION_ID_VARIABLE = "REPROCAL_CALIBRATION_ID"
"""Set for the command: the calibration id its outputs are stamped with."""
ESAS_CALDB_VARIABLE = "ESAS_CALDB"
"""Set for the command when the manifest pins an ESAS caldb: where ESAS tasks find it."""


@attrs.frozen
class TaskCalibration:
    """What the command is given, and what the record says about it."""

    environment: Mapping[str, str]
    """Variables set for the command (on top of the environment it inherits)."""
    dependencies: tuple[Artifact, ...]
    """The constituents, the manifest and the CIF, as the record lists them."""
    calibration_id: str | None
    """What the outputs are stamped with (``None``: not known)."""
    cif_digest: str | None
    """The rows digest of the CIF the command was given."""
    cif: Path | None = None
    """The CIF written for the command (``None``: the shell's ``$SAS_CCF`` was used)."""
    observation: str | None = None
    """The manifest observation's label (``obsN`` when it has none)."""
    private: Path | None = None
    """The private directory to remove after the run."""


def env_cif(env: Mapping[str, str], workdir: Path) -> Path | None:
    """The CIF ``$SAS_CCF`` names (a file, or a directory holding ``ccf.cif``), relative to the
    working directory the command runs in; ``None`` when unset or not there."""
    value = env.get("SAS_CCF", "").strip()
    if not value:
        return None
    p = in_workdir(value, workdir)
    if p.is_dir():
        p = p / "ccf.cif"
    return p if p.is_file() else None


def choose_observation(manifest: Manifest, obs: str | None, *, source: str,
                       names: Names = PARAMETERS) -> int:
    """The index of the observation a run uses: the only one, or the one labelled ``obs``."""
    labels = manifest.labels()
    if obs is None:
        if len(labels) == 1:
            return 0
        shown = ", ".join(labels[:5]) + (" ..." if len(labels) > 5 else "")
        raise InputError(f"{names('manifest')} {source} holds {len(labels)} observations "
                         f"({shown}); each has its own CIF and calibration id",
                         hint=f"say which with {names.given('obs', 'LABEL')}")
    if obs not in labels:
        raise InputError(f"{names('obs')} {obs!r}: {source} has no such observation (it has "
                         f"{', '.join(labels[:10])})")
    return labels.index(obs)


def _rows_differ(mine: Sequence[Constituent], theirs: Sequence[Constituent]) -> list[str]:
    """How two CALINDEX tables differ, row by row, in words (``[]``: the same rows)."""
    a = {c.key: c for c in mine}
    b = {c.key: c for c in theirs}
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            out.append(f"{(x or y).scope}_{(x or y).typeid} only in "  # type: ignore[union-attr]
                       f"{'the manifest' if y is None else 'SAS_CCF'}")
        elif x.filename != y.filename:
            out.append(f"{x.filename} vs {y.filename}")
        elif diff := differences(x, y):
            out.append(f"{x.filename} ({', '.join(f for f, _, _ in diff)} differ)")
    return out


def check_shell_cif(env: Mapping[str, str], workdir: Path, manifest: Manifest, index: int, *,
                    source: str, names: Names = PARAMETERS) -> None:
    """Refuse a ``$SAS_CCF`` whose rows differ from the observation's (exit 2, naming both);
    warn when only its dates differ, or when it cannot be read (it is replaced either way)."""
    value = env.get("SAS_CCF", "").strip()
    if not value:
        return
    obs = manifest.observations[index]
    label = manifest.labels()[index]
    path = env_cif(env, workdir)
    table: CalIndex | None = None
    if path is not None:
        try:
            table = read_calindex(path)
        except ReprocalError:
            table = None
    if table is None:
        warnings.warn(f"SAS_CCF={value} is not a readable CIF; the command gets the CIF of "
                      f"observation {label} of {source} instead", ReprocalWarning, stacklevel=3)
        return
    differ = _rows_differ(manifest.constituents_for(obs), table.rows)
    if differ:
        shown = "; ".join(differ[:3]) + (" ..." if len(differ) > 3 else "")
        raise InputError(
            f"SAS_CCF={value} is other calibration than observation {label} of {source}: "
            f"{len(differ)} of {len(obs.files)} rows differ ({shown})",
            hint=f"unset SAS_CCF to run with the manifest's calibration, or pass "
                 f"{names.given('use_env_ccf')} to run with that CIF (the record and the stamp "
                 "then describe it)")
    dates = [f"{k} {v} (the manifest: {m})" for k, v, m in (
        ("OBSVDATE", table.obs_date, obs.obs_date), ("ANALDATE", table.analysis_date,
                                                     obs.analysis_date)) if v != m]
    if dates:
        warnings.warn(f"SAS_CCF={value} has the rows of observation {label} of {source} but "
                      f"{', '.join(dates)}; the command gets the manifest's CIF",
                      ReprocalWarning, stacklevel=3)


def manifest_calibration(manifest: Manifest, manifest_file: Path, index: int,
                         dirs: Sequence[Path], *, workdir: Path, cif: Path | None = None,
                         private: Path | None = None, jobs: int | None = None
                         ) -> TaskCalibration:
    """The manifest observation ``index`` as the command's calibration (see the module
    docstring): check its files in ``dirs``, write its CIF to ``cif`` (else into the directory
    ``private``, which the caller removes), and describe it."""
    obs: PinnedObservation = manifest.observations[index]
    label = manifest.labels()[index]
    obs_id = str(manifest.observation_id(index))
    files = [manifest.file(n) for n in obs.files]
    found = check_pinned_bytes(manifest, dirs, files=files, jobs=jobs)
    homes = check_pinned_extras(manifest, dirs, jobs=jobs)
    rows = manifest.constituents_for(obs)
    if cif is None:
        assert private is not None
        cif = private / "ccf.cif"
    write_cif(cif, rows, obs_date=obs.obs_date, analysis_date=obs.analysis_date,
              category=obs.category, paths={n: found[n] for n in obs.files})
    digest = rows_digest(rows)
    # described as pin and image build describe them (the CIF says where they were read)
    wanted = set(obs.files)
    deps = [d for d in constituent_artifacts(manifest) if d.name in wanted]
    deps += extra_artifacts(manifest, {f"extras/{x.label}/{f.path}": homes[x.label] / f.path
                                       for x in manifest.extras for f in x.files})
    deps.append(file_artifact(manifest_file, "manifest", workdir=workdir,
                              calibrationId=manifest.calibration_id))
    kept = private is None
    deps.append(Artifact(
        artifact_name(cif, workdir) if kept else "ccf.cif", sha256_file(cif),
        cif.resolve().as_uri() if kept else None,
        {"role": "cif", "rowsDigest": digest, "obsDate": obs.obs_date.text,
         "analysisDate": obs.analysis_date.text, "builtFrom": "manifest", "observation": label,
         "observationId": obs_id, "fnames": "absolute paths of the files checked in "
         + ":".join(str(d) for d in dirs),
         **({} if kept else {"removed": "written for the run into a private directory and "
                                        "removed after it; `reprocal rebuild` writes the same "
                                        "rows"})}))
    env = {"SAS_CCF": str(cif.resolve()), "SAS_CCFPATH": ":".join(str(d) for d in dirs),
           CALIBRATION_ID_VARIABLE: obs_id}
    caldb = esas_caldb_of(manifest, homes)
    if caldb is not None:  # the pinned caldb, whatever the shell's ESAS_CALDB said
        env[ESAS_CALDB_VARIABLE] = str(caldb.resolve())
    return TaskCalibration(env, tuple(deps), obs_id, digest, cif if kept else None, label,
                           private)


def cif_artifacts(cif: Path, *, with_constituents: bool, workdir: Path,
                  ccf_dirs: Sequence[Path] = ()) -> tuple[list[Artifact], str | None]:
    """The CIF as a dependency (with its canonical rows digest) and, when no manifest pins
    them, its constituents: hashed where found in ``ccf_dirs``, else named by ``FNAME``."""
    deps, digest, _ = _described(cif, with_constituents=with_constituents, workdir=workdir,
                                 ccf_dirs=ccf_dirs)
    return deps, digest


def _described(cif: Path, *, with_constituents: bool, workdir: Path, ccf_dirs: Sequence[Path]
               ) -> tuple[list[Artifact], str | None, str | None]:
    """:func:`cif_artifacts`, and the observation id the CIF and the local bytes amount to
    (``None`` unless every constituent was found and hashed)."""
    try:
        table = read_calindex(cif)
    except ReprocalError:
        return [file_artifact(cif, "cif", workdir=workdir)], None, None
    digest = rows_digest(table.rows)
    deps = [file_artifact(cif, "cif", workdir=workdir, rowsDigest=digest,
                          obsDate=str(table.obs_date) if table.obs_date else None,
                          analysisDate=str(table.analysis_date) if table.analysis_date else None)]
    if not with_constituents:
        return deps, digest, None
    listed = constituent_files(ccf_dirs)  # any case, first in path order
    found = {c.filename: next((f.path for f in listed.get(c.filename, ())), None)
             for c in table.rows}
    hashed = hash_files(p for p in found.values() if p is not None)  # in parallel
    sha: dict[str, str] = {}
    sized = []
    for c, fname in zip(table.rows, table.fnames, strict=True):
        ann = {"role": "constituent", "scope": c.scope, "typeid": c.typeid,
               "issue": c.issue, "subdate": c.subdate.text}
        local = found[c.filename]
        if local is not None:
            digest_or_error = hashed[os.fspath(local)]
            if isinstance(digest_or_error, OSError):
                raise digest_or_error
            sha[c.filename] = digest_or_error
            sized.append(attrs.evolve(c, fsize=local.stat().st_size))
            deps.append(Artifact(c.filename, sha[c.filename], local.resolve().as_uri(), ann))
        else:
            deps.append(Artifact(c.filename, None, fname or c.filename, ann))
    obs_id = None
    if table.rows and len(sha) == len(table.rows) and table.obs_date and table.analysis_date:
        obs_id = str(observation_id_of(sized, sha, table.obs_date.text, table.analysis_date.text,
                                       table.category or DEFAULT_CATEGORY))
    return deps, digest, obs_id


def shell_calibration(env: Mapping[str, str], workdir: Path, dirs: Sequence[Path]
                      ) -> TaskCalibration | None:
    """``$SAS_CCF`` as the shell set it, described (``None`` when unset or not a file)."""
    cif = env_cif(env, workdir)
    if cif is None:
        return None
    deps, digest, obs_id = _described(cif, with_constituents=True, workdir=workdir,
                                      ccf_dirs=dirs)
    return TaskCalibration({}, tuple(deps), obs_id, digest)


def private_directory() -> Path:
    """A new directory only this user can read, for the CIF of one run."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="reprocal-run-"))


def digest_of(deps: Sequence[Artifact], role: str) -> str | None:
    """The sha256 of the first dependency with ``role``."""
    return next((d.sha256 for d in deps if d.role == role), None)


__all__ = [
    "CALIBRATION_ID_VARIABLE", "TaskCalibration", "check_shell_cif", "choose_observation",
    "cif_artifacts", "digest_of", "env_cif", "manifest_calibration", "private_directory",
    "shell_calibration",
]
