"""Hostile inputs of ``campaign run``, ``campaign status`` and ``campaign resume``: the cluster
file (``--cluster``), the observation list (``--obs-list``), the ledger (``OUT/campaign.sqlite``)
and what sits at a product's name (``OUT/<obs_id>``).

Each is refused in one line (exit 2), or, for a product directory in the way, reported with the
observation failed (exit 1); nothing is written outside the case's place, no link is followed
out of it, and no cluster is started for a refused input.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from support.hostile import check

from reprocal.core._dates import CalDate
from reprocal.repo._repository import Repository
from reprocal.state._manifest import save_manifest
from reprocal.state._pin import ObsRequest, pin
from reprocal.testing._synthetic import generate

LABELS = ("0201901401", "0201903501")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small synthetic repository and the manifest of two observations pinned over it."""
    root = tmp_path_factory.mktemp("hostile-campaign")
    generate(root / "repo", seed=3, scale=1e-4, files=60)
    an = CalDate.parse("2020-01-01T00:00:00")
    with Repository(root / "repo", catalog=root / "catalog.sqlite") as repo:
        manifest, _ = pin(repo, [ObsRequest(LABELS[0], CalDate.parse("2004-05-09T13:00:16"), an),
                                 ObsRequest(LABELS[1], CalDate.parse("2014-06-17T10:20:58"), an)],
                          allow_incomplete=True)
    return root / "repo", save_manifest(manifest, root / "manifest.json")


def _run(state: tuple[Path, Path], box: Path, *extra: str | Path) -> list[str | Path]:
    repo, manifest = state
    return ["campaign", "run", manifest, "-o", box / "out", "--ccf-path", repo, *extra, "--",
            "true", "{obs_id}"]


CLUSTER_FILES: dict[str, bytes] = {
    "not-toml": b"this is not TOML\n",
    "binary": bytes(range(256)) * 8,
    "utf-16": 'kind = "slurm"\n'.encode("utf-16"),
    "empty": b"",
    "nested-100000-deep": b"kind = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "nested-table-deep": b"kind = \"slurm\"\n[job." + b".".join([b"a"] * 5000) + b"]\n",
    "5000-digit-integer": b'kind = "slurm"\njobs = ' + b"9" * 5000 + b"\n",
    "jobs-past-the-schema": b'kind = "slurm"\njobs = 1000000\n',
    "kind-not-a-string": b"kind = 1\n",
    "unknown-batch-system": b'kind = "lsf"\n',
    "unknown-key": b'kind = "slurm"\nsubmit_command = "rm -rf /"\n',
    "unknown-job-key": b'kind = "slurm"\n[job]\nsubmit_command_extra = ["; rm -rf /"]\n',
    "long-string": b'kind = "slurm"\n[job]\nqueue = "' + b"q" * 100_000 + b'"\n',
    "jobs-and-adapt": b'kind = "slurm"\njobs = 2\n[adapt]\nmaximum = 3\n',
    "adapt-inverted": b'kind = "slurm"\n[adapt]\nminimum = 9\nmaximum = 3\n',
    "nul-byte": b'kind = "slurm\x00"\n',
}


@pytest.mark.parametrize("payload", sorted(CLUSTER_FILES))
def test_a_hostile_cluster_file_is_one_line_and_starts_nothing(runner, box, outside, state,  # type: ignore[no-untyped-def]
                                                               payload: str) -> None:
    path = box / "cluster.toml"
    path.write_bytes(CLUSTER_FILES[payload])
    r = runner(*_run(state, box, "--cluster", path), cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, seconds=10, says=str(path))
    assert len(r.stderr) < 500
    assert not (box / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "symlink-to-fifo", "missing"])
def test_a_cluster_file_that_is_not_a_regular_file_is_refused_before_reading(  # type: ignore[no-untyped-def]
        runner, box, outside, state, kind: str) -> None:
    path = box / "cluster.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    elif kind == "symlink-to-fifo":
        os.mkfifo(box / "pipe")
        path.symlink_to(box / "pipe")
    r = runner(*_run(state, box, "--cluster", path), cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, seconds=10)
    assert not (box / "out").exists()


def test_a_cluster_file_past_the_document_limit_is_refused(runner, box, outside, state) -> None:  # type: ignore[no-untyped-def]
    path = box / "cluster.toml"
    path.write_text('kind = "slurm"\n' + "# padding\n" * 200)
    r = runner("--limit", "document-size=1KiB", *_run(state, box, "--cluster", path), cwd=box,
               env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, says="larger than the limit of 1024 bytes")


