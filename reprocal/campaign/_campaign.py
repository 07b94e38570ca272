"""``reprocal campaign run``: one command over many observations of a manifest, each run exactly
as ``reprocal run --manifest M --obs LABEL`` runs it, on Dask, resumable from its ledger.

The sequence: plan the tasks (:mod:`reprocal.campaign._plan`: one per observation, keyed on
observation, calibration id, image digest and command); under the campaign's lock, record the
plan in the ledger; sort the tasks into those done and still as they were left (skipped), those
whose product is in place but not yet recorded (adopted: a client killed between the rename and
the ledger), those that cannot run (something else is in the way) and the rest; check once, on
the client, that the repository holds every constituent those need; run the rest on the engine
(:mod:`reprocal.campaign._engine`), putting each product in place and recording it as it
arrives; remove what killed attempts left; write the summary.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.campaign._engine import RetryPolicy, connect, execute
from reprocal.campaign._ledger import LEDGER, Entry, Ledger, Output, client_lock, now
from reprocal.campaign._obslist import observations
from reprocal.campaign._plan import Task, plan, unknown_placeholders
from reprocal.campaign._products import (
    LEVELS,
    TASK_LOG,
    Layout,
    check_product,
    in_the_way,
    keep_failed,
    place,
    read_task_file,
)
from reprocal.campaign._status import CampaignStatus, campaign_status
from reprocal.campaign._summary import write_summary
from reprocal.campaign._task import TaskOutcome, TaskSpec
from reprocal.errors import PARAMETERS, InputError, Names, ReprocalNotice, ReprocalWarning
from reprocal.fs._hashing import sha256_file
from reprocal.fs._limits import current_limits
from reprocal.progress import Progress, or_null
from reprocal.repo._ccfpath import CcfPath, ccf_dirs
from reprocal.state._manifest import Manifest, load_manifest


@attrs.frozen
class CampaignReport:
    """What one ``campaign run`` did."""

    directory: Path
    status: CampaignStatus
    """Every planned task as it stands afterwards."""
    ran: tuple[str, ...] = ()
    """Observations run this time."""
    skipped: tuple[str, ...] = ()
    """Observations done before and still as they were left."""
    adopted: tuple[str, ...] = ()
    """Products found in place and recorded (their client was stopped before recording)."""
    again: tuple[tuple[str, str], ...] = ()
    """Observations done before whose product changed since, and why: run again."""
    blocked: tuple[tuple[str, str], ...] = ()
    """Observations that could not run, and why (something else at their product's name)."""
    summary: tuple[Path, ...] = ()
    """``campaign.json`` and ``campaign.md``."""
    dry_run: bool = False
    job_script: str | None = None
    """With a cluster file and ``dry_run``: the batch script dask-jobqueue would submit."""

    @property
    def ok(self) -> bool:
        return self.status.ok


def _image_digest(image: str | None, docker_host: str | None, names: Names) -> str | None:
    if image is None:
        return None
    from reprocal.provenance._runimage import image_digest

    return image_digest(image, base_url=docker_host,
                        names=Names({"image": names("image")}))


def _dirs(ccf_path: CcfPath, image: str | None, names: Names) -> tuple[str, ...]:
    if image is not None:
        if ccf_path is not None:
            raise InputError(f"{names('ccf_path')} goes with a campaign on the host; in an "
                             "image the image's /ccf is the calibration")
        return ()
    if ccf_path is None and not os.environ.get("SAS_CCFPATH", "").strip():
        raise InputError(f"{names('manifest')}: the tasks need the repository holding the "
                         "manifest's constituents",
                         hint=f"give {names.given('ccf_path', 'DIRS')} or set SAS_CCFPATH")
    return tuple(str(d) for d in ccf_dirs(ccf_path, option=names("ccf_path")
                                          if ccf_path is not None else "SAS_CCFPATH"))


def _preflight(manifest: Manifest, tasks: Sequence[Task], dirs: Sequence[str]) -> None:
    """Every constituent the tasks to run need is in the repository as pinned (the check each
    task makes again, made once here so that a gap stops the campaign before it starts; it
    fills the verify cache the workers of this host then use)."""
    from reprocal.state._rebuild import check_pinned_bytes

    index = {label: i for i, label in enumerate(manifest.labels())}
    names = sorted({n for t in tasks for n in manifest.observations[index[t.observation]].files})
    check_pinned_bytes(manifest, [Path(d) for d in dirs],
                       files=[manifest.file(n) for n in names])


class _Recorder:
    """Puts each result in place and in the ledger, as it arrives (in the client)."""

    def __init__(self, layout: Layout, ledger: Ledger, tasks: dict[str, Task],
                 progress: Progress):
        self.layout, self.ledger, self.tasks, self.progress = layout, ledger, tasks, progress

    def __call__(self, spec: TaskSpec, outcome: TaskOutcome | None, why: str | None) -> None:
        task = self.tasks[spec.key]
        attempts = self.layout.attempts(spec.observation, spec.key)
        common: dict[str, Any] = dict(
            key=spec.key, observation=spec.observation, calibration_id=task.calibration_id,
            image_digest=task.image, command=spec.argv, attempts=max(1, len(attempts)))
        if outcome is not None:
            common.update(started=outcome.started, finished=outcome.finished,
                          seconds=outcome.seconds, worker=outcome.worker,
                          exit_status=outcome.exit_status)
        if outcome is not None and outcome.ok:
            target = place(self.layout, Path(outcome.attempt) / "work", spec.observation,
                           spec.key)
            with contextlib.suppress(OSError):  # emptied: .campaign/tasks stays short
                os.rmdir(outcome.attempt)
            entry = Entry(**common, status="done", directory=self.layout.relative(target),
                          record=outcome.record, log=f"{spec.observation}/{TASK_LOG}",
                          outputs=outcome.outputs, sas_version=outcome.sas_version)
        else:
            last = Path(outcome.attempt) if outcome is not None else (
                attempts[-1] if attempts else None)
            kept = keep_failed(self.layout, last, spec.observation) if last else None
            entry = Entry(**common, status="failed",
                          error=outcome.error if outcome is not None else why,
                          directory=self.layout.relative(kept) if kept else None,
                          log=self.layout.relative(kept / "log.txt") if kept else None)
        self.ledger.record(entry)
        self.progress.update(1)
        self.progress.finished(spec.observation)


def _adopt(layout: Layout, task: Task, level: str) -> Entry | None:
    """The entry of a product found in place for ``task`` but not recorded (its client was
    killed after renaming it), when it is still as its task file says."""
    doc: Any = read_task_file(layout.product(task.observation))
    if doc is None or doc.get("key") != task.key:
        return None
    try:
        outputs = tuple(Output(str(p), int(s), str(h)) for p, s, h in doc["outputs"])
        entry = Entry(
            key=task.key, observation=task.observation, calibration_id=task.calibration_id,
            image_digest=task.image, command=task.argv, status="done", attempts=1,
            exit_status=0, started=str(doc.get("started")), finished=str(doc.get("finished")),
            seconds=float(doc.get("seconds") or 0), worker=str(doc.get("worker")),
            directory=task.observation, record=str(doc["record"]),
            log=f"{task.observation}/{TASK_LOG}", outputs=outputs,
            sas_version=doc.get("sas_version") if isinstance(doc.get("sas_version"), str)
            else None)
    except (KeyError, TypeError, ValueError):
        return None
    return entry if check_product(layout.product(task.observation), entry, level) is None \
        else None


@attrs.frozen
class _Sorted:
    todo: list[Task]
    skipped: list[str]
    adopted: list[str]
    again: list[tuple[str, str]]
    blocked: list[tuple[str, str]]


def _sort(layout: Layout, ledger: Ledger, tasks: Sequence[Task], level: str,
          *, write: bool) -> _Sorted:
    entries = ledger.entries()
    known: dict[str, set[str]] = {}
    for x in entries.values():
        if x.done:
            known.setdefault(x.observation, set()).add(x.key)
    out = _Sorted([], [], [], [], [])
    for t in tasks:
        e = entries.get(t.key)
        if e is not None and e.done:
            problem = check_product(layout.product(t.observation), e, level)
            if problem is None:
                out.skipped.append(t.observation)
                continue
            out.again.append((t.observation, problem))
        found = _adopt(layout, t, level)
        if found is not None:
            if write:
                ledger.record(found)
            out.adopted.append(t.observation)
            continue
        blocked = in_the_way(layout, t.observation, known.get(t.observation, set()) | {t.key})
        if blocked is not None:
            out.blocked.append((t.observation, blocked))
            if write:
                ledger.record(Entry(t.key, t.observation, t.calibration_id, t.image, t.argv,
                                    "failed", 0, error=blocked))
            continue
        out.todo.append(t)
    return out


def run_campaign(
    manifest: str | os.PathLike[str],
    command: Sequence[str],
    output: str | os.PathLike[str],
    *,
    obs_list: str | os.PathLike[str] | None = None,
    odf: str | None = None,
    image: str | None = None,
    docker_host: str | None = None,
    ccf_path: CcfPath = None,
    scheduler: str | None = None,
    cluster: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    retries: int = 2,
    timeout: float | None = None,
    level: str = "stat",
    stamp: bool = True,
    sign: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> CampaignReport:
    """Run ``command`` for every observation (see the module docstring and
    :func:`reprocal.api.campaign_run`)."""
    if level not in LEVELS:
        raise InputError(f"{names('level')} {level!r}: one of {', '.join(LEVELS)}")
    if scheduler is not None and cluster is not None:
        raise InputError(f"give {names('scheduler')} or {names('cluster')}, not both")
    if jobs is not None and jobs < 1:
        raise InputError(f"{names('jobs')} {jobs}: at least 1")
    policy = RetryPolicy(retries)
    root = Path(output).absolute()
    manifest_file = Path(manifest).absolute()
    m = load_manifest(manifest_file)
    manifest_sha = sha256_file(manifest_file)
    labels, odfs = observations(m, obs_list=obs_list, odf=odf, names=names)
    if image is not None and Path(image).is_file():
        image = str(Path(image).absolute())
    digest = _image_digest(image, docker_host, names)
    ids = dict(zip(m.labels(), map(str, m.observation_ids), strict=True))
    tasks = plan(labels, ids, command, image=digest, odf=odfs, names=names)
    for token in unknown_placeholders(command):
        warnings.warn(f"{token} in the command is no placeholder and is passed as it is (the "
                      "placeholders are {obs_id}, {odf}, {calibration_id})", ReprocalWarning,
                      stacklevel=3)
    dirs = _dirs(ccf_path, image, names)
    config = None
    if cluster is not None:
        from reprocal.campaign._cluster import load_cluster

        config = load_cluster(cluster, option=names("cluster"))
    if sign is not None:
        from reprocal.provenance._signature import load_signer

        load_signer(sign)  # a bad key fails before any work
        sign = str(Path(sign).absolute())
    layout = Layout(root)
    meta = {"manifest": str(manifest_file), "manifest_sha256": manifest_sha,
            "state_id": m.calibration_id, "command": list(command), "image": image,
            "image_digest": digest, "reprocal_version": __version__, "started": now(),
            "options": {
                "obs_list": str(Path(obs_list).absolute()) if obs_list is not None else None,
                "odf": os.path.abspath(odf) if odf is not None else None,
                "docker_host": docker_host, "ccf_path": list(dirs) or None,
                "retries": retries, "timeout": timeout, "level": level, "stamp": stamp,
                "sign": str(sign) if sign else None}}
    if dry_run:
        return _dry_run(layout, m, tasks, level, config)
    layout.create()
    token = uuid.uuid4().hex[:12]
    specs_of = {t.key: t for t in tasks}
    with client_lock(root), Ledger(root) as ledger:
        ledger.set_plan([(t.observation, t.key) for t in tasks], meta)
        layout.clean_tasks()
        sorted_ = _sort(layout, ledger, tasks, level, write=True)
        for obs, why in sorted_.again:
            warnings.warn(f"{obs}: done before, but {why}: running it again", ReprocalWarning,
                          stacklevel=3)
        specs = [TaskSpec(t.key, t.observation, t.argv, str(manifest_file), manifest_sha, dirs,
                          str(layout.tasks), token, t.values.get("odf"), image, docker_host,
                          str(sign) if sign else None, timeout, stamp) for t in sorted_.todo]
        bar = or_null(progress)
        try:
            if specs:
                if dirs:
                    _preflight(m, sorted_.todo, dirs)
                bar.start(len(specs))
                with connect(scheduler=scheduler, cluster=config, jobs=jobs, policy=policy,
                             connect_timeout=current_limits().connect_timeout) as client:
                    execute(client, specs, _Recorder(layout, ledger, specs_of, bar),
                            policy=policy, jobs=jobs if scheduler or config else None,
                            token=token)
        except KeyboardInterrupt:
            status = _finish(layout)
            c = status.counts
            warnings.warn(f"campaign interrupted: {c['done']} done, {c['failed']} failed, "
                          f"{c['pending']} not run; recorded in {ledger.path}: the same "
                          "command again goes on from there", ReprocalNotice, stacklevel=3)
            raise
        status = _finish(layout)
    return CampaignReport(root, status, tuple(t.observation for t in sorted_.todo),
                          tuple(sorted_.skipped), tuple(sorted_.adopted), tuple(sorted_.again),
                          tuple(sorted_.blocked), write_summary(root, status))


RESUMED = ("obs_list", "odf", "docker_host", "ccf_path", "retries", "timeout", "level",
           "stamp", "sign")
"""The options of ``campaign run`` the ledger keeps, so that ``campaign resume`` runs the same
campaign (where it runs, ``scheduler``, ``cluster`` and ``jobs``, is given anew)."""


def resume_campaign(directory: str | os.PathLike[str], *, scheduler: str | None = None,
                    cluster: str | os.PathLike[str] | None = None, jobs: int | None = None,
                    dry_run: bool = False, progress: Progress | None = None,
                    names: Names = PARAMETERS) -> CampaignReport:
    """Run again the campaign whose ledger is in ``directory``, with the manifest, command,
    image and options its last ``campaign run`` recorded: what is done and still as it was
    left is skipped, the rest runs. Refused when the manifest changed since (then it is
    another campaign: ``campaign run`` plans it)."""
    root = Path(directory).absolute()
    with Ledger(root, readonly=True) as ledger:
        meta = ledger.meta()
    if not isinstance(meta.get("manifest"), str) or not isinstance(meta.get("command"), list):
        raise InputError(f"{root / LEDGER} records no campaign run to resume",
                         hint="start it with `reprocal campaign run`")
    manifest = Path(meta["manifest"])
    if not manifest.is_file() or sha256_file(manifest) != meta.get("manifest_sha256"):
        raise InputError(f"{manifest} is gone or changed since the campaign in {root} started",
                         hint="run `reprocal campaign run` with the manifest as it is now: "
                              "what its change leaves as it was is skipped")
    raw = meta.get("options")
    options = {k: v for k, v in raw.items() if k in RESUMED} if isinstance(raw, dict) else {}
    return run_campaign(manifest, [str(a) for a in meta["command"]], root,
                        image=meta.get("image"), scheduler=scheduler, cluster=cluster,
                        jobs=jobs, dry_run=dry_run, progress=progress, names=names, **options)


def _finish(layout: Layout) -> CampaignStatus:
    """Remove what killed attempts left, and say where the campaign stands (summary written)."""
    layout.clean_tasks()
    status = campaign_status(layout.root)
    write_summary(layout.root, status)
    return status


def _dry_run(layout: Layout, m: Manifest, tasks: Sequence[Task], level: str,
             config: Any) -> CampaignReport:
    """What a run would do, writing nothing (the ledger read if there is one)."""
    from reprocal.campaign._status import CampaignStatus, TaskState

    if (layout.root / "campaign.sqlite").exists():
        with Ledger(layout.root, readonly=True) as ledger:
            s = _sort(layout, ledger, tasks, level, write=False)
    else:
        s = _Sorted(list(tasks), [], [], [], [])
    todo = {t.key for t in s.todo}
    states = tuple(TaskState(t.observation, t.key, "pending" if t.key in todo else "done")
                   for t in tasks)
    script = None
    if config is not None:
        from reprocal.campaign._cluster import job_script

        script = job_script(config)
    return CampaignReport(layout.root, CampaignStatus(layout.root, {}, states, level),
                          tuple(t.observation for t in s.todo), tuple(s.skipped),
                          tuple(s.adopted), tuple(s.again), tuple(s.blocked), (), True, script)


__all__ = ["CampaignReport", "RESUMED", "resume_campaign", "run_campaign"]
