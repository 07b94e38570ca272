"""What the campaign tests share: a manifest of many observations pinned over the session's
synthetic repository, and a stand-in for a SAS task."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
import pytest
from support.cluster import dask_cluster, own_cluster  # noqa: F401  (fixtures)

# A stand-in for a SAS task: notes that it ran (an append to a shared journal, one line per
# execution), talks on stdout, may sleep, fails for the observations it is told to, and writes
# a FITS product carrying the CALINDEX of the CIF it was given (as SAS products do).
TASK = """\
import os, shutil, sys, time
obs, journal, sleep, fail = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].split(",")
with open(journal, "a") as j:
    j.write(f"{obs} {os.getpid()}\\n")
print("task", obs, "calibration", os.environ["REPROCAL_CALIBRATION_ID"], flush=True)
time.sleep(sleep)
if obs in fail:
    print("cannot calibrate", obs, file=sys.stderr)
    sys.exit(3)
shutil.copyfile(os.environ["SAS_CCF"], f"{obs}_evt.fits")
"""

LABELS = tuple(f"05{i:08d}" for i in range(1, 13))


@attrs.frozen
class World:
    """A manifest of twelve observations, the repository, the task script and its journal."""

    root: Path
    manifest: Path
    ccf: Path
    task: Path

    def command(self, journal: Path, *, sleep: float = 0.0, fail: str = "-") -> list[str]:
        return [sys.executable, str(self.task), "{obs_id}", str(journal), str(sleep), fail]

    @staticmethod
    def runs(journal: Path) -> list[str]:
        """The observations the task ran for, one per execution."""
        if not journal.exists():
            return []
        return [line.split()[0] for line in journal.read_text().splitlines() if line]


@pytest.fixture(scope="session")
def campaign_world(synthetic_repo, tmp_path_factory: pytest.TempPathFactory) -> World:  # type: ignore[no-untyped-def]
    from reprocal import api

    root = tmp_path_factory.mktemp("campaign-world")
    rows = ["obs_id,obs_date,analysis_date"] + [
        f"{label},{2004 + i % 9}-0{1 + i % 9}-1{i % 10}T10:00:00,2020-01-01T00:00:00"
        for i, label in enumerate(LABELS)]
    (root / "obs.csv").write_text("\n".join(rows) + "\n")
    api.pin(obs_list=root / "obs.csv", ccf_path=synthetic_repo.root,
            catalog=root / "catalog.sqlite", output=root / "manifest.json")
    (root / "task.py").write_text(TASK)
    return World(root, root / "manifest.json", synthetic_repo.root, root / "task.py")
