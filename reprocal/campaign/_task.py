"""One task of a campaign, as a worker runs it: exactly what ``reprocal run`` does for one
observation, in a working directory of its own, its output captured in a log.

:func:`run_task` is the function the client sends to the workers (by reference: a worker needs
this reprocal installed). It never writes to the ledger or outside its own working directory
``.campaign/tasks/<obs_id>.<key>.<nonce>/`` (``work/``, where the command runs, and ``log.txt``);
it returns a :class:`TaskOutcome`, or raises :class:`TaskFailed` carrying one, so that Dask's
retries (reprocal's retry policy) run it again in a new directory.

The calibration is the run machinery's (:func:`reprocal.provenance.run`): the manifest's
observation, its pinned constituents checked, its CIF written for it, ``SAS_CCF``,
``SAS_CCFPATH`` and ``REPROCAL_CALIBRATION_ID`` exported (or the calibration image, through
Docker), outputs stamped, the provenance record written. The shell's ``SAS_CCF`` is not
consulted: each observation has its own CIF. ``SAS_ODF`` is set to the observation's ODF when
the campaign knows it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import attrs

from reprocal.campaign._ledger import Output
from reprocal.campaign._products import TASK_LOG, write_task_file
from reprocal.errors import InputError, ReprocalError
from reprocal.fs._hashing import sha256_file
from reprocal.state._manifest import Manifest


@attrs.frozen
class TaskSpec:
    """What a worker needs to run one task (small, pickled to the worker)."""

    key: str
    observation: str
    argv: tuple[str, ...]
    manifest: str
    """The manifest file (absolute)."""
    manifest_sha256: str
    """Its sha256 when the campaign started: a worker refuses a manifest changed since."""
    ccf_dirs: tuple[str, ...]
    """The repository's directories (absolute; empty in an image)."""
    tasks: str
    """``OUT/.campaign/tasks`` (absolute)."""
    campaign: str
    """The campaign run's token (commands are stopped by it on an interrupt)."""
    odf: str | None = None
    image: str | None = None
    docker_host: str | None = None
    sign: str | None = None
    """A private key file to sign the record with."""
    timeout: float | None = None
    """Seconds after which the command is killed (``None``: never)."""
    stamp: bool = True


@attrs.frozen
class TaskOutcome:
    """What one attempt at a task did (returned to the client, which records it)."""

    key: str
    observation: str
    ok: bool
    attempt: str
    """The attempt's working directory (absolute): ``work/`` and ``log.txt`` inside."""
    worker: str
    started: str
    finished: str
    seconds: float
    exit_status: int | None = None
    error: str | None = None
    record: str | None = None
    """The record, relative to ``work/``."""
    outputs: tuple[Output, ...] = ()
    calibration_id: str | None = None
    image_digest: str | None = None
    sas_version: str | None = None


class TaskFailed(Exception):
    """An attempt failed (the command's exit status, or the error that stopped the run): the
    exception Dask retries, carrying the attempt's :class:`TaskOutcome`."""

    def __init__(self, outcome: TaskOutcome):
        super().__init__(outcome.error or f"exit status {outcome.exit_status}")
        self.outcome = outcome

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaskFailed, (self.outcome,))


# --- what a worker process keeps between tasks ------------------------------------------------

_lock = threading.Lock()
_manifests: dict[str, tuple[str, Manifest]] = {}
_images: dict[tuple[str, str | None], tuple[Any, str, Any]] = {}
_running: dict[int, str] = {}
"""Process group of each command running in this worker -> its campaign token."""


def _manifest(path: str, sha256: str) -> Manifest:
    """The manifest, loaded once per worker process; refused when its bytes are not the ones
    the campaign started with."""
    from reprocal.state._manifest import load_manifest

    now = sha256_file(path)
    if now != sha256:
        raise InputError(f"{path} changed since the campaign started", path=None,
                         hint="run the campaign again: it plans from the manifest as it is")
    with _lock:
        cached = _manifests.get(path)
    if cached is not None and cached[0] == sha256:
        return cached[1]
    m = load_manifest(path)
    with _lock:
        _manifests[path] = (sha256, m)
    return m


def _image(image: str, docker_host: str | None, manifest: str) -> tuple[Any, str, Any]:
    """The image resolved (a tar loaded into the daemon) once per worker process."""
    from reprocal.provenance._runimage import resolve_image

    with _lock:
        cached = _images.get((image, docker_host))
    if cached is None:
        cached = resolve_image(image, manifest_path=manifest, base_url=docker_host)
        with _lock:
            _images[(image, docker_host)] = cached
    return cached


def stop_commands(campaign: str) -> int:
    """Kill (SIGKILL, the whole process group) every command of campaign run ``campaign``
    running in this worker; the count. The client calls it on every worker when interrupted."""
    with _lock:
        groups = [g for g, c in _running.items() if c == campaign]
    for g in groups:
        try:
            os.killpg(g, signal.SIGKILL)
        except OSError:
            pass
    return len(groups)


