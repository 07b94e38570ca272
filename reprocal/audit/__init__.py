"""Audit: which calibration a product used, judged against what the catalogue knows and
explained in words; differences between states and the SAS steps they affect; reverse impact.

May import :mod:`reprocal.provenance` and everything below it.
"""

from reprocal.audit._diff import Change, State, StateDiff, diff_states
from reprocal.audit._impact import Target, Use, UsesReport, find_uses, parse_target
from reprocal.audit._judge import AuditReport, Finding, LocalCopy, Verdict, audit_state
from reprocal.audit._product import Product, parse_dates_spec, read_product

__all__ = [
    "AuditReport", "Change", "Finding", "LocalCopy", "Product", "State", "StateDiff", "Target",
    "Use", "UsesReport", "Verdict", "audit_state", "diff_states", "find_uses",
    "parse_dates_spec", "parse_target", "read_product",
]
