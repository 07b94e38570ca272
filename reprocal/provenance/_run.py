"""``reprocal run``: run a command, find what it wrote, stamp it, record how it was made.

The sequence: resolve the calibration context (manifest, ``SAS_CCF``, image), hash the inputs
named on the command line, snapshot the working directory, run the command through an
*executor* (the host, or a container: passed in), find the files it created or modified (plus
any given with ``--output``), stamp the FITS ones, hash them all, write the record. The
command's exit status is recorded and returned: a failed command still leaves a record of what
it did.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.errors import InputError, ReprocalError
from reprocal.fits._calindex import read_calindex, rows_digest
from reprocal.fits._stamp import Stamp, is_fits, stamp_file
from reprocal.fs._hashing import sha256_file
from reprocal.image._oci import MEDIA_CONFIG, MEDIA_MANIFEST
from reprocal.provenance._record import Artifact, Record, save_record
from reprocal.provenance._recorder import (
    build_record,
    default_record_path,
    file_artifact,
    in_workdir,
    manifest_artifacts,
)
from reprocal.repo._ccfpath import ccf_dirs
from reprocal.repo._walk import constituent_files
from reprocal.state._manifest import Manifest, load_manifest

Executor = Callable[[Sequence[str], Path, Mapping[str, str]], int]
"""Runs ``command`` in ``cwd`` with ``env``; returns the exit status."""

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".venv"})


def run_on_host(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    """Run on this machine, output passed through; a signal ``n`` gives ``128 + n``."""
    try:
        done = subprocess.run(list(command), cwd=cwd, env=dict(env), check=False)
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


def _ccf_of(env: Mapping[str, str], workdir: Path) -> Path | None:
    """The CIF ``$SAS_CCF`` names (a file, or a directory holding ``ccf.cif``), relative to the
    working directory the command runs in."""
    value = env.get("SAS_CCF", "").strip()
    if not value:
        return None
    p = in_workdir(value, workdir)
    if p.is_dir():
        p = p / "ccf.cif"
    return p if p.is_file() else None


def cif_artifacts(cif: Path, *, with_constituents: bool, workdir: Path,
                  ccf_dirs: Sequence[Path] = ()) -> tuple[list[Artifact], str | None]:
    """The CIF as a dependency (with its canonical rows digest) and, when no manifest pins
    them, its constituents: hashed where found in ``ccf_dirs``, else named by ``FNAME``."""

    try:
        table = read_calindex(cif)
    except ReprocalError:
        return [file_artifact(cif, "cif", workdir=workdir)], None
    digest = rows_digest(table.rows)
    deps = [file_artifact(cif, "cif", workdir=workdir, rowsDigest=digest,
                          obsDate=str(table.obs_date) if table.obs_date else None,
                          analysisDate=str(table.analysis_date) if table.analysis_date else None)]
    if with_constituents:
        listed = constituent_files(ccf_dirs)  # any case, first in path order
        for c, fname in zip(table.rows, table.fnames, strict=True):
            ann = {"role": "constituent", "scope": c.scope, "typeid": c.typeid,
                   "issue": c.issue, "subdate": c.subdate.text}
            local = next((f.path for f in listed.get(c.filename, ())), None)
            if local is not None:
                deps.append(Artifact(c.filename, sha256_file(local), local.resolve().as_uri(), ann))
            else:
                deps.append(Artifact(c.filename, None, fname or c.filename, ann))
    return deps, digest


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


def run(
    command: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    manifest_path: str | os.PathLike[str] | None = None,
    outputs: Sequence[str | os.PathLike[str]] = (),
    record: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    executor: Executor = run_on_host,
    image: ImageContext | None = None,
    stamp: bool = True,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    outputs_name: str = "--output",
    signer: Any = None,
) -> RunResult:
    """Run ``command`` and write its provenance record (see the module docstring).

    Relative paths (``manifest_path``, ``outputs``, ``record``, ``$SAS_CCF``) are relative to
    ``cwd``, the directory the command runs in (default: the current directory).
    ``outputs_name`` is what ``outputs`` were given as, for the error naming one the command
    did not write. ``signer`` writes the record as a signed DSSE envelope.
    """

    if not command:
        raise InputError("no command given", hint="reprocal run [OPTIONS] -- COMMAND ARGS...")
    env = dict(os.environ if environ is None else environ)
    workdir = Path(cwd or os.getcwd()).resolve()
    manifest_file = in_workdir(manifest_path, workdir) if manifest_path else None
    manifest: Manifest | None = load_manifest(manifest_file) if manifest_file else None
    deps: list[Artifact] = []
    calibration_id = None
    if manifest is not None:
        deps.extend(manifest_artifacts(manifest, manifest_file, workdir=workdir, constituents=(
            image is None or not image.dependencies)))
        calibration_id = calibration_id_of(manifest)
    cif_digest = None
    if image is not None:
        deps.extend(image.dependencies)
        if image.digest:
            deps.append(image_artifact(image))
        calibration_id = calibration_id or image.calibration_id
    elif (cif := _ccf_of(env, workdir)) is not None:
        try:
            dirs = ccf_dirs(None, environ=env)
        except ReprocalError:
            dirs = ()
        cif_deps, cif_digest = cif_artifacts(cif, with_constituents=manifest is None,
                                             workdir=workdir, ccf_dirs=dirs)
        deps.extend(cif_deps)
    inputs = named_inputs(command, workdir)
    deps.extend(file_artifact(p, "input", workdir=workdir) for p in inputs)

    started = clock()
    before = snapshot(workdir)
    status = executor(command, workdir, env)
    after = snapshot(workdir)
    finished = clock()

    found = [workdir / p for p in changed(before, after)]
    explicit = [in_workdir(o, workdir) for o in outputs]
    missing = [o for o in explicit if not o.is_file()]
    if missing and status == 0:
        raise InputError(f"{outputs_name} {missing[0]} was not written by the command")
    # the record is named after the first explicit output, else the first FITS one
    found = sorted(found, key=lambda p: not is_fits(p))
    target = Path(record) if record else default_record_path(
        [*explicit, *found], "run", cwd=workdir, when=started)
    target = in_workdir(target, workdir)
    outs = [o for o in dict.fromkeys([*explicit, *found]) if o.is_file()
            and o != target and not o.name.startswith(f".{target.name}.")]

    invocation = str(uuid.uuid4())
    manifest_digest = next((d.sha256 for d in deps if d.role == "manifest"), None)
    stamped, not_stamped = [], []
    if stamp:
        for o in outs:
            if not is_fits(o):
                continue
            st = Stamp(calibration_id=calibration_id, manifest_digest=manifest_digest,
                       cif_digest=cif_digest, image_digest=image.digest if image else None,
                       invocation_id=invocation,
                       record=os.path.relpath(target, o.parent), version=__version__)
            try:
                stamp_file(o, st)
                stamped.append(o)
            except ReprocalError as exc:
                not_stamped.append((o, exc.message))
    rec = build_record(
        "run", command, workdir=workdir, outputs=outs, dependencies=deps, started=started,
        finished=finished, environ=image.environment if image else env, exit_status=status,
        calibration_id=calibration_id, image=image.reference if image else None,
        invocation_id=invocation)
    save_record(rec, target, signer=signer)
    return RunResult(status, target, rec, tuple(outs), tuple(stamped), tuple(not_stamped))


__all__ = ["Executor", "ImageContext", "RunResult", "calibration_id_of", "changed", "cif_artifacts",
           "image_artifact", "named_inputs", "run", "run_on_host", "snapshot"]
