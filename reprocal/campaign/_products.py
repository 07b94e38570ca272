"""Where a campaign's files live, and how a task's work becomes a product.

::

    OUT/
      <obs_id>/                     one product directory per observation done: the command's
                                    outputs, its provenance record, reprocal-task.log (what it
                                    printed) and reprocal-task.json (the task: key, outputs)
      campaign.sqlite               the ledger (:mod:`reprocal.campaign._ledger`)
      campaign.json, campaign.md    the summary (:mod:`reprocal.campaign._summary`)
      .campaign/tasks/              working directories of tasks being run
      .campaign/failed/<obs_id>/    the last failed attempt of an observation (work/, log.txt)
      .campaign/superseded/         products of an earlier state, image or command, kept

Every task runs in a new working directory under ``.campaign/tasks/`` (on the same file system
as ``OUT``). When it succeeds, the *client* renames it to ``OUT/<obs_id>`` (one ``rename``: the
product appears whole or not at all) and only then records it in the ledger. A worker killed
mid-task leaves its directory under ``.campaign/tasks/``, never under a product's name, and it
is removed when the campaign ends; a retry runs in a directory of its own, so no task sees
another's half-written files. Only the client renames, so two attempts of one task can never
both land.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from reprocal.campaign._ledger import Entry
from reprocal.errors import InputError, LocalIOError, ReprocalError
from reprocal.fs._atomic import atomic_write
from reprocal.fs._hashing import sha256_file
from reprocal.fs._inputs import open_input
from reprocal.fs._limits import current_limits

STATE = ".campaign"
TASK_LOG = "reprocal-task.log"
TASK_FILE = "reprocal-task.json"
LEVELS = ("stat", "full")
"""How a done product is checked before it is skipped: ``stat`` (every file there with its
size) or ``full`` (and its sha256, every byte read)."""


class Layout:
    """The paths of the campaign in ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.state = root / STATE
        self.tasks = self.state / "tasks"
        self.failed = self.state / "failed"
        self.superseded = self.state / "superseded"

    def create(self) -> None:
        for d in (self.root, self.tasks, self.failed, self.superseded):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except FileExistsError:
                raise InputError(f"{d} is not a directory",
                                 hint="give a directory (new or a campaign's) as the output"
                                 ) from None
            except OSError as exc:
                raise LocalIOError.of(exc, d, doing="cannot create") from None

    def product(self, observation: str) -> Path:
        return self.root / observation

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.root)

    def attempts(self, observation: str, key: str) -> list[Path]:
        """The working directories of the attempts at a task that are still there, oldest
        first (each attempt makes one)."""
        prefix = f"{observation}.{key[:12]}."
        try:
            found = [p for p in self.tasks.iterdir() if p.name.startswith(prefix)]
        except OSError:
            return []
        return sorted(found, key=lambda p: p.stat().st_mtime_ns if p.exists() else 0)

    def clean_tasks(self) -> int:
        """Remove what is left under ``.campaign/tasks/`` (attempts of killed workers or of an
        earlier client); the count removed."""
        n = 0
        try:
            leftovers = list(self.tasks.iterdir())
        except OSError:
            return 0
        for p in leftovers:
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        return n


def read_task_file(directory: Path) -> dict[str, object] | None:
    """The ``reprocal-task.json`` a product directory holds (``None``: none, or unreadable)."""
    try:
        with open_input(directory / TASK_FILE, limit=current_limits().document_size) as f:
            doc = json.loads(f.read())
    except (ReprocalError, ValueError, OSError):
        return None
    return doc if isinstance(doc, dict) else None


def write_task_file(work: Path, doc: dict[str, object]) -> None:
    atomic_write(work / TASK_FILE, json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n")


def check_product(directory: Path, entry: Entry, level: str = "stat") -> str | None:
    """Why the product directory of a done task is not as the task left it (``None``: it
    is): a file gone, another size, or (``full``) other bytes."""
    if not directory.is_dir() or directory.is_symlink():
        return f"{directory.name}/ is gone"
    for o in entry.outputs:
        p = directory / o.path
        try:
            size = p.stat().st_size if p.is_file() else None
        except OSError:
            size = None
        if size is None:
            return f"{directory.name}/{o.path} is gone"
        if size != o.size:
            return f"{directory.name}/{o.path} is {size} bytes, not {o.size}"
        if level == "full" and sha256_file(p) != o.sha256:
            return f"{directory.name}/{o.path} has other bytes (sha256)"
    return None


def in_the_way(layout: Layout, observation: str, ours: Iterable[str]) -> str | None:
    """Why ``OUT/<observation>`` cannot be replaced by a new product (``None``: it can): it is
    not a directory this campaign made (no task file naming one of ``ours``, the keys the
    ledger knows for the observation)."""
    p = layout.product(observation)
    if not os.path.lexists(p):
        return None
    if p.is_symlink() or not p.is_dir():
        return f"{p} is in the way (not a product directory of this campaign)"
    doc = read_task_file(p)
    if doc is None or doc.get("key") not in set(ours):
        return f"{p} is in the way (not a product directory of this campaign)"
    return None


def place(layout: Layout, work: Path, observation: str, key: str) -> Path:
    """Rename the finished working directory ``work`` to ``OUT/<observation>``; a product of
    an earlier key there is moved to ``.campaign/superseded/<observation>.<key>`` first."""
    target = layout.product(observation)
    try:
        if os.path.lexists(target):
            doc = read_task_file(target)
            old = str(doc.get("key", "unknown"))[:12] if doc else "unknown"
            aside = layout.superseded / f"{observation}.{old}"
            if os.path.lexists(aside):
                shutil.rmtree(aside)
            os.rename(target, aside)
        os.rename(work, target)
    except OSError as exc:
        raise LocalIOError.of(exc, target, doing="cannot put the product in place") from None
    return target


def keep_failed(layout: Layout, attempt: Path, observation: str) -> Path:
    """Keep the working directory of a task's last failed attempt as
    ``.campaign/failed/<observation>`` (replacing an earlier one)."""
    target = layout.failed / observation
    try:
        if os.path.lexists(target):
            shutil.rmtree(target)
        os.rename(attempt, target)
    except OSError as exc:
        raise LocalIOError.of(exc, target, doing="cannot keep the failed attempt") from None
    return target


def log_tail(path: Path, lines: int = 20, limit: int = 8192) -> list[str]:
    """The last ``lines`` lines of a log (its last ``limit`` bytes at most; ``[]`` when it
    cannot be read: a log is never trusted to be a regular file or small)."""
    try:
        with open_input(path) as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - limit))
            text = f.read(limit).decode("utf-8", "replace")
    except (ReprocalError, OSError):
        return []
    out = text.splitlines()
    if size > limit and out:
        out = out[1:]  # the first line read is cut
    return out[-lines:]


__all__ = ["LEVELS", "Layout", "STATE", "TASK_FILE", "TASK_LOG", "check_product",
           "in_the_way", "keep_failed", "log_tail", "place", "read_task_file",
           "write_task_file"]
