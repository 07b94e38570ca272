"""The Docker SDK for Python (``docker``), an optional dependency: the ``reprocal[docker]`` extra.

It is needed only to talk to a Docker daemon (``image build --base NAME``, ``image verify
--docker``, ``run --image``) and to read the registry credentials ``docker login`` keeps in
``~/.docker/config.json``; everything else works without it. Every use imports it through
:func:`docker_sdk`, so that its absence is one line with exit status 6 naming the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from reprocal.errors import ComponentUnavailable

EXTRA = "reprocal[docker]"
INSTALL = f"install it with: pip install '{EXTRA}'"


def docker_sdk(purpose: str, module: str = "docker") -> ModuleType:
    """``import docker`` (or a submodule of it, ``module="docker.auth"``); when it is not
    installed, :class:`ComponentUnavailable` saying that ``purpose`` needs it and how to get
    it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ComponentUnavailable(
            f"{purpose} needs the Docker SDK for Python (the 'docker' package), which is not "
            "installed", hint=INSTALL) from None


__all__ = ["EXTRA", "INSTALL", "docker_sdk"]
