"""``run``: run a command (on this host or in a calibration image), stamp its FITS outputs and
write its provenance record."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs

from reprocal.api._inputs import PathLike, signer_of
from reprocal.errors import PARAMETERS, Names
from reprocal.provenance._run import RunResult


@attrs.frozen
class RunCommandResult:
    """What :func:`run` did: the command's exit status, its outputs and their record."""

    run: RunResult

    @property
    def exit_status(self) -> int:
        return self.run.exit_status

    @property
    def exit_code(self) -> int:
        """What ``reprocal run`` exits with (:attr:`reprocal.provenance.RunResult.exit_code`)."""
        return self.run.exit_code

    def to_json(self) -> dict[str, Any]:
        r, rec = self.run, self.run.record
        return {"exit_status": r.exit_status, "record": str(r.record_path),
                "calibration_id": rec.calibration_id, "image_digest": rec.image_digest,
                "outputs": [str(o) for o in r.outputs], "stamped": [str(o) for o in r.stamped],
                "not_stamped": [{"path": str(p), "why": w} for p, w in r.not_stamped]}


def run(
    command: Sequence[str],
    *,
    manifest: PathLike | None = None,
    image: str | None = None,
    record: PathLike | None = None,
    outputs: Sequence[PathLike] = (),
    stamp: bool = True,
    cwd: PathLike | None = None,
    docker_host: str | None = None,
    sign: PathLike | None = None,
    names: Names = PARAMETERS,
) -> RunCommandResult:
    """Run ``command`` in ``cwd`` (default: the current directory), find the files it created
    or modified (and ``outputs``), stamp the FITS ones (unless not ``stamp``) and write the
    provenance record (``record``, default ``<first output>.prov.json``).

    ``manifest``: the manifest whose calibration the command uses. ``image``: run inside this
    calibration image (a tar from :func:`image_build`, or an image the daemon at
    ``docker_host``, default ``$DOCKER_HOST``, has). A failed command still leaves a record;
    its status is :attr:`RunCommandResult.exit_status`. ``sign``: a private key
    (``reprocal key generate``) to sign the record with.
    """
    from reprocal.provenance._run import run as run_recorded

    signer = signer_of(sign)
    context: dict[str, Any] = {}
    if image is not None:
        from reprocal.provenance._runimage import image_context

        context = image_context(
            image, manifest_path=manifest,
            base_url=docker_host if docker_host is not None else os.environ.get("DOCKER_HOST"),
            names=Names({"image": names("image"), "manifest_path": names("manifest")}))
    result = run_recorded(list(command), cwd=cwd, manifest_path=manifest, outputs=outputs,
                          record=record, stamp=stamp, outputs_name=names("outputs"),
                          signer=signer, **context)
    return RunCommandResult(result)


__all__ = ["RunCommandResult", "run"]
