"""Slurm and PBS through dask-jobqueue, from the ``--cluster`` TOML file: the file is read and
checked (errors name the key), and the batch script dask-jobqueue would submit is what the file
says. No batch system runs here, so the script and the cluster object are what is tested."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reprocal.campaign import ClusterConfig, job_script, load_cluster
from reprocal.campaign._cluster import SCHEDULER_PLACEHOLDER, make_cluster
from reprocal.errors import InputError

SLURM = """\
kind = "slurm"
jobs = 4
[job]
cores = 8
memory = "32GB"
walltime = "08:00:00"
queue = "normal"
account = "xmm"
python = "/opt/reprocal/bin/python"
job_script_prologue = ["module load apptainer", "export APPTAINER_BIND=/archive,/ccf"]
"""

PBS = """\
kind = "pbs"
[adapt]
minimum = 0
maximum = 20
[job]
cores = 4
memory = "16GB"
walltime = "02:00:00"
queue = "workq"
account = "xmm"
"""


def _file(tmp_path: Path, text: str, name: str = "cluster.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_slurm_file_gives_the_script_sbatch_would_get(tmp_path: Path) -> None:
    """Every key of [job] reaches the #SBATCH lines; the prologue runs before the worker; the
    workers run the interpreter named, one thread each (one command at a time), as many per
    job as cores; the scheduler's address is a placeholder (no scheduler starts)."""
    config = load_cluster(_file(tmp_path, SLURM))
    assert (config.kind, config.jobs, config.adapt, config.slots) == ("slurm", 4, None, 32)
    script = job_script(config)
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    for directive in ("#SBATCH -p normal", "#SBATCH -A xmm", "#SBATCH --cpus-per-task=8",
                      "#SBATCH -t 08:00:00"):
        assert directive in lines
    assert any(line.startswith("#SBATCH --mem=") for line in lines)
    prologue = lines.index("module load apptainer")
    assert lines[prologue + 1] == "export APPTAINER_BIND=/archive,/ccf"
    (worker,) = [line for line in lines if "dask_worker" in line]
    assert lines.index(worker) > prologue
    assert worker.startswith("/opt/reprocal/bin/python -m distributed.cli.dask_worker "
                             f"{SCHEDULER_PLACEHOLDER} ")
    assert "--nthreads 1" in worker and "--nworkers 8" in worker


def test_a_pbs_file_that_adapts(tmp_path: Path) -> None:
    """PBS with [adapt]: #PBS directives from [job]; slots are the most jobs times workers."""
    config = load_cluster(_file(tmp_path, PBS))
    assert (config.kind, config.adapt, config.slots) == ("pbs", {"minimum": 0, "maximum": 20}, 80)
    lines = job_script(config).splitlines()
    for directive in ("#PBS -q workq", "#PBS -A xmm", "#PBS -l walltime=02:00:00"):
        assert directive in lines
    assert any(line.startswith("#PBS -l select=1:ncpus=4") for line in lines)
    (worker,) = [line for line in lines if "dask_worker" in line]
    assert worker.startswith(f"{sys.executable} -m distributed.cli.dask_worker")


def test_the_cluster_object_listens_where_the_file_says_and_submits_nothing(tmp_path: Path) -> None:
    """make_cluster builds dask-jobqueue's SLURMCluster with its scheduler on the address of
    [scheduler] (loopback here): its job script points the workers there; no job is
    submitted until start_jobs; port 8787 taken by another user does not stop it."""
    import socket

    config = load_cluster(_file(tmp_path, SLURM + '[scheduler]\nhost = "127.0.0.1"\n'))
    with socket.socket() as taken:  # Dask's usual dashboard port, taken as on a login node
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # already taken by someone else: the same case
        cluster = make_cluster(config)
    try:
        assert type(cluster).__name__ == "SLURMCluster"
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert f"dask_worker {cluster.scheduler_address} " in cluster.job_script()
        assert len(cluster.workers) == 0
    finally:
        cluster.close()


@pytest.mark.parametrize(("text", "says"), [
    ('kind = "sge"\n', "$.kind: 'sge' is not one of ['slurm', 'pbs']"),
    ("jobs = 2\n", "$: 'kind' is a required property"),
    ('kind = "slurm"\njobs = 0\n', "$.jobs: 0 is less than the minimum of 1"),
    ('kind = "slurm"\n[job]\ncpus = 4\n',
     "$.job: Additional properties are not allowed ('cpus' was unexpected)"),
    ('kind = "slurm"\n[job]\ncores = "eight"\n', "$.job.cores: 'eight' is not of type 'integer'"),
    ('kind = "slurm"\njobs = 2\n[adapt]\nmaximum = 4\n', "give jobs or [adapt], not both"),
    ('kind = "slurm"\n[adapt]\nminimum = 5\nmaximum = 4\n', "$.adapt: minimum is above maximum"),
    ('kind = "slurm"\n[adapt]\nminimum = 1\n', "$.adapt: 'maximum' is a required property"),
    ('kind = "slurm"\nnodes = 3\n',
     "$: Additional properties are not allowed ('nodes' was unexpected)"),
    ('kind = "slurm\n', "not valid TOML"),
])
def test_a_bad_cluster_file_names_the_key(tmp_path: Path, text: str, says: str) -> None:
    """Each mistake is one InputError naming the file and the key (or the TOML error)."""
    path = _file(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_cluster(path)
    line = caught.value.one_line()
    assert line.startswith(f"{path}: ") and says in line, line


def test_dry_run_prints_the_batch_script_and_writes_nothing(campaign_world, cli,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    """`campaign run --cluster slurm.toml --dry-run`: what would run, then the script; no
    directory made, no job submitted, no scheduler started."""
    w = campaign_world
    path = _file(tmp_path, SLURM)
    out = tmp_path / "out"
    r = cli("campaign", "run", w.manifest, "-o", out, "--ccf-path", w.ccf, "--cluster", path,
            "--dry-run", "--", "epproc", "odf={obs_id}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("12 to run, 0 done already, 0 in place to record, 0 blocked\n")
    assert "\nbatch script of one job:\n#!/usr/bin/env bash\n" in r.stdout
    assert "#SBATCH -A xmm" in r.stdout and SCHEDULER_PLACEHOLDER in r.stdout
    assert not out.exists()


def test_cluster_and_scheduler_together_are_refused(campaign_world, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = campaign_world
    r = cli("campaign", "run", w.manifest, "--ccf-path", w.ccf, "--cluster",
            _file(tmp_path, SLURM), "--scheduler", "tcp://127.0.0.1:1", "--", "true")
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["reprocal: error: give --scheduler or --cluster, not both"]


def test_config_defaults() -> None:
    """Without jobs, one job; without processes, a worker per core (as make_cluster starts)."""
    c = ClusterConfig("slurm", {"cores": 3})
    assert (c.jobs, c.slots) == (1, 3)
