"""Fixtures of the report tests: constituents with real columns (what calview plots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprocal.core._constituent import Constituent
from reprocal.core._names import ConstituentName
from reprocal.testing import write_table_constituent

ENERGY = [100.0 * 1.25 ** k for k in range(30)]  # eV, 100 eV .. ~65 keV


def qe(issue: int, scale: float) -> Constituent:
    return Constituent(ConstituentName("EPN", "QUANTUMEF", issue), valdate="2000-01-01",
                       subdate=f"{2000 + issue}-03-01", creator="test")


def write_qe(path: Path, issue: int, scale: float) -> Path:
    """An EPN quantum efficiency: a QUANTUM_EFFICIENCY table (ENERGY in eV, QE per energy) and
    a vector table (one row per CCD: ENERGY and QE arrays)."""
    values = [min(1.0, scale * (1 - 2.718 ** (-e / 800.0))) for e in ENERGY]
    write_table_constituent(path, qe(issue, scale), [
        ("QUANTUM_EFFICIENCY", [("ENERGY", "E", "eV", ENERGY), ("QE", "E", "", values),
                                ("LABEL", "8A", "", ["x"] * len(ENERGY))]),
        ("CCD_QE", [("ENERGY", "30E", "eV", [ENERGY] * 3),
                    ("QE", "30E", "", [[v * (1 - 0.05 * k) for v in values] for k in range(3)])]),
    ])
    return path


@pytest.fixture
def qe_files(tmp_path: Path) -> tuple[Path, Path]:
    """Issues 16 and 17 of EPN_QUANTUMEF in a repository directory."""
    d = tmp_path / "ccf"
    d.mkdir()
    return (write_qe(d / "EPN_QUANTUMEF_0016.CCF", 16, 0.9),
            write_qe(d / "EPN_QUANTUMEF_0017.CCF", 17, 0.97))
