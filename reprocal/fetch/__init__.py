"""Fetching constituents from mirrors: mirror values, transports (HTTP, file, rsync), the plan,
the verified ``.part`` file, the locked parallel engine, the equivalent ``sh`` script, the
gaps of a state given by dates, and the files no pin needs.

May import :mod:`reprocal.state` and everything below it.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "Attempt": "reprocal.fetch._engine",
    "DEFAULT_MIRRORS": "reprocal.fetch._mirrors",
    "FetchItem": "reprocal.fetch._item",
    "FetchReport": "reprocal.fetch._engine",
    "FetchResult": "reprocal.fetch._engine",
    "InvalidMirrorError": "reprocal.fetch._mirrors",
    "Mirror": "reprocal.fetch._mirrors",
    "Plan": "reprocal.fetch._plan",
    "RetryPolicy": "reprocal.fetch._transports",
    "TransferError": "reprocal.fetch._transports",
    "UnusedReport": "reprocal.fetch._unused",
    "configured_mirrors": "reprocal.fetch._mirrors",
    "dry_run": "reprocal.fetch._engine",
    "fetch": "reprocal.fetch._engine",
    "parse_mirror": "reprocal.fetch._mirrors",
    "unused_files": "reprocal.fetch._unused",
    "write_script": "reprocal.fetch._script",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.fetch._engine import Attempt, FetchReport, FetchResult, dry_run, fetch
    from reprocal.fetch._item import FetchItem
    from reprocal.fetch._mirrors import (
        DEFAULT_MIRRORS,
        InvalidMirrorError,
        Mirror,
        configured_mirrors,
        parse_mirror,
    )
    from reprocal.fetch._plan import Plan
    from reprocal.fetch._script import write_script
    from reprocal.fetch._transports import RetryPolicy, TransferError
    from reprocal.fetch._unused import UnusedReport, unused_files

__all__ = [
    "DEFAULT_MIRRORS", "Attempt", "FetchItem", "FetchReport", "FetchResult", "InvalidMirrorError",
    "Mirror", "Plan", "RetryPolicy", "TransferError", "UnusedReport", "configured_mirrors",
    "dry_run", "fetch", "parse_mirror", "unused_files", "write_script",
]
