"""What a provenance record says about the machine a command ran on.

The environment variables that matter to SAS, ESAS and reprocal (``SAS_*``, ``ESAS_*``,
``REPROCAL_*``), never a secret; the SAS version when it can be read; the host. Each piece
takes what it reads as a parameter (the environment mapping, a runner for ``sasversion``), so it
is testable without SAS.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

from reprocal.provenance._gitstate import strip_credentials

RECORDED_PREFIXES: tuple[str, ...] = ("SAS_", "REPROCAL_", "ESAS_")
"""Environment variables with these prefixes are recorded."""

SECRET_WORDS: tuple[str, ...] = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH")
"""A variable whose name contains one of these is never recorded, whatever its prefix."""

_SAS_VERSION_RE = re.compile(r"xmmsas_\d{8}_\d{4}-(?P<version>\d+(?:\.\d+)+)")


def is_secret(name: str) -> bool:
    """True when a variable's name suggests it holds a credential.

    >>> is_secret("REPROCAL_MIRROR_TOKEN"), is_secret("SAS_CCFPATH")
    (True, False)
    """
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def recorded_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``SAS_*``/``REPROCAL_*`` variables, secrets dropped, credentials cut from URLs.

    >>> recorded_environment({"SAS_CCF": "/c/ccf.cif", "HOME": "/h", "SAS_API_KEY": "x",
    ...                       "REPROCAL_MIRRORS": "https://u:p@m.org/ccf"})
    {'REPROCAL_MIRRORS': 'https://m.org/ccf', 'SAS_CCF': '/c/ccf.cif'}
    """
    return {
        name: strip_credentials(value)
        for name, value in sorted(environ.items())
        if name.upper().startswith(RECORDED_PREFIXES) and not is_secret(name)
    }


def parse_sas_version(text: str) -> str | None:
    """The SAS release in a ``sasversion`` line, a CREATOR keyword or a ``SAS_DIR`` path.

    >>> parse_sas_version("cifbuild (cifbuild-4.8) [xmmsas_20141104_1833-14.0.0]")
    '14.0.0'
    >>> parse_sas_version("/opt/sas") is None
    True
    """
    m = _SAS_VERSION_RE.search(text)
    return m["version"] if m else None


def _run_sasversion() -> str | None:
    exe = shutil.which("sasversion")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout + done.stderr


def sas_version(
    environ: Mapping[str, str], *, run_sasversion: Callable[[], str | None] = _run_sasversion
) -> dict[str, str] | None:
    """Best effort: ``{"version", "source"}`` from ``sasversion``, else from ``$SAS_DIR``."""
    version = parse_sas_version(run_sasversion() or "")
    if version:
        return {"version": version, "source": "sasversion"}
    sas_dir = environ.get("SAS_DIR", "")
    version = parse_sas_version(sas_dir)
    if version:
        return {"version": version, "source": "SAS_DIR"}
    if sas_dir:
        return {"version": "unknown", "source": f"SAS_DIR={sas_dir}"}
    return None


def host_info() -> dict[str, Any]:
    """Host name, operating system and Python: where the command ran."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "pid": os.getpid(),
    }
