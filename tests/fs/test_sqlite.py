"""What may be opened as an SQLite database: the one check the catalogue, the verify cache's
neighbours and a campaign's ledger share."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from reprocal.fs._sqlite import not_a_database


def _database(p: Path) -> Path:
    with sqlite3.connect(p) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    return p


@pytest.mark.parametrize(("make", "why"), [
    (lambda p: None, None),                                         # absent: SQLite creates it
    (lambda p: p.touch(), None),                                    # empty: SQLite starts it
    (_database, None),
    (lambda p: p.mkdir(), "a directory"),
    (lambda p: os.mkfifo(p), "a FIFO (named pipe)"),
    (lambda p: p.write_text("not a database\n"), "a file that is not an SQLite database"),
])
def test_what_may_be_opened(tmp_path: Path, make, why) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "db.sqlite"
    make(p)
    assert not_a_database(p) == why


def test_a_link_is_refused_only_when_links_are_not_followed(tmp_path: Path) -> None:
    target = _database(tmp_path / "real.sqlite")
    link = tmp_path / "link.sqlite"
    link.symlink_to(target)
    assert not_a_database(link) is None
    assert not_a_database(link, follow_links=False) == "a symbolic link"
