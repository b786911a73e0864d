"""The page in headless Chromium: token hand-over, upload of the demo, timeline, recording."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from emoscope.testing import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS

from .conftest import TOKEN, LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    *BASE_CHROMIUM_ARGS,
    # a fake microphone (a beeping tone) that needs no permission prompt
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
RESULT_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium for the page tests (`apt-get install chromium`)",
)


@pytest.fixture(scope="module")
def browser(playwright_session) -> Iterator[object]:  # noqa: ANN001 - playwright types
    b = playwright_session.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield b
    b.close()


@pytest.fixture()
def page(browser, server: LiveServer):  # noqa: ANN001, ANN201 - playwright types
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    p = context.new_page()
    p.console_errors = []
    p.on("console", lambda m: m.type == "error" and p.console_errors.append(m.text))
    p.on("pageerror", lambda e: p.console_errors.append(str(e)))
    yield p
    context.close()


def wait_for_result(page) -> None:  # noqa: ANN001
    """Wait until the result shows, or the analysis failed (then fail with its message)."""
    failed = page.locator("#progress-text", has_text="the analysis failed")
    page.locator("#result:not([hidden])").or_(failed).wait_for(timeout=RESULT_TIMEOUT_MS)
    assert not failed.is_visible(), page.text_content("#progress-text")


def test_token_from_the_address_is_kept_and_removed(page, server: LiveServer) -> None:
    page.goto(f"{server.url}/#token={TOKEN}")
    page.wait_for_selector("#new:not([hidden])")
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('emoscope-token')") == TOKEN
    assert page.is_hidden("#access")
    assert page.console_errors == []


def test_without_a_token_the_page_asks_for_it(page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.wait_for_selector("#access:not([hidden])")
    assert page.is_hidden("#new")
    page.get_by_label("Access token").fill("not-the-right-token-123")
    page.keyboard.press("Enter")
    page.locator("#access-error", has_text="not the service's token").wait_for()
    page.get_by_label("Access token").fill(TOKEN)
    page.get_by_role("button", name="Use this token").click()
    page.wait_for_selector("#new:not([hidden])")


UNLABELLED = """() => [...document.querySelectorAll('input, select, button, [tabindex="0"]')]
  .filter((e) => e.offsetParent !== null)
  .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label')
                   || (e.tagName === 'BUTTON' && e.textContent.trim())))
  .map((e) => e.outerHTML.slice(0, 80))"""

CONTRAST = """() => {
  const lum = (css) => {
    const [r, g, b] = css.match(/[0-9.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  return [...document.querySelectorAll('#timeline .segment')].map((e) => {
    const s = getComputedStyle(e);
    const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
}"""


@pytest.mark.slow  # the demo's analysis takes 10-25 s on the shared 2-core machine
def test_upload_the_demo_and_see_the_timeline(
    page, server: LiveServer, demo_sample: Path, tmp_path: Path
) -> None:
    page.goto(f"{server.url}/#token={TOKEN}")
    page.get_by_label("Audio file").set_input_files(str(demo_sample))
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_selector("#progress:not([hidden])")
    wait_for_result(page)
    shots = Path(os.environ.get("EMOSCOPE_TEST_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "server-page-result.png"), full_page=True)
    job_id = page.evaluate("state.current.id")
    with server.client() as c:
        doc = c.get(f"/v1/analyses/{job_id}").json()["document"]
    n = len(doc["segments"])
    # the page's default: each voice judged against its own usual (the checkbox starts ticked)
    assert doc["provenance"]["config"]["speaker_adapt"] is True
    assert page.locator("#speaker-adapt-input").is_checked()
    timeline = page.locator("#timeline")
    assert timeline.is_visible()
    assert timeline.get_attribute("data-segments") == str(n)
    assert page.locator("#timeline .segment").count() == n
    assert page.locator("#transcript tbody tr").count() == max(n, 1)
    assert "demo.flac" in page.text_content("#result-title")
    assert page.locator("#axis span").count() == 6
    assert page.evaluate(UNLABELLED) == []  # every visible control has an accessible name
    assert all(ratio >= 4.5 for ratio in page.evaluate(CONTRAST))  # WCAG AA text contrast
    if n:
        first = page.locator("#timeline .segment").first
        first.focus()
        page.keyboard.press("Enter")
        assert page.locator("#transcript tr.selected").count() == 1
        assert doc["segments"][0]["emotion"] is None or doc["segments"][0]["emotion"]["label"] in (
            first.text_content() or ""
        )
    # downloads go through the API with the token
    with page.expect_download() as info:
        page.get_by_role("button", name="Prediction (JSON)").click()
    assert info.value.suggested_filename == "demo.emoscope.json"
    with server.client() as c:
        formats = c.get("/v1/health").json()["export_formats"]
    if "html" in formats:
        with page.context.expect_page() as tab_info:
            page.get_by_role("button", name="Open report").click()
        tab = tab_info.value
        tab.wait_for_url("**/report?expires=*")
        tab.wait_for_load_state()
        assert "token" not in tab.url
        assert tab.locator("body").inner_text().strip()
        assert tab.evaluate("window.opener") is None
        tab.close()
        with page.expect_download() as info:
            page.get_by_role("button", name="Report (HTML)").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert saved.suffix == ".html" and "<html" in saved.read_text().lower()
    assert page.console_errors == []
    # the history lists it; delete removes it
    assert "demo.flac" in page.text_content("#history-table")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete this analysis").click()
    page.wait_for_selector("#result", state="hidden")
    with server.client() as c:
        assert c.get(f"/v1/analyses/{job_id}").status_code == 404


def test_record_in_the_browser_and_analyse(page, server: LiveServer) -> None:
    page.goto(f"{server.url}/#token={TOKEN}")
    record = page.get_by_role("button", name="Start recording")
    record.click()
    page.locator("#record-status", has_text="Recording… 0:01").wait_for()
    page.get_by_role("button", name="Stop recording").click()
    page.wait_for_selector("#record-preview:not([hidden])")
    page.get_by_role("button", name="Analyse").click()
    wait_for_result(page)
    job_id = page.evaluate("state.current.id")
    with server.client() as c:
        job = c.get(f"/v1/analyses/{job_id}").json()
    assert job["format"] == "webm" and job["filename"] == "recording.webm"
    assert job["document"]["recording"]["duration_s"] > 0.5
    assert page.console_errors == []
