"""``Repository`` as a context manager: it closes the catalogue it opened, never one it was
given."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fds import HAVE_PROC, open_fds

from reprocal.repo._catalog import Catalog
from reprocal.repo._repository import Repository

pytestmark = pytest.mark.skipif(not HAVE_PROC, reason="needs /proc")


def test_with_closes_the_catalogue_it_opened(synthetic_repo, tmp_path: Path) -> None:
    """``with Repository(...)``: the catalogue is open inside, closed after."""
    cat = tmp_path / "c.sqlite"
    with Repository(synthetic_repo.root, catalog=cat) as repo:
        assert open_fds(cat) >= 1
        assert len(repo.present()) == len(synthetic_repo.paths)
    assert open_fds(cat) == 0


def test_close_closes_the_catalogue_it_opened(synthetic_repo, tmp_path: Path) -> None:
    """Without ``with``: ``close()`` does it (twice is harmless)."""
    cat = tmp_path / "c.sqlite"
    repo = Repository(synthetic_repo.root, catalog=cat)
    assert open_fds(cat) >= 1
    repo.close()
    repo.close()
    assert open_fds(cat) == 0


def test_a_catalogue_passed_in_stays_open(synthetic_repo, tmp_path: Path) -> None:
    """A :class:`Catalog` given to the repository belongs to the caller: still usable after the
    repository is closed."""
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        with Repository(synthetic_repo.root, catalog=cat):
            pass
        assert open_fds(path) >= 1
        assert len(cat.present([synthetic_repo.root])) == len(synthetic_repo.paths)
    assert open_fds(path) == 0


class _Interrupt(Exception):
    pass


class _Stops:
    """A progress display whose user presses Ctrl-C at the first file."""

    def start(self, total: int | None, *, items: int | None = None) -> None: ...

    def update(self, n: int = 1) -> None:
        raise _Interrupt

    def finished(self, item: str) -> None: ...


def test_failed_refresh_closes_the_catalogue(synthetic_repo, tmp_path: Path) -> None:
    """An indexing interrupted inside the constructor leaves no catalogue open (nobody holds
    the repository to close it)."""
    cat = tmp_path / "c.sqlite"
    with pytest.raises(_Interrupt):
        Repository(synthetic_repo.root, catalog=cat, progress=_Stops())
    assert open_fds(cat) == 0
