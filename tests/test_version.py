"""``reprocal --version``: the version, and the git commit when reprocal runs from a checkout
(read from ``.git``, never by running git); from an installed wheel, the version alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.components import program

import reprocal
from reprocal._version import __version__, git_commit, version_text

PACKAGE_PARENT = Path(reprocal.__file__).resolve().parent.parent
FROM_CHECKOUT = (PACKAGE_PARENT / ".git").exists()
A, B = "a" * 40, "b" * 40


def test_version_line_as_printed(cli) -> None:  # type: ignore[no-untyped-def]
    """What the command prints is :func:`version_text`: ``reprocal X[ (git SHA)]``."""
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout == version_text() + "\n"
    assert done.stdout.startswith(f"reprocal {__version__}")


@pytest.mark.skipif(not FROM_CHECKOUT, reason="reprocal is installed, not run from a checkout")
def test_from_a_checkout_it_names_the_commit(cli) -> None:  # type: ignore[no-untyped-def]
    """Run from its source tree, the commit checked out there (what git itself says)."""
    program("git")  # only to check the answer
    head = subprocess.run(["git", "-C", str(PACKAGE_PARENT), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert cli("--version").stdout == f"reprocal {__version__} (git {head})\n"


@pytest.mark.skipif(FROM_CHECKOUT, reason="reprocal runs from a checkout here")
def test_installed_it_names_no_commit(cli) -> None:  # type: ignore[no-untyped-def]
    """Installed (a wheel in site-packages), the version alone, wherever it is run from."""
    assert git_commit() is None
    assert cli("--version").stdout == f"reprocal {__version__}\n"


def test_a_checkout_with_a_loose_ref(tmp_path: Path) -> None:
    (tmp_path / ".git" / "refs" / "heads").mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git" / "refs" / "heads" / "main").write_text(A + "\n")
    assert git_commit(tmp_path) == A
    assert version_text(tmp_path) == f"reprocal {__version__} (git {A})"


def test_a_fresh_clone_with_packed_refs(tmp_path: Path) -> None:
    """``git clone`` packs its refs: the branch is a line of ``packed-refs``."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git" / "packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted\n{B} refs/heads/other\n{A} refs/heads/main\n")
    assert git_commit(tmp_path) == A


def test_a_worktree_and_a_detached_head(tmp_path: Path) -> None:
    """A worktree's ``.git`` is a file pointing to its directory, whose refs live in the common
    directory; a detached HEAD is the commit itself."""
    common = tmp_path / "main.git"
    (common / "refs" / "heads").mkdir(parents=True)
    (common / "refs" / "heads" / "topic").write_text(B)
    wt = common / "worktrees" / "topic"
    wt.mkdir(parents=True)
    (wt / "HEAD").write_text("ref: refs/heads/topic\n")
    (wt / "commondir").write_text("../..\n")
    checkout = tmp_path / "topic"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {wt}\n")
    assert git_commit(checkout) == B
    (wt / "HEAD").write_text(A + "\n")
    assert git_commit(checkout) == A


@pytest.mark.parametrize("layout", [
    {},  # not a checkout
    {".git/HEAD": "ref: refs/heads/gone\n"},  # a branch with no commit yet
    {".git/HEAD": "garbage"},
    {".git/HEAD": "ref: ../../../etc/passwd\n"},  # a ref outside the repository
    {".git/HEAD": ""},
    {".git": "gitdir: /nonexistent/place\n"},
    {".git": "not a pointer\n"},
])
def test_what_is_not_a_readable_checkout_names_no_commit(tmp_path: Path,
                                                         layout: dict[str, str]) -> None:
    """Anything else is no commit, never an error: ``--version`` always answers."""
    for rel, text in layout.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert git_commit(tmp_path) is None
    assert version_text(tmp_path) == f"reprocal {__version__}"


def test_git_is_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No process is started to read the commit (``--version`` stays fast, and works where git
    is not installed)."""
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a process was started")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text(A)
    assert git_commit(tmp_path) == A
