"""Newer calibration for a tree of work: which manifests, records and products under given
directories now have a newer eligible issue in the repository (``sync --report-drift``).

The check is the one ``verify`` makes for a manifest (:func:`reprocal.core._drift.newer_issues`),
applied to every calibration state found under the directories: manifests (each observation),
provenance records and FITS products with a ``CALINDEX`` table (event lists, spectra, CIFs, PPS
products). Files are recognised by their first bytes, as ``audit --uses`` does; unreadable ones
are reported, not fatal. A withdrawn constituent is never newer calibration.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.audit._impact import _sniff, _walk
from reprocal.audit._product import read_product
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._drift import NewerIssue, newer_issues
from reprocal.core._withdrawal import NONE, Withdrawals
from reprocal.errors import InputError, ReprocalError
from reprocal.fs._inputs import NotRegularFile


@attrs.frozen
class _Obs:
    """A product's state in the shape :func:`newer_issues` reads."""

    obs_date: CalDate
    analysis_date: CalDate
    category: str
    files: tuple[str, ...]


@attrs.frozen
class Drift:
    """One calibration state under the directories with newer calibration available."""

    path: str
    kind: str
    newer: tuple[NewerIssue, ...]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "newer": [n.to_json() for n in self.newer]}


@attrs.frozen
class DriftReport:
    roots: tuple[str, ...]
    scanned: int
    """Calibration states read."""
    drifted: tuple[Drift, ...]
    problems: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {"roots": list(self.roots), "scanned": self.scanned,
                "drifted": [d.to_json() for d in self.drifted],
                "problems": [{"path": p, "problem": m} for p, m in self.problems]}


def find_drift(roots: Sequence[str | os.PathLike[str]], constituents: Sequence[Constituent], *,
               today: CalDate, withdrawals: Withdrawals = NONE) -> DriftReport:
    """Every calibration state under ``roots`` for which ``constituents`` (the repository)
    hold a newer eligible issue, at the state's own analysis date or at ``today``."""
    by_name = {c.filename: c for c in constituents}
    drifted: list[Drift] = []
    problems: list[tuple[str, str]] = []
    scanned = 0
    for root in roots:
        r = Path(root)
        if not r.is_dir() and not r.is_file():
            raise InputError(f"{r}: not a directory or file to look for drift in")
        for p in [r] if r.is_file() else _walk(r):
            try:
                if _sniff(p) is None:
                    continue
                products = read_product(p, lookup=by_name.get)
            except NotRegularFile as exc:
                problems.append((str(p), f"{p}: {exc.strerror}, not read"))
                continue
            except ReprocalError as exc:
                if "no CALINDEX" not in exc.message and "not a FITS file" not in exc.message:
                    problems.append((str(p), exc.one_line()))
                continue
            for prod in products:
                s = prod.state
                if s.obs_date is None or s.analysis_date is None or not s.constituents:
                    continue
                scanned += 1
                obs = _Obs(s.obs_date, s.analysis_date, prod.category,
                           tuple(c.filename for c in s.constituents))
                found = newer_issues([(prod.label or s.label, obs)], constituents, today=today,
                                     withdrawals=withdrawals)
                if found:
                    drifted.append(Drift(s.label, prod.kind, tuple(found)))
    return DriftReport(tuple(map(str, roots)), scanned, tuple(drifted), tuple(problems))


__all__ = ["Drift", "DriftReport", "find_drift"]
