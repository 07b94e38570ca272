"""The mirror history: its format (schema, sequence, hash chain), appends that survive being cut,
damage named by line, and the questions it answers (held on a date, withdrawals, arrivals)."""

from __future__ import annotations

import functools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._dates import CalDate
from reprocal.errors import RepositoryError
from reprocal.fs._json import load_schema
from reprocal.repo._history import SCHEMA_FILE, history_path, read_history, record_problem
from reprocal.repo._historylog import HistoryLog

D = CalDate.parse
MIRROR = "rsync://mirror.example.org/XMM_CCF/"
SHA = "ab" * 32
LISTING = {"kind": "rsync", "entries": 2, "source": MIRROR}


def clock_at(*days: str):  # type: ignore[no-untyped-def]
    """A clock that gives each of ``days`` in turn, then stays on the last."""
    seq = [D(d) for d in days]

    def now() -> CalDate:
        return seq.pop(0) if len(seq) > 1 else seq[0]
    return now


def started(log: HistoryLog) -> None:
    log.append("sync-started", mirror=MIRROR, listing=LISTING, subset="all", mirror_set="full",
               deep=False, reprocal="test")


def write_days(d: Path) -> None:
    """Three syncs: two files arrive; one is withdrawn; it is listed again and a third arrives."""
    with HistoryLog(d, run="s1", clock=clock_at("2014-04-20")) as log:
        started(log)
        log.extend([("listed", {"name": n, "mirror": MIRROR, "size": 2880, "mtime": None})
                    for n in ("EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF")])
        for n in ("EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF"):
            log.append("arrived", name=n, size=2880, sha256=SHA, mirror=MIRROR, checked="fits")
        log.append("sync-finished", counts={"arrived": 2}, failed=[], seconds=0.1)
    with HistoryLog(d, run="s2", clock=clock_at("2014-06-01")) as log:
        started(log)
        log.append("withdrawn", name="EPN_CTI_0002.CCF", mirror=MIRROR,
                   last_listed="2014-04-20T00:00:00")
        log.append("sync-finished", counts={"withdrawn": 1}, failed=[], seconds=0.1)
    with HistoryLog(d, run="s3", clock=clock_at("2014-07-01")) as log:
        started(log)
        log.append("listed", name="EPN_CTI_0002.CCF", mirror=MIRROR, size=2880, mtime=None)
        log.append("arrived", name="EPN_CTI_0003.CCF", size=5760, sha256=SHA, mirror=MIRROR,
                   checked="fits")
        log.append("sync-finished", counts={"arrived": 1}, failed=[], seconds=0.1)


def test_questions_the_history_answers(tmp_path: Path) -> None:
    """Held on a date, withdrawal periods (ended by a new listing), first arrivals, syncs."""
    write_days(tmp_path)
    h = read_history(tmp_path)
    assert set(h.held_on(D("2014-05-01")).files) == {"EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF"}
    assert set(h.held_on(D("2014-07-01")).files) == {"EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF",
                                                     "EPN_CTI_0003.CCF"}
    before = h.held_on(D("2014-01-01"))
    assert before.files == {} and not before.known
    (w,) = h.withdrawals()
    assert (w.name, w.since, w.until, w.last_listed) == (
        "EPN_CTI_0002.CCF", D("2014-06-01"), D("2014-07-01"), D("2014-04-20"))
    assert h.arrivals()["EPN_CTI_0003.CCF"].since == D("2014-07-01")
    assert [s.run for s in h.syncs()] == ["s1", "s2", "s3"] and all(s.finished for s in h.syncs())
    assert h.listing(MIRROR) == {"EPN_CTI_0001.CCF": (2880, None), "EPN_CTI_0002.CCF": (2880, None)}
    assert h.listing("https://elsewhere/") is None


def test_every_record_written_passes_the_published_schema(tmp_path: Path) -> None:
    """Each line is one record the JSON Schema accepts, with consecutive seq and a hash chain."""
    write_days(tmp_path)
    validator = jsonschema.Draft202012Validator(load_schema(SCHEMA_FILE))
    lines = history_path(tmp_path).read_bytes().splitlines()
    import hashlib
    for i, line in enumerate(lines):
        doc = json.loads(line)
        assert validator.is_valid(doc), list(validator.iter_errors(doc))
        assert doc["seq"] == i + 1
        assert doc["prev"] == (hashlib.sha256(lines[i - 1]).hexdigest() if i else None)


