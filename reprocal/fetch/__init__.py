"""Fetching constituents from mirrors: mirror values, transports (HTTP, file, rsync), the plan,
the verified ``.part`` file, the locked parallel engine, the equivalent ``sh`` script, the
gaps of a state given by dates, and the files no pin needs.

May import :mod:`reprocal.state` and everything below it.
"""

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
