"""Synthetic repositories: the real types, realistic histories, deterministic bytes, valid FITS."""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import attrs
import pytest
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import select
from reprocal.errors import InputError
from reprocal.fits._headers import read_constituent
from reprocal.testing._synthetic import (
    BLOCK,
    ccf_types,
    corrupt,
    generate,
    min_size,
    plan,
    replay,
    touch_all,
    truncate,
    write_constituent,
)

ROOT = Path(__file__).resolve().parent.parent


def _digests(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def _by_type(constituents) -> dict[tuple[str, str], list[Constituent]]:  # type: ignore[no-untyped-def]
    groups: dict[tuple[str, str], list[Constituent]] = collections.defaultdict(list)
    for c in constituents:
        groups[c.key].append(c)
    return {k: sorted(v, key=lambda c: c.issue) for k, v in groups.items()}


def _dump_rows(samples: Path) -> list[tuple[str, dict[str, str]]]:
    """Every row of the real CALINDEX dumps, with the dump's CATEGORY."""
    out = []
    for path in sorted((samples / "dumps").glob("*.csv")):
        with open(path, newline="") as f:
            meta = dict(item.lstrip("#").split("=", 1) for item in f.readline().strip().split(","))
            out.extend((meta["CATEGORY"], row) for row in csv.DictReader(f))
    return out


# --- the table of real types ---------------------------------------------------------------


def test_types_table_has_the_118_real_types_with_valid_extnames() -> None:
    """118 distinct types; every extension name is a legal FITS EXTNAME (printable, <= 68)."""
    types = ccf_types()
    assert len(types) == 118 == len({t.key for t in types})
    assert sum(t.sliced for t in types) == 11
    for t in types:
        assert t.extnames, t.key
        assert len(set(t.extnames)) == len(t.extnames), t.key
        for name in t.extnames:
            assert re.fullmatch(r"[\x21-\x7e]{1,68}", name), (t.key, name)
            fits.Card("EXTNAME", name).verify("exception")
        assert t.fsize % BLOCK == 0 and t.max_issue >= 1


def test_types_table_matches_the_real_dumps(samples: Path) -> None:
    """The table is what the real CALINDEX dumps say: sliced = some row has VALDATE-END;
    extensions, size and issue are those of the newest issue seen."""
    rows: dict[tuple[str, str], list[dict[str, str]]] = collections.defaultdict(list)
    for _category, row in _dump_rows(samples):
        rows[(row["SCOPE"], row["TYPEID"])].append(row)
    assert {t.key for t in ccf_types()} == set(rows)
    for t in ccf_types():
        newest = max(rows[t.key], key=lambda r: int(r["ISSUE"]))
        assert t.sliced == any(r["VALDATE-END"].strip() for r in rows[t.key]), t.key
        assert t.extseqid == newest["EXTSEQID"].strip(), t.key
        assert (t.fsize, t.max_issue) == (int(newest["FSIZE"]), int(newest["ISSUE"])), t.key


# --- the plan (pure) -----------------------------------------------------------------------


def _check_history(
    planned: tuple[Constituent, ...], start: str = "1998-01-01", end: str = "2026-11-01",
) -> None:
    sliced = {t.key for t in ccf_types() if t.sliced}
    first, last = CalDate.parse(start), CalDate.parse(end)
    for key, issues in _by_type(planned).items():
        assert [c.issue for c in issues] == list(range(1, len(issues) + 1)), key
        subs = [c.subdate for c in issues]
        assert subs == sorted(subs) and len(set(subs)) == len(subs), key  # submitted in turn
        assert all(first <= c.subdate <= last for c in issues), key
        assert all(first <= c.valdate <= last for c in issues), key
        assert all(c.date is not None and first <= c.date <= c.subdate for c in issues), key
        if key in sliced:
            for a, b in zip(issues, issues[1:], strict=False):
                assert a.evaldate is not None and a.valdate <= a.evaldate, (key, a.issue)
                gap = b.valdate.to_datetime() - a.evaldate.to_datetime()
                assert gap.total_seconds() == 1, (key, a.issue)
            assert issues[-1].evaldate is None, key  # the newest slice is open
        else:
            assert all(c.evaldate is None for c in issues), key
        for c in issues:
            assert c.fsize is not None and c.fsize % BLOCK == 0
            assert c.fsize >= min_size(c.extseqid.split())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), files=st.integers(118, 400))
def test_histories_tile_and_are_submitted_in_turn(seed: int, files: int) -> None:
    """For any seed: issues 1..n, SUBDATEs strictly increasing with the issue, sliced types
    tiling time with 1-second gaps and an open newest slice, the others open-ended."""
    planned = plan(seed=seed, scale=1e-4, files=files)
    assert len(planned) == files
    assert {c.key for c in planned} == {t.key for t in ccf_types()}
    _check_history(planned)


