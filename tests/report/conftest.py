"""A headless Chromium (Debian's package) shared by the report tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emoscope.testing import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = list(BASE_CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser(playwright_session: Any) -> Iterator[Any]:
    """A started Chromium; skips when the Debian package or Playwright is missing."""
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        args=CHROMIUM_ARGS,
    )
    yield browser
    browser.close()


class PageLoad:
    """A page opened from a file, with its console messages, page errors and requests."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    pages: list[PageLoad] = []

    def _open(path: Path) -> PageLoad:
        load = PageLoad(browser, path)
        pages.append(load)
        return load

    yield _open
    for load in pages:
        load.page.close()
