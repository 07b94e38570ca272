"""Batch-system clusters: Dask workers started as Slurm or PBS jobs by dask-jobqueue, from a small
TOML file (``reprocal campaign run --cluster FILE``)::

    kind = "slurm"              # or "pbs"
    jobs = 10                   # batch jobs, each running job.processes workers
    [job]                       # dask-jobqueue's SLURMCluster/PBSCluster parameters
    cores = 8
    processes = 8
    memory = "32GB"
    walltime = "08:00:00"
    queue = "normal"
    account = "xmm"
    python = "/opt/reprocal/bin/python"      # an interpreter with reprocal[campaign]
    job_script_prologue = ["module load apptainer"]

or ``[adapt] minimum = 0, maximum = 50`` instead of ``jobs``; ``[scheduler] interface = "ib0"``
says where the scheduler (it runs in the reprocal process) listens for the workers. The file is
read within the ``document-size`` limit and checked against
``schemas/campaign-cluster.schema.json`` (errors name the key); dask-jobqueue is imported only
here, when a campaign uses such a file. :func:`job_script` is the script it would submit.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from reprocal.errors import ComponentUnavailable, InputError
from reprocal.fs._inputs import read_input
from reprocal.fs._limits import current_limits
from reprocal.state._schemas import json_path, load_schema

EXTRA = "pip install 'reprocal[campaign]'"


@attrs.frozen
class ClusterConfig:
    """A batch-system cluster, as the file describes it."""

    kind: str
    """``slurm`` or ``pbs``."""
    job: dict[str, Any]
    jobs: int = 1
    adapt: dict[str, int] | None = None
    scheduler: dict[str, Any] = attrs.field(factory=dict)
    source: str = ""

    @property
    def slots(self) -> int:
        """Tasks the cluster runs at once when fully up (each worker runs one at a time)."""
        jobs = self.adapt["maximum"] if self.adapt else self.jobs
        return jobs * int(self.job.get("processes") or self.job.get("cores") or 1)


def _toml(data: bytes, source: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the package of the same parser
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ComponentUnavailable("reading a cluster file on Python 3.10 needs tomli",
                                       hint=EXTRA) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", path=source) from None
    except ValueError:  # an integer past Python's limit of digits
        raise InputError("holds a number too long to read (thousands of digits)",
                         path=source) from None
    except RecursionError:
        raise InputError("TOML nested too deeply", path=source) from None


def _said(err: Any) -> str:
    """The schema's complaint, without echoing a long value back (a message stays a line)."""
    if len(err.message) <= 200:
        return str(err.message)
    if err.validator == "maxLength":
        return f"{len(err.instance)} characters, at most {err.validator_value}"
    return f"a {type(err.instance).__name__} that fails {err.validator!r} ({err.validator_value})"


def load_cluster(path: str | os.PathLike[str], *, option: str = "cluster") -> ClusterConfig:
    """Read and check a cluster file (see the module docstring)."""
    import jsonschema

    source = os.fspath(path)
    data = read_input(path, limit=current_limits().document_size, what=f"{option} file",
                      error=InputError, name="document-size")
    doc = _toml(data, source)
    validator = jsonschema.Draft202012Validator(load_schema("campaign-cluster.schema.json"))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        raise InputError(f"{json_path(err.absolute_path)}: {_said(err)}", path=source,
                         hint="see `reprocal campaign run --help` and the README's campaign "
                              "section for the keys")
    if "jobs" in doc and "adapt" in doc:
        raise InputError("give jobs or [adapt], not both", path=source)
    adapt = doc.get("adapt")
    if adapt and adapt.get("minimum", 0) > adapt["maximum"]:
        raise InputError("$.adapt: minimum is above maximum", path=source)
    return ClusterConfig(doc["kind"], dict(doc.get("job", {})), int(doc.get("jobs", 1)),
                         dict(adapt) if adapt else None, dict(doc.get("scheduler", {})), source)


def _jobqueue() -> Any:
    try:
        import dask_jobqueue
    except ImportError:
        raise ComponentUnavailable("a campaign on a batch system needs dask-jobqueue, which "
                                   "is not installed", hint=EXTRA) from None
    return dask_jobqueue


SCHEDULER_PLACEHOLDER = "tcp://SCHEDULER:PORT"
"""The scheduler address in the batch script of a dry run (the real one is known once the
scheduler listens)."""


def _job_options(config: ClusterConfig) -> dict[str, Any]:
    job = dict(config.job)
    job.setdefault("cores", 1)
    job.setdefault("memory", "2GB")
    # each worker thread runs one command at a time: one thread per worker process
    job.setdefault("processes", job["cores"])
    return job


def _cluster_class(config: ClusterConfig) -> Any:
    jq = _jobqueue()
    return {"slurm": jq.SLURMCluster, "pbs": jq.PBSCluster}[config.kind]


def make_cluster(config: ClusterConfig) -> Any:
    """The dask-jobqueue cluster of ``config`` (its scheduler started here, in this process; no
    job submitted until :func:`start_jobs`)."""
    cls = _cluster_class(config)
    options: dict[str, Any] = {k: v for k, v in config.scheduler.items()
                               if k in ("host", "interface", "port")}
    # the dashboard on a free loopback port: a login node's 8787 is often taken by another user
    options["dashboard_address"] = "127.0.0.1:0"
    try:
        return cls(scheduler_options=options, **_job_options(config))
    except (ValueError, TypeError) as exc:
        raise InputError(f"dask-jobqueue refused the cluster: {exc}",
                         path=config.source) from None


def start_jobs(cluster: Any, config: ClusterConfig) -> None:
    """Submit the jobs (or let the cluster adapt)."""
    if config.adapt:
        cluster.adapt(minimum_jobs=config.adapt.get("minimum", 0),
                      maximum_jobs=config.adapt["maximum"])
    else:
        cluster.scale(jobs=config.jobs)


def job_script(config: ClusterConfig) -> str:
    """The batch script dask-jobqueue would submit for one job of ``config``, made by its job
    class without starting a scheduler (so the address is :data:`SCHEDULER_PLACEHOLDER`)."""
    cls = _cluster_class(config)
    try:
        job = cls.job_cls(scheduler=SCHEDULER_PLACEHOLDER, name="reprocal-worker",
                          **_job_options(config))
    except (ValueError, TypeError) as exc:
        raise InputError(f"dask-jobqueue refused the cluster: {exc}",
                         path=config.source) from None
    return str(job.job_script())


__all__ = ["ClusterConfig", "EXTRA", "SCHEDULER_PLACEHOLDER", "job_script", "load_cluster",
           "make_cluster", "start_jobs"]
