"""The campaign summary for the paper: `campaign.json` and `campaign.md` say which observation ran
with which calibration id, image digest and SAS version; `bundle --campaign DIR` carries them and
each done observation's record into the paper bundle, which `bundle verify` then passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reprocal import api
from reprocal.errors import InputError, ReprocalWarning
from reprocal.state._manifest import load_manifest

pytestmark = pytest.mark.network

CREDITS = dict(license="CC-BY-4.0", authors=["Jane Doe"],
               publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>")


@pytest.fixture(scope="module")
def campaign(campaign_world, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A campaign of two of the world's observations (one failing), on one local worker."""
    w = campaign_world
    root = tmp_path_factory.mktemp("summary")
    labels = load_manifest(w.manifest).labels()[:2]
    (root / "obs.csv").write_text("obs_id\n" + "\n".join(labels) + "\n")
    r = api.campaign_run(w.manifest, w.command(root / "journal", fail=labels[1]),
                         output=root / "out", obs_list=root / "obs.csv", ccf_path=w.ccf,
                         jobs=1, retries=0)
    assert r.status.counts == {"done": 1, "failed": 1, "pending": 0}
    return root / "out"


def test_the_summary_names_each_observations_calibration(campaign_world, campaign: Path) -> None:  # type: ignore[no-untyped-def]
    m = load_manifest(campaign_world.manifest)
    ids = dict(zip(m.labels(), map(str, m.observation_ids), strict=True))
    doc = json.loads((campaign / "campaign.json").read_text())
    assert doc["schema"] == "reprocal.campaign-summary/v1"
    assert doc["manifest"]["state_id"] == m.calibration_id
    done, failed = doc["observations"]
    assert (done["state"], done["calibration_id"], done["image_digest"]) == (
        "done", ids[done["observation"]], None)
    assert done["record"] == f"{done['observation']}/{done['observation']}_evt.fits.prov.json"
    assert (failed["state"], failed["error"]) == ("failed", "exit status 3")
    table = (campaign / "campaign.md").read_text().splitlines()
    assert "1 done, 1 failed, 0 pending." in table
    assert any(line.startswith(f"| {done['observation']} | done | {ids[done['observation']]} |")
               for line in table)


def test_bundle_carries_the_campaign(campaign_world, campaign: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The summary under campaign/, the done observation's record under records/campaign/,
    both in SHA256SUMS and the crate; the README says so; bundle verify passes."""
    w = campaign_world
    out = tmp_path / "b"
    with pytest.warns(ReprocalWarning, match="the timeline shows the first 4"):
        r = api.bundle(w.manifest, output=out, campaign=campaign, **CREDITS)
    done = json.loads((campaign / "campaign.json").read_text())["observations"][0]
    record = f"records/campaign/{done['record']}"
    assert {"campaign/campaign.json", "campaign/campaign.md", record} <= set(r.bundle.files)
    assert (out / record).read_bytes() == (campaign / done["record"]).read_bytes()
    sums = (out / "SHA256SUMS").read_text()
    assert "  campaign/campaign.md\n" in sums and f"  {record}\n" in sums
    crate = json.loads((out / "ro-crate-metadata.json").read_text())
    assert {e["@id"] for e in crate["@graph"]} >= {"campaign/campaign.json", record}
    assert "## Campaign" in (out / "README.md").read_text()
    assert "(1 done, 1 failed, 0 pending)" in (out / "README.md").read_text()
    assert api.bundle_verify(out).ok


def test_bundle_refuses_a_campaign_of_another_manifest_or_a_record_outside(  # type: ignore[no-untyped-def]
        campaign_world, campaign: Path, synthetic_repo, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    api.pin(obs_date="2010-01-01T00:00:00", analysis_date="2015-01-01T00:00:00",
            ccf_path=synthetic_repo.root, output=other)
    with pytest.raises(InputError, match="the campaign ran manifest state rpcal:2:state:"):
        api.bundle(other, output=tmp_path / "b1", campaign=campaign, **CREDITS)
    forged = tmp_path / "forged"
    shutil.copytree(campaign, forged)
    doc = json.loads((forged / "campaign.json").read_text())
    doc["observations"][0]["record"] = "../../outside/victim.json"
    (forged / "campaign.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="is not in its product directory"):
        api.bundle(campaign_world.manifest, output=tmp_path / "b2", campaign=forged, **CREDITS)


def test_cli_bundle_campaign(campaign_world, campaign: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("bundle", campaign_world.manifest, "--campaign", campaign, "-o", tmp_path / "b",
            "--license", "CC-BY-4.0", "--author", "Jane Doe", "--publisher",
            "ESA ESAC <https://www.cosmos.esa.int/web/esac>", "--json")
    assert r.returncode == 0, r.stderr
    assert "campaign/campaign.md" in json.loads(r.stdout)["files"]
