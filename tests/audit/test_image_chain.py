"""audit follows product -> run record -> image build record -> manifest, matching the image by
its manifest digest or its config digest (a recompressed copy keeps only the latter). The run
"in the image" uses a fake executor (the daemon path is tests/provenance/test_runimage.py)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from support.imagekit import fake_cifs, make_state
from support.validators import strict_statement

from reprocal.audit._product import image_digests, read_product
from reprocal.image._archive import read_image_tar
from reprocal.image._build import build_image
from reprocal.provenance._record import load_record
from reprocal.provenance._recorder import record_image_build
from reprocal.provenance._run import ImageContext, calibration_id_of, run
from reprocal.state._manifest import save_manifest


def _writes(command: Sequence[str], cwd: Path, env: Mapping[str, str],
            stdout_to_stderr: bool = False) -> int:
    (cwd / "out.txt").write_text("spectrum")
    return 0


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An image tar and, beside it, its build record (as `reprocal image build` leaves them)."""
    monkeypatch.chdir(tmp_path)
    manifest, repo = make_state(tmp_path / "ccf")
    save_manifest(manifest, tmp_path / "m.json")
    result = build_image(manifest, [repo], tmp_path / "img.tar", cifs=fake_cifs(manifest))
    record_image_build(manifest, "m.json", "img.tar", name=result.name,
                       manifest_digest=result.manifest_digest,
                       config_digest=result.config_digest)
    return manifest, result


def _run_in(tmp_path: Path, tar: Path, digest: str, config: str, manifest) -> Path:  # type: ignore[no-untyped-def]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    ctx = ImageContext(str(tar), digest, config, calibration_id_of(manifest))
    return run([sys.executable, "x"], cwd=work, environ={}, executor=_writes,
               image=ctx).record_path


@pytest.mark.parametrize("copy", ["same image", "recompressed copy"])
def test_audit_follows_the_run_to_the_image_build(tmp_path: Path, built, copy: str) -> None:  # type: ignore[no-untyped-def]
    """The run record names the image by the digest its build record names it by; audit finds
    the build record beside the tar and, through it, the manifest the image was built from.
    A copy whose layers were recompressed (another manifest digest) still matches by its config
    digest."""
    manifest, result = built
    digest = result.manifest_digest if copy == "same image" else "sha256:" + "9" * 64
    rec_path = _run_in(tmp_path, result.path, digest, result.config_digest, manifest)
    rec = load_record(rec_path)
    (dep,) = rec.by_role("image")
    assert f"sha256:{dep.sha256}" == digest
    assert dep.annotations["configDigest"] == result.config_digest
    (prod,) = read_product(rec_path)
    assert prod.image_record is not None, prod.notes
    assert prod.image_record.path == str(tmp_path / "img.tar.prov.json")
    assert prod.image_record.manifest == "m.json"
    assert prod.image_record.calibration_id == manifest.calibration_id
    assert set(prod.image_record.digests) == {result.manifest_digest, result.config_digest}
    assert set(image_digests(rec)) == {digest, result.config_digest}
    import json

    for path in (rec_path, tmp_path / "img.tar.prov.json"):  # both parse strictly
        strict_statement(json.loads(path.read_text()))


def test_another_image_is_not_followed(tmp_path: Path, built) -> None:  # type: ignore[no-untyped-def]
    """A run whose image digests match neither of the build record's: a note, no link."""
    manifest, result = built
    rec_path = _run_in(tmp_path, result.path, "sha256:" + "1" * 64, "sha256:" + "2" * 64,
                       manifest)
    (prod,) = read_product(rec_path)
    assert prod.image_record is None
    assert any("is not the build record of the image it ran in" in n for n in prod.notes)


def test_cli_audit_prints_the_chain(cli, tmp_path: Path, built) -> None:  # type: ignore[no-untyped-def]
    """Through the CLI: the image line and the build record line."""
    manifest, result = built
    rec_path = _run_in(tmp_path, result.path, result.manifest_digest, result.config_digest,
                       manifest)
    done = cli("audit", str(rec_path), cwd=tmp_path)
    assert f"  image {result.manifest_digest}" in done.stdout, done.stderr
    assert (f"  image built by record {tmp_path / 'img.tar.prov.json'} from manifest m.json "
            f"({manifest.calibration_id})") in done.stdout
    assert read_image_tar(result.path).config_digest == result.config_digest
