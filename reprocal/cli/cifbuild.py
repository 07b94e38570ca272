"""``reprocal cifbuild`` (and the ``reprocal-cifbuild`` drop-in): SAS's cifbuild task by its own
parameters, through :func:`reprocal.api.cifbuild`.

The arguments are parsed as SAS tasks take them (:mod:`reprocal.cli._sastask`); the generic
options act as SAS's do where they mean something here (``-a``/``-o``/``-i`` set
``SAS_CCFPATH``/``SAS_ODF``/``SAS_CCF`` for this run, ``-c``/``--noclobber`` or
``SAS_CLOBBER=0`` refuses to replace files, ``-V N`` or ``SAS_VERBOSITY`` sets how much is
printed), and are refused where they cannot (``-d`` a dialog, ``-m`` a manual page, ``-f`` a
list of CCF files). Warnings are never silenced: a silent downgrade is the one thing this
drop-in exists to say.
"""

from __future__ import annotations

import os
from typing import Any

import click

from reprocal import api
from reprocal._version import __version__
from reprocal.cli._common import echo_json, info
from reprocal.cli._progress import Bar
from reprocal.cli._sastask import TaskArgs, boolean, parse, with_switches
from reprocal.errors import InputError

TASK = "cifbuild"
DEFAULT_VERBOSITY = 4
"""SAS's default verbosity; at 3 and below only warnings and errors are printed."""

_REFUSED = {
    "dialog": "there is no parameter dialog here; give the parameters on the command line",
    "manpage": "there is no manual page here; `cifbuild -h` lists the parameters and "
               "docs/cifbuild.md describes the drop-in",
    "ccffiles": "a list of CCF files is not implemented; give the directories with "
                "ccfpath=DIR or SAS_CCFPATH",
}
_ENV = {"ccfpath": "SAS_CCFPATH", "odf": "SAS_ODF", "ccf": "SAS_CCF"}


def version_line() -> str:
    """What ``cifbuild -v`` prints, in SAS's ``task (task-version) [release]`` shape, saying
    whose cifbuild it is."""
    return f"{TASK} (reprocal-{__version__}) [reprocal {__version__}: cifbuild-compatible drop-in]"


def usage() -> str:
    rows = "\n".join(f"  {p.name + '=' + p.default:<34} {p.help}"
                     + (f" (with {p.parent}=yes)" if p.parent else "")
                     for p in api.CIFBUILD_PARAMETERS)
    return f"""{version_line()}
Usage: cifbuild [options] [name=value ...]

Writes the CIF SAS's cifbuild would write from these parameters, offline, and beside it a
manifest pinning the calibration state (CIF.manifest.json). 'now' is written as the literal
time; every silent downgrade cifbuild would make is made too, warned about, and recorded in
the manifest. Environment: SAS_ODF, SAS_CCFPATH (and SAS_CLOBBER, SAS_VERBOSITY).

Parameters (name=default):
{rows}

Options:
  -v, --version          print the version and exit
  -h, --help             print this and exit
  -p, --param            list the parameters and their defaults, and exit
  -V, --verbosity N      0-10 (default 4; at 3 and below only warnings and errors)
  -w, --warning N        accepted; warnings are never suppressed
  -c, --noclobber        do not replace existing files (also SAS_CLOBBER=0)
  -t, --trace            print the parameters as understood before running
  -a, --ccfpath DIRS     set SAS_CCFPATH for this run
  -o, --odf ODF          set SAS_ODF for this run
  -i, --ccf CIF          set SAS_CCF for this run (cifbuild does not read it)
  -d, -m, -f             refused (no dialog, no manual page, no CCF file list)
  --json                 (reprocal's addition) print the result as one JSON document
"""


def _kwargs(task: TaskArgs) -> tuple[dict[str, Any], list[str]]:
    """The API's arguments from the task's parameters (text), and the notes on implied ones."""
    specs = {p.name: p for p in api.CIFBUILD_PARAMETERS}
    params, notes = with_switches(task.params, api.SUBPARAMETERS,
                                  {p.name: p.default for p in api.CIFBUILD_PARAMETERS})
    out: dict[str, Any] = {}
    for name, value in params.items():
        out[name] = boolean(name, value) if specs[name].kind == "bool" else value
    return out, notes


def _verbosity(task: TaskArgs) -> int:
    raw = task.options.get("verbosity", os.environ.get("SAS_VERBOSITY", DEFAULT_VERBOSITY))
    try:
        level = int(str(raw))
    except ValueError:
        level = -1
    if not 0 <= level <= 10:
        raise InputError(f"verbosity {raw!r}: not a level", hint="give -V N with N from 0 to 10")
    return level


def _immediate(task: TaskArgs) -> bool:
    """Options that answer and exit (``-v``, ``-h``, ``-p``); refused ones raise."""
    for name, why in _REFUSED.items():
        if name in task.options:
            raise InputError(f"{TASK}: option --{name} is not available in reprocal's "
                             f"cifbuild: {why}")
    if task.options.get("version"):
        info(version_line())
    elif task.options.get("help"):
        info(usage().rstrip())
    elif task.options.get("param"):
        for p in api.CIFBUILD_PARAMETERS:
            info(f"{p.name}={p.default}")
    else:
        return False
    return True


def _report(r: api.CifbuildResult, level: int) -> None:
    if level < DEFAULT_VERBOSITY:
        return
    what = "master index" if r.obs_date is None else "CIF"
    info(f"{TASK} (reprocal): wrote {what} {r.output}: {len(r.constituents)} constituents"
         + (f" for observation {r.obs_id + ' ' if r.obs_id else ''}{r.obs_date}, analysis date "
            f"{r.analysis_date} ({r.category})" if r.obs_date is not None else ""))
    if r.analysis_was_now:
        info(f"  analysisdate=now is {r.analysis_date}: the CIF and the manifest carry that "
             "literal date")
    if r.manifest is not None and r.manifest_path is not None:
        state = ("complete" if r.complete else
                 f"INCOMPLETE: {len(r.gaps)} silent downgrade(s) recorded")
        info(f"  manifest {r.manifest_path}: state id {r.manifest.calibration_id} ({state})")


@click.command(TASK, add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cifbuild_cmd(args: tuple[str, ...]) -> None:
    """SAS's cifbuild by its own parameters (name=value; `reprocal cifbuild -h` lists them):
    the same CIF, and a manifest beside it."""
    as_json = "--json" in args  # reprocal's own addition: the result as one JSON document
    task = parse([a for a in args if a != "--json"], [p.name for p in api.CIFBUILD_PARAMETERS],
                 task=TASK)
    if _immediate(task):
        return
    level = _verbosity(task)
    kwargs, notes = _kwargs(task)
    for option, var in _ENV.items():
        if option in task.options:
            os.environ[var] = str(task.options[option])
    clobber = not (task.options.get("noclobber") or os.environ.get("SAS_CLOBBER", "").strip() == "0")
    if task.options.get("trace") or level > DEFAULT_VERBOSITY:
        for note in notes:
            info(f"{TASK} (reprocal): {note}")
        info(f"{TASK} (reprocal): " + " ".join(f"{k}={v}" for k, v in kwargs.items()))
    with Bar("indexing") as progress:
        r = api.cifbuild(**kwargs, clobber=clobber, argv=[TASK, *args], progress=progress)
    if as_json:
        echo_json(r.to_json())
    else:
        _report(r, level)

