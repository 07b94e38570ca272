"""Fixtures of the adversarial suite: the shared worker (memory-limited, in-process commands) and
each case's own place with a directory of victims outside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.hostile import Outside, Runner

from reprocal.testing._synthetic import generate


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


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic repository, made once; cases get a copy (:func:`repo`)."""
    root = tmp_path_factory.mktemp("hostile-repo") / "ccf"
    generate(root, seed=5, scale=1e-4, files=12)
    return root


@pytest.fixture
def repo(box: Path, pristine: Path) -> Path:
    """The case's own copy of :func:`pristine`, inside its box."""
    shutil.copytree(pristine, box / "ccf")
    return box / "ccf"
