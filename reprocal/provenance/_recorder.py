"""Making provenance records: the one place a :class:`~reprocal.provenance._record.Record` is
assembled from what happened.

Every record reprocal writes (``reprocal run`` on the host or in an image, ``pin``, ``image
build``) comes out of :func:`build_record`, so they share one shape and one set of rules:

* files (subjects, the manifest, inputs, a CIF) are hashed and named by their path relative to
  the working directory, or absolute when outside it, with a ``file://`` uri; a relative path is
  relative to the working directory;
* the environment recorded is the ``SAS_*``/``REPROCAL_*`` part of the environment the work saw
  (an image's own, for a run in an image), never a secret;
* the SAS version is read on this host, so it is recorded for work done on this host only (not
  for a run in an image, whose SAS the host cannot see);
* then the host, the git state of the working directory, and this reprocal as the builder.

:func:`record_command` is that builder applied to reprocal's own commands; :mod:`reprocal.provenance._run`
applies it to a command it ran.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reprocal._version import __version__
from reprocal.fs._hashing import sha256_file
from reprocal.image._oci import MEDIA_CONFIG, MEDIA_MANIFEST
from reprocal.provenance._environment import host_info, recorded_environment, sas_version
from reprocal.provenance._gitstate import git_state
from reprocal.provenance._record import Artifact, Record, save_record
from reprocal.state._manifest import Manifest

PathLike = str | os.PathLike[str]


def in_workdir(path: PathLike, workdir: Path) -> Path:
    """``path`` made absolute: a relative path is relative to ``workdir``.

    >>> in_workdir("pn.pha", Path("/w")), in_workdir("/d/m.json", Path("/w"))
    (PosixPath('/w/pn.pha'), PosixPath('/d/m.json'))
    """
    p = Path(path)
    return p if p.is_absolute() else workdir / p


def artifact_name(path: Path, workdir: Path) -> str:
    """How a record names a file: relative to the working directory, else absolute.

    >>> artifact_name(Path("/w/out/pn.pha"), Path("/w")), artifact_name(Path("/d/m.json"), Path("/w"))
    ('out/pn.pha', '/d/m.json')
    """
    try:
        return str(path.relative_to(workdir))
    except ValueError:
        return str(path)


def file_artifact(path: PathLike, role: str | None = None, *, workdir: Path,
                  **annotations: Any) -> Artifact:
    """A file by its sha256, named by :func:`artifact_name`, with a ``file://`` uri."""
    p = in_workdir(path, workdir)
    ann = {"role": role, **annotations} if role else dict(annotations)
    return Artifact(artifact_name(p, workdir), sha256_file(p), p.resolve().as_uri(), ann)


def constituent_artifacts(manifest: Manifest) -> list[Artifact]:
    """One dependency per pinned constituent: name, sha256, scope/typeid/issue/subdate."""
    return [
        Artifact(f.filename, f.sha256, None, {
            "role": "constituent", "scope": f.constituent.scope, "typeid": f.constituent.typeid,
            "issue": f.constituent.issue, "subdate": f.constituent.subdate.text,
        })
        for f in manifest.files
    ]


def extra_artifacts(manifest: Manifest, files: Mapping[str, Path] | None = None
                    ) -> list[Artifact]:
    """One dependency per file of the manifest's extra calibration sets, named
    ``extras/<label>/<path>``, with its set and kind (and a ``file://`` uri where ``files``,
    ``{name: local path}``, says it was read)."""
    out = []
    for x in manifest.extras:
        for f in x.files:
            name = f"extras/{x.label}/{f.path}"
            local = (files or {}).get(name)
            out.append(Artifact(name, f.sha256, local.resolve().as_uri() if local else None,
                                {"role": "extra", "set": x.label, "kind": x.kind}))
    return out


def manifest_artifacts(manifest: Manifest | None, path: PathLike | None, *, workdir: Path,
                       constituents: bool = True) -> list[Artifact]:
    """What a manifest contributes: its constituents and extra sets' files (unless
    ``constituents`` is false: an image supplied them), then the manifest file itself (when
    ``path`` is given)."""
    deps = (constituent_artifacts(manifest) + extra_artifacts(manifest)
            if manifest is not None and constituents else [])
    if path is not None:
        deps.append(file_artifact(path, "manifest", workdir=workdir, calibrationId=(
            manifest.calibration_id if manifest is not None else None)))
    return deps


def default_record_path(outputs: Sequence[PathLike], kind: str, *, cwd: PathLike,
                        when: datetime) -> Path:
    """``<first output>.prov.json``, else ``reprocal-<kind>-<UTC time>.json`` in ``cwd``."""
    if outputs:
        first = Path(outputs[0])
        return first.with_name(first.name + ".prov.json")
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(cwd) / f"reprocal-{kind.replace(' ', '-')}-{stamp}.json"


