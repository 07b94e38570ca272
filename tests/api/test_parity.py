"""Every command of the CLI and its API function give the same result: the CLI's ``--json``
document is the API result's ``to_json()`` (and valid by the command's published JSON Schema),
the exit status says what ``result.ok`` says, and the warnings are the same, on the synthetic
repository and a loopback registry."""

from __future__ import annotations

import json
import re
import shutil
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from support.daemons import Daemon, registry  # noqa: F401
from support.validators import assert_output_valid

from reprocal import api
from reprocal.cli import main
from reprocal.errors import ReprocalWarning
from reprocal.testing._synthetic import corrupt

OBS, AN, TODAY = "2010-01-01T00:00:00", "2015-01-01T00:00:00", "2026-01-01"
V1 = Path(__file__).resolve().parents[1] / "state" / "data" / "v1-manifest.json"
WRITE = "import sys; open(sys.argv[1], 'w').write('spectrum')"


class World:
    """A working directory beside the session's synthetic repository (never written to), with
    what the commands need made on first use (through the API)."""

    def __init__(self, tmp: Path, ccf: Path):
        self.tmp, self.ccf = tmp, str(ccf)

    @cached_property
    def manifest(self) -> str:
        api.pin(obs_date=OBS, analysis_date=AN, ccf_path=self.ccf, output="m.json")
        return "m.json"

    @cached_property
    def cif(self) -> str:
        api.rebuild(self.manifest, ccf_path=self.ccf, output="cif")
        return next(str(p.relative_to(self.tmp)) for p in (self.tmp / "cif").glob("*/ccf.cif"))

    @cached_property
    def image(self) -> str:
        api.image_build(self.manifest, ccf_path=self.ccf, output="img.tar")
        return "img.tar"

    @cached_property
    def bundle(self) -> str:
        api.bundle(self.manifest, output="b0", license="CC-BY-4.0", authors=["Jane Doe"], publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>")
        return "b0"

    @cached_property
    def constituent(self) -> str:
        """The path of one pinned constituent."""
        from reprocal.state._manifest import load_manifest

        return str(Path(self.ccf) / load_manifest(self.manifest).files[0].filename)

    @cached_property
    def tampered(self) -> str:
        """A copy of the repository with one data byte of a pinned file changed."""
        from reprocal.state._manifest import load_manifest

        copy = Path(shutil.copytree(self.ccf, self.tmp / "tampered"))
        corrupt(copy / load_manifest(self.manifest).files[0].filename)
        return str(copy)

    @cached_property
    def responses(self) -> str:
        """A synthetic canned-response area (pn's three epochs, one MOS epoch)."""
        from reprocal.testing import write_responses

        write_responses(self.tmp / "responses", mos_epochs=1)
        (self.tmp / "resp-repo").mkdir()  # where the chosen matrices are kept
        return "responses"

    @cached_property
    def synced(self) -> str:
        """A repository synced from the synthetic one (a directory mirror)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReprocalWarning)
            api.sync(self.ccf, ccf_path="synced")
        return "synced"

    @cached_property
    def v1(self) -> str:
        shutil.copy(V1, self.tmp / "old.json")
        return "old.json"


@dataclass
class Case:
    command: str
    """The command (``image build``) this case runs."""
    id: str
    args: Callable[[World], list[str]]
    """The command line (without --json)."""
    call: Callable[[World, str], Any]
    """The API call; its second argument says which run it is ("cli" or "api")."""
    code: int = 0
    """The CLI's exit status (0: result.ok)."""
    twice: bool = False
    """Run the API once first, so that both runs see the same caches and catalogue."""
    same: Callable[[str], str] = lambda text: text
    cli_same: Callable[[str], str] = lambda text: text
    """Normalises the CLI's side (a fresh key has a fresh keyid)."""
    """Applied to the API's JSON text before comparing (outputs that must differ by name)."""


CASES = [
    Case("index", "index", lambda w: ["index", "--ccf-path", w.ccf],
         lambda w, _: api.index(ccf_path=w.ccf), twice=True),
    Case("cif", "cif", lambda w: ["cif", "--obs-date", OBS, "--analysis-date", AN, "--ccf-path", w.ccf,
                           "-o", "c.cif"],
         lambda w, _: api.cif(obs_date=OBS, analysis_date=AN, ccf_path=w.ccf, output="c.cif")),
    Case("cif", "cif analysis before observation",
         lambda w: ["cif", "--obs-date", AN, "--analysis-date", OBS, "--ccf-path", w.ccf,
                    "-o", "c.cif"],
         lambda w, _: api.cif(obs_date=AN, analysis_date=OBS, ccf_path=w.ccf, output="c.cif")),
    Case("cifbuild", "cifbuild",
         lambda w: ["cifbuild", "withobservationdate=yes", f"observationdate={OBS}",
                    f"analysisdate={AN}", f"ccfpath={w.ccf}", "calindexset=cb.cif"],
         lambda w, _: api.cifbuild(withobservationdate=True, observationdate=OBS,
                                   analysisdate=AN, withccfpath=True, ccfpath=w.ccf,
                                   calindexset="cb.cif")),
    Case("show", "show", lambda w: ["show", w.cif], lambda w, _: api.show(w.cif)),
    Case("pin", "pin", lambda w: ["pin", "--obs-date", OBS, "--analysis-date", AN, "--obs-id", "x1",
                           "--ccf-path", w.ccf, "-o", "p.json"],
         lambda w, _: api.pin(obs_date=OBS, analysis_date=AN, obs_id="x1", ccf_path=w.ccf,
                              output="p.json")),
    Case("rebuild", "rebuild", lambda w: ["rebuild", w.manifest, "--ccf-path", w.ccf, "-o", "r"],
         lambda w, _: api.rebuild(w.manifest, ccf_path=w.ccf, output="r")),
    Case("manifest upgrade", "manifest upgrade", lambda w: ["manifest", "upgrade", w.v1, "-o", "new.json"],
         lambda w, _: api.upgrade_manifest(w.v1, output="new.json")),
    Case("response", "response", lambda w: [
        "response", w.manifest, "--source", w.responses, "--camera", "pn", "--mode", "ff20",
        "--patterns", "s", "--position", "Y9", "--ccf-path", "resp-repo", "-o", "r.json"],
         lambda w, _: api.response(w.manifest, source=w.responses, camera="pn", mode="ff20",
                                   patterns="s", position="Y9", ccf_path="resp-repo",
                                   output="r.json")),
    Case("verify", "verify", lambda w: ["verify", w.manifest, "--ccf-path", w.ccf, "--level", "full"],
         lambda w, _: api.verify(w.manifest, ccf_path=w.ccf, level="full"), twice=True),
    Case("verify", "verify tampered", lambda w: ["verify", w.manifest, "--ccf-path", w.tampered,
                                       "--level", "fits", "--rehash"],
         lambda w, _: api.verify(w.manifest, ccf_path=w.tampered, level="fits", rehash=True),
         code=1),
    Case("verify", "verify --repository", lambda w: ["verify", "--repository", "--ccf-path", w.ccf,
                                           "--rehash"],
         lambda w, _: api.verify_repository(ccf_path=w.ccf, rehash=True), twice=True),
    Case("fetch", "fetch", lambda w: ["fetch", w.manifest, "--ccf-path", "got", "--mirror", w.ccf],
         lambda w, _: api.fetch(w.manifest, ccf_path="got", mirrors=[w.ccf]), twice=True),
    Case("fetch", "fetch --dry-run", lambda w: ["fetch", w.manifest, "--ccf-path", "new", "--mirror",
                                       w.ccf, "--dry-run"],
         lambda w, _: api.fetch_plan(w.manifest, ccf_path="new", mirrors=[w.ccf])),
    Case("fetch", "fetch --script", lambda w: ["fetch", w.manifest, "--mirror", w.ccf, "--script",
                                      "get.sh"],
         lambda w, _: api.fetch_script(w.manifest, mirrors=[w.ccf], output="get.sh")),
    Case("unused", "unused", lambda w: ["unused", w.manifest, "--ccf-path", w.ccf],
         lambda w, _: api.unused([w.manifest], ccf_path=w.ccf)),
    Case("image build", "image build", lambda w: ["image", "build", w.manifest, "--ccf-path", w.ccf,
                                   "-o", "i.tar"],
         lambda w, _: api.image_build(w.manifest, ccf_path=w.ccf, output="i.tar")),
    Case("image verify", "image verify", lambda w: ["image", "verify", w.image],
         lambda w, _: api.image_verify(w.image)),
    Case("run", "run", lambda w: ["run", "--manifest", w.manifest, "--ccf-path", w.ccf,
                           "--cif", "run.cif", "--json", "--", sys.executable, "-c", WRITE,
                           "out.txt"],  # a kept CIF: a private one has a new path each time
         lambda w, _: api.run([sys.executable, "-c", WRITE, "out.txt"], manifest=w.manifest,
                              ccf_path=w.ccf, cif="run.cif")),
    Case("doctor", "doctor", lambda w: ["doctor", "--ccf-path", w.ccf],
         lambda w, _: api.doctor(ccf_path=w.ccf)),
    Case("diff", "diff", lambda w: ["diff", f"obs={OBS},an={AN}", f"obs={OBS},an=2020-01-01",
                            "--ccf-path", w.ccf],
         lambda w, _: api.diff(f"obs={OBS},an={AN}", f"obs={OBS},an=2020-01-01",
                               ccf_path=w.ccf)),
    Case("audit", "audit", lambda w: ["audit", w.manifest, w.cif, "--ccf-path", w.ccf, "--today", TODAY],
         lambda w, _: api.audit([w.manifest, w.cif], ccf_path=w.ccf, today=TODAY)),
    Case("audit", "audit --pin", lambda w: ["audit", w.cif, "--pin", "-o", "again.json", "--ccf-path",
                                   w.ccf, "--today", TODAY],
         lambda w, _: api.audit_pin(w.cif, output="again.json", ccf_path=w.ccf, today=TODAY)),
    Case("audit", "audit --uses", lambda w: ["audit", "--uses", "EPN_CTI", "."],
         lambda w, _: api.audit_uses("EPN_CTI", ["."]), twice=True),
    Case("bundle create", "bundle", lambda w: ["bundle", w.manifest, "-o", "b1", "--license", "CC-BY-4.0", "--author", "Jane Doe", "--publisher", "ESA ESAC <https://www.cosmos.esa.int/web/esac>"],
         lambda w, run: api.bundle(w.manifest, output="b1" if run == "cli" else "b2",
                                   license="CC-BY-4.0", authors=["Jane Doe"], publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>"),
         same=lambda text: re.sub(r"\bb2\b", "b1", text)),  # the name, never inside a digest
    Case("bundle verify", "bundle verify", lambda w: ["bundle", "verify", w.bundle],
         lambda w, _: api.bundle_verify(w.bundle)),
    Case("timeline", "timeline", lambda w: ["timeline", "EPN_CTI", "XRT1_XAREAEF", "--ccf-path", w.ccf,
                                     "--manifest", w.manifest, "--obs-date", OBS,
                                     "--analysis-date", "2020-01-01"],
         lambda w, _: api.timeline(["EPN_CTI", "XRT1_XAREAEF"], ccf_path=w.ccf, manifest=w.manifest,
                                   obs_date=OBS, analysis_date="2020-01-01")),
    Case("timeline", "timeline -o", lambda w: ["timeline", "EPN_CTI", "--ccf-path", w.ccf, "--obs-date",
                                        OBS, "--analysis-date", AN, "-o", "t1.svg"],
         lambda w, run: api.timeline(["EPN_CTI"], ccf_path=w.ccf, obs_date=OBS, analysis_date=AN,
                                     output="t1.svg" if run == "cli" else "t2.svg"),
         same=lambda text: text.replace("t2.svg", "t1.svg")),
    Case("view", "view", lambda w: ["view", w.constituent], lambda w, _: api.view(w.constituent)),
    Case("notes", "notes", lambda w: ["notes", "EPN_CTI_0045.CCF", "XRT1_XAREAEF"],
         lambda w, _: api.notes(["EPN_CTI_0045.CCF", "XRT1_XAREAEF"])),
    Case("cite", "cite", lambda w: ["cite", w.manifest], lambda w, _: api.cite(w.manifest)),
    Case("audit", "audit --html", lambda w: ["audit", w.cif, "--ccf-path", w.ccf, "--today", TODAY,
                                    "--html", "a.html"],
         lambda w, _: api.audit([w.cif], ccf_path=w.ccf, today=TODAY, html="a2.html")),
    Case("diff", "diff --html", lambda w: ["diff", w.cif, f"obs={OBS},an=2020-01-01", "--ccf-path",
                                   w.ccf, "--html", "d.html"],
         lambda w, _: api.diff(w.cif, f"obs={OBS},an=2020-01-01", ccf_path=w.ccf, html="d2.html")),
    Case("key generate", "key generate", lambda w: ["key", "generate", "k1"],
         lambda w, run: api.key_generate("k1" if run == "cli" else "k2"),
         same=lambda text: re.sub(r'"keyid": "[0-9a-f]+"', KEYID, re.sub(r"\bk2\b", "k1", text)),
         cli_same=lambda text: re.sub(r'"keyid": "[0-9a-f]+"', KEYID, text)),
    Case("record verify", "record verify", lambda w: ["record", "verify", w.manifest + ".prov.json"],
         lambda w, _: api.record_verify([w.manifest + ".prov.json"])),
]


KEYID = '"keyid": "<a fresh key>"'
RUN = re.compile(r'sync-[0-9T]+-[0-9a-f]{8}')


def _no_run(text: str) -> str:
    """A sync's id is new each time (its time and a random part)."""
    return RUN.sub("sync-<id>", text)


CASES += [
    Case("sync", "sync --dry-run", lambda w: ["sync", "--mirror", w.ccf, "--ccf-path", "dest",
                                              "--dry-run"],
         lambda w, _: api.sync(w.ccf, ccf_path="dest", dry_run=True), same=_no_run,
         cli_same=_no_run),
    Case("sync", "sync, nothing new", lambda w: ["sync", "--mirror", w.ccf, "--ccf-path",
                                                 w.synced],
         lambda w, _: api.sync(w.ccf, ccf_path=w.synced), same=_no_run, cli_same=_no_run),
    Case("history", "history --on", lambda w: ["history", "--ccf-path", w.synced, "--on", "2100-01-01"],
         lambda w, _: api.history(ccf_path=w.synced, on="2100-01-01")),
    Case("fingerprint", "fingerprint --against", lambda w: ["fingerprint", "--ccf-path", w.ccf,
                                                            "--against", w.synced],
         lambda w, _: api.fingerprint(ccf_path=w.ccf, against=w.synced)),
]


def _with_json(args: list[str]) -> list[str]:
    return args if "--json" in args else [*args, "--json"]


def _canonical(doc: Any) -> str:
    """The JSON text, as the CLI prints it, without wall-clock durations."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "seconds"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(json.loads(json.dumps(doc, default=str))), indent=2, sort_keys=True)


def _api(case: Case, w: World, run: str) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReprocalWarning)
        result = case.call(w, run)
    return result, [str(x.message) for x in caught if issubclass(x.category, ReprocalWarning)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_api_and_cli_agree(case: Case, synthetic_repo, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                           capsys) -> None:
    """The CLI's --json is the API result's to_json(), its exit status is result.ok's, its
    warning lines are the API's warnings."""
    monkeypatch.chdir(tmp_path)
    w = World(tmp_path, synthetic_repo.root)
    args = case.args(w)
    if case.twice:
        _api(case, w, "api")
    capsys.readouterr()
    code = main(_with_json(args))
    out, err = capsys.readouterr()
    assert code == case.code, err
    result, caught = _api(case, w, "api")
    assert case.same(_canonical(result.to_json())) == case.cli_same(_canonical(json.loads(out)))
    assert_output_valid(json.loads(out), result)  # and it is what its published schema says
    assert getattr(result, "ok", True) is (case.code == 0)
    warned = [ln.removeprefix("reprocal: warning: ") for ln in err.splitlines()
              if ln.startswith("reprocal: warning: ")]
    assert warned == caught


def test_every_command_has_a_case() -> None:
    """The table (with push and pull, below) covers every command and subcommand."""
    import click

    from reprocal.cli import cli

    ctx = click.Context(cli)
    commands = set()
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        subs = cmd.list_commands(ctx) if isinstance(cmd, click.Group) else [None]
        commands |= {f"{name} {sub}" if sub else name for sub in subs}
    assert commands == {c.command for c in CASES} | {"image push", "image pull"}


@pytest.mark.network
def test_image_push_and_pull_agree(synthetic_repo, tmp_path: Path, monkeypatch, capsys,  # type: ignore[no-untyped-def]
                                   registry: Daemon) -> None:  # noqa: F811
    """push (to two repositories, so each uploads everything) and pull: the same JSON."""
    monkeypatch.chdir(tmp_path)
    w = World(tmp_path, synthetic_repo.root)
    capsys.readouterr()
    assert main(["image", "push", w.image, f"{registry.url}/parity/cli:t", "--json"]) == 0
    cli_doc = json.loads(capsys.readouterr().out)
    pushed = api.image_push(w.image, f"{registry.url}/parity/api:t")
    assert_output_valid(cli_doc, pushed)
    assert _canonical(pushed.to_json()).replace("parity/api", "parity/cli") == _canonical(cli_doc)
    assert main(["image", "pull", f"{registry.url}/parity/cli:t", "-o", "p.tar", "--json"]) == 0
    cli_doc = json.loads(capsys.readouterr().out)
    pulled = api.image_pull(f"{registry.url}/parity/cli:t", output="p.tar")
    assert _canonical(pulled.to_json()) == _canonical(cli_doc)
    assert_output_valid(cli_doc, pulled)
