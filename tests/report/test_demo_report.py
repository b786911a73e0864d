"""The report of the real `analyze` output for the shipped demo recording, in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from emoscope.export import write_export
from emoscope.export.emotionml import check_emotionml
from emoscope.privacy import apply_privacy
from emoscope.types import PredictionDocument


@pytest.fixture(scope="module")
def demo_doc(demo_sample: Path) -> PredictionDocument:
    from emoscope.pipeline import analyze

    return analyze(demo_sample)


def test_demo_report_renders(demo_doc: PredictionDocument, tmp_path: Path, open_page) -> None:
    assert demo_doc.segments, "the analyze pipeline found no segments in the demo"
    path = write_export(demo_doc, "html", tmp_path / "demo.html")
    load = open_page(path)
    bars = load.page.locator("svg#timeline rect.segment")
    assert bars.count() == len(demo_doc.segments)
    assert all(bars.nth(i).bounding_box()["width"] > 1 for i in range(bars.count()))
    text = load.page.locator("body").inner_text()
    assert "thank you for coming in" in text.lower()
    assert load.console_errors == [] and load.errors == []


def test_demo_redacted_exports(demo_doc: PredictionDocument, tmp_path: Path) -> None:
    doc = apply_privacy(demo_doc, no_transcript=True)
    for fmt in ("html", "emotionml", "csv", "json"):
        out = write_export(doc, fmt, tmp_path / f"demo.{fmt}")
        assert "coming in" not in out.read_text().lower(), fmt
    assert check_emotionml((tmp_path / "demo.emotionml").read_bytes()) == []
