"""Which file system a path is on, from the kernel's mount table: SQLite's write-ahead log
needs memory shared between the processes of one machine, so a catalogue on a network file
system (a home directory on NFS during cluster work) must not use it.

Read from ``/proc/self/mounts`` (Linux), bounded; elsewhere, or when it cannot be read, the
type is unknown (``None``) and nothing is assumed.

>>> table = "srv:/home /home nfs4 rw 0 0\\n/dev/sda1 / ext4 rw 0 0\\n"
>>> filesystem_in(table, "/home/me/.cache/reprocal"), filesystem_in(table, "/tmp")
('nfs4', 'ext4')
>>> filesystem_in("a /my\\\\040dir nfs rw 0 0\\n/dev/x / xfs rw 0 0\\n", "/my dir/x")
'nfs'
"""

from __future__ import annotations

import os
from pathlib import Path

MOUNTS = Path("/proc/self/mounts")
"""The kernel's table of mounts of this process."""

MOUNTS_LIMIT = 4 << 20
"""Bytes read of it at most (a machine with thousands of mounts stays well below)."""

NETWORK = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs",
                     "fuse.sshfs", "ceph", "fuse.ceph", "glusterfs", "fuse.glusterfs", "9p",
                     "afs", "ncpfs", "fuse.gcsfuse", "fuse.s3fs", "panfs", "orangefs",
                     "fuse.beegfs"})
"""File systems shared over a network, where SQLite's shared-memory WAL is not safe."""


def _unescape(field: str) -> str:
    r"""A mount table field: spaces, tabs, newlines and backslashes are octal escapes (``\040``)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit() and len(field[i + 1:i + 4]) == 3:
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_in(table: str, path: str | os.PathLike[str]) -> str | None:
    """The type of the file system ``path`` (absolute, symbolic links resolved) is on, by the
    longest mount point of ``table`` that holds it; ``None`` when none does."""
    target = os.fspath(path)
    best, kind = -1, None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1]).rstrip("/") or "/"
        holds = point == "/" or target == point or target.startswith(point + "/")
        if holds and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def filesystem_of(path: str | os.PathLike[str]) -> str | None:
    """The type of the file system ``path`` is on (its nearest existing ancestor's), or
    ``None`` when the mount table cannot be read."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        with open(MOUNTS, "rb") as f:  # a kernel file, not a user-given path
            table = f.read(MOUNTS_LIMIT).decode("utf-8", "replace")
    except OSError:
        return None
    return filesystem_in(table, p.resolve())


def on_network(path: str | os.PathLike[str]) -> str | None:
    """The network file system's type when ``path`` is on one, else ``None``."""
    kind = filesystem_of(path)
    return kind if kind in NETWORK else None


__all__ = ["MOUNTS", "NETWORK", "filesystem_in", "filesystem_of", "on_network"]
