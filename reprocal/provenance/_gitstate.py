"""The git state of a working directory, for provenance records.

gitpython is imported here and only here, lazily: ``import reprocal`` works without it, and a
directory that is not in a git repository (or a machine without git) gives ``None``: "no
repository", recorded as such rather than guessed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import attrs

# user:password@ in a remote URL is a secret; it never reaches a record.
_CREDENTIALS_RE = re.compile(r"(?<=://)[^/@\s]+@")


@attrs.frozen
class GitState:
    """Where the working directory stood in git when a command ran."""

    root: str
    """The repository's top-level directory."""
    commit: str | None
    """``HEAD``'s full sha1, ``None`` in a repository without commits."""
    branch: str | None
    """The current branch, ``None`` when ``HEAD`` is detached."""
    dirty: tuple[str, ...]
    """Paths (relative to the root) modified, staged or untracked, sorted."""
    remotes: tuple[tuple[str, str], ...]
    """``(name, url)`` of each remote, credentials removed from the URL, sorted by name."""

    @property
    def is_dirty(self) -> bool:
        return bool(self.dirty)

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root, "commit": self.commit, "branch": self.branch,
            "dirty": list(self.dirty),
            "remotes": [{"name": n, "url": u} for n, u in self.remotes],
        }


def strip_credentials(url: str) -> str:
    """Drop ``user[:password]@`` from a URL.

    >>> strip_credentials("https://me:tok@example.org/x.git")
    'https://example.org/x.git'
    >>> strip_credentials("git@github.com:o/r.git")
    'git@github.com:o/r.git'
    """
    return _CREDENTIALS_RE.sub("", url)


def git_state(path: str | os.PathLike[str] = ".") -> GitState | None:
    """The git state of ``path``'s repository, or ``None`` when there is none (or no git)."""
    try:
        import git
    except ImportError:  # gitpython missing, or the git binary missing
        return None
    try:
        repo = git.Repo(Path(path), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    try:
        root = str(repo.working_tree_dir or repo.git_dir)
        try:
            commit: str | None = repo.head.commit.hexsha
        except ValueError:  # no commits yet
            commit = None
        branch = None if repo.head.is_detached else repo.active_branch.name
        dirty: set[str] = set(repo.untracked_files)
        changes = list(repo.index.diff(None))  # unstaged
        if commit is not None:
            changes += list(repo.index.diff("HEAD"))  # staged
        else:
            dirty.update(str(p) for p, _stage in repo.index.entries)
        dirty.update(p for d in changes if (p := d.a_path or d.b_path))
        remotes = tuple(sorted(
            (r.name, strip_credentials(url)) for r in repo.remotes for url in r.urls
        ))
        return GitState(root, commit, branch, tuple(sorted(dirty)), remotes)
    except git.GitError:
        return None
    finally:
        repo.close()


def git_identity(path: str | os.PathLike[str] = ".") -> tuple[str, str | None] | None:
    """``(user.name, user.email)`` as git would commit in ``path`` (the repository's config,
    else the global one), or ``None`` when git has no ``user.name`` (or there is no git)."""
    try:
        import git
    except ImportError:
        return None
    cmd = git.Git(str(path) if Path(path).is_dir() else None)

    def value(key: str) -> str | None:
        try:
            text = str(cmd.config("--get", key)).strip()
        except git.GitError:
            return None
        return text or None

    name = value("user.name")
    return (name, value("user.email")) if name else None
