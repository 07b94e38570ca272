"""Rendering reprocal's HTML pages in a real browser: Debian's headless Chromium, driven by
Playwright (its Python package; never a browser it downloads).

:func:`open_browser` skips the test, with the reason, where ``chromium`` (a component:
tests/components.txt) or the ``playwright`` package is missing. :func:`render` loads one page from its file and returns what
a person would meet: console messages and page errors, every request the page made (a
self-contained page makes none but itself), dialogs (a hostile value that ran would open one),
and a full-page screenshot kept as a test artefact (its path printed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.components import program

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""What this machine's Chromium needs: no sandbox as root, no GPU, and none of its own
background connections (the network is closed: they would fail, many at a time)."""


@dataclass
class Rendered:
    page: Any
    """The Playwright page, still open (query its DOM)."""
    screenshot: Path
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


@contextmanager
def open_browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (own empty profile) for one test; skips when unavailable."""
    chromium = program("chromium")
    sync = pytest.importorskip("playwright.sync_api",
                               reason="the playwright package is not installed (test extra)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with sync.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def render(context: Any, page_file: Path, screenshot: Path) -> Rendered:
    """Load ``page_file`` and take a full-page screenshot to ``screenshot``."""
    page = context.new_page()
    out = Rendered(page, screenshot)
    page.on("console", lambda m: out.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: out.errors.append(str(e)))
    page.on("request", lambda r: out.requests.append(r.url))
    page.on("dialog", lambda d: (out.dialogs.append(d.message), d.dismiss()))
    page.goto(page_file.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(200)
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of {page_file.name}: {screenshot}")
    return out
