"""What several commands take: an observation (a date or an ODF), an analysis date, a
repository; and how the API warns.

Every check names the value as the caller spells it (:class:`reprocal.errors.Names`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reprocal.core._dates import CalDate, resolve
from reprocal.errors import InputError, Names, OdfError, ReprocalWarning
from reprocal.progress import Progress, or_null
from reprocal.repo._catalog import Catalog
from reprocal.repo._ccfpath import CcfPath, ccf_dirs
from reprocal.repo._repository import Repository
from reprocal.repo._resolve import Resolution
from reprocal.repo._walk import DEFAULT_GLOB
from reprocal.state._manifest import Manifest, load_manifest

PathLike = str | os.PathLike[str]
DateLike = str | CalDate


def warn(message: str) -> None:
    """Issue a :class:`ReprocalWarning` (the CLI prints ``reprocal: warning: ...``)."""
    warnings.warn(message, ReprocalWarning, stacklevel=3)


def observation(obs_date: DateLike | None, odf: PathLike | None, names: Names
                ) -> tuple[str | None, CalDate]:
    """``obs_date`` or ``odf`` (exactly one; ``$SAS_ODF`` when neither): (obs id, date)."""
    from reprocal.fits._odf import observation_date

    if obs_date and odf:
        raise InputError(f"give {names('obs_date')} or {names('odf')}, not both")
    if obs_date:
        return None, CalDate.parse(obs_date, field=names("obs_date"))
    if odf is None and not os.environ.get("SAS_ODF", "").strip():
        raise OdfError("no ODF given and SAS_ODF is not set",
                       hint=f"pass {names.given('odf', 'DIR')} (or a *SUM.SAS file), set SAS_ODF, "
                            f"or give the date with {names('obs_date')}")
    obs = observation_date(None if odf is None else Path(odf))
    return obs.obs_id, obs.start


def analysis(value: DateLike, obs_date: CalDate, names: Names) -> CalDate:
    """The analysis date (``now`` read once, here) ; a warning when it is before the
    observation."""
    an = resolve(value, field=names("analysis_date"))
    if an < obs_date:
        warn(f"analysis date {an} is before the observation date {obs_date} "
             "(cifbuild only warns too); no calibration submitted after it will be used")
    return an


def directories(ccf_path: CcfPath, names: Names, *, create_first: bool = False
                ) -> tuple[Path, ...]:
    """The calibration directories (``None``: ``$SAS_CCFPATH``), errors naming ``ccf_path``."""
    return ccf_dirs(ccf_path, option=names("ccf_path"), create_first=create_first)


def open_repository(ccf_path: CcfPath, names: Names, *, catalog: Catalog | PathLike | None,
                    recurse: bool = False, fileglob: str = DEFAULT_GLOB,
                    progress: Progress | None = None) -> Repository:
    """The repository, indexed (only new or changed files are read); the caller closes it
    (``with open_repository(...) as repo:``)."""
    dirs = directories(ccf_path, names)
    or_null(progress).start(None)
    return Repository(dirs, catalog=catalog, recurse=recurse, fileglob=fileglob,
                      progress=progress)


def manifest_of(manifest: Manifest | PathLike) -> Manifest:
    """A manifest given as itself or as the path of its file."""
    return manifest if isinstance(manifest, Manifest) else load_manifest(manifest)


def sas_ccf(path: PathLike | None, names: Names, param: str = "path") -> Path:
    """The CIF to read: ``path``, else ``$SAS_CCF`` as SAS reads it (a CIF, or a directory
    holding ``ccf.cif``)."""
    if path is not None:
        return Path(path)
    env = os.environ.get("SAS_CCF", "").strip()
    if not env:
        raise InputError("no CIF given and SAS_CCF is not set",
                         hint=f"give the file ({names(param)}) or set SAS_CCF to the CIF (or "
                              "to the directory holding ccf.cif)")
    p = Path(env).expanduser()
    return p / "ccf.cif" if p.is_dir() else p


def warn_gaps(res: Resolution) -> None:
    """One warning per gap of a resolution, then what they mean: cifbuild would use older
    issues; and one per withdrawal that changes (or would change) what is selected."""
    for gap in res.gaps:
        warn(gap.describe())
    if res.gaps:
        warn(f"{len(res.gaps)} newer eligible issue(s) missing: cifbuild would silently use "
             "older ones; `reprocal fetch` can fill the gaps")
    for effect in res.withdrawals:
        warn(effect.describe())


__all__ = ["DateLike", "PathLike", "analysis", "directories", "manifest_of", "observation",
           "open_repository", "sas_ccf", "warn", "warn_gaps"]


def signer_of(sign: PathLike | None) -> Any:
    """The signer for a private key file (loaded before any work, so a bad key fails first);
    ``None`` for no signing."""
    if sign is None:
        return None
    from reprocal.provenance._signature import load_signer

    return load_signer(sign)


def public_keys(keys: Sequence[PathLike]) -> tuple[Any, ...]:
    """The public keys records must be signed by (any one of them); empty: no requirement."""
    from reprocal.provenance._signature import load_public_key

    return tuple(load_public_key(p) for p in keys)