def test_full_scale_plan_has_the_real_archive_shape() -> None:
    """scale=1.0: ~1550 files, ~4 GB, most small, the largest ~70 MB; real-looking dates."""
    planned = plan(seed=0, scale=1.0)
    sizes = [c.fsize or 0 for c in planned]
    assert 1450 <= len(planned) <= 1650
    assert 3.6e9 <= sum(sizes) <= 4.5e9
    assert 60e6 <= max(sizes) <= 70e6
    assert statistics.median(sizes) < 200_000
    _check_history(planned)
    # the real pattern of reprocessing reissues: a late issue valid from the first issue's date
    groups = _by_type(planned)
    reach_back = [
        c for issues in groups.values() for c in issues[1:]
        if c.evaldate is None and c.valdate == issues[0].valdate
        and c.subdate >= CalDate.parse("2010-01-01")
    ]
    assert len(reach_back) > 50
    # VALDATE is typically before SUBDATE
    assert sum(c.valdate <= c.subdate for c in planned) > 0.9 * len(planned)
    assert {c.category for c in planned} == {"XMMCCF"}


def test_scale_multiplies_sizes_not_the_count() -> None:
    """Two scales give the same names and dates, and sizes in proportion (down to the floor)."""
    big, small = plan(seed=2, scale=1.0), plan(seed=2, scale=0.01)
    assert [attrs.evolve(c, fsize=None) for c in big] == [
        attrs.evolve(c, fsize=None) for c in small
    ]
    for b, s in zip(big, small, strict=True):
        floor = min_size(b.extseqid.split())
        assert s.fsize == max(floor, round((b.fsize or 0) * 0.01 / BLOCK) * BLOCK) or (
            abs((s.fsize or 0) - (b.fsize or 0) * 0.01) <= BLOCK
        )


@pytest.mark.parametrize("files", [1, 7, 117, 118, 119, 150, 1000, 2000])
def test_files_sets_the_count(files: int) -> None:
    """``files`` is the exact file count; below 118 it picks a subset of types."""
    planned = plan(seed=4, scale=1e-4, files=files)
    assert len(planned) == files
    assert len({c.key for c in planned}) == min(files, 118)


