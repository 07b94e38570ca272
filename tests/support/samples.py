"""The real SAS-written samples (``xmm-cif-samples``: three observations' CIFs, ODF summaries, an
event list, the cut CALINDEX files and CSV dumps), wherever this machine can have them.

In order:

1. ``$REPROCAL_SAMPLES``;
2. ``../shared/data/xmm-cif-samples`` beside the checkout the tests come from;
3. a download of the original files from the public repository and commit the samples' README
   names (:data:`REPOSITORY` at :data:`COMMIT`; the files were removed upstream later but stay
   reachable at that commit), each checked by sha256 (pooch), then the derived files made from
   them here (:func:`cut_calindex`, :func:`dump_calindex`), each checked by the sha256 the
   README gives: the same bytes as the shared copy.

A directory counts only when it holds every file of :data:`LAYOUT`. The download is kept in a
cache directory (``$REPROCAL_SAMPLES_CACHE``, else the user cache's ``reprocal-samples``), so it
happens once per machine; it is tested against a loopback server, never the internet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

REPOSITORY = "DavidT3/XGA"
COMMIT = "7971dc1e7b3ea4d0c3e043b47708dc643563b246"
BASE_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/tests/test_data/xmm/"
"""Where the originals are: raw files of that commit (``<obsid>/odf/...``, ``<obsid>/eclean/...``)."""

OBSERVATIONS = {"0201901401": "0809", "0201903501": "0828", "0404910601": "1184"}
"""Observation -> revolution (the prefix of its ODF summary's name)."""

ORIGINALS: dict[str, str] = {
    "0201901401/odf/ccf.cif": "ba0f6876476feb72e2d28b3a5417561862436129cba1a08cb0728cc20f34e3d3",
    "0201901401/odf/0809_0201901401_SCX00000SUM.SAS":
        "de7b03417cb62505679e37b8ca9f38470663e27ed9b0c74a73355e538dfd3afc",
    "0201901401/eclean/mos1_exp1_clean_evts.fits":
        "8447e1307a73321852aef2a57f8a9dd3bd041af6c863f48cabaa0edbf8d7ad97",
    "0201903501/odf/ccf.cif": "b4569c98ddbe3a9a1d44bf7a46200e19e0748a1346518815321a3e14b62a89d2",
    "0201903501/odf/0828_0201903501_SCX00000SUM.SAS":
        "96a202a06360265a903b77b34423fb5fa93681f9be807a08172f562da4658460",
    "0201903501/eclean/mos1_exp1_clean_evts.fits":
        "0183e9428401ddd837efe4c64f0c7b3a5fa4ef665880620fe123f17e1768a5c7",
    "0404910601/odf/ccf.cif": "0bbbcadfaa52e1c637f432f3f34815dd76c86bb17e63352c1b2d78bcea0c2a0c",
    "0404910601/odf/1184_0404910601_SCX00000SUM.SAS":
        "7d8e4049b34340aa74c967d44eacc24955b9acd87decad274fd8e003c43c6984",
    "0404910601/eclean/mos1_exp1_clean_evts.fits":
        "cd80153bb35871d4572467389883e4f68c6a3cf2e6ab40e15f1b62b15d7f8a19",
}
"""Path under :data:`BASE_URL` -> sha256 of the file at :data:`COMMIT`."""

LAYOUT: dict[str, str] = {
    "0201901401/0809_0201901401_SCX00000SUM.SAS":
        "de7b03417cb62505679e37b8ca9f38470663e27ed9b0c74a73355e538dfd3afc",
    "0201901401/ccf.cif": "ba0f6876476feb72e2d28b3a5417561862436129cba1a08cb0728cc20f34e3d3",
    "0201901401/mos1_exp1_clean_evts.fits":
        "8447e1307a73321852aef2a57f8a9dd3bd041af6c863f48cabaa0edbf8d7ad97",
    "0201903501/0828_0201903501_SCX00000SUM.SAS":
        "96a202a06360265a903b77b34423fb5fa93681f9be807a08172f562da4658460",
    "0201903501/calindex_from_mos1_exp1_clean_evts.fits":
        "80b95ab5d46b898f4cd6fdd49d38dc0749888bf4c5f9a4c2949db54a8196229f",
    "0201903501/ccf.cif": "b4569c98ddbe3a9a1d44bf7a46200e19e0748a1346518815321a3e14b62a89d2",
    "0404910601/1184_0404910601_SCX00000SUM.SAS":
        "7d8e4049b34340aa74c967d44eacc24955b9acd87decad274fd8e003c43c6984",
    "0404910601/calindex_from_mos1_exp1_clean_evts.fits":
        "02dbc16e4a625e20a1bd14c117a3eb0dc7a5ce77fd17d6c78cae12797d6ac453",
    "0404910601/ccf.cif": "0bbbcadfaa52e1c637f432f3f34815dd76c86bb17e63352c1b2d78bcea0c2a0c",
    "dumps/0201901401_ccf_cif.csv": "1672e443210941f4b7240a3a8c29cc7a7f51599c26827baccd91efe919e07402",
    "dumps/0201901401_evt_calindex.csv":
        "730c460d6d1997aae891e06d7f9a82525dc121ad82395c5f951bd1e93995fae9",
    "dumps/0201903501_ccf_cif.csv": "8a1a4192c7e5ddcd28f790a30bb8bff85ed07bafa5261eeaecddfd47c2ad5b91",
    "dumps/0201903501_evt_calindex.csv":
        "2318bca8ae0663079ee3f0d12691576d01d8762743f5348a375473e87daa02f1",
    "dumps/0404910601_ccf_cif.csv": "8c28e0de6df946b95f037a4f111ed81240b085e831b0c9f6f10f5273c3bcb7eb",
    "dumps/0404910601_evt_calindex.csv":
        "adcb9dfac579cf7c4d531be83648e9e8c49848dd4824b696f6f63e429da7bb16",
}
"""The samples directory: path -> sha256 (the table of the samples' README)."""

PRIMARY_KEYWORDS = ("TELESCOP", "INSTRUME", "OBS_ID", "EXP_ID", "DATE-OBS", "DATE-END", "REVOLUT",
                    "CREATOR", "DATE")
"""What a cut CALINDEX file keeps of the event list's primary header."""

EVENTS = "mos1_exp1_clean_evts.fits"
CUT = f"calindex_from_{EVENTS}"


class SamplesUnavailable(Exception):
    """No complete copy of the samples here, and none could be downloaded (the reason)."""


def complete(directory: Path) -> bool:
    """Whether ``directory`` holds every file of the samples (not checked by hash: a copy is
    trusted as the README's own table would be)."""
    return all((directory / rel).is_file() for rel in LAYOUT)


def candidates(env: Mapping[str, str], checkout: Path) -> list[Path]:
    """Where to look, in order: ``$REPROCAL_SAMPLES``, then ``../shared`` beside the checkout."""
    out = [Path(env["REPROCAL_SAMPLES"])] if env.get("REPROCAL_SAMPLES") else []
    return [*out, checkout.parent / "shared" / "data" / "xmm-cif-samples"]


def default_cache(env: Mapping[str, str]) -> Path:
    """``$REPROCAL_SAMPLES_CACHE``, else ``reprocal-samples`` in the user cache directory."""
    if env.get("REPROCAL_SAMPLES_CACHE"):
        return Path(env["REPROCAL_SAMPLES_CACHE"])
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "reprocal-samples"


def locate(env: Mapping[str, str], checkout: Path, cache: Path, *, timeout: float = 30) -> Path:
    """The samples: the first complete candidate, else a complete earlier download in
    ``cache``, else a new download there (from ``$REPROCAL_SAMPLES_URL`` if set, else
    :data:`BASE_URL`); :class:`SamplesUnavailable` saying where it looked and why the download
    failed."""
    for place in candidates(env, checkout):
        if complete(place):
            return place
    try:
        return download(cache, base_url=env.get("REPROCAL_SAMPLES_URL") or BASE_URL,
                        timeout=timeout)
    except SamplesUnavailable as exc:
        looked = ", ".join(str(p) for p in candidates(env, checkout))
        raise SamplesUnavailable(f"real samples not found (looked in {looked}) and not "
                                 f"downloadable: {exc}") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(cache: Path, *, base_url: str = BASE_URL, timeout: float = 30,
             originals: Mapping[str, str] = ORIGINALS) -> Path:
    """``cache/xmm-cif-samples``: the originals fetched by sha256 (kept in ``cache/originals``),
    the samples laid out and derived from them, every file checked against :data:`LAYOUT`.
    Made in a temporary directory and renamed into place, so a failed attempt leaves nothing
    that looks complete."""
    done = cache / "xmm-cif-samples"
    if complete(done):
        return done
    try:
        import pooch
    except ImportError:
        raise SamplesUnavailable("pooch is not installed (pip install -e '.[test]')") from None
    cache.mkdir(parents=True, exist_ok=True)
    fetcher = pooch.create(path=cache / "originals", base_url=base_url, retry_if_failed=0,
                           registry={p: f"sha256:{h}" for p, h in originals.items()})
    downloader = pooch.HTTPDownloader(timeout=timeout, progressbar=False)
    fetched: dict[str, Path] = {}
    for rel in originals:
        try:
            fetched[rel] = Path(fetcher.fetch(rel, downloader=downloader))
        except Exception as exc:  # requests' errors, pooch's hash mismatch (a ValueError)
            reason = " ".join(str(exc).split())[:300]
            raise SamplesUnavailable(f"{base_url}{rel}: {type(exc).__name__}: {reason}") from None
    work = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache))
    try:
        lay_out(fetched, work)
        for rel, want in LAYOUT.items():
            got = _sha256(work / rel)
            if got != want:
                raise SamplesUnavailable(f"{rel}: derived sha256 {got}, expected {want}")
        shutil.rmtree(done, ignore_errors=True)
        work.rename(done)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return done


