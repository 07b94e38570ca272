"""Registry credentials where Docker users already have them.

In order, for a registry ``host[:port]``:

1. ``REPROCAL_REGISTRY_USER`` and ``REPROCAL_REGISTRY_PASSWORD`` (for CI jobs);
2. the Docker client configuration, read by the Docker SDK's own auth module (the
   ``reprocal[docker]`` extra; needed only when that file exists) exactly as ``docker login``
   wrote it: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``;
   its ``credHelpers`` entry for the registry, else its ``credsStore``, runs the credential
   helper (``docker-credential-<name> get``, e.g. ``pass``, ``secretservice``, ``ecr-login``),
   else its ``auths`` entry (``auth`` is base64 ``user:password``).

Nothing found: ``None`` (anonymous; a registry that wants credentials then answers 401, and
the error says where to put them). Credentials are never logged or recorded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from reprocal.errors import ComponentUnavailable, InputError
from reprocal.image._sdk import docker_sdk

WHERE = ("docker login REGISTRY (~/.docker/config.json, or $DOCKER_CONFIG), or set "
         "REPROCAL_REGISTRY_USER and REPROCAL_REGISTRY_PASSWORD")
"""Where credentials can go: the hint of an authentication failure."""


def registry_credentials(registry: str, env: Mapping[str, str] | None = None
                         ) -> tuple[str, str] | None:
    """``(user, password)`` for ``registry`` (see the module docstring), else ``None``."""
    env = os.environ if env is None else env
    user = env.get("REPROCAL_REGISTRY_USER")
    if user:
        return user, env.get("REPROCAL_REGISTRY_PASSWORD", "")
    return _docker_config(registry, env)


def docker_config_file(env: Mapping[str, str]) -> str | None:
    """The Docker client configuration file the docker CLI would read, if there is one:
    ``$DOCKER_CONFIG/config.json`` (that directory only, never ``~/.docker`` too), else
    ``~/.docker/config.json``, else the legacy ``~/.dockercfg``."""
    if env.get("DOCKER_CONFIG"):
        path = os.path.join(env["DOCKER_CONFIG"], "config.json")
        return path if os.path.isfile(path) else None
    home = env.get("HOME") or os.path.expanduser("~")
    for path in (os.path.join(home, ".docker", "config.json"), os.path.join(home, ".dockercfg")):
        if os.path.isfile(path):
            return path
    return None


def _docker_config(registry: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    path = docker_config_file(env)
    if path is None:  # nothing to read: anonymous, and no need of the Docker SDK
        return None
    auth = docker_sdk(f"reading registry credentials from {path}", "docker.auth")
    errors = docker_sdk(f"reading registry credentials from {path}", "docker.errors")
    try:
        config = auth.load_config(config_path=path)
    except errors.InvalidConfigFile as exc:
        raise InputError(f"the Docker configuration is malformed ({exc})",
                         hint="fix or remove ~/.docker/config.json") from None
    helper = config.get_credential_store(registry)
    if helper and shutil.which(f"docker-credential-{helper}") is None:
        raise ComponentUnavailable(
            f"registry {registry}: the Docker configuration names the credential helper "
            f"docker-credential-{helper}, which is not installed or not on PATH",
            hint="install it, or remove it from ~/.docker/config.json")
    try:
        found = config.resolve_authconfig(registry)
    except errors.DockerException as exc:
        raise ComponentUnavailable(f"registry {registry}: the Docker credential helper failed "
                                   f"({exc})", hint="is docker-credential-<helper> installed "
                                   "and on PATH?") from None
    if not found:
        return None
    user = found.get("username") or found.get("Username")
    password = found.get("password") or found.get("Password")
    if not user and found.get("IdentityToken"):
        raise InputError(f"registry {registry}: the Docker configuration holds an identity "
                         "token, which reprocal cannot use", hint="log in with a user name and "
                         "password or access token, or set REPROCAL_REGISTRY_USER/PASSWORD")
    return (str(user), str(password or "")) if user else None


__all__ = ["WHERE", "registry_credentials"]
