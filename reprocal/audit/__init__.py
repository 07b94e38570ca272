"""Audit: which calibration a product used, judged against what the catalogue knows and
explained in words; differences between states and the SAS steps they affect; reverse impact.

May import :mod:`reprocal.provenance` and everything below it.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "AuditReport": "reprocal.audit._judge",
    "Change": "reprocal.audit._diff",
    "Finding": "reprocal.audit._judge",
    "LocalCopy": "reprocal.audit._judge",
    "Product": "reprocal.audit._product",
    "State": "reprocal.audit._diff",
    "StateDiff": "reprocal.audit._diff",
    "Target": "reprocal.audit._impact",
    "Use": "reprocal.audit._impact",
    "UsesReport": "reprocal.audit._impact",
    "Verdict": "reprocal.audit._judge",
    "audit_state": "reprocal.audit._judge",
    "diff_states": "reprocal.audit._diff",
    "find_uses": "reprocal.audit._impact",
    "parse_dates_spec": "reprocal.audit._product",
    "parse_target": "reprocal.audit._impact",
    "read_product": "reprocal.audit._product",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.audit._diff import Change, State, StateDiff, diff_states
    from reprocal.audit._impact import Target, Use, UsesReport, find_uses, parse_target
    from reprocal.audit._judge import AuditReport, Finding, LocalCopy, Verdict, audit_state
    from reprocal.audit._product import Product, parse_dates_spec, read_product

__all__ = [
    "AuditReport", "Change", "Finding", "LocalCopy", "Product", "State", "StateDiff", "Target",
    "Use", "UsesReport", "Verdict", "audit_state", "diff_states", "find_uses",
    "parse_dates_spec", "parse_target", "read_product",
]