@pytest.mark.parametrize(
    ("start", "end"),
    [("1998-01-01", "2003-06-30"), ("1999-12-20", "2000-01-19"), ("2020-01-01", "2020-01-31")],
)
def test_start_and_end_bound_every_date(start: str, end: str) -> None:
    """Short histories, even of 30 days, keep every date inside [start, end] and still tile."""
    planned = plan(seed=5, scale=1e-4, files=600, start=start, end=end)
    _check_history(planned, start=start, end=end)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": 0}, "scale=0: must be a positive size factor"),
        ({"files": 0}, "files=0: a repository needs at least one file"),
        ({"start": "2010-01-01", "end": "2005-01-01"},
         "end '2005-01-01' is not at least 30 days after start '2010-01-01'"),
        ({"start": "2010-01-01", "end": "2010-01-30T23:59:59"},
         "end '2010-01-30T23:59:59' is not at least 30 days after start '2010-01-01'"),
        ({"end": "2026-13-01"},
         "end: '2026-13-01' has month 13; expected 01..12"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Bad parameters raise an InputError with one clear line."""
    with pytest.raises(InputError) as err:
        plan(**kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


# --- the files -----------------------------------------------------------------------------


def test_generate_is_deterministic_and_seeded(tmp_path: Path) -> None:
    """The same seed writes the same bytes in two directories; another seed differs."""
    a = generate(tmp_path / "a", seed=11, scale=1e-4, files=25)
    b = generate(tmp_path / "b", seed=11, scale=1e-4, files=25)
    c = generate(tmp_path / "c", seed=12, scale=1e-4, files=25)
    assert _digests(a.root) == _digests(b.root)
    assert a.constituents == b.constituents
    assert _digests(a.root) != _digests(c.root)


def test_bytes_do_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    """Another process with another PYTHONHASHSEED writes the same bytes."""
    mine = generate(tmp_path / "here", seed=3, scale=1e-4, files=12)
    code = (
        "import sys; from reprocal.testing._synthetic import generate; "
        "generate(sys.argv[1], seed=3, scale=1e-4, files=12)"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], env=env, check=True)
    assert _digests(mine.root) == _digests(tmp_path / "there")


# Golden values: a change here changes every synthetic repository (benchmarks, demo, other
# helpers' expectations). Update them only on purpose, and say so in the commit message.
GOLDEN_PLAN = "cb830c9fcb74a9f2227bab76065bdf8ddd7be8f4ec613d703cfd1c24acd8104c"
GOLDEN_BYTES = "b2f96a255385415acacf845aada82af5bc6802d3f0cc1708e3d5adbd75e533f2"


def test_golden_plan_and_bytes(tmp_path: Path) -> None:
    """The full-scale plan of seed 0 and the bytes of a 6-file repository are pinned: the same
    on every machine and Python version."""
    text = "\n".join(
        f"{c.filename} {c.valdate} {c.evaldate} {c.subdate} {c.date} {c.creator} {c.extseqid} "
        f"{c.md5} {c.fsize}"
        for c in plan(seed=0, scale=1.0)
    )
    assert hashlib.sha256(text.encode()).hexdigest() == GOLDEN_PLAN
    repo = generate(tmp_path / "g", seed=0, scale=1e-4, files=6)
    h = hashlib.sha256()
    for name, path in sorted(repo.paths.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    assert h.hexdigest() == GOLDEN_BYTES


def test_every_real_type_is_present(synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """The shared tiny repository holds every type of the table, 150 files."""
    assert len(synthetic_repo.constituents) == len(synthetic_repo.paths) == 150
    assert {c.key for c in synthetic_repo.constituents} == {t.key for t in ccf_types()}
    assert sorted(p.name for p in synthetic_repo.root.iterdir()) == sorted(synthetic_repo.paths)


def test_headers_read_back_as_planned(synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """read_constituent on every file gives exactly the returned constituent, size included."""
    for c in synthetic_repo.constituents:
        path = synthetic_repo.paths[c.filename]
        assert read_constituent(path) == c
        assert path.stat().st_size == c.fsize and c.fsize % BLOCK == 0


def test_files_are_valid_checksummed_fits(synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """CHECKSUM/DATASUM on every HDU verify (warnings are errors here); one binary table per
    EXTSEQID name, in order; EVALDATE only when closed; the reconstructed header keywords."""
    for c in synthetic_repo.constituents:
        with fits.open(synthetic_repo.paths[c.filename], checksum=True) as hdul:
            for hdu in hdul:
                assert "CHECKSUM" in hdu.header and "DATASUM" in hdu.header
                _ = hdu.data
            head = hdul[0].header
            assert [h.header["EXTNAME"] for h in hdul[1:]] == c.extseqid.split()  # case kept
            assert all(len(h.data) >= 1 for h in hdul[1:])  # every table has rows
            assert all(isinstance(h, fits.BinTableHDU) for h in hdul[1:])
            assert ("EVALDATE" in head) == (c.evaldate is not None)
            assert head["TELESCOP"] == "XMM" and head["EXTSEQU"] == "ANY"
            assert isinstance(head["ISSUE"], int) and head["CATEGORY"] == "XMMCCF"
            assert head["SCOPE"] == c.scope and head["TYPEID"] == c.typeid


def test_no_temporary_files_are_left(synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """Atomic writes leave no ``.part`` file behind."""
    assert not [p for p in synthetic_repo.root.iterdir() if not p.name.endswith(".CCF")]


def test_selected_applies_the_cifbuild_rule(synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """``.selected`` is reprocal.core._select over the repository: one winner per eligible type."""
    got = synthetic_repo.selected("2004-05-09T13:00:16", "2018-07-27T17:25:14")
    want = select(synthetic_repo.constituents, CalDate.parse("2004-05-09T13:00:16"),
                  CalDate.parse("2018-07-27T17:25:14"))
    assert got.chosen == want.chosen
    assert 80 <= len(got) <= 118


def test_progress_is_told_about_each_file(tmp_path: Path) -> None:
    """``progress.update(1)`` per file written."""

    class Count:
        n = 0

        def update(self, n: int = 1) -> None:
            Count.n += n

    generate(tmp_path / "r", seed=0, scale=1e-4, files=5, progress=Count())
    assert Count.n == 5


def test_write_refuses_a_size_too_small_for_its_hdus(tmp_path: Path) -> None:
    """A size below a header and a row per table (or not a multiple of 2880) is refused."""
    c = Constituent(ConstituentName("EPN", "CTI", 1), valdate="2000-01-01",
                    extseqid="CTI CTI_EXTENDED", fsize=4 * BLOCK)
    with pytest.raises(InputError) as err:
        write_constituent(tmp_path / c.filename, c)
    assert str(err.value) == (
        "EPN_CTI_0001.CCF: size 11520 is not a multiple of 2880 of at least 14400 bytes "
        "(a header block per HDU, a data block per extension)"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_file_without_extensions_carries_its_data_in_the_primary(tmp_path: Path) -> None:
    """An empty EXTSEQID: a single HDU of the requested size."""
    c = Constituent(ConstituentName("XMM", "MISCDATA", 3), valdate="2000-01-01",
                    fsize=3 * BLOCK)
    assert write_constituent(tmp_path / c.filename, c) == 3 * BLOCK
    with fits.open(tmp_path / c.filename, checksum=True) as hdul:
        assert len(hdul) == 1 and hdul[0].data.size == 2 * BLOCK
    assert read_constituent(tmp_path / c.filename) == c


# --- replay --------------------------------------------------------------------------------


def test_replay_keeps_the_real_rows_metadata_exactly(samples: Path, tmp_path: Path) -> None:
    """Replaying the real CALINDEX rows writes files whose headers say exactly those rows;
    sizes are FSIZE * scale in blocks, at least one block per HDU."""
    rows: dict[str, Constituent] = {}
    for category, r in _dump_rows(samples):
        c = Constituent(
            name=ConstituentName(r["SCOPE"], r["TYPEID"], int(r["ISSUE"])),
            valdate=r["VALDATE"], evaldate=r["VALDATE-END"].strip() or None,
            subdate=r["SUBDATE"], date=r["DATE"], category=category, telescop=r["TELESCOP"],
            creator=r["CREATOR"].strip(), extsequ=r["EXTSEQU"].strip(),
            extseqid=r["EXTSEQID"].strip(), md5=r["MD5"], fsize=int(r["FSIZE"]),
        )
        rows.setdefault(c.filename, c)
    repo = replay(tmp_path / "ccf", rows.values(), scale=1e-4, seed=0)
    assert len(repo.constituents) == len(rows) > 118
    for c in repo.constituents:
        row = rows[c.filename]
        want_size = max(min_size(row.extseqid.split()),
                        round((row.fsize or 0) * 1e-4 / BLOCK) * BLOCK)
        assert c == attrs.evolve(row, fsize=want_size)  # MD5 kept, as the header keyword
        assert read_constituent(repo.paths[c.filename]) == c


def test_replay_refuses_a_name_given_twice(tmp_path: Path) -> None:
    """Two rows for one file name: refused before anything is written."""
    row = Constituent(ConstituentName("EPN", "CTI", 1), valdate="2000-01-01", extseqid="CTI")
    with pytest.raises(InputError) as err:
        replay(tmp_path / "ccf", [row, row])
    assert str(err.value) == "EPN_CTI_0001.CCF: given twice; replay writes one file per name"
    assert not (tmp_path / "ccf").exists()


# --- tampering helpers ---------------------------------------------------------------------


def test_tampering_helpers(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """corrupt() breaks only a data checksum; truncate() cuts; touch_all() sets every mtime."""
    root = tmp_path / "ccf"
    shutil.copytree(synthetic_repo.root, root)
    victim = root / synthetic_repo.constituents[0].filename
    before = victim.read_bytes()
    offset = corrupt(victim)
    after = victim.read_bytes()
    assert len(after) == len(before)
    assert [i for i in range(len(before)) if before[i] != after[i]] == [offset]
    assert read_constituent(victim) == synthetic_repo.constituents[0]  # header untouched
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(victim, checksum=True) as hdul:
            [h.data for h in hdul]
    assert {type(w.message) for w in caught} == {AstropyUserWarning}
    assert sorted(str(w.message).split(" verification")[0] for w in caught) == [
        "Checksum", "Datasum"]
    truncate(victim, 1000)
    assert victim.stat().st_size == 1000
    assert touch_all(root, mtime=1_000_000_000.0) == 150
    assert {p.stat().st_mtime for p in root.iterdir()} == {1_000_000_000.0}


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=BLOCK, max_size=BLOCK), rows=st.integers(0, 2))
def test_checksums_agree_with_astropy_for_any_bytes(data: bytes, rows: int) -> None:
    """The hand-rolled CHECKSUM/DATASUM of an HDU verify with astropy, whatever the bytes."""
    from reprocal.testing._ccfwrite import _ext_header, _hdu_bytes

    payload = data * rows
    raw = fits.PrimaryHDU()
    raw.add_checksum()
    head = _hdu_bytes(_ext_header("X-1.a", rows), payload, "2001-02-03T04:05:06")
    blob = raw.header.tostring().encode() + head + payload
    with fits.open(io.BytesIO(blob), checksum=True) as hdul:
        assert hdul[1].header["EXTNAME"] == "X-1.a"
        assert hdul[1].header["DATASUM"] == str(sum_check(payload))
        assert hdul[1].data.shape == (rows,)


def sum_check(payload: bytes) -> int:
    """Reference ones' complement sum, the slow obvious way."""
    total = 0
    for i in range(0, len(payload), 4):
        total += int.from_bytes(payload[i:i + 4], "big")
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total
