"""One progress protocol: the fetch engine, the hashing, verify and index loops all report
through it; the library never imports tqdm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.progress import RecordingProgress
from support.servers import MirrorServer, make_files

from reprocal.fetch._engine import fetch, part_path
from reprocal.fetch._mirrors import parse_mirror
from reprocal.fs._hashing import hash_files
from reprocal.progress import NullProgress, Progress
from reprocal.repo._catalog import Catalog
from reprocal.repo._verify import Expected, verify_files


def _accepts(progress: Progress) -> Progress:
    return progress  # mypy checks that both implement the protocol


def test_null_and_recording_progress_implement_the_protocol() -> None:
    """The library's default and a display both answer start, update and finished."""
    for p in (_accepts(NullProgress()), _accepts(RecordingProgress())):
        p.start(10, items=2)
        p.update(3)
        p.finished("EPN_CTI_0045.CCF")


@pytest.mark.network
def test_fetch_engine_reports_through_the_protocol(tmp_path: Path) -> None:
    """start(bytes to receive, items=files to fetch) once, under the lock; update(n) per chunk,
    summing to the bytes received; finished(name) once per file fetched. A .part prefix of an
    earlier run is not counted again; files already present are not files to fetch."""
    items = make_files(tmp_path / "mirror", 6)
    dest = tmp_path / "repo"
    dest.mkdir()
    (tmp_path / "repo" / items[0].filename).write_bytes(
        (tmp_path / "mirror" / items[0].filename).read_bytes())  # already present
    prefix = (tmp_path / "mirror" / items[1].filename).read_bytes()[:1000]
    part_path(dest, items[1].filename).write_bytes(prefix)  # resumed from byte 1000
    progress = RecordingProgress()
    with MirrorServer(tmp_path / "mirror") as server:
        report = fetch(items, dest, [parse_mirror(server.url)], jobs=3, progress=progress,
                       sleep=lambda _s: None)
    assert report.ok and report.count("fetched") == 5
    to_receive = sum(i.size or 0 for i in items[1:]) - len(prefix)
    assert progress.starts == [(to_receive, 5)]
    assert progress.done == to_receive == report.bytes
    assert sorted(progress.finished_items) == sorted(i.filename for i in items[1:])


def test_hashing_verify_and_index_loops_report_through_the_protocol(synthetic_repo,
                                                                     tmp_path: Path) -> None:
    """update(1) per file hashed, verified or indexed."""
    paths = sorted(synthetic_repo.paths.values())[:7]
    hashing = RecordingProgress()
    digests = hash_files(paths, jobs=2, progress=hashing)
    assert hashing.updates == [1] * 7
    verifying = RecordingProgress()
    expected = [Expected(Path(p).name, Path(p).stat().st_size, digests[str(p)]) for p in paths]
    assert verify_files(expected, [synthetic_repo.root], level="full", progress=verifying).ok
    assert verifying.done == 7
    indexing = RecordingProgress()
    with Catalog(tmp_path / "c.sqlite") as cat:
        report = cat.refresh([synthetic_repo.root], progress=indexing)
    assert indexing.done == report.scanned == len(synthetic_repo.paths)


def test_the_library_never_imports_tqdm() -> None:
    """Every stage below the CLI imports without tqdm: the bar belongs to the CLI."""
    code = ("import sys, reprocal, reprocal.fs, reprocal.fits, reprocal.repo, reprocal.state, "
            "reprocal.fetch, reprocal.image, reprocal.provenance, reprocal.audit, "
            "reprocal.bundle, reprocal.testing; print('tqdm' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
