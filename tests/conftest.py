"""Shared fixtures: the real samples from ../shared (skipped when absent), the CLI runners."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.invocation import as_process, in_process

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("REPROCAL_SAMPLES", ROOT.parent / "shared" / "data" / "xmm-cif-samples"))


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real SAS-written samples; tests using them skip when ../shared is absent."""
    if not (SAMPLES / "README.md").exists():
        pytest.skip(f"real samples not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture(scope="session")
def synthetic_repo(tmp_path_factory: pytest.TempPathFactory):
    """A tiny generated repository shared by the session (seed 0, 150 files, ~3 MB, every real
    type, sliced histories). Read-only: copy it (shutil.copytree) before tampering."""
    from reprocal.testing._synthetic import generate

    return generate(tmp_path_factory.mktemp("synthetic") / "ccf", seed=0, scale=1e-4, files=150)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache, SAS environment or registry credentials from a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    # registry credentials: never the user's ~/.docker/config.json (an empty DOCKER_CONFIG)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path_factory.mktemp("docker-config")))
    for var in ("SAS_CCFPATH", "SAS_CCF", "SAS_ODF", "REPROCAL_CATALOG", "REPROCAL_MIRRORS",
                "REPROCAL_REGISTRY_USER", "REPROCAL_REGISTRY_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def cli():
    """``cli("index", "--ccf-path", d)`` runs the real command in this process, as a new
    ``python -m reprocal`` process would (see :mod:`support.invocation`); returns a
    ``subprocess.CompletedProcess``."""
    return in_process


@pytest.fixture
def cli_process():
    """``cli_process("fetch", ...)``: the same in a real ``python -m reprocal`` process, for what
    only a process has (signals, a fresh interpreter, output of its children, ``-m`` itself)."""
    return as_process