OBS_LISTS: dict[str, str] = {
    "label-not-pinned": "obs_id\n0999999999\n",
    "label-dotdot": "obs_id\n..\n",
    "label-path": "obs_id\n../../outside\n",
    "label-empty": "obs_id,odf\n,x\n",
    "duplicate": f"obs_id\n{LABELS[0]}\n{LABELS[0]}\n",
    "no-obs_id-column": "odf\nx\n",
    "unknown-column": f"obs_id,shell\n{LABELS[0]},rm\n",
    "other-obs-date": f"obs_id,obs_date\n{LABELS[0]},2001-01-01T00:00:00\n",
    "bad-date": f"obs_id,analysis_date\n{LABELS[0]},2004-13-45\n",
    "header-only": "obs_id\n",
    "empty": "",
    "binary": "\x00\x01\x02\n",
}


@pytest.mark.parametrize("payload", sorted(OBS_LISTS))
def test_a_hostile_observation_list_is_one_line(runner, box, outside, state,  # type: ignore[no-untyped-def]
                                                payload: str) -> None:
    path = box / "obs.csv"
    path.write_text(OBS_LISTS[payload])
    r = runner(*_run(state, box, "--obs-list", path), cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, seconds=10)
    assert not (box / "out").exists()


def _ledger(box: Path, kind: str, outside: Path) -> None:
    out = box / "out"
    out.mkdir()
    ledger = out / "campaign.sqlite"
    if kind == "fifo":
        os.mkfifo(ledger)
    elif kind == "directory":
        ledger.mkdir()
    elif kind == "text":
        ledger.write_text("not a database\n" * 10)
    elif kind == "symlink-outside":
        ledger.symlink_to(outside / "victim.txt")
    elif kind == "other-database":
        with sqlite3.connect(ledger) as db:
            db.execute("CREATE TABLE t (x)")
    elif kind == "other-kind":
        with sqlite3.connect(ledger) as db:
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("INSERT INTO meta VALUES ('kind', 'something-else')")
    elif kind == "future-schema":
        with sqlite3.connect(ledger) as db:
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("INSERT INTO meta VALUES ('kind', 'reprocal-campaign')")
            db.execute("INSERT INTO meta VALUES ('schema', '99')")
    elif kind == "damaged":
        ledger.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)


LEDGERS = ["fifo", "directory", "text", "symlink-outside", "other-database", "other-kind",
           "future-schema", "damaged"]


@pytest.mark.parametrize("kind", LEDGERS)
@pytest.mark.parametrize("command", ["status", "resume", "run"])
def test_a_hostile_ledger_is_refused_in_one_line(runner, box, outside, state, kind: str,  # type: ignore[no-untyped-def]
                                                 command: str) -> None:
    """Never opened as a database unless it is one of ours; never written through a link."""
    _ledger(box, kind, outside.root)
    argv = (["campaign", command, box / "out"] if command != "run" else _run(state, box))
    r = runner(*argv, cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, seconds=10)
    assert not (box / "out" / "0201901401").exists()


@pytest.mark.parametrize("kind", ["symlink-outside", "file", "foreign-directory"])
def test_something_at_a_products_name_is_never_replaced(runner, box, outside, state,  # type: ignore[no-untyped-def]
                                                        kind: str) -> None:
    """OUT/<obs_id> that this campaign did not make (a link out, a file, someone's directory)
    is left as it is and the observation reported failed, naming it (exit 1); with both
    observations blocked no cluster is started at all."""
    out = box / "out"
    out.mkdir()
    for label in LABELS:
        target = out / label
        if kind == "symlink-outside":
            target.symlink_to(outside.root)
        elif kind == "file":
            target.write_text("mine\n")
        else:
            target.mkdir()
            (target / "notes.txt").write_text("mine\n")
    r = runner(*_run(state, box), cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 1, outside=outside, lines=None, seconds=10)
    for label in LABELS:
        assert f"reprocal: {label} not run: {out / label} is in the way" in r.stderr
    assert "Traceback" not in r.stderr
    if kind == "file":
        assert (out / LABELS[0]).read_text() == "mine\n"
    elif kind == "foreign-directory":
        assert sorted(p.name for p in (out / LABELS[0]).iterdir()) == ["notes.txt"]
