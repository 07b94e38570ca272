"""Where the tests find the real samples (:mod:`support.samples`): ``$REPROCAL_SAMPLES``, then
``../shared``, then a download by sha256 from the repository they came from, with the cut
CALINDEX files and the CSV dumps derived here to the very bytes of the shared copy. The
download is tested against a loopback server only; under ``CI=true`` a missing sample fails."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.samples import (
    CUT,
    EVENTS,
    LAYOUT,
    OBSERVATIONS,
    ORIGINALS,
    SamplesUnavailable,
    candidates,
    complete,
    cut_calindex,
    download,
    dump_calindex,
    locate,
)
from support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_samples_are_complete_and_intact(samples: Path) -> None:
    """Whichever copy the tests use holds every file, with the README's sha256."""
    assert complete(samples)
    assert {rel: _sha256(samples / rel) for rel in LAYOUT} == LAYOUT


def test_the_cut_files_and_dumps_derive_to_the_same_bytes(samples: Path, tmp_path: Path) -> None:
    """From the kept event list (0201901401's, verbatim) and the CIFs, the derivations give
    the shared copy's bytes: the dumps, and a cut file whose CALINDEX is the event list's."""
    for obs in OBSERVATIONS:
        got = dump_calindex(samples / obs / "ccf.cif")
        assert hashlib.sha256(got).hexdigest() == LAYOUT[f"dumps/{obs}_ccf_cif.csv"]
    cut = cut_calindex(samples / "0201901401" / EVENTS, tmp_path / CUT, obs_id="0201901401")
    assert hashlib.sha256(dump_calindex(cut)).hexdigest() == LAYOUT[
        "dumps/0201901401_evt_calindex.csv"]


def _event_list_standing_in_for(cut: Path, out: Path) -> Path:
    """An "event list" whose primary header carries the cut file's copied keywords and whose
    CALINDEX is the cut file's, among other HDUs: what the original is to the cut (the two
    originals the shared copy does not keep)."""
    import numpy as np
    from astropy.io import fits

    with fits.open(cut) as hdul:
        primary = fits.PrimaryHDU()
        for card in hdul[0].header.cards:
            if card.keyword not in ("SIMPLE", "BITPIX", "NAXIS", "EXTEND", "COMMENT"):
                primary.header.append(card)
        primary.header["ORIGIN"] = ("an event list", "not copied to the cut file")
        events = fits.BinTableHDU.from_columns([fits.Column("TIME", "D", array=np.arange(3.0))],
                                               name="EVENTS")
        fits.HDUList([primary, events, hdul["CALINDEX"].copy()]).writeto(out)
    return out


