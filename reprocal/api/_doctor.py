"""``doctor``: what is in effect for this shell (SAS's variables, the repository, the catalogue,
the caches, the mirrors, the SAS version, which ``cifbuild`` runs) and whether each is usable.

It reads and looks, never writes: nothing is created, no mirror is contacted, no catalogue is
opened. A site's read-only repository is reported as such, and is usable for everything but
``fetch`` and ``sync``; a catalogue or cache on a network file system says how SQLite is used
there (no write-ahead log: :func:`reprocal.repo._catalog.journal_mode`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from reprocal.api._inputs import PathLike
from reprocal.errors import PARAMETERS, Names, ReprocalError
from reprocal.repo._ccfpath import CcfPath

Status = Literal["ok", "note", "problem", "unset"]


@attrs.frozen
class Finding:
    """One thing in effect, and whether it is usable."""

    what: str
    """``SAS_CCFPATH``, ``repository``, ``catalogue``, ..."""
    value: str | None
    """What it is set to (``None``: not set)."""
    status: Status
    """``ok``; ``note`` (usable, with something to know); ``problem`` (not usable as it
    is); ``unset`` (not set, and nothing needs it to be)."""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "value": self.value, "status": self.status,
                "detail": self.detail}


@attrs.frozen
class DoctorResult:
    """Everything :func:`doctor` looked at."""

    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """No problem found (``reprocal doctor`` exits 1 otherwise)."""
        return not any(f.status == "problem" for f in self.findings)

    def lines(self) -> list[str]:
        width = max(len(f.what) for f in self.findings)
        out = []
        for f in self.findings:
            value = f.value if f.value is not None else "(not set)"
            tail = f": {f.detail}" if f.detail else ""
            out.append(f"{f.what:<{width}}  {f.status.upper():<7}  {value}{tail}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [f.to_json() for f in self.findings]}


def _writable(d: Path) -> bool:
    return os.access(d, os.W_OK | os.X_OK)


def _where(p: Path) -> str:
    """`` (on nfs4)`` when a network file system holds ``p``."""
    from reprocal.fs._mounts import on_network

    kind = on_network(p)
    return f" (on {kind})" if kind else ""


def _directories(dirs: Sequence[Path]) -> list[Finding]:
    out = []
    for d in dirs:
        if not d.is_dir():
            out.append(Finding("repository", str(d), "problem", "not a directory"))
        elif not os.access(d, os.R_OK | os.X_OK):
            out.append(Finding("repository", str(d), "problem", "not readable"))
        elif not _writable(d):
            out.append(Finding("repository", str(d), "note",
                               f"read-only{_where(d)}: every command but fetch and sync works; "
                               "catalogue, caches and locks are kept where you can write"))
        else:
            out.append(Finding("repository", str(d), "ok", f"readable and writable{_where(d)}"))
    return out


def _sqlite_file(what: str, path: Path) -> Finding:
    from reprocal.fs._mounts import on_network

    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if path.exists() and not path.is_file():
        return Finding(what, str(path), "problem", "exists and is not a file")
    if not _writable(parent):
        return Finding(what, str(path), "problem", f"{parent} is not writable; give one where "
                                                   "you can write")
    kind = on_network(parent)
    if kind:
        return Finding(what, str(path), "note", f"on {kind}: SQLite without its write-ahead log "
                                                "(rollback journal; needs the server's locks)")
    return Finding(what, str(path), "ok", "exists" if path.exists() else "created on first use")


def _sas(env: dict[str, str]) -> list[Finding]:
    from reprocal.provenance._environment import sas_version

    out = []
    sas_dir = env.get("SAS_DIR", "").strip()
    if not sas_dir:
        out.append(Finding("SAS_DIR", None, "unset", "no SAS set up in this shell (sasinit)"))
    else:
        d = Path(sas_dir)
        out.append(Finding("SAS_DIR", sas_dir, "ok" if d.is_dir() else "problem",
                           "" if d.is_dir() else "not a directory"))
    found = sas_version(env)
    if found is None or found["version"] == "unknown":
        out.append(Finding("SAS version", None, "unset", "pin records none unless given one"))
    else:
        out.append(Finding("SAS version", found["version"], "ok", f"from {found['source']}"))
    odf = env.get("SAS_ODF", "").strip()
    if not odf:
        out.append(Finding("SAS_ODF", None, "unset", "cif, pin and fetch need an observation "
                                                    "date or an ODF then"))
    else:
        from reprocal.fits._odf import observation_date

        try:
            obs = observation_date(odf)
            out.append(Finding("SAS_ODF", odf, "ok", f"observation {obs.obs_id}, start "
                                                     f"{obs.start}"))
        except ReprocalError as exc:
            out.append(Finding("SAS_ODF", odf, "problem", exc.one_line()))
    ccf = env.get("SAS_CCF", "").strip()
    if not ccf:
        out.append(Finding("SAS_CCF", None, "unset", "show and audit need a file then"))
    else:
        p = Path(ccf).expanduser()
        p = p / "ccf.cif" if p.is_dir() else p
        out.append(Finding("SAS_CCF", ccf, "ok" if p.is_file() else "problem",
                           f"{p}" if p.is_file() else f"{p} does not exist"))
    return out


def _cifbuild(env: dict[str, str]) -> Finding:
    found = shutil.which("cifbuild", path=env.get("PATH"))
    if found is None:
        return Finding("cifbuild", None, "unset", "no cifbuild on PATH")
    real = Path(found).resolve()
    mine = real.name == "reprocal-cifbuild"
    return Finding("cifbuild", found, "ok", "reprocal's drop-in" if mine else
                   "SAS's own (put reprocal's drop-in first on PATH to pin what it selects)")


def _mirrors(env: dict[str, str]) -> Finding:
    from reprocal.fetch._mirrors import ENV_VAR, config_file, configured_mirrors

    source = (f"${ENV_VAR}" if env.get(ENV_VAR, "").strip()
              else str(config_file(env)) if config_file(env).is_file() else "the defaults")
    try:
        ms = configured_mirrors(env=env)
    except ReprocalError as exc:
        return Finding("mirrors", source, "problem", exc.one_line())
    return Finding("mirrors", ", ".join(m.base for m in ms), "ok",
                   f"from {source}; not contacted")


def doctor(*, ccf_path: CcfPath = None, catalog: PathLike | None = None,
           names: Names = PARAMETERS) -> DoctorResult:
    """What is in effect (``ccf_path``, else ``$SAS_CCFPATH``; ``catalog``, else the default
    catalogue) and whether each is usable. Looks only: writes nothing, contacts nothing."""
    from reprocal.repo._catalog import default_catalog_path
    from reprocal.repo._ccfpath import ccf_dirs
    from reprocal.repo._verifycache import default_cache_path

    env = dict(os.environ)
    out = _sas(env)
    raw = env.get("SAS_CCFPATH")
    out.insert(1, Finding("SAS_CCFPATH", raw, "unset" if not raw else "ok",
                          "" if raw else "commands that need a repository need it given"))
    try:
        dirs = ccf_dirs(ccf_path, option=names("ccf_path")) if (ccf_path is not None or raw) \
            else ()
    except ReprocalError as exc:
        out.append(Finding("repository", str(ccf_path or raw), "problem", exc.one_line()))
        dirs = ()
    out.extend(_directories(dirs))
    out.append(_sqlite_file("catalogue", Path(catalog) if catalog else default_catalog_path()))
    out.append(_sqlite_file("verify cache", default_cache_path()))
    out.append(_mirrors(env))
    out.append(_cifbuild(env))
    return DoctorResult(tuple(out))


__all__ = ["DoctorResult", "Finding", "doctor"]