def test_check_jsonschema_accepts_the_schema_and_a_history(tmp_path: Path) -> None:
    """The schema passes check-jsonschema's metaschema check; every line of a real history
    validates with check-jsonschema too."""
    schema = Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILE
    exe = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(exe), "--check-metaschema", str(schema)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    write_days(tmp_path)
    docs = []
    for i, line in enumerate(history_path(tmp_path).read_text().splitlines()):
        p = tmp_path / f"record{i}.json"
        p.write_text(line)
        docs.append(str(p))
    done = subprocess.run([str(exe), "--schemafile", str(schema), *docs], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- appends cut short -------------------------------------------------------------------------


def test_a_torn_last_line_is_ignored_then_recorded(tmp_path: Path) -> None:
    """A writer killed mid-line leaves bytes without a newline: readers ignore them; the next
    writer keeps them, terminates them and says so with a torn record; the chain goes on."""
    write_days(tmp_path)
    path = history_path(tmp_path)
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'{"event":"arrived","name":"EPN_CTI_00')
    h = read_history(tmp_path)
    assert len(h.records) == good.count(b"\n") and h.torn[0].repaired is False
    with HistoryLog(tmp_path, run="s4", clock=clock_at("2014-08-01")) as log:
        log.append("lost", name="EPN_CTI_0001.CCF")
    assert path.read_bytes().startswith(good)  # never rewritten
    h = read_history(tmp_path)
    assert [r["event"] for r in h.records[-2:]] == ["torn", "lost"]
    assert h.torn[0].repaired and "EPN_CTI_0001.CCF" not in h.held()


