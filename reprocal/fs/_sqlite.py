"""What may be opened as an SQLite database (the catalogue, the verify cache, a campaign's
ledger): nothing but an absent path or a regular file that starts as SQLite files do. A
directory, a FIFO, a device or a text file the user pointed at is refused before SQLite
touches it (SQLite would block on a FIFO, or overwrite a file it does not recognise)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reprocal.fs._inputs import kind_of, open_regular

SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""


def not_a_database(path: Path, *, follow_links: bool = True) -> str | None:
    """Why ``path`` cannot be opened as an SQLite database (``"a FIFO"``, ``"a file that is not
    an SQLite database"``), or ``None``: absent, empty, or an SQLite file. ``follow_links=False``
    refuses a symbolic link too. An ``OSError`` other than "not found" is raised."""
    try:
        st = os.stat(path) if follow_links else os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return kind_of(st.st_mode)
    if st.st_size:
        with open_regular(path) as f:
            if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                return "a file that is not an SQLite database"
    return None


__all__ = ["SQLITE_MAGIC", "not_a_database"]