def lay_out(originals: Mapping[str, Path], out: Path) -> None:
    """The samples directory from the originals: CIFs, ODF summaries and the one event list
    copied, the other two event lists cut to their CALINDEX, every table dumped to CSV."""
    for obs, rev in OBSERVATIONS.items():
        (out / obs).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(originals[f"{obs}/odf/ccf.cif"], out / obs / "ccf.cif")
        summary = f"{rev}_{obs}_SCX00000SUM.SAS"
        shutil.copyfile(originals[f"{obs}/odf/{summary}"], out / obs / summary)
        events = originals[f"{obs}/eclean/{EVENTS}"]
        if obs == "0201901401":
            shutil.copyfile(events, out / obs / EVENTS)
            table = out / obs / EVENTS
        else:
            table = cut_calindex(events, out / obs / CUT, obs_id=obs)
        (out / "dumps").mkdir(exist_ok=True)
        (out / "dumps" / f"{obs}_ccf_cif.csv").write_bytes(dump_calindex(out / obs / "ccf.cif"))
        (out / "dumps" / f"{obs}_evt_calindex.csv").write_bytes(dump_calindex(table))
    (out / "README.md").write_text(
        "# XMM-Newton CIF samples (downloaded)\n\n"
        f"Originals from {REPOSITORY} at commit {COMMIT} (BSD 3-Clause License, (c) David J "
        "Turner and the Contributors), checked by sha256; `calindex_from_*` and `dumps/` "
        "derived from them by tests/support/samples.py, with the sha256 of the shared copy.\n")


