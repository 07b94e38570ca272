"""The engine: Dask distributed, imported here and only here, when a campaign runs.

* **Where.** An embedded ``LocalCluster`` by default (no server to start: one worker process
  per core, or ``jobs``, each running one task at a time, the scheduler on loopback); an
  existing cluster by its scheduler's address (``tcp://HOST:PORT``); or Slurm/PBS jobs through
  dask-jobqueue (:mod:`reprocal.campaign._cluster`).
* **Retries.** One policy, reprocal's (:class:`RetryPolicy`): a task that fails (its command
  exits non-zero, or the run stops on an error) is run again up to ``retries`` times by Dask's
  task retries, and a task whose worker dies is given to another worker up to the same number
  of times (Dask's ``allowed-failures``, set to match on the scheduler, and put back
  afterwards on one reprocal did not start). Either way: at most ``retries + 1`` attempts.
* **Bounded work in flight.** Tasks are handed to Dask in a window (``Client.map``), at most
  ``jobs`` at a time when given, else twice the workers' threads (so no worker waits for the
  next task), refilled as results come back (``as_completed``); each result is handed to the
  caller as it arrives, who records it.
* **Ctrl-C.** Tasks not started are cancelled, commands running are killed on their workers,
  the cluster reprocal started is shut down; every result received before is already recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.campaign._cluster import EXTRA, ClusterConfig, make_cluster, start_jobs
from reprocal.campaign._task import TaskFailed, TaskOutcome, TaskSpec, run_task, stop_commands
from reprocal.errors import ComponentUnavailable, NetworkError, ReprocalWarning

OnResult = Callable[[TaskSpec, "TaskOutcome | None", "str | None"], None]
"""Called (in the client) with each task's spec and its outcome, or ``None`` and why it never
produced one (its worker died too often, it could not be sent, it was cancelled)."""


@attrs.frozen
class RetryPolicy:
    """How often a task is tried again: ``retries`` more times after a failed attempt or a
    dead worker (at most ``retries + 1`` attempts)."""

    retries: int = 2

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.retries <= 100:
            raise ValueError("retries must be between 0 and 100")


def require_distributed() -> Any:
    """The ``distributed`` module, or :class:`ComponentUnavailable` (exit 6) naming the extra."""
    try:
        import distributed
    except ImportError:
        raise ComponentUnavailable("reprocal campaign runs on Dask distributed, which is not "
                                   "installed", hint=EXTRA) from None
    return distributed


def worker_version() -> str:
    """The reprocal version a worker runs (sent to every worker before the first task)."""
    return __version__


def _set_allowed_failures(dask_scheduler: Any, value: int) -> int:
    old = int(dask_scheduler.allowed_failures)
    dask_scheduler.allowed_failures = value
    return old


@contextlib.contextmanager
def connect(*, scheduler: str | None = None, cluster: ClusterConfig | None = None,
            jobs: int | None = None, policy: RetryPolicy = RetryPolicy(),
            connect_timeout: float = 10.0) -> Iterator[Any]:
    """A Dask client on the cluster asked for (see the module docstring), closed (and the
    cluster reprocal started shut down) afterwards."""
    distributed = require_distributed()
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": policy.retries}), \
            contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout=connect_timeout,
                                            set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise NetworkError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                                   hint="check the address, and that the scheduler runs"
                                   ) from None
            stack.callback(client.close)
            old = client.run_on_scheduler(_set_allowed_failures, value=policy.retries)
            stack.callback(_restore, client, old)
        else:
            if cluster is not None:
                dask_cluster = make_cluster(cluster)
                stack.callback(dask_cluster.close)
                start_jobs(dask_cluster, cluster)
            else:
                dask_cluster = distributed.LocalCluster(
                    n_workers=jobs or os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    silence_logs=logging.CRITICAL)
                stack.callback(dask_cluster.close)
            client = distributed.Client(dask_cluster, set_as_default=False)
            stack.callback(client.close)
        _check_workers(client)
        yield client


def _restore(client: Any, old: int) -> None:
    with contextlib.suppress(Exception):
        client.run_on_scheduler(_set_allowed_failures, value=old)


def _check_workers(client: Any) -> None:
    """Every worker there now can import this reprocal (a worker without it would fail every
    task); another version is a warning."""
    import warnings

    if not client.scheduler_info().get("workers"):
        return  # batch jobs not started yet: their workers are checked by their first task
    try:
        versions = client.run(worker_version)
    except ImportError as exc:
        raise ComponentUnavailable(f"the Dask workers cannot import reprocal ({exc})",
                                   hint=f"install it where they run: {EXTRA}") from None
    other = sorted({v for v in versions.values() if v != __version__})
    if other:
        warnings.warn(f"Dask workers run reprocal {', '.join(other)}, this client "
                      f"{__version__}: their records say which ran each task",
                      ReprocalWarning, stacklevel=3)


def slots(client: Any) -> int:
    """Threads of the workers connected now."""
    try:
        return sum(client.nthreads().values())
    except Exception:
        return 0


def _outcome(future: Any) -> tuple[TaskOutcome | None, str | None]:
    if future.status == "finished":
        return future.result(), None
    if future.status == "cancelled":
        return None, "cancelled"
    exc = future.exception()
    if isinstance(exc, TaskFailed):
        return exc.outcome, None
    if type(exc).__name__ == "KilledWorker":
        return None, "every worker that ran it died (Dask's KilledWorker)"
    return None, f"{type(exc).__name__}: {exc}"


def _stop(client: Any, token: str) -> None:
    """Kill the commands of campaign run ``token`` on every worker (best effort, bounded)."""
    def call() -> None:
        with contextlib.suppress(Exception):
            client.run(stop_commands, token, on_error="ignore")

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(10)


def execute(client: Any, specs: Sequence[TaskSpec], on_result: OnResult, *,
            policy: RetryPolicy, jobs: int | None = None, token: str | None = None) -> None:
    """Run every task on ``client``'s cluster (see the module docstring), calling
    ``on_result`` as each finishes. ``KeyboardInterrupt`` stops it: tasks not started are
    cancelled, running commands killed, and the interrupt raised again."""
    distributed = require_distributed()
    token = token or (specs[0].campaign if specs else uuid.uuid4().hex[:12])
    todo = iter(specs)
    done = distributed.as_completed(loop=client.loop)
    in_flight: dict[Any, TaskSpec] = {}
    refreshed, width = 0.0, 0

    def window() -> int:
        nonlocal refreshed, width
        if jobs is not None:
            return jobs
        if time.monotonic() - refreshed > 1.0:
            width, refreshed = max(4, 2 * slots(client)), time.monotonic()
        return width

    def submit() -> None:
        batch = list(islice(todo, max(0, window() - len(in_flight))))
        if not batch:
            return
        futures = client.map(run_task, batch, key=[f"reprocal-{token}-{s.observation}"
                                                   for s in batch],
                             retries=policy.retries, pure=False)
        for f, s in zip(futures, batch, strict=True):
            in_flight[f] = s
            done.add(f)

    try:
        submit()
        for future in done:
            spec = in_flight.pop(future)
            outcome, why = _outcome(future)
            future.release()
            on_result(spec, outcome, why)
            submit()
    except KeyboardInterrupt:
        client.cancel(list(in_flight), force=True)
        _stop(client, token)
        raise


__all__ = ["OnResult", "RetryPolicy", "connect", "execute", "require_distributed", "slots",
           "worker_version"]
