"""``reprocal index`` and ``reprocal cif``: the calibration core."""

from __future__ import annotations
