"""What this process holds open (Linux ``/proc``): to prove a catalogue was closed."""

from __future__ import annotations

import os
from pathlib import Path

HAVE_PROC = Path("/proc/self/fd").is_dir()


def open_fds(path: Path) -> int:
    """File descriptors of this process open on ``path`` (a SQLite connection holds one)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                n += 1
        except OSError:
            continue
    return n
