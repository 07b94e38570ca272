"""A campaign's plan: one task per observation, its command and the key the ledger knows it by.

Pure: the manifest, the observations chosen and the command template in, tasks out; no file is
opened and no clock read.

**Placeholders.** The command is a list of arguments, never a shell line. In each argument the
placeholders below are replaced by their value for the observation, as plain text (no quoting
is needed, as nothing is parsed by a shell); anything else, braces included, is left as it is,
so a ``python -c`` snippet with a dict literal is safe:

==================  ===========================================================================
``{obs_id}``        the observation's label in the manifest (its XMM ObsID, ``0201901401``)
``{odf}``           its ODF (the ``odf`` column of the observation list, else ``--odf``)
``{calibration_id}``  its observation id, ``rpcal:2:obs:<hex>`` (also ``$REPROCAL_CALIBRATION_ID``)
==================  ===========================================================================

**The key.** A task is known to the ledger by the sha256 of the RFC 8785 form of
``{"observation", "calibration_id", "image", "command"}``: the observation's label, its
observation id (its dates and the content of every constituent it selects), the digest of the
image it runs in (``null`` on the host) and the command after substitution. Re-pinning the
observation, another image or another command makes another key, so the task runs again; the
same four give the same key on any machine.

>>> t = Task("0201901401", "rpcal:2:obs:" + "0" * 64, ("epproc", "odf={odf}"), None,
...          {"odf": "/archive/0201901401/odf"})
>>> t.argv
('epproc', 'odf=/archive/0201901401/odf')
>>> t.key == Task("0201901401", "rpcal:2:obs:" + "0" * 64, ("epproc", "odf={odf}"), None,
...                {"odf": "/archive/0201901401/odf"}).key
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

import attrs

from reprocal.core._calid import canonical
from reprocal.errors import PARAMETERS, InputError, Names

PLACEHOLDERS = ("obs_id", "odf", "calibration_id")
"""The placeholders a campaign command may hold (see the module docstring)."""

_TOKEN = re.compile(r"\{([a-z_]+)\}")


def substitute(argument: str, values: Mapping[str, str]) -> str:
    """``argument`` with each known placeholder replaced (others left as they are).

    >>> substitute("table={obs_id}_pn.fits", {"obs_id": "0201901401"})
    'table=0201901401_pn.fits'
    >>> substitute("print({'a': 1}) {nope}", {"obs_id": "x"})
    "print({'a': 1}) {nope}"
    """
    return _TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), argument)


def placeholders_in(command: Sequence[str]) -> set[str]:
    """The known placeholders ``command`` uses.

    >>> sorted(placeholders_in(["epproc", "odf={odf}", "{obs_id}", "{x}"]))
    ['obs_id', 'odf']
    """
    return {m for a in command for m in _TOKEN.findall(a) if m in PLACEHOLDERS}


def unknown_placeholders(command: Sequence[str]) -> list[str]:
    """``{word}`` tokens that are no placeholder (a typo, or braces meant literally).

    >>> unknown_placeholders(["x", "{obsid}", "{odf}", "{'a': 1}"])
    ['{obsid}']
    """
    out = []
    for a in command:
        for m in _TOKEN.findall(a):
            if m not in PLACEHOLDERS and f"{{{m}}}" not in out:
                out.append(f"{{{m}}}")
    return out


def task_key(observation: str, calibration_id: str, image: str | None,
             argv: Sequence[str]) -> str:
    """The ledger's key of a task (see the module docstring): 64 hex digits."""
    return hashlib.sha256(canonical({
        "observation": observation, "calibration_id": calibration_id, "image": image,
        "command": list(argv)})).hexdigest()


@attrs.frozen
class Task:
    """One observation's task in a campaign."""

    observation: str
    """The observation's label in the manifest (the name of its product directory)."""
    calibration_id: str
    """Its observation id (``rpcal:2:obs:<hex>``)."""
    template: tuple[str, ...]
    """The campaign's command, placeholders unsubstituted."""
    image: str | None
    """The digest of the image the command runs in (``None``: on the host)."""
    values: Mapping[str, str] = attrs.field(factory=dict)
    """Placeholder values other than ``obs_id`` and ``calibration_id`` (``odf``)."""

    @property
    def argv(self) -> tuple[str, ...]:
        """The command this task runs."""
        values = {**self.values, "obs_id": self.observation,
                  "calibration_id": self.calibration_id}
        return tuple(substitute(a, values) for a in self.template)

    @property
    def key(self) -> str:
        return task_key(self.observation, self.calibration_id, self.image, self.argv)


def plan(labels: Sequence[str], observation_ids: Mapping[str, str], command: Sequence[str], *,
         image: str | None = None, odf: Mapping[str, str] | None = None,
         names: Names = PARAMETERS) -> tuple[Task, ...]:
    """The tasks of a campaign: one per label (in the order given), each with its observation
    id from ``observation_ids`` (label -> id) and its ``odf`` (label -> path), when known. A
    command using ``{odf}`` needs an ODF for every observation."""
    if not command:
        raise InputError("no command given",
                         hint="reprocal campaign run MANIFEST -o DIR -- COMMAND {obs_id} ...")
    odf = odf or {}
    wants_odf = "odf" in placeholders_in(command)
    tasks = []
    for label in labels:
        values = {"odf": odf[label]} if label in odf else {}
        if wants_odf and "odf" not in values:
            raise InputError(f"the command uses {{odf}} but observation {label} has none",
                             hint=f"give {names.given('odf', 'TEMPLATE')} (such as "
                                  "/archive/{obs_id}/odf) or an odf column in "
                                  f"{names('obs_list')}")
        tasks.append(Task(label, observation_ids[label], tuple(command), image, values))
    return tuple(tasks)


__all__ = ["PLACEHOLDERS", "Task", "placeholders_in", "plan", "substitute", "task_key",
           "unknown_placeholders"]
