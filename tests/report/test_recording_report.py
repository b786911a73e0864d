"""The recording report opened in headless Chromium, and its content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emoscope.export import write_export
from emoscope.privacy import apply_privacy
from emoscope.report import render_recording_report
from emoscope.testing.documents import sample_document

EXPLANATION = {
    "label": "sad",
    "modality": {"contribution": {"audio": 0.21, "text": 0.08}},
    "words": [{"index": i, "word": w, "importance": 0.0} for i, w in enumerate("x y".split())],
    "cues": {"description": "quieter and lower than this speaker's usual"},
}


def test_timeline_renders_in_chromium_without_console_errors(tmp_path: Path, open_page) -> None:
    doc = sample_document()
    path = write_export(doc, "html", tmp_path / "report.html")
    load = open_page(path)
    page = load.page
    bars = page.locator("svg#timeline rect.segment")
    assert bars.count() == len(doc.segments)
    for i, seg in enumerate(doc.segments):
        bar = bars.nth(i)
        box = bar.bounding_box()
        assert box is not None and box["width"] > 1 and box["height"] > 1  # really drawn
        assert bar.get_attribute("data-label") == seg.emotion.label
        assert float(bar.get_attribute("data-confidence")) == pytest.approx(
            seg.emotion.confidence, abs=1e-3
        )
    # a more confident segment draws a taller bar
    heights = [bars.nth(i).bounding_box()["height"] for i in range(bars.count())]
    assert heights[0] > heights[3]  # 0.70 vs 0.42
    assert load.console_errors == []
    assert load.errors == []
    assert all(url.startswith("file:") for url in load.requests), load.requests
    assert page.locator("#not-a-diagnosis").is_visible()
    assert "not a diagnosis" in page.locator("#not-a-diagnosis").inner_text()
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_clicking_a_bar_jumps_to_its_words(tmp_path: Path, open_page) -> None:
    path = write_export(sample_document(), "html", tmp_path / "r.html")
    page = open_page(path).page
    page.locator("svg#timeline a").nth(3).click()
    assert page.url.endswith("#seg-0004")
    assert "alone" in page.locator("#seg-0004").inner_text()


def test_sections_and_flags() -> None:
    html = render_recording_report(sample_document())
    for heading in ("Summary", "Timeline", "Speakers", "Quality warnings", "Transcript", "Model"):
        assert f"<h2>{heading}</h2>" in html
    assert "low_confidence" in html and "mismatch" in html and "too_short" in html
    assert "spk-a" in html and "spk-b" in html
    assert "A test model." in html  # the model card
    assert "Hello Sarah" in html


def test_self_contained_no_external_urls() -> None:
    html = render_recording_report(sample_document())
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html
    assert "default-src 'none'" in html


def test_text_is_escaped() -> None:
    doc = sample_document()
    seg = doc.segments[0].model_copy(update={"transcript": "<script>alert(1)</script>"})
    doc = doc.model_copy(update={"segments": [seg, *doc.segments[1:]]})
    html = render_recording_report(doc)
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_explanations_shown() -> None:
    doc = sample_document(explanation=EXPLANATION)
    html = render_recording_report(doc)
    assert "audio +0.21" in html
    assert "quieter and lower than this speaker&#x27;s usual" in html


def test_redacted_report(tmp_path: Path, open_page) -> None:
    doc = apply_privacy(sample_document(), redact=True)
    path = write_export(doc, "html", tmp_path / "r.html")
    load = open_page(path)
    text = load.page.locator("body").inner_text()
    assert "Sarah" not in text and "[NAME]" in text
    assert "replaced by placeholders" in text
    assert load.console_errors == []


def test_occlusion_strip_drawn_per_window(tmp_path: Path, open_page) -> None:
    temporal = {
        "window_s": 0.5,
        "starts": [0.0, 0.5, 1.0],
        "ends": [0.5, 1.0, 1.5],
        "importance": [0.01, 0.3, -0.05],
        "peak": 0.75,
    }
    doc = sample_document(explanation={"label": "neutral", "temporal": temporal})
    path = write_export(doc, "html", tmp_path / "r.html")
    load = open_page(path)
    strip = load.page.locator("#seg-0001 svg.occlusion rect.occ")
    assert strip.count() == 3
    heights = [strip.nth(i).bounding_box()["height"] for i in range(3)]
    assert heights[1] == max(heights)
    assert "most telling moment around 0:01.2" in load.page.locator("#seg-0001").inner_text()
    assert load.console_errors == []


def test_distribution_modalities_and_dimensions_shown() -> None:
    from emoscope.types import Dimensions

    doc = sample_document()
    seg = doc.segments[0].model_copy(update={"dimensions": Dimensions(valence=0.2, arousal=-0.4)})
    html = render_recording_report(doc.model_copy(update={"segments": [seg, *doc.segments[1:]]}))
    assert html.count('class="dist-bar"') == 6
    assert "sound: neutral 70%" in html and "words: sad 50%" in html
    assert "valence +0.20, arousal -0.40" in html
