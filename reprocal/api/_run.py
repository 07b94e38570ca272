"""``run``: run a command (on this host or in a calibration image) with the manifest's
calibration, stamp its FITS outputs and write its provenance record."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs

from reprocal.api._inputs import PathLike, signer_of
from reprocal.errors import PARAMETERS, Names
from reprocal.provenance._run import RunResult
from reprocal.repo._ccfpath import CcfPath


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
                "observation": r.observation, "cif": str(r.cif) if r.cif else None,
                "environment": dict(r.environment),
                "outputs": [str(o) for o in r.outputs], "stamped": [str(o) for o in r.stamped],
                "not_stamped": [{"path": str(p), "why": w} for p, w in r.not_stamped]}


def run(
    command: Sequence[str],
    *,
    manifest: PathLike | None = None,
    obs: str | None = None,
    ccf_path: CcfPath = None,
    use_env_ccf: bool = False,
    cif: PathLike | None = None,
    image: str | None = None,
    record: PathLike | None = None,
    outputs: Sequence[PathLike] = (),
    stamp: bool = True,
    cwd: PathLike | None = None,
    docker_host: str | None = None,
    sign: PathLike | None = None,
    stdout_to_stderr: bool = False,
    jobs: int | None = None,
    names: Names = PARAMETERS,
) -> RunCommandResult:
    """Run ``command`` in ``cwd`` (default: the current directory), find the files it created
    or modified (and ``outputs``), stamp the FITS ones (unless not ``stamp``) and write the
    provenance record (``record``, default ``<first output>.prov.json``).

    ``manifest``: the command gets that manifest's calibration, whatever ``$SAS_CCF`` the
    shell holds: observation ``obs`` (needed when it holds several), its constituents checked
    in ``ccf_path`` (``None``: ``$SAS_CCFPATH``), its CIF written to ``cif`` (default: a
    private directory, removed after the run), ``SAS_CCF``, ``SAS_CCFPATH`` and
    ``REPROCAL_CALIBRATION_ID`` exported. A ``$SAS_CCF`` whose rows differ from the
    observation's is refused (:class:`~reprocal.errors.InputError`) unless ``use_env_ccf``:
    then the command runs with it and the record and stamp describe that CIF. Without a
    manifest, ``$SAS_CCF`` is what the command uses, and is described.

    ``image``: run inside this calibration image (a tar from :func:`image_build`, or an image
    the daemon at ``docker_host``, default ``$DOCKER_HOST``, has). A failed command still
    leaves a record; its status is :attr:`RunCommandResult.exit_status`. ``sign``: a private
    key (``reprocal key generate``) to sign the record with. ``stdout_to_stderr`` sends the
    command's standard output to standard error (``reprocal run --json`` does, so that its
    one JSON document is all that is on standard output).
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
                          record=record, stamp=stamp, signer=signer, ccf_path=ccf_path,
                          obs=obs, use_env_ccf=use_env_ccf, cif=cif,
                          stdout_to_stderr=stdout_to_stderr, jobs=jobs, names=names, **context)
    return RunCommandResult(result)


__all__ = ["RunCommandResult", "run"]
