"""A real Dask cluster on loopback for the campaign tests: ``dask scheduler`` and ``dask worker``
processes started by the tests (no nanny, so a worker killed stays dead and its tasks must go
elsewhere), each stopped by its pid at the end.

The processes get an environment of their own: a private cache (the verify cache their tasks
fill), no ``SAS_*`` variables of the test run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

DASK = Path(sys.executable).with_name("dask")


@attrs.define
class LoopbackCluster:
    """A running scheduler and its workers."""

    address: str
    root: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    env: dict[str, str]

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.poll() is None]

    def add_worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        with open(self.root / f"worker-{n}.log", "wb") as log:  # the child keeps its copy
            proc = subprocess.Popen(
                [str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{n}",
                 "--local-directory", str(self.root / f"w{n}")],
                stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.workers.append(proc)
        return proc

    def wait_for(self, n: int, timeout: float = 60) -> None:
        """Until ``n`` workers are connected."""
        from distributed import Client

        with Client(self.address, timeout=timeout) as c:
            c.wait_for_workers(n, timeout=timeout)

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(10)


def start_cluster(root: Path, workers: int = 2) -> LoopbackCluster:
    """``dask scheduler`` on a loopback port and ``workers`` ``dask worker`` processes."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed (pip install 'reprocal[campaign]')")
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAS_", "REPROCAL_"))}
    env["XDG_CACHE_HOME"] = str(root / "cache")
    env["DASK_DISTRIBUTED__LOGGING__DISTRIBUTED"] = "error"
    info = root / "scheduler.json"
    with open(root / "scheduler.log", "wb") as log:  # the child keeps its copy
        scheduler = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)], stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while not info.exists():
        if scheduler.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("dask scheduler did not start: "
                               + (root / "scheduler.log").read_text(errors="replace")[-2000:])
        time.sleep(0.1)
    time.sleep(0.1)
    address = json.loads(info.read_text())["address"]
    cluster = LoopbackCluster(address, root, scheduler, [], env)
    for _ in range(workers):
        cluster.add_worker()
    cluster.wait_for(workers)
    return cluster


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    """One loopback cluster (a scheduler, two workers) shared by the session's campaigns."""
    cluster = start_cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    """A loopback cluster of two workers for one test (which may kill its workers)."""
    cluster = start_cluster(tmp_path / "dask")
    try:
        yield cluster
    finally:
        cluster.stop()


__all__ = ["DASK", "LoopbackCluster", "dask_cluster", "own_cluster", "start_cluster"]