def test_a_kill_9_in_the_middle_of_appends_leaves_a_readable_history(tmp_path: Path) -> None:
    """A real process appending records as fast as it can, killed with SIGKILL: what it left
    reads (every whole line a record), and a new writer continues the chain."""
    code = (
        "import sys\n"
        "from reprocal.core._dates import CalDate\n"
        "from reprocal.repo._historylog import HistoryLog\n"
        "log = HistoryLog(sys.argv[1], run='k', clock=lambda: CalDate.parse('2020-01-01'))\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    log.extend([('listed', {'name': f'EPN_T{i % 9999:04d}_0001.CCF', 'mirror': 'm' * 2000,"
        " 'size': i, 'mtime': None})] * 50)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    while not history_path(tmp_path).exists() or history_path(tmp_path).stat().st_size < 2_000_000:
        pass
    proc.kill()
    proc.wait()
    proc.stdout.close()
    h = read_history(tmp_path)
    assert len(h.records) > 100
    with HistoryLog(tmp_path, run="after", clock=clock_at("2020-01-02")) as log:
        log.append("lost", name="EPN_CTI_0001.CCF")
    assert read_history(tmp_path).records[-1]["event"] == "lost"


def test_a_full_disk_mid_append_is_a_local_error_and_the_state_stays_true(tmp_path: Path,
                                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The disk refusing an append is one error (exit 7) naming the history; the writer's view
    is re-read, so nothing it did not write is believed written."""
    import errno

    from reprocal.errors import LocalIOError
    from reprocal.fs import _appendlog

    write_days(tmp_path)
    real = os.pwrite
    calls = []

    def half(fd, data, offset):  # type: ignore[no-untyped-def]
        calls.append(len(data))
        if len(calls) == 1:
            return real(fd, bytes(data[:10]), offset)  # some bytes, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    with HistoryLog(tmp_path, run="full", clock=clock_at("2014-08-01")) as log:
        monkeypatch.setattr(_appendlog.os, "pwrite", half)
        with pytest.raises(LocalIOError, match="cannot append to the mirror history: No space"):
            log.append("lost", name="EPN_CTI_0001.CCF")
        monkeypatch.setattr(_appendlog.os, "pwrite", real)
        assert log.history.tail_lines == 1
        log.append("lost", name="EPN_CTI_0002.CCF")
    h = read_history(tmp_path)
    assert [r["event"] for r in h.records[-2:]] == ["torn", "lost"]
    assert "EPN_CTI_0001.CCF" in h.held() and "EPN_CTI_0002.CCF" not in h.held()


# --- damage --------------------------------------------------------------------------------------


def _edit(n: int, fn):  # type: ignore[no-untyped-def]
    def edit(lines: list[bytes]) -> list[bytes]:
        lines[n] = fn(lines[n])
        return lines
    return edit


def _json(fn):  # type: ignore[no-untyped-def]
    def edit(line: bytes) -> bytes:
        doc = json.loads(line)
        fn(doc)
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return edit


DAMAGE = [
    ("a line edited (the chain breaks at the next)", _edit(2, _json(lambda d: d.update(size=1))),
     "line 4: its prev is not the sha256 of the line before (a line was edited, removed or reordered)"),
    ("a line removed", lambda ls: ls[:3] + ls[4:], "line 4: record 5 follows record 3"),
    ("two lines swapped", lambda ls: [ls[0], ls[2], ls[1], *ls[3:]],
     "line 2: record 3 follows record 1"),
    ("garbage in the middle", lambda ls: [*ls[:3], b"not json", *ls[3:]],
     "line 4: not a record, and no torn record after it"),
    ("a record of another schema", _edit(0, _json(lambda d: d.update(schema="other/1"))),
     "line 1: 'schema' is 'other/1'"),
    ("an unknown event", _edit(1, _json(lambda d: d.update(event="deleted"))),
     "line 2: 'event' is 'deleted'"),
    ("a field of another type", _edit(3, _json(lambda d: d.update(sha256="xyz"))),
     "line 4: arrived record: 'sha256' is 'xyz'"),
    ("a name that is a path", _edit(3, _json(lambda d: d.update(name="../../etc/passwd"))),
     "line 4: arrived record: 'name' is '../../etc/passwd'"),
    ("an extra field", _edit(3, _json(lambda d: d.update(path="/etc"))),
     "line 4: arrived record with unknown field 'path'"),
    ("a missing field", _edit(3, _json(lambda d: d.pop("mirror"))),
     "line 4: arrived record without 'mirror'"),
    ("time going back", _edit(5, _json(lambda d: d.update(time="2014-01-01T00:00:00"))),
     "line 6: time 2014-01-01T00:00:00 is before the previous record's"),
    ("a line of 2 MiB", lambda ls: [*ls[:2], b"x" * (2 << 20), *ls[2:]],
     "line 3: a line longer than 1048576 bytes"),
]


@pytest.mark.parametrize(("what", "edit", "message"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damage_is_named_by_line(tmp_path: Path, what: str, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    """Every kind of damage is one error naming the file and the line; nothing is trusted."""
    write_days(tmp_path)
    path = history_path(tmp_path)
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join(edit(lines)) + b"\n")
    with pytest.raises(RepositoryError) as err:
        read_history(tmp_path)
    assert err.value.one_line().startswith(f"{path}: the mirror history is damaged at {message}")
    assert err.value.exit_code == 3


# --- the schema and the reader agree ---------------------------------------------------------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**64), st.text(max_size=8),
                    st.sampled_from(["EPN_CTI_0001.CCF", "2014-02-30T00:00:00", SHA, "sha256",
                                     "fits", "local", "full", "valid", "rsync"]),
                    st.just({}), st.just([]), st.just({"size": 1, "mtime": None}))


@functools.lru_cache(maxsize=1)
def _sample():  # type: ignore[no-untyped-def]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        write_days(Path(d))
        records = read_history(Path(d)).records
    return records, jsonschema.Draft202012Validator(load_schema(SCHEMA_FILE))


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 11), st.sampled_from(["replace", "drop", "add"]), st.text(max_size=10),
       _VALUES)
def test_reader_and_schema_agree_on_mutated_records(i: int, how: str, key: str, value) -> None:  # type: ignore[no-untyped-def]
    """Whatever one field becomes, the reader never accepts a record the schema refuses (it is
    stricter only where the schema's patterns cannot say: impossible dates, non-printable
    text), and they agree on every structural change."""
    records, validator = _sample()
    doc = dict(records[i % len(records)])
    keys = sorted(doc)
    target = keys[hash(key) % len(keys)] if how != "add" else (key or "x")
    if how == "drop":
        doc.pop(target)
    else:
        doc[target] = value
    reader_ok = record_problem(doc) is None
    schema_ok = validator.is_valid(doc)
    if reader_ok:
        assert schema_ok, (doc, list(validator.iter_errors(doc)))
    elif schema_ok:  # the reader is stricter only about dates and text
        assert any(isinstance(v, str) for v in doc.values())


def test_reader_is_fast_enough_for_years_of_history(tmp_path: Path) -> None:
    """Ten years of daily syncs with a few events each reads in well under a second."""
    import time

    with HistoryLog(tmp_path, run="x", clock=clock_at("2014-01-01")) as log:
        rnd = random.Random(1)
        log.extend([("listed", {"name": f"EPN_T{rnd.randrange(9999):04d}_0001.CCF",
                                "mirror": MIRROR, "size": 2880, "mtime": None})
                    for _ in range(20_000)])
    t = time.perf_counter()
    assert len(read_history(tmp_path).records) == 20_000
    assert time.perf_counter() - t < 3.0


def test_the_catalogue_keeps_the_withdrawal_dates(tmp_path: Path) -> None:
    """A refresh reads the directory's history when it changed (only then), and the catalogue
    answers with its withdrawal periods; a damaged history stops the refresh, naming it."""
    from reprocal.repo._catalog import Catalog

    repo = tmp_path / "ccf"
    repo.mkdir()
    write_days(repo)
    with Catalog(tmp_path / "c.db") as cat:
        cat.refresh([repo])
        assert list(cat.withdrawals([repo])) == list(read_history(repo).withdrawals())
        with HistoryLog(repo, run="s5", clock=clock_at("2014-09-01")) as log:
            log.append("withdrawn", name="EPN_CTI_0003.CCF", mirror=MIRROR, last_listed=None)
        cat.refresh([repo])
        assert [w.name for w in cat.withdrawals([repo])] == ["EPN_CTI_0002.CCF",
                                                            "EPN_CTI_0003.CCF"]
        path = history_path(repo)
        path.write_bytes(path.read_bytes().replace(b'"seq":2,', b'"seq":9,'))
        with pytest.raises(RepositoryError, match="damaged at line 2"):
            cat.refresh([repo])
        assert len(cat.withdrawals([repo])) == 2  # the refresh was rolled back, nothing lost