def cut_calindex(event_list: Path, out: Path, *, obs_id: str) -> Path:
    """A minimal FITS file: a primary HDU with a few of the event list's primary keywords and a
    note of where it came from, then a verbatim copy of its ``CALINDEX`` HDU."""
    from astropy.io import fits

    with fits.open(event_list) as hdul:
        primary = fits.PrimaryHDU()
        for key in PRIMARY_KEYWORDS:
            primary.header.append(hdul[0].header.cards[key])
        primary.header.add_comment("Derived by reprocal research: primary header keywords plus "
                                   "the CALINDEX HDU copied")
        primary.header.add_comment(f"from {REPOSITORY}@{COMMIT[:8]} tests/test_data/xmm/{obs_id}"
                                   f"/eclean/{EVENTS}")
        calindex = hdul["CALINDEX"]
        table = fits.BinTableHDU(data=calindex.data, header=calindex.header)
        buf = io.BytesIO()
        fits.HDUList([primary, table]).writeto(buf)
    out.write_bytes(buf.getvalue())
    return out


def dump_calindex(path: Path) -> bytes:
    """A CALINDEX table as CSV: ``#OBSVDATE=..,#ANALDATE=..,#CATEGORY=..``, the column names,
    then one row per constituent (strings stripped of FITS padding)."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        hdu = hdul["CALINDEX"]
        head = hdu.header
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow([f"#OBSVDATE={head['OBSVDATE']}", f"#ANALDATE={head['ANALDATE']}",
                         f"#CATEGORY={head['CATEGORY']}"])
        names = hdu.columns.names
        writer.writerow(names)
        for row in hdu.data:
            writer.writerow([v.strip() if isinstance(v, str) else v for v in (row[n] for n in names)])
    return text.getvalue().encode("ascii")


__all__ = ["BASE_URL", "COMMIT", "LAYOUT", "ORIGINALS", "REPOSITORY", "SamplesUnavailable",
           "candidates", "complete", "cut_calindex", "default_cache", "download", "dump_calindex",
           "lay_out", "locate"]
