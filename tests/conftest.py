"""Shared fixtures: the real samples (found, or downloaded; see :mod:`support.samples`), the
synthetic repository, the CLI runners, and an environment that never touches the user's own
cache, SAS set-up or registry credentials."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.invocation import as_process, in_process
from support.samples import SamplesUnavailable, default_cache, locate

# A suite started in the background by a non-interactive shell (`make test &`, nohup) inherits
# SIGINT ignored, and so would every command it starts: the Ctrl-C tests would then time out.
# A handler here (reset to the default on exec) gives each child Python's own Ctrl-C again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_CACHE = default_cache(os.environ)
"""Where downloaded samples are kept across runs (read before the tests redirect the cache)."""
ISOLATED = ("SAS_CCFPATH", "SAS_CCF", "SAS_ODF", "REPROCAL_CATALOG", "REPROCAL_MIRRORS",
            "REPROCAL_REGISTRY_USER", "REPROCAL_REGISTRY_PASSWORD", "REPROCAL_LIMITS",
            "REPROCAL_VALIDATED_CACHE")


def _isolate(mp: pytest.MonkeyPatch, cache: Path, docker_config: Path) -> None:
    mp.setenv("XDG_CACHE_HOME", str(cache))
    # registry credentials: never the user's ~/.docker/config.json (an empty DOCKER_CONFIG)
    mp.setenv("DOCKER_CONFIG", str(docker_config))
    for var in ISOLATED:
        mp.delenv(var, raising=False)


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The same isolation for what session- and module-scoped fixtures do, before any test's
    own (they are set up first: without this, they wrote the user's catalogue)."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("session-cache"),
                 tmp_path_factory.mktemp("session-docker-config"))
        yield


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real SAS-written samples: ``$REPROCAL_SAMPLES``, ``../shared``, else downloaded (by
    sha256, from the repository they came from). Tests using them skip when none of that
    works, and fail instead under ``CI=true`` (CI has ``../shared``: a missing sample there is
    a broken set-up, not a reason to test less)."""
    try:
        return locate(os.environ, ROOT, SAMPLES_CACHE)
    except SamplesUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def synthetic_repo(tmp_path_factory: pytest.TempPathFactory):
    """A tiny generated repository shared by the session (seed 0, 150 files, ~3 MB, every real
    type, sliced histories). Read-only: copy it (shutil.copytree) before tampering."""
    from reprocal.testing._synthetic import generate

    return generate(tmp_path_factory.mktemp("synthetic") / "ccf", seed=0, scale=1e-4, files=150)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test with its own cache and credentials, and no SAS environment of the user's."""
    _isolate(monkeypatch, tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("docker-config"))


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
