"""``SAS_CCFPATH``: the calibration directories, in search order. One parser, one set of rules.

* A string is colon-separated, as SAS reads ``SAS_CCFPATH``; a sequence gives one directory per
  element. Empty (or blank) entries are ignored; ``~`` is expanded; each directory is made
  absolute (symbolic links resolved, so one directory has one name in the catalogue).
* ``None`` means the environment variable ``SAS_CCFPATH``.
* Nothing left is an error: cifbuild quietly writes an empty CIF over an empty path.
* A directory that does not exist is an error, except the first one when the caller says it may
  be created (``reprocal fetch``, which puts new files there).

Errors name where the path came from, as the user spelt it: the environment variable, or the
value's name the caller passes as ``option`` (default ``ccf_path``; :mod:`reprocal.api` passes
its parameter's spelling, which from the CLI is ``--ccf-path``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from reprocal.errors import RepositoryError, given

ENV_VAR = "SAS_CCFPATH"

CcfPath = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None
"""What a caller may give: a colon-separated string, one path, a sequence of paths, or
``None`` for ``$SAS_CCFPATH``."""


def _entries(value: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    if isinstance(value, str):
        parts = value.split(":")
    elif isinstance(value, os.PathLike):
        parts = [os.fspath(value)]
    else:
        parts = [os.fspath(p) for p in value]
    return [p for p in parts if p.strip()]


def ccf_dirs(
    ccf_path: CcfPath = None,
    *,
    option: str = "ccf_path",
    create_first: bool = False,
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, ...]:
    """The calibration directories of ``ccf_path`` (``None``: ``$SAS_CCFPATH`` in ``environ``,
    default :data:`os.environ`), absolute, in order.

    ``option`` is the name the value was given under, for error messages. With
    ``create_first`` the first directory need not exist yet (it must not be a file).

    >>> ccf_dirs(":", option="--ccf-path")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reprocal.errors.RepositoryError: no calibration directory given (--ccf-path is empty); ...
    """
    if ccf_path is None:
        env = os.environ if environ is None else environ
        ccf_path, origin = env.get(ENV_VAR, ""), ENV_VAR
    else:
        origin = option
    entries = _entries(ccf_path)
    if not entries:
        raise RepositoryError(f"no calibration directory given ({origin} is empty)",
                              hint=f"pass {given(option, 'DIR')} or set {ENV_VAR}")
    dirs = []
    for i, entry in enumerate(entries):
        p = Path(entry).expanduser()
        may_create = create_first and i == 0 and not p.exists()
        if not (p.is_dir() or may_create):
            raise RepositoryError(f"{origin}: {entry} is not a directory",
                                  hint="check the path or create it")
        dirs.append(p.resolve())
    return tuple(dirs)


__all__ = ["ENV_VAR", "CcfPath", "ccf_dirs"]