def build_record(
    kind: str,
    command: Sequence[str],
    *,
    workdir: Path,
    outputs: Sequence[PathLike],
    dependencies: Sequence[Artifact],
    started: datetime,
    finished: datetime,
    environ: Mapping[str, str],
    exit_status: int = 0,
    calibration_id: str | None = None,
    image: str | None = None,
    invocation_id: str | None = None,
    subjects: Sequence[Artifact] = (),
) -> Record:
    """The record of one piece of work (see the module docstring for the rules).

    ``outputs`` become the subjects (hashed now), then ``subjects`` (already described: an
    image's manifest and config digests); ``environ`` is the environment the work saw;
    ``image`` the image it ran in (``None``: this host); ``invocation_id`` defaults to a new
    UUID (``run`` passes the one it stamped into the outputs).
    """
    workdir = workdir.resolve()
    git = git_state(workdir)
    return Record(
        kind=kind, command=tuple(command), workdir=str(workdir),
        subjects=(*(file_artifact(o, workdir=workdir) for o in outputs), *subjects),
        dependencies=tuple(dependencies), started=started, finished=finished,
        exit_status=exit_status, calibration_id=calibration_id, image=image,
        environment=recorded_environment(environ),
        sas=sas_version(environ) if image is None else None,
        host=host_info(), git=git.to_json() if git else None,
        invocation_id=invocation_id or str(uuid.uuid4()), builder_version=__version__,
    )


def record_command(
    command: str,
    *,
    outputs: Sequence[PathLike] = (),
    manifest: Manifest | None = None,
    manifest_path: PathLike | None = None,
    inputs: Sequence[PathLike] = (),
    dependencies: Sequence[Artifact] = (),
    image: str | None = None,
    argv: Sequence[str] | None = None,
    started: datetime | None = None,
    finished: datetime | None = None,
    exit_status: int = 0,
    record: PathLike | None = None,
    cwd: PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    subjects: Sequence[Artifact] = (),
    signer: Any = None,
) -> Path:
    """Write the record of one reprocal command (``pin``, ``image build``) and return its path.

    ``outputs`` become subjects; ``manifest`` contributes its constituents and calibration id
    (``manifest_path`` the manifest file itself, unless it is an output); ``inputs`` and
    ``dependencies`` are added as given, ``subjects`` after the outputs; ``signer`` writes the
    record as a signed DSSE envelope. Relative paths (``record`` too) are relative to
    ``cwd`` (default: the current directory). ``started`` is when the command began and
    ``finished`` when it ended (default: now, the moment the record is made).
    """
    workdir = Path(cwd or os.getcwd()).resolve()
    now = datetime.now(timezone.utc)
    outs = [in_workdir(o, workdir) for o in outputs]
    given = in_workdir(manifest_path, workdir) if manifest_path is not None else None
    deps = manifest_artifacts(manifest, None if given in outs else given, workdir=workdir)
    deps.extend(file_artifact(p, "input", workdir=workdir) for p in inputs)
    deps.extend(dependencies)
    rec = build_record(
        command, ["reprocal", *sys.argv[1:]] if argv is None else argv, workdir=workdir,
        outputs=outs, dependencies=deps, started=started or now, finished=finished or now,
        environ=os.environ if environ is None else environ, exit_status=exit_status,
        calibration_id=manifest.calibration_id if manifest else None, image=image,
        subjects=subjects,
    )
    target = (in_workdir(record, workdir) if record is not None
              else default_record_path(outs, command, cwd=workdir, when=rec.started))
    return save_record(rec, target, signer=signer)


def image_subjects(name: str, manifest_digest: str | None, config_digest: str) -> list[Artifact]:
    """An image as record subjects: by its OCI manifest digest (the registry and containerd
    identity, kept by ``reprocal image push`` and ``skopeo copy --preserve-digests``) and by its
    config digest (the image ID, which recompressing copies keep), with their media types."""
    out = []
    if manifest_digest:
        out.append(Artifact(name, manifest_digest.split(":", 1)[1], None,
                            {"role": "image-manifest"}, MEDIA_MANIFEST))
    out.append(Artifact(name, config_digest.split(":", 1)[1], None, {"role": "image-config"},
                        MEDIA_CONFIG))
    return out


def record_image_build(manifest: Manifest, manifest_path: PathLike | None, output: PathLike, *,
                       name: str, manifest_digest: str | None, config_digest: str,
                       base: str | None = None, started: datetime | None = None,
                       argv: Sequence[str] | None = None, signer: Any = None) -> Path:
    """The record ``reprocal image build`` leaves: the image tar, the image's manifest digest
    and its config digest (:func:`image_subjects`) as subjects; the manifest (its file when
    ``manifest_path`` is given), its constituents and the base image (a tar by sha256, or a
    daemon image by name) as dependencies. ``started``: when the build began (default: now);
    ``argv``: the command line (default: this process's); ``signer`` writes the record as a
    signed DSSE envelope."""
    workdir = Path.cwd().resolve()
    deps = []
    if base is not None:
        deps.append(file_artifact(base, "input", workdir=workdir) if Path(base).is_file()
                    else Artifact(base, None, f"docker-image:{base}", {"role": "input"}))
    return record_command("image build", outputs=[output], manifest=manifest,
                          manifest_path=manifest_path, dependencies=deps, cwd=workdir,
                          started=started, argv=argv,
                          subjects=image_subjects(name, manifest_digest, config_digest),
                          signer=signer)


__all__ = [
    "artifact_name", "build_record", "constituent_artifacts", "default_record_path",
    "extra_artifacts",
    "file_artifact", "image_subjects", "in_workdir", "manifest_artifacts", "record_command",
    "record_image_build",
]
