"""Who a bundle is by and under what terms: its licence, authors, their affiliation and its
publisher, as RO-Crate wants them (a licence entity, ``author`` Persons with an affiliation,
a ``publisher`` Organization with a URL).

Everything is given by the user, never guessed, except the authors, which default to the git
identity (``user.name``/``user.email``) of the working directory, as git commits do. A licence
is an SPDX identifier (``CC-BY-4.0``, checked and canonicalised against the SPDX list
``packaging`` ships); a bundle without one is refused, since a dataset without a licence cannot
be reused. Parsing is pure; only :func:`resolve_credits` reads git.

>>> Person.parse("Jane Doe <jane@example.org> 0000-0002-1825-0097").to_json()["@id"]
'https://orcid.org/0000-0002-1825-0097'
>>> Organization.parse("ESA ESAC <https://www.cosmos.esa.int/web/esac>").url
'https://www.cosmos.esa.int/web/esac'
>>> License.parse("cc-by-4.0").url
'https://spdx.org/licenses/CC-BY-4.0'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import PARAMETERS, InputError, Names

SPDX = "https://spdx.org/licenses/"
_ORCID_RE = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")
_EMAIL_RE = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")
_URL_RE = re.compile(r"<?(https?://[^\s<>]+)>?")


def _slug(name: str) -> str:
    """A local identifier for a name: ``#jane-doe``.

    >>> _slug("Jane  Q. Doe")
    '#jane-q-doe'
    """
    return "#" + ("-".join(re.findall(r"[a-z0-9]+", name.lower())) or "person")


@attrs.frozen
class License:
    """A licence by its SPDX identifier."""

    spdx: str
    """Canonical SPDX id, e.g. ``CC-BY-4.0``."""

    @property
    def url(self) -> str:
        return SPDX + self.spdx

    @classmethod
    def parse(cls, text: str, *, option: str = "--license") -> License:
        """An SPDX id (any case) or its ``https://spdx.org/licenses/<id>`` URL."""
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

        value = text.strip()
        for prefix in (SPDX, "http://spdx.org/licenses/"):
            if value.startswith(prefix):
                value = value[len(prefix):].removesuffix(".html")
        if not re.fullmatch(r"[A-Za-z0-9.+-]+", value):
            raise InputError(f"{option} {text!r}: give one SPDX licence id, e.g. CC-BY-4.0 "
                             "(see https://spdx.org/licenses/)")
        try:
            canonical = canonicalize_license_expression(value)
        except InvalidLicenseExpression:
            raise InputError(f"{option} {text!r} is not an SPDX licence id",
                             hint="e.g. CC-BY-4.0, CC0-1.0, MIT (see https://spdx.org/licenses/)"
                             ) from None
        if canonical.startswith("LicenseRef-"):
            raise InputError(f"{option} {text!r}: a LicenseRef has no public page; give an SPDX "
                             "licence id")
        return cls(canonical)

    def to_json(self) -> dict[str, Any]:
        return {"@id": self.url, "@type": "CreativeWork", "name": self.spdx,
                "identifier": self.spdx, "url": self.url}


@attrs.frozen
class Organization:
    """An organisation, identified by its URL (a ROR id is best)."""

    name: str
    url: str

    @classmethod
    def parse(cls, text: str, *, option: str = "--publisher") -> Organization:
        """``NAME <URL>``: the URL is required (RO-Crate wants an organisation's web page)."""
        m = _URL_RE.search(text)
        name = _URL_RE.sub("", text).strip(" ,")
        if m is None or not name:
            raise InputError(f"{option} {text!r}: give NAME <URL>, e.g. "
                             f"{option} 'ESA ESAC <https://www.cosmos.esa.int/web/esac>'")
        return cls(" ".join(name.split()), m.group(1))

    def to_json(self) -> dict[str, Any]:
        return {"@id": self.url, "@type": "Organization", "name": self.name, "url": self.url}


@attrs.frozen
class Person:
    """An author."""

    name: str
    email: str | None = None
    orcid: str | None = None
    """``0000-0002-1825-0097``, when given."""

    @classmethod
    def parse(cls, text: str, *, option: str = "--author") -> Person:
        """``NAME [<EMAIL>] [ORCID]``, the ORCID bare or as its ``https://orcid.org/`` URL."""
        orcid = _ORCID_RE.search(text)
        email = _EMAIL_RE.search(text)
        name = _EMAIL_RE.sub("", _ORCID_RE.sub("", text)).strip(" ,")
        if not name or "<" in name or ">" in name:
            raise InputError(f"{option} {text!r}: give NAME [<EMAIL>] [ORCID], e.g. "
                             f"{option} 'Jane Doe <jane@example.org> 0000-0002-1825-0097'")
        return cls(" ".join(name.split()), email.group(1) if email else None,
                   orcid.group(1) if orcid else None)

    @property
    def id(self) -> str:
        return f"https://orcid.org/{self.orcid}" if self.orcid else _slug(self.name)

    def to_json(self, affiliation: Organization | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"@id": self.id, "@type": "Person", "name": self.name}
        if self.email:
            out["email"] = self.email
        if affiliation is not None:
            out["affiliation"] = {"@id": affiliation.url}
        return out


@attrs.frozen
class Credits:
    """Licence, authors, affiliation and publisher of one bundle."""

    license: License
    authors: tuple[Person, ...]
    affiliation: Organization
    """The authors' organisation."""
    publisher: Organization


def resolve_credits(
    *,
    license: str | None,
    authors: Sequence[str] = (),
    affiliation: str | None = None,
    publisher: str | None = None,
    cwd: str | Path | None = None,
    names: Names = PARAMETERS,
) -> Credits:
    """The credits of a bundle from what the user gave: the licence is required; authors
    default to the git identity of ``cwd``; the affiliation and the publisher default to each
    other, and one of them is required. Messages spell the parameters as ``names`` says."""
    if not license:
        raise InputError(f"a bundle needs a licence: give {names('license')} with an SPDX id, "
                         f"e.g. {names.given('license', 'CC-BY-4.0')}",
                         hint="journals and Zenodo will not take data without one")
    lic = License.parse(license, option=names("license"))
    people = tuple(Person.parse(a, option=names("authors")) for a in authors)
    if not people:
        from reprocal.provenance._gitstate import git_identity

        ident = git_identity(Path(cwd or Path.cwd()))
        if ident is None:
            raise InputError(f"a bundle needs its authors: give "
                             f"{names.given('authors', repr('NAME <EMAIL>'))} (repeatable), or "
                             "set git's user.name")
        people = (Person(ident[0], ident[1]),)
    if affiliation is None and publisher is None:
        raise InputError(f"a bundle needs a publisher: give "
                         f"{names.given('publisher', repr('NAME <URL>'))} (the institute or "
                         "archive publishing it; also the authors' affiliation unless "
                         f"{names('affiliation')} is given)")
    aff = Organization.parse(affiliation or publisher or "", option=names("affiliation")
                             if affiliation else names("publisher"))
    pub = Organization.parse(publisher or affiliation or "", option=names("publisher")
                             if publisher else names("affiliation"))
    ids = [p.id for p in people]
    if len(set(ids)) != len(ids):
        raise InputError(f"{names('authors')}: two authors have the same identifier ({ids})")
    return Credits(lic, people, aff, pub)


__all__ = ["Credits", "License", "Organization", "Person", "resolve_credits"]
