"""``reprocal campaign``: run one command over many observations on Dask, and see where a
campaign stands."""

from __future__ import annotations

from typing import Any

import click

from reprocal import api
from reprocal.cli._common import (
    ccf_path_option,
    echo_json,
    json_option,
    option_names,
    sign_option,
)
from reprocal.cli._progress import Bar


@click.group("campaign")
def campaign() -> None:
    """Campaigns: one command over many observations, each run as `reprocal run` runs one."""


def _failures(doc: dict[str, Any]) -> None:
    for f in doc["failures"]:
        click.echo(f"  failed {f['observation']}: {f['error']}", err=True)
        if f.get("log"):
            click.echo(f"    log {f['log']}", err=True)
        for line in f.get("log_tail", [])[-5:]:
            click.echo(f"    | {line}", err=True)


@campaign.command("run")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The campaign directory: one product directory per observation, the ledger "
                   "(campaign.sqlite) and the summary (campaign.json, campaign.md).")
@click.option("--obs-list", "obs_list", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Run only these observations: CSV with an obs_id column "
              "(the list `reprocal pin --obs-list` reads), optionally odf (their ODFs).")
@click.option("--odf", default=None, metavar="TEMPLATE",
              help="The ODF of each observation, such as /archive/{obs_id}/odf: {odf} in the "
                   "command and $SAS_ODF of the task.")
@click.option("--image", default=None, metavar="IMAGE.tar|NAME",
              help="Run every task inside this calibration image (through the Docker daemon).")
@ccf_path_option
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on an existing Dask cluster (default: a local cluster, one worker per "
                   "core).")
@click.option("--cluster", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="Run on Slurm or PBS: a TOML file saying how dask-jobqueue starts the "
                   "workers as batch jobs (README: campaigns).")
@click.option("--jobs", type=click.IntRange(1, 100000), default=None,
              help="Workers of the local cluster (default: the cores); on another cluster, at "
                   "most this many tasks at once.")
@click.option("--retries", type=click.IntRange(0, 100), default=2, show_default=True,
              help="Run a failed task (or one whose worker died) again this many times.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Kill a command still running after this long.")
@click.option("--level", type=click.Choice(["stat", "full"]), default="stat",
              show_default=True, help="How a product done before is checked before it is "
              "skipped: every file with its size (stat), or its sha256 too (full).")
@click.option("--no-stamp", is_flag=True, help="Do not stamp FITS outputs.")
@sign_option
@click.option("--dry-run", "dry_run", is_flag=True,
              help="Say what would run (and print the batch script of --cluster); change "
                   "nothing.")
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cmd(manifest: str, output: str, obs_list: str | None, odf: str | None,
            image: str | None, ccf_path: str | None, scheduler: str | None,
            cluster: str | None, jobs: int | None, retries: int, timeout: float | None,
            level: str, no_stamp: bool, sign: str | None, dry_run: bool, as_json: bool,
            command: tuple[str, ...]) -> None:
    """Run COMMAND (after `--`) for every observation of MANIFEST, each exactly as `reprocal
    run --manifest MANIFEST --obs OBS_ID` runs it, on Dask.

    In COMMAND, {obs_id}, {odf} and {calibration_id} are replaced per observation (no shell
    is involved). Running the same campaign again skips what is done and still as it was
    left, and runs what failed or whose calibration, image or command changed. Exits 0 when
    every task is done, 1 when some failed (`reprocal campaign status` shows their logs), 130
    when interrupted (what finished is kept).
    """
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    with Bar("campaign", unit="task", enabled=None if not as_json else False) as bar:
        r = api.campaign_run(manifest, argv, output=output, obs_list=obs_list, odf=odf,
                             image=image, ccf_path=ccf_path, scheduler=scheduler,
                             cluster=cluster, jobs=jobs, retries=retries, timeout=timeout,
                             level=level, stamp=not no_stamp, sign=sign, dry_run=dry_run,
                             progress=bar, names=option_names())
    _report(r, as_json)


