"""Real components for the image tests, started and stopped by the tests themselves.

- ``dockerd``: a private Docker daemon (vfs storage, no iptables or bridge, its own socket, data
  root and exec root under a short /tmp path), session-scoped, stopped by its pid at the end.
- ``registry``: Debian's ``docker-registry`` (distribution) on a loopback port, filesystem storage;
  ``auth_registry`` the same with htpasswd authentication (a bcrypt hash made with ``bcrypt``).

Each skips with a reason when its program is missing (:func:`support.components.program`; for
dockerd, also when not root); once the program is there a failure to start is a test error, not
a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from support.components import program


@attrs.frozen
class Daemon:
    """A running server: its URL and scratch directory."""

    url: str
    root: Path
    pid: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-1500:]
    except OSError:
        return ""


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Daemon]:
    """A private dockerd; ``url`` is ``unix:///tmp/rpdXXXX/d.sock``."""
    exe = str(program("dockerd"))
    if os.geteuid() != 0:
        pytest.skip("a private dockerd needs root (`make test` as root runs these tests)")
    root = Path(tempfile.mkdtemp(prefix="rpd", dir="/tmp"))  # short: unix socket path limit
    sock = root / "d.sock"
    log = open(root / "log", "wb")
    proc = subprocess.Popen(
        [exe, "--storage-driver=vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
         "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
         "-H", f"unix://{sock}", "--pidfile", str(root / "pid")],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        import docker

        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dockerd exited with {proc.returncode}:\n{_tail(root / 'log')}")
            if sock.exists():
                try:
                    client = docker.DockerClient(base_url=f"unix://{sock}")
                    try:
                        client.ping()
                    finally:
                        client.close()
                    break
                except docker.errors.DockerException:
                    pass
            if time.monotonic() > deadline:
                pytest.fail(f"dockerd did not answer within 90 s:\n{_tail(root / 'log')}")
            time.sleep(0.3)
        yield Daemon(f"unix://{sock}", root, proc.pid)
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


REGISTRY_USER, REGISTRY_PASSWORD = "reprocal", "loopback-only-test-password"
"""The one account of :func:`auth_registry` (a throwaway, on loopback only)."""


@pytest.fixture(scope="session")
def registry() -> Iterator[Daemon]:
    """``docker-registry`` on 127.0.0.1; ``url`` is ``127.0.0.1:PORT``."""
    yield from _registry(auth=False)


@pytest.fixture(scope="session")
def auth_registry() -> Iterator[Daemon]:
    """``docker-registry`` on 127.0.0.1 with htpasswd (bcrypt) authentication: one account,
    :data:`REGISTRY_USER` / :data:`REGISTRY_PASSWORD`; anonymous requests get 401 Basic."""
    yield from _registry(auth=True)


def _registry(*, auth: bool) -> Iterator[Daemon]:
    exe = str(program("docker-registry"))
    root = Path(tempfile.mkdtemp(prefix="rpr", dir="/tmp"))
    port = _free_port()
    auth_section = ""
    if auth:
        bcrypt = pytest.importorskip("bcrypt", reason="bcrypt not installed (the test extra)")
        hashed = bcrypt.hashpw(REGISTRY_PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
        (root / "htpasswd").write_text(f"{REGISTRY_USER}:{hashed}\n")
        auth_section = (f"auth:\n  htpasswd:\n    realm: reprocal-test\n"
                        f"    path: {root / 'htpasswd'}\n")
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth_section
    )
    log = open(root / "log", "wb")
    proc = subprocess.Popen([exe, "serve", str(root / "config.yml")], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        import requests

        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"docker-registry exited with {proc.returncode}:\n{_tail(root / 'log')}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code == (
                        401 if auth else 200):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not answer:\n{_tail(root / 'log')}")
            time.sleep(0.2)
        yield Daemon(f"127.0.0.1:{port}", root, proc.pid)
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
