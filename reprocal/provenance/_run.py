"""``reprocal run``: run a command, find what it wrote, stamp it, record how it was made.

The sequence: decide the calibration the command gets (:mod:`reprocal.provenance._calibration`:
a manifest's observation, with its CIF and ``SAS_CCF``/``SAS_CCFPATH`` exported; the shell's
``SAS_CCF``; or an image's), hash the inputs named on the command line, snapshot the working
directory, run the command through an *executor* (the host, or a container: passed in), find
the files it created or modified (plus any given with ``--output``), stamp the FITS ones, hash
them all, write the record. The command's exit status is recorded and returned: a failed
command still leaves a record of what it did. A CIF written for the run into a private
directory is removed afterwards, whatever happened.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.errors import PARAMETERS, InputError, Names, ReprocalError
from reprocal.fits._stamp import Stamp, is_fits, stamp_file
from reprocal.image._oci import MEDIA_CONFIG, MEDIA_MANIFEST
from reprocal.provenance._calibration import (
    CALIBRATION_ID_VARIABLE,
    TaskCalibration,
    check_shell_cif,
    choose_observation,
    digest_of,
    manifest_calibration,
    private_directory,
    shell_calibration,
)
from reprocal.provenance._record import Artifact, Record, save_record
from reprocal.provenance._recorder import (
    build_record,
    constituent_artifacts,
    default_record_path,
    file_artifact,
    in_workdir,
)
from reprocal.repo._ccfpath import CcfPath, ccf_dirs
from reprocal.state._manifest import Manifest, load_manifest

Executor = Callable[[Sequence[str], Path, Mapping[str, str], bool], int]
"""Runs ``command`` in ``cwd`` with ``env`` (on the host: the whole environment; in an image:
what reprocal sets on top of the image's own); the last argument asks for the command's
standard output to go to standard error. Returns the exit status."""

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".venv"})


def stderr_fd() -> int:
    """The file descriptor standard error writes to (2 when ``sys.stderr`` has none, as under
    a test runner that captures it)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return 2


def run_on_host(command: Sequence[str], cwd: Path, env: Mapping[str, str],
                stdout_to_stderr: bool = False) -> int:
    """Run on this machine, output passed through (standard output to standard error with
    ``stdout_to_stderr``); a signal ``n`` gives ``128 + n``."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        done = subprocess.run(list(command), cwd=cwd, env=dict(env), check=False,
                              stdout=stderr_fd() if stdout_to_stderr else None)
    except FileNotFoundError:
        raise InputError(f"cannot run {command[0]!r}: no such program",
                         hint="check the command after `--` (and $PATH)") from None
    except PermissionError:
        raise InputError(f"cannot run {command[0]!r}: not executable") from None
    return done.returncode if done.returncode >= 0 else 128 - done.returncode


Snapshot = dict[str, tuple[int, int, int]]


def snapshot(root: Path) -> Snapshot:
    """``{relative path: (size, mtime_ns, inode)}`` of every file under ``root``."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            p = os.path.join(dirpath, name)
            try:
                st = os.stat(p)
            except OSError:
                continue
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """Files created or modified between two snapshots, sorted (pure).

    >>> changed({"a": (1, 1, 1), "b": (1, 1, 2)}, {"a": (1, 1, 1), "b": (2, 5, 2), "c": (0, 0, 3)})
    ['b', 'c']
    """
    return sorted(p for p, st in after.items() if before.get(p) != st)


def named_inputs(command: Sequence[str], cwd: Path) -> list[str]:
    """Arguments that name existing files: ``file``, or SAS style ``param=file`` (pure apart
    from ``stat``). The program itself is not an input.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "evts.fits").write_text("x")
    1
    >>> named_inputs(["evselect", "table=evts.fits", "withspectrumset=yes", "evts.fits"], d)
    ['evts.fits']
    """
    out: list[str] = []
    for arg in command[1:]:
        for candidate in (arg, arg.split("=", 1)[1] if "=" in arg else None):
            if candidate and candidate not in out and (cwd / candidate).is_file():
                out.append(candidate)
    return out


@attrs.frozen
class RunResult:
    """What ``reprocal run`` did."""

    exit_status: int
    """The command's exit status (returned by ``reprocal run``)."""
    record_path: Path
    record: Record
    outputs: tuple[Path, ...]
    """Files the command created or modified, and ``--output`` files."""
    stamped: tuple[Path, ...]
    """FITS outputs stamped."""
    not_stamped: tuple[tuple[Path, str], ...]
    """FITS outputs that could not be stamped, and why (left untouched)."""
    observation: str | None = None
    """The manifest observation the command was given (its label)."""
    cif: Path | None = None
    """The CIF written for the command and kept (``None``: none kept)."""
    environment: Mapping[str, str] = attrs.field(factory=dict)
    """The variables reprocal set for the command (``SAS_CCF``, ``SAS_CCFPATH``,
    ``REPROCAL_CALIBRATION_ID``)."""

    @property
    def exit_code(self) -> int:
        """What ``reprocal run`` exits with: the command's status, else 1 when a FITS output
        could not be stamped (read-only, truncated, damaged: a quiet gap in the provenance is a
        failed check, not a success)."""
        return self.exit_status or (1 if self.not_stamped else 0)


@attrs.frozen
class ImageContext:
    """What an executor running in an image contributes to the record."""

    reference: str
    """The tar path or image name as given."""
    digest: str | None
    """``sha256:<hex>`` of the image (manifest digest, else config digest)."""
    config_digest: str | None = None
    """``sha256:<hex>`` of the image's config: the image ID, the same after a copy that
    recompressed the layers (and so changed the manifest digest)."""
    calibration_id: str | None = None
    """The calibration id label of the image."""
    dependencies: tuple[Artifact, ...] = ()
    """Constituents and manifest, from the image's ``/ccf/manifest.json``."""
    environment: Mapping[str, str] = attrs.field(factory=dict)
    """The image's environment (what the command saw, recorded instead of the host's)."""
    manifest: Manifest | None = None
    """The image's ``/ccf/manifest.json``, when it has one (its observations' CIFs are
    ``/ccf/cif/<label>.cif``)."""


def image_artifact(image: ImageContext) -> Artifact:
    """The image a command ran in, as a dependency: by the same digest its build record names
    it by (the manifest digest, else the config digest), the config digest annotated too."""
    assert image.digest is not None
    is_config = image.digest == image.config_digest
    ann: dict[str, str] = {"role": "image"}
    if image.config_digest:
        ann["configDigest"] = image.config_digest
    uri = (Path(image.reference).resolve().as_uri() if Path(image.reference).is_file()
           else image.reference)
    return Artifact(image.reference, image.digest.split(":", 1)[1], uri, ann,
                    MEDIA_CONFIG if is_config else MEDIA_MANIFEST)


def calibration_id_of(manifest: Manifest) -> str:
    """The id a product made with ``manifest`` is stamped with: the observation id when the
    manifest holds one observation (the product's own calibration), else the state id."""
    if len(manifest.observations) == 1:
        return str(manifest.observation_ids[0])
    return manifest.calibration_id


def _image_calibration(image: ImageContext, obs: str | None, names: Names
                       ) -> TaskCalibration:
    """The calibration of a run in ``image``: its manifest's observation (``obs``, needed when
    it holds several), whose CIF ``/ccf/cif/<label>.cif`` becomes ``SAS_CCF`` in the container."""
    m = image.manifest
    deps = list(image.dependencies)
    if m is None:
        if obs is not None:
            raise InputError(f"{names('obs')}: the image {image.reference} holds no manifest "
                             "to choose an observation from")
        return TaskCalibration({}, tuple(deps), image.calibration_id, None)
    index = choose_observation(m, obs, source=f"{image.reference}:/ccf/manifest.json",
                               names=Names({**names.spellings, "manifest": names("image")}))
    label, obs_id = m.labels()[index], str(m.observation_id(index))
    files = set(m.observations[index].files)
    deps = [d for d in deps if d.role != "constituent" or d.name in files]
    env = {CALIBRATION_ID_VARIABLE: obs_id}
    if len(m.observations) > 1:
        env["SAS_CCF"] = f"/ccf/cif/{label}.cif"
    return TaskCalibration(env, tuple(deps), obs_id, None, None, label)


def _calibration(env: Mapping[str, str], workdir: Path, manifest: Manifest | None,
                 manifest_file: Path | None, image: ImageContext | None, *, obs: str | None,
                 use_env_ccf: bool, ccf_path: CcfPath, cif: Path | None, jobs: int | None,
                 names: Names) -> TaskCalibration | None:
    """What calibration the command gets (see :mod:`reprocal.provenance._calibration`)."""
    if image is not None:
        for value, name in ((use_env_ccf, "use_env_ccf"), (ccf_path, "ccf_path"), (cif, "cif")):
            if value:
                raise InputError(f"{names(name)} goes with a run on this host; in an image the "
                                 "image's /ccf is the calibration")
        cal = _image_calibration(image, obs, names)
        if manifest_file is None:
            return cal
        host_manifest = file_artifact(manifest_file, "manifest", workdir=workdir,
                                      calibrationId=manifest.calibration_id if manifest else None)
        return attrs.evolve(cal, dependencies=(*cal.dependencies, host_manifest))
    if manifest is None:
        for value, name in ((use_env_ccf, "use_env_ccf"), (obs, "obs"), (cif, "cif"),
                            (ccf_path, "ccf_path")):
            if value:
                raise InputError(f"{names(name)} goes with {names('manifest')} (without one, "
                                 "the command uses $SAS_CCF and $SAS_CCFPATH as they are)")
        return shell_calibration(env, workdir, _dirs(None, env))
    assert manifest_file is not None
    source = str(manifest_file)
    index = choose_observation(manifest, obs, source=source, names=names)
    if use_env_ccf:
        for value, name in ((cif, "cif"), (ccf_path, "ccf_path")):
            if value:
                raise InputError(f"{names(name)} does not go with {names('use_env_ccf')}: the "
                                 "command uses $SAS_CCF and $SAS_CCFPATH as they are")
        if not env.get("SAS_CCF", "").strip():
            raise InputError(f"{names('use_env_ccf')}: SAS_CCF is not set",
                             hint=f"set it, or drop {names('use_env_ccf')} to run with the "
                                  "manifest's calibration")
        shell = shell_calibration(env, workdir, _dirs(None, env))
        if shell is None:
            raise InputError(f"{names('use_env_ccf')}: SAS_CCF={env['SAS_CCF']} is not a file")
        # the manifest was given, so it is recorded; the CIF describes what was used
        deps = [d for d in shell.dependencies] + [
            file_artifact(manifest_file, "manifest", workdir=workdir,
                          calibrationId=manifest.calibration_id,
                          used="no: the command ran with $SAS_CCF (use-env-ccf)")]
        return attrs.evolve(shell, dependencies=tuple(deps))
    check_shell_cif(env, workdir, manifest, index, source=source, names=names)
    dirs = ccf_dirs(ccf_path, option=names("ccf_path"), environ=env) if ccf_path is not None \
        else _dirs_for_manifest(env, names)
    private = None if cif is not None else private_directory()
    try:
        return manifest_calibration(manifest, manifest_file, index, dirs, workdir=workdir,
                                    cif=cif, private=private, jobs=jobs)
    except BaseException:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
        raise


def _dirs(ccf_path: CcfPath, env: Mapping[str, str]) -> tuple[Path, ...]:
    try:
        return ccf_dirs(ccf_path, environ=env)
    except ReprocalError:
        return ()


def _dirs_for_manifest(env: Mapping[str, str], names: Names) -> tuple[Path, ...]:
    if not env.get("SAS_CCFPATH", "").strip():
        raise InputError(f"{names('manifest')}: the command needs the repository holding the "
                         "manifest's constituents",
                         hint=f"give {names.given('ccf_path', 'DIRS')} or set SAS_CCFPATH")
    return ccf_dirs(None, option="SAS_CCFPATH", environ=env)


def run(
    command: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    manifest_path: str | os.PathLike[str] | None = None,
    manifest: Manifest | None = None,
    outputs: Sequence[str | os.PathLike[str]] = (),
    record: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    executor: Executor = run_on_host,
    image: ImageContext | None = None,
    stamp: bool = True,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    signer: Any = None,
    ccf_path: CcfPath = None,
    obs: str | None = None,
    use_env_ccf: bool = False,
    cif: str | os.PathLike[str] | None = None,
    stdout_to_stderr: bool = False,
    jobs: int | None = None,
    names: Names = PARAMETERS,
) -> RunResult:
    """Run ``command`` and write its provenance record (see the module docstring).

    Relative paths (``manifest_path``, ``outputs``, ``record``, ``cif``, ``$SAS_CCF``) are
    relative to ``cwd``, the directory the command runs in (default: the current directory).
    With ``manifest_path``, the command gets that manifest's calibration (observation ``obs``;
    its constituents in ``ccf_path``, else ``$SAS_CCFPATH``; its CIF at ``cif``, else in a
    private directory removed after the run), unless ``use_env_ccf`` (see
    :mod:`reprocal.provenance._calibration`). ``stdout_to_stderr`` sends the command's
    standard output to standard error. ``signer`` writes the record as a signed DSSE envelope;
    ``names`` spells the parameters in errors. ``manifest`` is the manifest at
    ``manifest_path`` already loaded (a campaign loads it once per worker, having checked the
    file's sha256); the file itself is still what the record hashes.
    """

    if not command:
        raise InputError("no command given", hint="reprocal run [OPTIONS] -- COMMAND ARGS...")
    env = dict(os.environ if environ is None else environ)
    workdir = Path(cwd or os.getcwd()).resolve()
    manifest_file = in_workdir(manifest_path, workdir) if manifest_path else None
    if manifest_file is None:
        manifest = None
    elif manifest is None:
        manifest = load_manifest(manifest_file)
    cal = _calibration(env, workdir, manifest, manifest_file, image, obs=obs,
                       use_env_ccf=use_env_ccf, ccf_path=ccf_path,
                       cif=in_workdir(cif, workdir) if cif is not None else None, jobs=jobs,
                       names=names)
    try:
        return _run(command, workdir, env, cal, image, outputs=outputs, record=record,
                    executor=executor, stamp=stamp, clock=clock, signer=signer,
                    stdout_to_stderr=stdout_to_stderr, names=names)
    finally:
        if cal is not None and cal.private is not None:
            shutil.rmtree(cal.private, ignore_errors=True)


def _run(command: Sequence[str], workdir: Path, env: dict[str, str],
         cal: TaskCalibration | None, image: ImageContext | None, *,
         outputs: Sequence[str | os.PathLike[str]], record: str | os.PathLike[str] | None,
         executor: Executor, stamp: bool, clock: Callable[[], datetime], signer: Any,
         stdout_to_stderr: bool, names: Names) -> RunResult:
    deps: list[Artifact] = list(cal.dependencies) if cal is not None else []
    calibration_id = cal.calibration_id if cal is not None else None
    task_env = dict(cal.environment) if cal is not None else {}
    if image is not None and image.digest:
        deps.append(image_artifact(image))
    inputs = named_inputs(command, workdir)
    deps.extend(file_artifact(p, "input", workdir=workdir) for p in inputs)

    seen = {**image.environment, **task_env} if image is not None else {**env, **task_env}
    started = clock()
    before = snapshot(workdir)
    status = executor(command, workdir, task_env if image is not None else seen,
                      stdout_to_stderr)
    after = snapshot(workdir)
    finished = clock()

    found = [workdir / p for p in changed(before, after)]
    explicit = [in_workdir(o, workdir) for o in outputs]
    missing = [o for o in explicit if not o.is_file()]
    if missing and status == 0:
        raise InputError(f"{names('outputs')} {missing[0]} was not written by the command")
    # the record is named after the first explicit output, else the first FITS one
    found = sorted(found, key=lambda p: not is_fits(p))
    target = Path(record) if record else default_record_path(
        [*explicit, *found], "run", cwd=workdir, when=started)
    target = in_workdir(target, workdir)
    outs = [o for o in dict.fromkeys([*explicit, *found]) if o.is_file()
            and o != target and not o.name.startswith(f".{target.name}.")]

    invocation = str(uuid.uuid4())
    manifest_digest = digest_of(deps, "manifest")
    stamped, not_stamped = [], []
    if stamp:
        for o in outs:
            if not is_fits(o):
                continue
            st = Stamp(calibration_id=calibration_id, manifest_digest=manifest_digest,
                       cif_digest=cal.cif_digest if cal is not None else None,
                       image_digest=image.digest if image else None, invocation_id=invocation,
                       record=os.path.relpath(target, o.parent), version=__version__)
            try:
                stamp_file(o, st)
                stamped.append(o)
            except ReprocalError as exc:
                not_stamped.append((o, exc.message))
    rec = build_record(
        "run", command, workdir=workdir, outputs=outs, dependencies=deps, started=started,
        finished=finished, environ=seen, exit_status=status,
        calibration_id=calibration_id, image=image.reference if image else None,
        invocation_id=invocation)
    save_record(rec, target, signer=signer)
    return RunResult(status, target, rec, tuple(outs), tuple(stamped), tuple(not_stamped),
                     cal.observation if cal is not None else None,
                     cal.cif if cal is not None else None, task_env)


__all__ = ["Executor", "ImageContext", "RunResult", "calibration_id_of", "changed",
           "constituent_artifacts", "image_artifact", "named_inputs", "run", "run_on_host",
           "snapshot", "stderr_fd"]
