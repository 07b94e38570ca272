"""Calibration states from the samples' CSV dumps (``dumps/*.csv``): test data for the pure
diff and audit logic, independent of the CALINDEX reader."""

from __future__ import annotations

import csv
from pathlib import Path

from reprocal.audit._diff import State
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate, parse_optional
from reprocal.core._names import ConstituentName


def read_dump(path: Path) -> State:
    """One dump: first line ``#OBSVDATE=..,#ANALDATE=..,#CATEGORY=..``, then a CSV table."""
    with open(path, newline="") as f:
        meta = dict(kv.lstrip("#").split("=", 1) for kv in f.readline().strip().split(","))
        rows = tuple(
            Constituent(
                name=ConstituentName(r["SCOPE"], r["TYPEID"], int(r["ISSUE"])),
                valdate=r["VALDATE"], evaldate=parse_optional(r["VALDATE-END"]),
                subdate=r["SUBDATE"], date=parse_optional(r["DATE"]), telescop=r["TELESCOP"],
                creator=r["CREATOR"], extsequ=r["EXTSEQU"], extseqid=r["EXTSEQID"], md5=r["MD5"],
                fsize=int(r["FSIZE"]), category=meta["CATEGORY"],
            )
            for r in csv.DictReader(f)
        )
    return State(path.name, rows, CalDate.parse(meta["OBSVDATE"]), CalDate.parse(meta["ANALDATE"]))


def all_dumps(samples: Path) -> dict[str, State]:
    """``{"0201903501_evt_calindex": State, ...}`` for every dump."""
    return {p.stem: read_dump(p) for p in sorted((samples / "dumps").glob("*.csv"))}


def union_catalogue(states: dict[str, State]) -> list[Constituent]:
    """Every distinct constituent of every dump: a catalogue replaying the samples' metadata."""
    out: dict[str, Constituent] = {}
    for s in states.values():
        for c in s.constituents:
            out.setdefault(c.filename, c)
    return list(out.values())
