"""Where a campaign stands: each planned task done, failed or pending, read from its ledger and
its product directories (``reprocal campaign status``, and the end of every ``campaign run``).

A task is *done* when the ledger says so and its product directory is still as the task left
it (every file there with its size; with ``level="full"`` its sha256 too); a product changed
since is reported and counted pending, so the next run makes it again. A *failed* task comes
with its error and the end of its log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from reprocal.campaign._ledger import Entry, Ledger
from reprocal.campaign._products import LEVELS, Layout, check_product, log_tail
from reprocal.errors import InputError

STATES = ("done", "failed", "pending")


@attrs.frozen
class TaskState:
    """One planned task, as it stands."""

    observation: str
    key: str
    state: str
    """``done``, ``failed`` or ``pending``."""
    entry: Entry | None = None
    """What the ledger holds for it (``None``: never recorded)."""
    problem: str | None = None
    """Why a task the ledger has as done is pending again (its product changed)."""
    log: tuple[str, ...] = ()
    """The end of a failed task's log."""

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        out: dict[str, Any] = {"observation": self.observation, "key": self.key,
                               "state": self.state}
        if e is not None:
            out.update({"calibration_id": e.calibration_id, "image_digest": e.image_digest,
                        "sas_version": e.sas_version, "exit_status": e.exit_status,
                        "attempts": e.attempts, "finished": e.finished, "seconds": e.seconds,
                        "worker": e.worker, "directory": e.directory,
                        "record": (f"{e.directory}/{e.record}" if e.record and e.directory
                                   else None)})
            if self.state == "failed":
                out.update({"error": e.error, "log": e.log, "log_tail": list(self.log)})
        if self.problem:
            out["problem"] = self.problem
        return out


@attrs.frozen
class CampaignStatus:
    """Every task of the campaign's last plan, as it stands."""

    directory: Path
    meta: Mapping[str, Any]
    tasks: tuple[TaskState, ...]
    level: str = "stat"

    def of(self, state: str) -> tuple[TaskState, ...]:
        return tuple(t for t in self.tasks if t.state == state)

    @property
    def counts(self) -> dict[str, int]:
        return {s: len(self.of(s)) for s in STATES}

    @property
    def ok(self) -> bool:
        """Every task done."""
        return all(t.state == "done" for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "level": self.level, "counts": self.counts,
                "ok": self.ok, "campaign": dict(self.meta),
                "tasks": [t.to_json() for t in self.tasks]}


def task_state(layout: Layout, observation: str, key: str, entry: Entry | None, *,
               level: str = "stat", log_lines: int = 20) -> TaskState:
    """One task's state from its ledger entry and its product directory."""
    if entry is None:
        return TaskState(observation, key, "pending")
    if entry.done:
        problem = check_product(layout.product(observation), entry, level)
        return TaskState(observation, key, "pending" if problem else "done", entry, problem)
    tail = tuple(log_tail(layout.root / entry.log, log_lines)) if entry.log else ()
    return TaskState(observation, key, "failed", entry, log=tail)


def campaign_status(directory: str | os.PathLike[str], *, level: str = "stat",
                    log_lines: int = 20, option: str = "directory") -> CampaignStatus:
    """Where the campaign in ``directory`` stands (see the module docstring)."""
    if level not in LEVELS:
        raise InputError(f"level {level!r}: one of {', '.join(LEVELS)}")
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{option} {root} is not a directory",
                         hint="give the output directory of `reprocal campaign run`")
    layout = Layout(root)
    with Ledger(root, readonly=True) as ledger:
        plan = ledger.plan()
        entries = ledger.entries()
        meta = ledger.meta()
    tasks = tuple(task_state(layout, o, k, entries.get(k), level=level, log_lines=log_lines)
                  for o, k in plan)
    return CampaignStatus(root, meta, tasks, level)


__all__ = ["CampaignStatus", "STATES", "TaskState", "campaign_status", "task_state"]