@pytest.fixture
def origin(samples: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The upstream tree at the commit (``<obsid>/odf/...``, ``<obsid>/eclean/...``) with the
    sha256 registry to fetch it by: the real originals where the samples keep them verbatim."""
    tree = tmp_path / "upstream"
    registry = {}
    for rel in ORIGINALS:
        obs, kind, name = rel.split("/")
        (tree / obs / kind).mkdir(parents=True, exist_ok=True)
        if kind == "odf" or obs == "0201901401":
            shutil.copyfile(samples / obs / name, tree / rel)
            assert _sha256(tree / rel) == ORIGINALS[rel]
        else:
            _event_list_standing_in_for(samples / obs / CUT, tree / rel)
        registry[rel] = _sha256(tree / rel)
    return tree, registry


class _Static(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def server(origin: tuple[Path, dict[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server of the upstream tree: (base URL, the paths asked for)."""
    tree, _ = origin
    asked: list[str] = []

    class Handler(_Static):
        def do_GET(self) -> None:
            asked.append(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(tree)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", asked
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_download_gives_the_shared_copy_bit_for_bit(origin, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every original fetched once and checked by sha256; the samples laid out and derived
    from them are byte for byte the shared copy (LAYOUT's sha256); a second call downloads
    nothing."""
    _, registry = origin
    url, asked = server
    got = download(tmp_path / "cache", base_url=url, originals=registry)
    assert got == tmp_path / "cache" / "xmm-cif-samples"
    assert {rel: _sha256(got / rel) for rel in LAYOUT} == LAYOUT
    assert sorted(asked) == sorted(f"/{rel}" for rel in registry)
    assert download(tmp_path / "cache", base_url=url, originals=registry) == got
    assert len(asked) == len(registry)
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".partial")]


def test_a_corrupt_original_is_refused(origin, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file whose bytes are not the registered ones: refused by sha256, the reason naming
    it, and no samples directory left that looks complete."""
    tree, registry = origin
    bad = "0201903501/odf/ccf.cif"
    data = bytearray((tree / bad).read_bytes())
    data[5000] ^= 0xFF
    (tree / bad).write_bytes(bytes(data))
    url, _ = server
    with pytest.raises(SamplesUnavailable) as err:
        download(tmp_path / "cache", base_url=url, originals=registry)
    assert str(err.value).startswith(f"{url}{bad}: ValueError: ")
    assert "SHA256 hash of downloaded file" in str(err.value)
    assert not complete(tmp_path / "cache" / "xmm-cif-samples")


def test_a_wrong_derivation_is_refused(origin, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An original that is what the registry says but derives to other bytes than the shared
    copy's (here: another CALINDEX in a stand-in event list) is refused, nothing kept."""
    from astropy.io import fits

    tree, registry = origin
    rel = "0404910601/eclean/" + EVENTS
    with fits.open(tree / rel, mode="update") as hdul:
        hdul["CALINDEX"].header["ANALDATE"] = "2020-01-01T00:00:00"
    registry = {**registry, rel: _sha256(tree / rel)}
    url, _ = server
    with pytest.raises(SamplesUnavailable, match=r"^0404910601/calindex_from_mos1_exp1_clean_evts"
                                                 r"\.fits: derived sha256 [0-9a-f]{64}, expected "
                                                 + LAYOUT[f"0404910601/{CUT}"]):
        download(tmp_path / "cache", base_url=url, originals=registry)
    assert not complete(tmp_path / "cache" / "xmm-cif-samples")


def test_an_unreachable_origin_is_a_reason(tmp_path: Path) -> None:
    """Nothing listening: one line naming the URL (what a machine without internet sees)."""
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(SamplesUnavailable, match=rf"^{url}0201901401/odf/ccf.cif: ConnectionError: "):
        download(tmp_path / "cache", base_url=url, timeout=5)


def _copy(samples: Path, dest: Path) -> Path:
    shutil.copytree(samples, dest)
    return dest


def test_the_order_of_the_places(samples: Path, tmp_path: Path) -> None:
    """``$REPROCAL_SAMPLES`` first, then ``../shared`` beside the checkout, then the download
    cache; a directory missing a file does not count."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shared = _copy(samples, tmp_path / "shared" / "data" / "xmm-cif-samples")
    mine = _copy(samples, tmp_path / "mine")
    cache = tmp_path / "cache"
    env = {"REPROCAL_SAMPLES": str(mine)}
    assert candidates(env, checkout) == [mine, shared]
    assert locate(env, checkout, cache) == mine
    (mine / "0201901401" / "ccf.cif").unlink()
    assert locate(env, checkout, cache) == shared
    assert locate({}, checkout, cache) == shared
    (shared / "dumps" / "0201901401_ccf_cif.csv").unlink()
    _copy(samples, cache / "xmm-cif-samples")
    assert locate(env, checkout, cache) == cache / "xmm-cif-samples"


def test_none_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    env = {"REPROCAL_SAMPLES": str(tmp_path / "nowhere"), "REPROCAL_SAMPLES_URL": url}
    with pytest.raises(SamplesUnavailable) as err:
        locate(env, tmp_path / "checkout", tmp_path / "cache", timeout=5)
    assert str(err.value).startswith(
        f"real samples not found (looked in {tmp_path / 'nowhere'}, {tmp_path / 'shared'}/data/"
        f"xmm-cif-samples) and not downloadable: {url}0201901401/odf/ccf.cif: ConnectionError: ")


def _suite_without_samples(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """This module's first test, run by pytest from a copy of tests/ with no samples anywhere
    (no ../shared beside the copy, an empty download cache, an origin that does not answer)."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "tests", checkout / "tests",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", checkout)
    full = {k: v for k, v in os.environ.items() if k not in ("CI", "REPROCAL_SAMPLES")}
    full.update(REPROCAL_SAMPLES_CACHE=str(tmp_path / "cache"),
                REPROCAL_SAMPLES_URL=f"http://127.0.0.1:{free_port()}/", **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-c",
         str(checkout / "pyproject.toml"), "--rootdir", str(checkout),
         str(checkout / "tests" / "test_samples.py") + "::test_the_samples_are_complete_and_intact"],
        cwd=tmp_path, env=full, capture_output=True, text=True, timeout=300)


def test_without_samples_the_tests_skip_saying_why(tmp_path: Path) -> None:
    done = _suite_without_samples(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "SKIPPED [1] " in done.stdout and ": real samples not found (looked in " in done.stdout


def test_under_ci_a_missing_sample_fails(tmp_path: Path) -> None:
    done = _suite_without_samples(tmp_path, CI="true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CI=true: real samples not found (looked in " in done.stdout
    assert "1 error" in done.stdout