def _host_executor(log: TextIO, campaign: str, timeout: float | None,
                   timed_out: list[float]) -> Any:
    """Runs the command in its own process group, standard output and error to ``log``;
    killed (the whole group) after ``timeout`` seconds, which ``timed_out`` then holds."""

    def execute(command: Sequence[str], cwd: Path, env: Mapping[str, str],
                stdout_to_stderr: bool = False) -> int:
        log.flush()
        try:
            proc = subprocess.Popen(list(command), cwd=cwd, env=dict(env),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except FileNotFoundError:
            raise InputError(f"cannot run {command[0]!r}: no such program",
                             hint="check the command after `--` (and $PATH on the workers)"
                             ) from None
        except PermissionError:
            raise InputError(f"cannot run {command[0]!r}: not executable") from None
        with _lock:
            _running[proc.pid] = campaign
        try:
            try:
                status = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                status = proc.wait()
                timed_out.append(float(timeout or 0))
        finally:
            with _lock:
                _running.pop(proc.pid, None)
        return status if status >= 0 else 128 - status

    return execute


def _environment(spec: TaskSpec) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SAS_CCF"}
    if spec.odf is not None:
        env["SAS_ODF"] = spec.odf
    return env


def _outputs(result: Any, work: Path, log: Path) -> tuple[Output, ...]:
    """The product directory's files: the outputs by the sha256 their record gives (hashed
    once, after stamping), the record and the log by their own."""
    sha = {a.name: a.sha256 for a in result.record.subjects}
    out = [Output(a, (work / a).stat().st_size, h) for a, h in sha.items()
           if h and (work / a).is_file()]
    for p in (result.record_path, log):
        out.append(Output(p.relative_to(work).as_posix(), p.stat().st_size, sha256_file(p)))
    return tuple(sorted(out, key=lambda o: o.path))


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def run_task(spec: TaskSpec) -> TaskOutcome:
    """Run one task (see the module docstring); raises :class:`TaskFailed` unless it
    succeeded."""
    from reprocal.provenance._run import run

    attempt = Path(tempfile.mkdtemp(prefix=f"{spec.observation}.{spec.key[:12]}.",
                                    dir=spec.tasks))
    work = attempt / "work"
    work.mkdir()
    log_path = attempt / "log.txt"
    started = time.time()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    base: dict[str, Any] = dict(key=spec.key, observation=spec.observation,
                                attempt=str(attempt), worker=worker, started=_iso(started))
    result = None
    error = None
    timed_out: list[float] = []
    with open(log_path, "w", buffering=1) as log:
        log.write(f"reprocal campaign: {spec.observation} on {worker}: {list(spec.argv)}\n")
        try:
            manifest = _manifest(spec.manifest, spec.manifest_sha256)
            context: dict[str, Any] = {"executor": _host_executor(log, spec.campaign,
                                                                  spec.timeout, timed_out)}
            if spec.image is not None:
                from reprocal.provenance._runimage import docker_executor

                client, image_id, image = _image(spec.image, spec.docker_host, spec.manifest)
                context = {"executor": docker_executor(client, image_id, output=log),
                           "image": image}
            signer = None
            if spec.sign is not None:
                from reprocal.provenance._signature import load_signer

                signer = load_signer(spec.sign)
            result = run(list(spec.argv), cwd=work, manifest_path=spec.manifest,
                         manifest=manifest, obs=spec.observation,
                         ccf_path=spec.ccf_dirs if spec.image is None else None,
                         environ=_environment(spec), stamp=spec.stamp, signer=signer,
                         jobs=1, **context)
        except ReprocalError as exc:
            error = exc.one_line()
        except Exception as exc:  # reported with the task, never lost in a worker's log
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            log.write(f"\nreprocal: {error}\n")
        elif result is not None and timed_out:
            error = (f"killed after the timeout of {timed_out[0]:g} s (exit status "
                     f"{result.exit_status})")
            log.write(f"\nreprocal: {error}\n")
        elif result is not None and result.exit_code:
            error = (f"exit status {result.exit_status}" if result.exit_status else
                     "outputs not stamped: " + "; ".join(f"{p.name}: {w}"
                                                          for p, w in result.not_stamped))
            log.write(f"\nreprocal: {error}\n")
    finished = time.time()
    times: dict[str, Any] = dict(finished=_iso(finished), seconds=round(finished - started, 3))
    if error is not None or result is None:
        raise TaskFailed(TaskOutcome(
            **base, **times, ok=False, error=error,
            exit_status=result.exit_status if result is not None else None))
    final_log = work / TASK_LOG
    os.replace(log_path, final_log)
    rec = result.record
    outcome = TaskOutcome(
        **base, **times, ok=True, exit_status=result.exit_status,
        record=result.record_path.relative_to(work).as_posix(),
        outputs=_outputs(result, work, final_log), calibration_id=rec.calibration_id,
        image_digest=rec.image_digest, sas_version=(rec.sas or {}).get("version"))
    write_task_file(work, {
        "key": spec.key, "observation": spec.observation, "command": list(spec.argv),
        "calibration_id": outcome.calibration_id, "image_digest": outcome.image_digest,
        "record": outcome.record, "sas_version": outcome.sas_version,
        "started": outcome.started, "finished": outcome.finished, "seconds": outcome.seconds,
        "worker": worker, "outputs": [[o.path, o.size, o.sha256] for o in outcome.outputs]})
    return outcome


__all__ = ["TaskFailed", "TaskOutcome", "TaskSpec", "run_task", "stop_commands"]
