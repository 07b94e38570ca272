"""The Docker daemon, through the ``docker`` SDK (the ``reprocal[docker]`` extra, imported
lazily through :func:`reprocal.image._sdk.docker_sdk`).

Two uses: export a base image by name (``image build --base NAME``), and ``image verify
--docker``: load the tar, compare what the daemon reports (DiffIDs, labels, env) with the tar,
then run a container with networking disabled that runs ``sha256sum -c SHA256SUMS`` in ``/ccf``
and prints its environment. An image without a shell (no base) is checked by reading ``/ccf``
out of a created, never started, container instead.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Any

from reprocal.errors import ComponentUnavailable, InputError
from reprocal.fs._atomic import atomic_file
from reprocal.image._archive import read_image_tar
from reprocal.image._layers import CCF_DIR, parse_sha256sums
from reprocal.image._layout import ENV, LABEL_CALIBRATION_ID, SUMS_PATH
from reprocal.image._sdk import docker_sdk
from reprocal.image._verify import Check

API_VERSION = "1.41"
CHECK_SCRIPT = (f"cd /{CCF_DIR} && sha256sum -c SHA256SUMS && test -f \"$SAS_CCF\" && "
                "echo '--- env' && env")


def client(base_url: str | None = None) -> Any:
    """A docker client for ``base_url`` (default: ``$DOCKER_HOST`` or the local socket)."""
    docker = docker_sdk("talking to a Docker daemon")
    url = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    hint = "start dockerd or set DOCKER_HOST"
    if url.startswith("unix://") and not Path(url[len("unix://"):]).exists():
        raise ComponentUnavailable(f"no Docker daemon answers ({url}): no such socket", hint=hint)
    # A fixed API version: the SDK's version probe in the constructor leaks its socket when the
    # daemon does not answer. 1.41 (Docker 20.10) is accepted by every daemon since.
    c = docker.DockerClient(base_url=url, version=API_VERSION)
    try:
        c.ping()
        return c
    except docker.errors.DockerException as exc:
        c.close()
        raise ComponentUnavailable(f"no Docker daemon answers ({url}): {exc}", hint=hint) from None


def get_image(c: Any, name: str, *, what: str, hint: str) -> Any:
    """The daemon's image ``name``, or a one-line :class:`InputError` (``what`` names the option)."""
    docker = docker_sdk("talking to a Docker daemon")

    try:
        return c.images.get(name)
    except docker.errors.ImageNotFound:
        raise InputError(f"{what} {name!r} is neither a file nor an image the daemon has",
                         hint=hint) from None


def export_image(name: str, dest: Path, *, base_url: str | None = None) -> Path:
    """``docker save NAME`` into ``dest`` (streamed), for use as a base image."""
    c = client(base_url)
    try:
        image = get_image(c, name, what="base image",
                          hint="give a `docker save` tar, or `docker pull` it first")
        with atomic_file(dest) as fh:
            for chunk in image.save(named=True):
                fh.write(chunk)
    finally:
        c.close()
    return dest


def _archive_checks(container: Any) -> list[Check]:
    """Check ``SHA256SUMS`` by reading ``/ccf`` out of a container (no process started)."""
    stream, _ = container.get_archive(f"/{CCF_DIR}")
    buf = io.BytesIO(b"".join(stream))
    files: dict[str, str] = {}
    sums = b""
    with tarfile.open(fileobj=buf) as tf:
        for info in tf:
            if not info.isreg():
                continue
            data = tf.extractfile(info).read()  # type: ignore[union-attr]
            rel = info.name.split("/", 1)[1] if "/" in info.name else info.name
            files[rel] = hashlib.sha256(data).hexdigest()
            if info.name == SUMS_PATH:
                sums = data
    want = parse_sha256sums(sums)
    bad = [p for p, h in want.items() if files.get(p) != h]
    return [Check("docker: SHA256SUMS (read from the container)", bool(want) and not bad,
                  f"{len(want)} files match" if want and not bad else
                  f"differ: {', '.join(bad[:5])}" if bad else "SHA256SUMS empty or missing")]


def check_in_docker(tar: str | os.PathLike[str], *, base_url: str | None = None,
                    remove: bool = False) -> list[Check]:
    """Load ``tar`` into the daemon and check it there (see the module docstring)."""
    img_tar = read_image_tar(tar)
    c = client(base_url)
    try:
        return _check(c, tar, img_tar, remove)
    finally:
        c.close()


def _check(c: Any, tar: str | os.PathLike[str], img_tar: Any, remove: bool) -> list[Check]:
    docker = docker_sdk("talking to a Docker daemon")

    with open(tar, "rb") as fh:
        loaded = c.images.load(fh)
    if not loaded:
        return [Check("docker: load", False, "the daemon loaded no image")]
    image = loaded[0]
    checks = [Check("docker: load", True, f"{image.id} {' '.join(image.tags)}")]
    attrs_ = image.attrs
    want = list((img_tar.config.get("rootfs") or {}).get("diff_ids") or [])
    got = list((attrs_.get("RootFS") or {}).get("Layers") or [])
    checks.append(Check("docker: DiffIDs", got == want, "" if got == want else
                        f"daemon reports {len(got)} layers differing from the tar's config"))
    cfg = attrs_.get("Config") or {}
    label = (cfg.get("Labels") or {}).get(LABEL_CALIBRATION_ID)
    want_label = ((img_tar.config.get("config") or {}).get("Labels") or {}).get(LABEL_CALIBRATION_ID)
    checks.append(Check("docker: calibration id label", label == want_label and label is not None,
                        str(label)))
    container = None
    try:
        try:
            out = c.containers.run(image.id, ["sh", "-c", CHECK_SCRIPT], network_disabled=True,
                                   network_mode="none", remove=True, stdout=True, stderr=True)
            text = out.decode("utf-8", "replace")
        except docker.errors.ContainerError as exc:
            text = (exc.stderr or b"").decode("utf-8", "replace") if isinstance(
                exc.stderr, bytes) else str(exc)
            checks.append(Check("docker: sha256sum -c SHA256SUMS", False, text.strip()[-300:]))
            return checks
        except docker.errors.APIError as exc:
            if "executable file not found" not in str(exc) and "no such file" not in str(exc):
                raise
            container = c.containers.create(image.id, ["/none"], network_disabled=True)
            return checks + _archive_checks(container)
        sums, _, env_text = text.partition("--- env")
        lines = [x for x in sums.splitlines() if x.strip()]
        ok = bool(lines) and all(x.endswith(": OK") for x in lines)
        checks.append(Check("docker: sha256sum -c SHA256SUMS", ok,
                            f"{len(lines)} files OK" if ok else "; ".join(
                                x for x in lines if not x.endswith(": OK"))[:300]))
        env = dict(x.split("=", 1) for x in env_text.splitlines() if "=" in x)
        wrong = [k for k, v in ENV.items() if env.get(k) != v]
        checks.append(Check("docker: environment", not wrong, " ".join(
            f"{k}={env.get(k)}" for k in ENV)))
        return checks
    finally:
        if container is not None:
            container.remove(force=True)
        if remove:
            c.images.remove(image.id, force=True)
