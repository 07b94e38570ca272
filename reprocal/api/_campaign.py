"""``campaign_run`` and ``campaign_status``: one command over many observations, on Dask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from reprocal.api._inputs import PathLike
from reprocal.campaign._campaign import CampaignReport
from reprocal.campaign._status import CampaignStatus
from reprocal.errors import PARAMETERS, CheckFailed, Names
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath


def _failures(status: CampaignStatus) -> list[dict[str, Any]]:
    return [{"observation": t.observation, "error": t.entry.error if t.entry else None,
             "exit_status": t.entry.exit_status if t.entry else None,
             "log": str(status.directory / t.entry.log) if t.entry and t.entry.log else None,
             "log_tail": list(t.log)} for t in status.of("failed")]


@attrs.frozen
class CampaignRunResult:
    """What :func:`campaign_run` did: which observations ran, were skipped or adopted, and
    where every task of the campaign stands afterwards."""

    report: CampaignReport

    @property
    def status(self) -> CampaignStatus:
        return self.report.status

    @property
    def ok(self) -> bool:
        """Every task of the campaign done (a dry run: nothing found in the way)."""
        return not self.report.blocked if self.report.dry_run else self.report.ok

    @property
    def exit_code(self) -> int:
        """What ``reprocal campaign run`` exits with: 0 when every task is done, else 1."""
        return 0 if self.ok else 1

    def raise_if_failed(self) -> None:
        if not self.ok:
            c = self.status.counts
            raise CheckFailed(f"campaign in {self.report.directory}: {c['failed']} failed, "
                              f"{c['pending']} pending", hint="`reprocal campaign status` "
                              "lists them with their logs; run again to retry them")

    def to_json(self) -> dict[str, Any]:
        r = self.report
        return {"directory": str(r.directory), "dry_run": r.dry_run, "ok": self.ok,
                "counts": r.status.counts, "ran": list(r.ran), "skipped": list(r.skipped),
                "adopted": list(r.adopted),
                "again": [{"observation": o, "why": w} for o, w in r.again],
                "blocked": [{"observation": o, "why": w} for o, w in r.blocked],
                "failures": _failures(r.status), "summary": [str(p) for p in r.summary],
                "job_script": r.job_script}


def campaign_run(
    manifest: PathLike,
    command: Sequence[str],
    *,
    output: PathLike = ".",
    obs_list: PathLike | None = None,
    odf: str | None = None,
    image: str | None = None,
    docker_host: str | None = None,
    ccf_path: CcfPath = None,
    scheduler: str | None = None,
    cluster: PathLike | None = None,
    jobs: int | None = None,
    retries: int = 2,
    timeout: float | None = None,
    level: str = "stat",
    stamp: bool = True,
    sign: PathLike | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> CampaignRunResult:
    """Run ``command`` for every observation of ``manifest`` (or of ``obs_list``), each as
    :func:`run` runs one (its CIF built from the manifest, ``SAS_CCF``/``SAS_CCFPATH`` set, or
    in the calibration ``image``; outputs stamped; a provenance record), on Dask; products in
    ``output/<obs_id>/``, the ledger ``output/campaign.sqlite`` beside them.

    ``command`` is a list of arguments (never a shell line) in which ``{obs_id}``, ``{odf}``
    and ``{calibration_id}`` are replaced per observation; ``odf`` is a template
    (``/archive/{obs_id}/odf``) for observations whose ODF ``obs_list`` does not give, and
    ``$SAS_ODF`` is set to it. The engine: a local cluster of ``jobs`` workers (default: the
    cores), or the scheduler at ``scheduler`` (``tcp://HOST:PORT``), or Slurm/PBS jobs from
    the ``cluster`` file (then ``jobs`` bounds the tasks in flight). A task is tried
    ``retries`` more times after a failure or a dead worker; ``timeout`` (seconds) kills a
    command that runs too long. A task done before is skipped when its product is still as it
    was left (``level``: ``stat`` sizes, ``full`` sha256), and runs again when it failed, its
    product changed, or the observation's calibration id, the image digest or the command
    did. ``dry_run`` says what would run (and, with ``cluster``, the batch script), writing
    nothing. ``KeyboardInterrupt`` stops it cleanly: what finished is recorded, the rest runs
    next time."""
    from reprocal.campaign._campaign import run_campaign

    return CampaignRunResult(run_campaign(
        manifest, command, output, obs_list=obs_list, odf=odf, image=image,
        docker_host=docker_host, ccf_path=ccf_path, scheduler=scheduler, cluster=cluster,
        jobs=jobs, retries=retries, timeout=timeout, level=level, stamp=stamp, sign=sign,
        dry_run=dry_run, progress=progress, names=names))


def campaign_resume(
    directory: PathLike = ".",
    *,
    scheduler: str | None = None,
    cluster: PathLike | None = None,
    jobs: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> CampaignRunResult:
    """Go on with the campaign in ``directory`` (a client stopped or killed, failures to try
    again): the manifest, command, image and options its last :func:`campaign_run` recorded in
    the ledger, on the cluster given now (``scheduler``, ``cluster``, ``jobs`` as for
    :func:`campaign_run`). Refused when the manifest changed since the campaign started."""
    from reprocal.campaign._campaign import resume_campaign

    return CampaignRunResult(resume_campaign(
        directory, scheduler=scheduler, cluster=cluster, jobs=jobs, dry_run=dry_run,
        progress=progress, names=names))


@attrs.frozen
class CampaignStatusResult:
    """Where a campaign stands: each planned task done, failed (with its log) or pending."""

    status: CampaignStatus

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def exit_code(self) -> int:
        """0 when every task is done, else 1."""
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return self.status.to_json()


def campaign_status(directory: PathLike = ".", *, level: str = "stat", log_lines: int = 20,
                    names: Names = PARAMETERS) -> CampaignStatusResult:
    """Where the campaign in ``directory`` stands (its ledger and product directories; no Dask
    needed): done (products still as left: ``level`` ``stat`` or ``full``), failed with the
    last ``log_lines`` lines of each log, pending."""
    from reprocal.campaign._status import campaign_status as status_of
    from reprocal.errors import InputError

    if level not in ("stat", "full"):
        raise InputError(f"{names('level')} {level!r}: one of stat, full")
    return CampaignStatusResult(status_of(directory, level=level, log_lines=log_lines,
                                          option=names("directory")))


__all__ = ["CampaignRunResult", "CampaignStatusResult", "campaign_resume", "campaign_run",
           "campaign_status"]
