"""`reprocal run --image`: a recorded run inside a calibration image (private dockerd), then
audit of its stamped output gives back the calibration id and the image digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.daemons import Daemon, dockerd  # noqa: F401
from support.imagekit import busybox_base, make_state

from reprocal.audit._product import read_product
from reprocal.image._build import build_image
from reprocal.provenance._record import load_record
from reprocal.provenance._run import calibration_id_of, run
from reprocal.provenance._runimage import image_context

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def image_tar(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("img")
    manifest, ccf = make_state(root / "ccf")
    base = busybox_base(root / "base.tar")
    result = build_image(manifest, [ccf], root / "calib.tar", base=base)
    return manifest, result.path


def test_run_in_image_then_audit(tmp_path: Path, dockerd: Daemon, image_tar) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The command sees the image's /ccf; its FITS output is stamped with the image's
    calibration id and digest; audit reads both back, and the CALINDEX the output carries."""
    manifest, tar = image_tar
    work = tmp_path / "work"
    work.mkdir()
    ctx = image_context(str(tar), base_url=dockerd.url)
    assert ctx["image"].calibration_id == calibration_id_of(manifest)
    result = run(["sh", "-c", "cat /ccf/ccf.cif > out.fits && echo $SAS_CCF > env.txt"],
                 cwd=work, environ={}, **ctx)
    assert result.exit_status == 0
    assert (work / "env.txt").read_text() == "/ccf/ccf.cif\n"
    assert [p.name for p in result.stamped] == ["out.fits"]
    rec = load_record(result.record_path)
    assert rec.calibration_id == calibration_id_of(manifest)
    assert rec.image_digest == ctx["image"].digest
    assert rec.environment["SAS_CCF"] == "/ccf/ccf.cif"
    assert len(rec.by_role("constituent")) == len(manifest.files)
    (prod,) = read_product(work / "out.fits")
    assert prod.calibration_id == calibration_id_of(manifest)
    assert prod.image_digest == ctx["image"].digest
    assert {c.filename for c in prod.state.constituents} == {f.filename for f in manifest.files}


def test_failing_command_in_image(tmp_path: Path, dockerd: Daemon, image_tar) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The container's exit status is the run's."""
    _manifest, tar = image_tar
    ctx = image_context(str(tar), base_url=dockerd.url)
    result = run(["sh", "-c", "exit 5"], cwd=tmp_path, environ={}, **ctx)
    assert result.exit_status == 5


def test_cli_run_image(cli, tmp_path: Path, dockerd: Daemon, image_tar) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Through the CLI, with DOCKER_HOST naming the daemon; audit --json gives both ids."""
    manifest, tar = image_tar
    env = {"DOCKER_HOST": dockerd.url}
    done = cli("run", "--image", str(tar), "--json", "--", "sh", "-c",
               "cat /ccf/ccf.cif > pn.fits", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    audit = cli("audit", "pn.fits", "--json", cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    found = json.loads(audit.stdout)
    assert (found["calibration_id"], found["image_digest"]) == (calibration_id_of(manifest),
                                                                doc["image_digest"])


def test_cli_run_image_of_several_observations_needs_obs(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          dockerd: Daemon) -> None:  # noqa: F811
    """An image of two observations: --obs says which; the container's SAS_CCF is that
    observation's CIF and the output is stamped with its observation id."""
    manifest, ccf = make_state(tmp_path / "ccf", obs_ids=("0201901401", "0404910601"))
    base = busybox_base(tmp_path / "base.tar")
    tar = build_image(manifest, [ccf], tmp_path / "two.tar", base=base).path
    env = {"DOCKER_HOST": dockerd.url}
    script = "cat $SAS_CCF > pn.fits && echo $SAS_CCF $REPROCAL_CALIBRATION_ID > env.txt"
    done = cli("run", "--image", str(tar), "--", "sh", "-c", script, cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "holds 2 observations (0201901401, 0404910601)" in done.stderr
    assert "--obs LABEL" in done.stderr
    done = cli("run", "--image", str(tar), "--obs", "0404910601", "--", "sh", "-c", script,
               cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    obs_id = str(manifest.observation_ids[1])
    assert (tmp_path / "env.txt").read_text() == f"/ccf/cif/0404910601.cif {obs_id}\n"
    rec = load_record(tmp_path / "pn.fits.prov.json")
    assert rec.calibration_id == obs_id
    assert rec.environment["SAS_CCF"] == "/ccf/cif/0404910601.cif"
    assert {d.name for d in rec.by_role("constituent")} == set(manifest.observations[1].files)
