"""The calibration core: dates, constituent names and attributes, cifbuild's selection rule
(withdrawal dates included, as data), the valid subset, and calibration drift.

Pure: nothing here opens a file, reads the clock or talks to a network. ``now`` is resolved at
the edge (:func:`resolve` takes the clock as a parameter). May import only :mod:`reprocal.errors`
and the standard library (plus ``attrs``).
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "CalDate": "reprocal.core._dates",
    "CalibrationId": "reprocal.core._calid",
    "Constituent": "reprocal.core._constituent",
    "ConstituentName": "reprocal.core._names",
    "DEFAULT_CATEGORY": "reprocal.core._constituent",
    "INSTRUMENT_OF_SCOPE": "reprocal.core._names",
    "MirrorOutcomes": "reprocal.core._select",
    "NewerIssue": "reprocal.core._drift",
    "Reason": "reprocal.core._select",
    "Rule": "reprocal.core._select",
    "SCOPES": "reprocal.core._names",
    "Selection": "reprocal.core._select",
    "Selector": "reprocal.core._select",
    "Withdrawal": "reprocal.core._withdrawal",
    "WithdrawalEffect": "reprocal.core._withdrawal",
    "Withdrawals": "reprocal.core._withdrawal",
    "check_label": "reprocal.core._names",
    "check_relative_path": "reprocal.core._names",
    "from_header": "reprocal.core._constituent",
    "is_constituent_name": "reprocal.core._names",
    "mirror_outcomes": "reprocal.core._select",
    "newer_issues": "reprocal.core._drift",
    "parse_optional": "reprocal.core._dates",
    "resolve": "reprocal.core._dates",
    "select": "reprocal.core._select",
    "valid_subset": "reprocal.core._subset",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.core._calid import CalibrationId
    from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent, from_header
    from reprocal.core._dates import CalDate, parse_optional, resolve
    from reprocal.core._drift import NewerIssue, newer_issues
    from reprocal.core._names import (
        INSTRUMENT_OF_SCOPE,
        SCOPES,
        ConstituentName,
        check_label,
        check_relative_path,
        is_constituent_name,
    )
    from reprocal.core._select import (
        MirrorOutcomes,
        Reason,
        Rule,
        Selection,
        Selector,
        mirror_outcomes,
        select,
    )
    from reprocal.core._subset import valid_subset
    from reprocal.core._withdrawal import Withdrawal, WithdrawalEffect, Withdrawals

__all__ = [
    "DEFAULT_CATEGORY", "INSTRUMENT_OF_SCOPE", "SCOPES", "CalDate", "CalibrationId", "Constituent",
    "ConstituentName", "MirrorOutcomes", "NewerIssue", "Reason", "Rule", "Selection", "Selector",
    "Withdrawal", "WithdrawalEffect", "Withdrawals", "check_label", "check_relative_path",
    "from_header", "is_constituent_name", "mirror_outcomes", "newer_issues", "parse_optional",
    "resolve", "select", "valid_subset",
]
