"""A campaign inside the calibration image (`--image`, a private dockerd): each observation's
command runs in a container with that observation's CIF from the image, its product is stamped
and recorded with the image's digest, which is part of the ledger's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.daemons import Daemon, dockerd  # noqa: F401
from support.imagekit import busybox_base, make_state

from reprocal import api
from reprocal.campaign import Ledger
from reprocal.provenance._record import load_record
from reprocal.state._manifest import save_manifest

pytestmark = [pytest.mark.docker, pytest.mark.network]

LABELS = ("0201901401", "0404910601")


def test_a_campaign_in_the_calibration_image(tmp_path: Path, dockerd: Daemon) -> None:  # noqa: F811
    from reprocal.image._build import build_image

    manifest, ccf = make_state(tmp_path / "ccf", obs_ids=LABELS)
    path = save_manifest(manifest, tmp_path / "manifest.json")
    tar = build_image(manifest, [ccf], tmp_path / "calib.tar",
                      base=busybox_base(tmp_path / "base.tar")).path
    script = "cat $SAS_CCF > {obs_id}.fits && echo $SAS_CCF $REPROCAL_CALIBRATION_ID > env.txt"
    out = tmp_path / "out"
    r = api.campaign_run(path, ["sh", "-c", script], output=out, image=str(tar),
                         docker_host=dockerd.url, jobs=1)
    assert r.ok, r.to_json()
    digest = r.status.meta["image_digest"]
    assert digest.startswith("sha256:")
    for label, obs_id in zip(LABELS, map(str, manifest.observation_ids), strict=True):
        assert (out / label / "env.txt").read_text() == f"/ccf/cif/{label}.cif {obs_id}\n"
        task = json.loads((out / label / "reprocal-task.json").read_text())
        rec = load_record(out / label / task["record"])
        assert (rec.calibration_id, rec.image_digest) == (obs_id, digest)
        assert task["image_digest"] == digest
    with Ledger(out, readonly=True) as ledger:
        assert {e.image_digest for e in ledger.entries().values()} == {digest}
    summary = json.loads((out / "campaign.json").read_text())
    assert summary["image_digest"] == digest
    assert [o["image_digest"] for o in summary["observations"]] == [digest, digest]
