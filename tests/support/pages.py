"""Checking an HTML report without a browser: what it holds, and that it is self-contained and
runs no script but its own."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from reprocal.report._page import CSP, SCRIPT


class Page(HTMLParser):
    """What a page holds: its elements, the attributes of each, its scripts."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def assert_self_contained(text: str) -> Page:
    """No external resource, no script but ours, links only http(s) or in-page."""
    page = Page(text)
    assert [a.get("content") for a in page.all("meta")
            if a.get("http-equiv") == "Content-Security-Policy"] == [CSP]
    assert page.scripts == [SCRIPT]
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "srcset", "action", "formaction", "background", "poster"):
                raise AssertionError(f"{tag} loads {value}")
            if name in ("href", "xlink:href") and value and not value.startswith("#"):
                assert tag == "a" and re.match(r"^https?://", value), (tag, value)
    assert not re.search(r"@import|url\((?!#)", text), "a stylesheet loads something"
    assert "<link" not in text and "<iframe" not in text and "<object" not in text
    return page
