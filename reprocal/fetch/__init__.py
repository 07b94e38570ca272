"""Fetching constituents from mirrors: mirror values, transports (HTTP, file, rsync), the plan,
the verified ``.part`` file, the locked parallel engine, the equivalent ``sh`` script, and the
gaps of a state given by dates.

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

__all__ = [
    "DEFAULT_MIRRORS", "Attempt", "FetchItem", "FetchReport", "FetchResult", "InvalidMirrorError",
    "Mirror", "Plan", "RetryPolicy", "TransferError", "configured_mirrors", "dry_run", "fetch",
    "parse_mirror", "write_script",
]
