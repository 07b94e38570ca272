"""``reprocal run --image``: run a command inside a calibration image, through the Docker daemon.

The image is a tar written by ``reprocal image build`` (loaded into the daemon first) or the name
of an image the daemon has. The working directory is mounted at ``/work`` (the command runs
there, as the calling user, with networking disabled); the image's own environment
(``SAS_CCFPATH=/ccf``, ``SAS_CCF=/ccf/ccf.cif``) is the calibration, with ``SAS_CCF`` set to
``/ccf/cif/<label>.cif`` for the observation chosen in an image of several. The record gets the
image digest, the calibration id from the image's label, and the manifest and constituents from
the image's ``/ccf/manifest.json``.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reprocal.errors import PARAMETERS, ComponentUnavailable, InputError, Names
from reprocal.image._archive import read_image_tar
from reprocal.image._daemon import client as docker_client
from reprocal.image._daemon import get_image
from reprocal.image._layout import LABEL_CALIBRATION_ID
from reprocal.image._sdk import docker_sdk
from reprocal.provenance._record import Artifact
from reprocal.provenance._recorder import constituent_artifacts
from reprocal.provenance._run import Executor, ImageContext, calibration_id_of
from reprocal.state._manifest import load_manifest, loads

WORKDIR = "/work"
MANIFEST_IN_IMAGE = "ccf/manifest.json"


def _env_of(config: Mapping[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in (config.get("Env") or []) if "=" in e)


def _manifest_from_tar(path: Path) -> bytes | None:
    """``/ccf/manifest.json`` from the image tar's layers (the last layer holding it wins)."""

    img = read_image_tar(path)
    found = None
    for i in range(len(img.layers)):
        for info, tf in img.layer_files(i):
            name = info.name[2:] if info.name.startswith("./") else info.name
            if name == MANIFEST_IN_IMAGE and info.isfile():
                f = tf.extractfile(info)
                found = f.read() if f else None
    return found


def _manifest_from_daemon(client: Any, image_id: str) -> bytes | None:
    """``/ccf/manifest.json`` read out of a created, never started, container."""
    docker = docker_sdk("running in an image")

    container = client.containers.create(image_id, ["/none"], network_disabled=True)
    try:
        stream, _ = container.get_archive(f"/{MANIFEST_IN_IMAGE}")
    except docker.errors.NotFound:
        return None
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tf:
        member = next((m for m in tf if m.isfile()), None)
        f = tf.extractfile(member) if member else None
        return f.read() if f else None


def _docker_executor(client: Any, image_id: str) -> Executor:
    def execute(command: Sequence[str], cwd: Path, env: Mapping[str, str],
                stdout_to_stderr: bool = False) -> int:
        docker = docker_sdk("running in an image")

        try:
            container = client.containers.create(
                image_id, list(command), working_dir=WORKDIR, user=f"{os.getuid()}:{os.getgid()}",
                volumes={str(cwd): {"bind": WORKDIR, "mode": "rw"}}, environment=dict(env),
                network_disabled=True, network_mode="none")
        except docker.errors.APIError as exc:
            raise InputError(f"cannot create a container of {image_id[:19]}: {exc}") from None
        try:
            try:
                container.start()
            except docker.errors.APIError as exc:
                raise InputError(f"cannot run {command[0]!r} in the image: "
                                 f"{exc.explanation or exc}") from None
            status = int(container.wait()["StatusCode"])
            out = sys.stderr if stdout_to_stderr else sys.stdout
            out.write(container.logs(stdout=True, stderr=False).decode("utf-8", "replace"))
            sys.stderr.write(container.logs(stdout=False, stderr=True).decode("utf-8", "replace"))
            return status
        finally:
            container.remove(force=True)
    return execute


def image_context(image: str, *, manifest_path: str | os.PathLike[str] | None = None,
                  base_url: str | None = None, names: Names = PARAMETERS) -> dict[str, Any]:
    """``run()`` keyword arguments (``executor``, ``image``) for running in ``image``; errors
    spell ``image`` and ``manifest_path`` by ``names``."""


    c = docker_client(base_url)
    p = Path(image)
    if p.is_file():

        img = read_image_tar(p)
        digest = img.manifest_digest or img.config_digest
        config_digest = img.config_digest
        with open(p, "rb") as fh:
            loaded = c.images.load(fh)
        if not loaded:
            raise ComponentUnavailable(f"the daemon loaded no image from {p}")
        image_id = loaded[0].id
        config = img.config.get("config") or {}
        manifest_bytes = _manifest_from_tar(p)
    else:
        obj = get_image(c, image, what=names("image"),
                        hint="give the tar from `reprocal image build`")
        image_id = obj.id
        repo_digests = obj.attrs.get("RepoDigests") or []
        digest = repo_digests[0].split("@", 1)[1] if repo_digests else obj.id
        config_digest = obj.id
        config = obj.attrs.get("Config") or {}
        manifest_bytes = _manifest_from_daemon(c, image_id)
    state = (config.get("Labels") or {}).get(LABEL_CALIBRATION_ID)
    calibration_id = state
    deps: list[Artifact] = []
    m = None
    if manifest_bytes is not None:
        m = loads(manifest_bytes, source=f"{image}:/{MANIFEST_IN_IMAGE}")
        if state and m.calibration_id != state:
            raise InputError(f"{names('image')} {image}: its label says calibration {state} "
                             f"but its /{MANIFEST_IN_IMAGE} has {m.calibration_id}")
        state = m.calibration_id
        calibration_id = calibration_id_of(m)
        deps.extend(constituent_artifacts(m))
        deps.append(Artifact(f"/{MANIFEST_IN_IMAGE}", hashlib.sha256(manifest_bytes).hexdigest(),
                             None, {"role": "manifest", "calibrationId": m.calibration_id}))
    if manifest_path is not None:
        given = load_manifest(manifest_path)
        if state and given.calibration_id != state:
            raise InputError(f"{names('manifest_path')} {manifest_path} pins "
                             f"{given.calibration_id}, but the image holds {state}",
                             hint="use the image built from that manifest")
    context = ImageContext(image, digest, config_digest, calibration_id, tuple(deps),
                           environment=_env_of(config), manifest=m)
    return {"executor": _docker_executor(c, image_id), "image": context}


__all__ = ["image_context"]