def _report(r: Any, as_json: bool) -> None:
    """Print what a run (or a resume) did, and exit with its code."""
    doc = r.to_json()
    if as_json:
        echo_json(doc)
        raise click.exceptions.Exit(r.exit_code)
    rep = r.report
    for obs, why in rep.blocked:
        click.echo(f"reprocal: {obs} not run: {why}", err=True)
    if rep.dry_run:
        click.echo(f"{len(rep.ran)} to run, {len(rep.skipped)} done already, "
                   f"{len(rep.adopted)} in place to record, {len(rep.blocked)} blocked")
        for obs in rep.ran:
            click.echo(f"  would run {obs}")
        if rep.job_script:
            click.echo("\nbatch script of one job:\n" + rep.job_script)
        raise click.exceptions.Exit(r.exit_code)
    c = doc["counts"]
    click.echo(f"reprocal: campaign of {sum(c.values())} observation(s) in {rep.directory}: "
               f"{c['done']} done ({len(rep.ran)} run now, {len(rep.skipped)} done before"
               + (f", {len(rep.adopted)} adopted" if rep.adopted else "")
               + f"), {c['failed']} failed, {c['pending']} pending", err=True)
    _failures(doc)
    if rep.summary:
        click.echo(f"reprocal: summary {' and '.join(str(p) for p in rep.summary)}", err=True)
    raise click.exceptions.Exit(r.exit_code)


@campaign.command("resume")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on an existing Dask cluster (default: a local cluster).")
@click.option("--cluster", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="Run on Slurm or PBS (the TOML file of `campaign run --cluster`).")
@click.option("--jobs", type=click.IntRange(1, 100000), default=None,
              help="Workers of the local cluster; on another cluster, tasks at once.")
@click.option("--dry-run", "dry_run", is_flag=True, help="Say what would run; change nothing.")
@json_option
def resume_cmd(directory: str, scheduler: str | None, cluster: str | None, jobs: int | None,
               dry_run: bool, as_json: bool) -> None:
    """Go on with the campaign in DIRECTORY: its manifest, command, image and options as its
    last `campaign run` recorded them in the ledger; what is done is skipped.

    Where it runs is given anew (--scheduler, --cluster, --jobs). Refused when the manifest
    changed since. Exits as `campaign run` does.
    """
    with Bar("campaign", unit="task", enabled=None if not as_json else False) as bar:
        r = api.campaign_resume(directory, scheduler=scheduler, cluster=cluster, jobs=jobs,
                                dry_run=dry_run, progress=bar, names=option_names())
    _report(r, as_json)


@campaign.command("status")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--level", type=click.Choice(["stat", "full"]), default="stat",
              show_default=True, help="Check done products by size (stat) or sha256 (full).")
@click.option("--log-lines", "log_lines", type=click.IntRange(0, 1000), default=20,
              show_default=True, help="Lines of each failed task's log to show.")
@json_option
def status_cmd(directory: str, level: str, log_lines: int, as_json: bool) -> None:
    """Where the campaign in DIRECTORY stands: done, failed (with each log), pending.

    Exits 0 when every task is done, else 1. Needs no Dask.
    """
    r = api.campaign_status(directory, level=level, log_lines=log_lines,
                            names=option_names())
    if as_json:
        echo_json(r.to_json())
        raise click.exceptions.Exit(r.exit_code)
    s = r.status
    c = s.counts
    click.echo(f"{s.directory}: {len(s.tasks)} planned: {c['done']} done, {c['failed']} "
               f"failed, {c['pending']} pending")
    for t in s.of("failed"):
        e = t.entry
        assert e is not None
        tries = f", {e.attempts} attempt(s)" if e.attempts else ""
        click.echo(f"  failed {t.observation}{tries}: {e.error}")
        if e.log:
            click.echo(f"    log {s.directory / e.log}")
        for line in t.log:
            click.echo(f"    | {line}")
    for t in s.of("pending"):
        click.echo(f"  pending {t.observation}" + (f": {t.problem}" if t.problem else ""))
    raise click.exceptions.Exit(r.exit_code)


__all__ = ["campaign", "resume_cmd", "run_cmd", "status_cmd"]
