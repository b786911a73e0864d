"""The self-contained HTML recording report as an export format (see :mod:`emoscope.report`)."""

from __future__ import annotations

from typing import Any

from emoscope.export.registry import register_exporter
from emoscope.types import PredictionDocument


def render_html(doc: PredictionDocument, **_: Any) -> bytes:
    """Return the recording report (one HTML file, no external resources)."""
    from emoscope.report.recording import render_recording_report

    return render_recording_report(doc).encode("utf-8")


register_exporter(
    "html",
    render_html,
    suffix=".html",
    media_type="text/html",
    description="self-contained recording report (timeline, transcript, summary)",
)
