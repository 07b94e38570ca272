"""Fixtures of the adversarial suite: the shared worker (memory-limited, in-process commands) and
each case's own place with a directory of victims outside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hostile import Outside, Runner


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    r = Runner(tmp_path_factory.mktemp("hostile-worker"))
    yield r
    r.stop()


@pytest.fixture
def outside(tmp_path: Path) -> Outside:
    return Outside(tmp_path / "outside")


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """The case's own place: inputs and outputs go here, never outside."""
    d = tmp_path / "box"
    d.mkdir()
    return d
