"""Self-contained HTML reports of a recording and of an evaluation run.

:func:`render_recording_report` renders one prediction document, :func:`render_evaluation_report`
one evaluation run.

Both are single HTML files with inline CSS and inline SVG charts, no scripts and no external
resources, so they open offline in any browser and can be mailed or archived as they are.
"""

from __future__ import annotations

from emoscope.report.evaluation import (
    reliability_bins,
    render_evaluation_report,
    write_run_report,
)
from emoscope.report.recording import render_recording_report

__all__ = [
    "reliability_bins",
    "render_evaluation_report",
    "render_recording_report",
    "write_run_report",
]
