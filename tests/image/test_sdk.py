"""The Docker SDK is the optional extra ``reprocal[docker]``: without it, each command that needs a
daemon (or ``docker login``'s credentials) exits 6 with one line naming the extra, and
everything else works."""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import pytest
from support.imagekit import fake_cifs, make_state

from reprocal.errors import ComponentUnavailable
from reprocal.image._build import build_image
from reprocal.image._credentials import registry_credentials

NEEDS = "needs the Docker SDK for Python (the 'docker' package), which is not installed; " \
        "install it with: pip install 'reprocal[docker]'"


@pytest.fixture
def no_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as one where the ``docker`` package is not installed (``import docker``
    raises ImportError)."""
    for name in [m for m in sys.modules if m == "docker" or m.startswith("docker.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "docker", None)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    manifest, repo = make_state(tmp_path / "repo")
    return build_image(manifest, [repo], tmp_path / "img.tar", cifs=fake_cifs(manifest)).path


def test_docker_is_an_extra_not_a_dependency() -> None:
    """The installed metadata asks for docker only under the ``docker`` extra."""
    requires = metadata.requires("reprocal") or []
    docker = [r for r in requires if r.split()[0].split(">")[0].split("[")[0] == "docker"]
    assert docker and all('extra == "docker"' in r for r in docker), docker
    assert "docker" in (metadata.metadata("reprocal").get_all("Provides-Extra") or [])


def test_image_verify_docker_without_the_sdk(cli, no_sdk, image: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("image", "verify", str(image), "--docker")
    assert done.returncode == 6
    assert done.stdout == ""
    assert done.stderr == f"reprocal: error: talking to a Docker daemon {NEEDS}\n"


def test_image_verify_without_docker_needs_no_sdk(cli, no_sdk, image: Path) -> None:  # type: ignore[no-untyped-def]
    """The daemon-free checks, and the build itself, never import it."""
    done = cli("image", "verify", str(image), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_base_image_by_name_without_the_sdk(cli, no_sdk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``image build --base NAME`` (not a file: an image of the daemon) needs it."""
    from reprocal.state._manifest import save_manifest

    manifest, repo = make_state(tmp_path / "repo")
    save_manifest(manifest, tmp_path / "m.json")
    done = cli("image", "build", "m.json", "--ccf-path", str(repo), "--base", "busybox:latest",
               "-o", "i.tar", cwd=tmp_path)
    assert done.returncode == 6, done.stderr
    assert done.stderr == f"reprocal: error: talking to a Docker daemon {NEEDS}\n"
    assert not (tmp_path / "i.tar").exists()


def test_run_in_an_image_without_the_sdk(cli, no_sdk, image: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("run", "--image", str(image), "--", "true", cwd=tmp_path)
    assert done.returncode == 6
    assert done.stderr == f"reprocal: error: talking to a Docker daemon {NEEDS}\n"


def test_credentials_without_a_docker_config_need_no_sdk(no_sdk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No configuration file anywhere: anonymous, without the SDK; environment credentials
    too."""
    assert registry_credentials("127.0.0.1:5000", {"HOME": str(tmp_path)}) is None
    assert registry_credentials("127.0.0.1:5000", {"DOCKER_CONFIG": str(tmp_path)}) is None
    assert registry_credentials("r", {"REPROCAL_REGISTRY_USER": "u",
                                      "REPROCAL_REGISTRY_PASSWORD": "p"}) == ("u", "p")


@pytest.mark.parametrize("where", ["DOCKER_CONFIG", ".docker/config.json", ".dockercfg"])
def test_credentials_from_a_docker_config_need_the_sdk(no_sdk, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    """``docker login`` wrote a configuration: reading it needs the SDK, and the error says so
    (never a silent anonymous push)."""
    if where == "DOCKER_CONFIG":
        path, env = tmp_path / "config.json", {"DOCKER_CONFIG": str(tmp_path)}
    else:
        path, env = tmp_path / where, {"HOME": str(tmp_path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {}}))
    with pytest.raises(ComponentUnavailable) as err:
        registry_credentials("127.0.0.1:5000", env)
    assert err.value.exit_code == 6
    assert err.value.one_line() == f"reading registry credentials from {path} {NEEDS}"


def test_in_a_process_without_the_sdk(cli_process, tmp_path: Path, image: Path) -> None:  # type: ignore[no-untyped-def]
    """A real interpreter whose ``import docker`` fails: the same line, exit 6."""
    shadow = tmp_path / "shadow" / "docker"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'docker'\")\n")
    done = cli_process("image", "verify", str(image), "--docker",
                       env={"PYTHONPATH": str(shadow.parent)})
    assert done.returncode == 6
    assert done.stderr == f"reprocal: error: talking to a Docker daemon {NEEDS}\n"
