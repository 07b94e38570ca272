"""How SAS tasks take their arguments, parsed: ``name=value`` parameters and the generic options
every SAS task accepts.

What this follows (SAS's task interface as its users meet it; the pySAS task wrapper documents
the same conventions and passes arguments this way):

* a parameter is ``name=value`` (the value may itself hold ``=``; the shell has removed any
  quotes); older SAS documentation writes ``-name=value``, which is accepted too;
* booleans are ``yes``/``no`` (``true``/``false``, ``y``/``n``, ``t``/``f`` too, any case);
* a sub-parameter given without its switch implies the switch (``ccfpath=DIR`` means
  ``withccfpath=yes``, the "implicit" behaviour of SAS's parameter interface), unless the
  switch is given ``no``, where a non-default sub-parameter is refused (it would have no
  effect);
* generic options start with ``-`` or ``--``, may be interleaved with parameters, and take
  their value as the next argument (``-V 4``) or after ``=`` (``--verbosity=4``):
  ``-v/--version``, ``-h/--help``, ``-p/--param``, ``-d/--dialog``, ``-m/--manpage``,
  ``-c/--noclobber``, ``-t/--trace``, ``-V/--verbosity N``, ``-w/--warning N``,
  ``-a/--ccfpath DIRS``, ``-i/--ccf CIF``, ``-o/--odf ODF``, ``-f/--ccffiles FILES``;
* a parameter the task does not have is an error naming it, never ignored; so is one given
  twice.

Pure: argument strings in, a :class:`TaskArgs` out, or an :class:`~reprocal.errors.InputError`
naming the argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from reprocal.errors import InputError

VALUED = {"verbosity": "V", "warning": "w", "ccfpath": "a", "ccf": "i", "odf": "o",
          "ccffiles": "f"}
"""Generic options that take a value: long name -> short letter."""
FLAGS = {"version": "v", "help": "h", "param": "p", "dialog": "d", "manpage": "m",
         "noclobber": "c", "trace": "t"}
"""Generic options that are switches."""
_BY_LETTER = {letter: name for name, letter in {**VALUED, **FLAGS}.items()}
_PARAM = re.compile(r"^-{0,2}(?P<name>[A-Za-z][A-Za-z0-9_]*)=(?P<value>.*)\Z", re.DOTALL)
_TRUE = {"yes", "y", "true", "t"}
_FALSE = {"no", "n", "false", "f"}


@dataclass(frozen=True)
class TaskArgs:
    """One task invocation, parsed."""

    params: Mapping[str, str]
    """``name -> value`` as given (text), in the order given."""
    options: Mapping[str, str | bool] = field(default_factory=dict)
    """Generic option (long name) -> its value, or ``True`` for a switch."""


def _option(token: str, rest: list[str], task: str) -> tuple[str, str | bool]:
    """One generic option (``-V``, ``--verbosity``, ``--verbosity=4``); its value is taken from
    ``rest`` when it needs one."""
    body = token.lstrip("-")
    name, eq, value = body.partition("=")
    long = name if token.startswith("--") else _BY_LETTER.get(name, "")
    if token.startswith("--") and long not in VALUED and long not in FLAGS:
        long = ""
    if not long:
        raise InputError(f"{task}: unknown option {token}",
                         hint=f"SAS's generic options: {_option_list()}; parameters are "
                              "name=value")
    if long in FLAGS:
        if eq:
            raise InputError(f"{task}: option {token.partition('=')[0]} takes no value")
        return long, True
    if eq:
        return long, value
    if not rest:
        raise InputError(f"{task}: option {token} needs a value (-{VALUED[long]} VALUE)")
    return long, rest.pop(0)


def _is_option(token: str, name: str) -> bool:
    """``--verbosity=4`` and ``-V=4`` are options; ``-withmasterindexset=yes`` (SAS's older
    documentation) and ``name=value`` are parameters."""
    if token.startswith("--"):
        return name in VALUED or name in FLAGS
    return token.startswith("-") and len(name) == 1


def _option_list() -> str:
    return ", ".join(f"-{letter}/--{name}" for name, letter in {**FLAGS, **VALUED}.items())


def parse(argv: Sequence[str], parameters: Iterable[str], *, task: str = "cifbuild",
          described_by: str | None = None) -> TaskArgs:
    """Split ``argv`` into parameters (only names in ``parameters``) and generic options.

    >>> parse(["analysisdate=now", "-V", "5", "--noclobber"], ["analysisdate"])
    TaskArgs(params={'analysisdate': 'now'}, options={'verbosity': '5', 'noclobber': True})
    """
    known = set(parameters)
    params: dict[str, str] = {}
    options: dict[str, str | bool] = {}
    rest = list(argv)
    while rest:
        token = rest.pop(0)
        m = _PARAM.match(token)
        if m and not _is_option(token, m["name"]):
            name = m["name"]
            if name not in known:
                raise InputError(f"{task} has no parameter {name!r} (in {token!r})",
                                 hint=f"its parameters: {', '.join(sorted(known))}; "
                                      f"`{described_by or task + ' -h'}` describes them")
            if name in params:
                raise InputError(f"{task}: parameter {name} is given twice ({name}="
                                 f"{params[name]!r} and {token!r})", hint="give it once")
            params[name] = m["value"]
        elif token.startswith("-") and token != "-":
            long, value = _option(token, rest, task)
            if long in options:
                raise InputError(f"{task}: option --{long} is given twice", hint="give it once")
            options[long] = value
        else:
            raise InputError(f"{task}: unexpected argument {token!r}",
                             hint="SAS task parameters are name=value (analysisdate=2018-07-27"
                                  "T17:25:14)")
    return TaskArgs(params, options)


def boolean(name: str, value: str) -> bool:
    """A SAS boolean parameter's value.

    >>> boolean("fullpath", "YES"), boolean("fullpath", "n")
    (True, False)
    """
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InputError(f"{name}={value!r}: not a boolean", hint=f"give {name}=yes or {name}=no")


def with_switches(params: Mapping[str, str], switches: Mapping[str, str],
                  defaults: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Apply the implicit switches: a sub-parameter given without its switch turns it on.
    Returns the parameters and one note per implied switch; a sub-parameter given a value other
    than its default while its switch is given ``no`` is refused.

    >>> with_switches({"ccfpath": "/ccf"}, {"ccfpath": "withccfpath"}, {"ccfpath": "."})
    ({'ccfpath': '/ccf', 'withccfpath': 'yes'}, ['ccfpath=/ccf implies withccfpath=yes'])
    """
    out = dict(params)
    notes = []
    for sub, switch in switches.items():
        if sub not in params:
            continue
        if switch not in params:
            out[switch] = "yes"
            notes.append(f"{sub}={params[sub]} implies {switch}=yes")
        elif not boolean(switch, params[switch]) and params[sub] != defaults.get(sub):
            raise InputError(f"{sub}={params[sub]!r} has no effect with {switch}=no",
                             hint=f"give {switch}=yes, or drop {sub}")
    return out, notes


__all__ = ["FLAGS", "VALUED", "TaskArgs", "boolean", "parse", "with_switches"]
