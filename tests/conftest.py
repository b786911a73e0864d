"""Shared fixtures. Area fixtures live in each test folder's own conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLES = REPO / "samples"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The development corpora (../shared/data); skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the development corpora at {SHARED_DATA} (absent on this machine)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_sample() -> Path:
    """The demo recording that ships in the repository."""
    return SAMPLES / "demo.flac"


def chromium_path() -> str | None:
    """Debian's chromium, where installed."""
    import shutil

    found = shutil.which("chromium")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def playwright_session():  # noqa: ANN201 - playwright's types
    """One Playwright (sync API) for the whole run: a second one would find the first's loop.

    Test folders launch their own Chromium from it (with their own flags).
    """
    if chromium_path() is None:
        pytest.skip("needs Debian's chromium (`make system-deps` or `apt-get install chromium`)")
    api = pytest.importorskip("playwright.sync_api", reason="needs playwright for Python")
    with api.sync_playwright() as p:
        yield p
