"""PDF of the recording report, through WeasyPrint (optional: ``pip install 'emoscope[pdf]'``).

WeasyPrint lays out the same self-contained HTML as the ``html`` format; its URL fetcher is
replaced by one that refuses everything, so making a PDF never touches the network.
"""

from __future__ import annotations

from typing import Any

from emoscope.errors import EmoscopeError
from emoscope.export.registry import register_exporter
from emoscope.types import PredictionDocument


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise EmoscopeError(f"The PDF report must not load {url!r}: reports are self-contained.")


def render_pdf(doc: PredictionDocument, **_: Any) -> bytes:
    """Return the recording report as PDF bytes.

    Raises:
        EmoscopeError: If WeasyPrint (or its Pango libraries) is not installed.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise EmoscopeError(
            f"PDF export needs WeasyPrint and the Pango library ({exc}). Install them with "
            "`pip install 'emoscope[pdf]'` (and `apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0`), or export html and print it from a browser."
        ) from None
    from emoscope.report.recording import render_recording_report

    html = render_recording_report(doc)
    return weasyprint.HTML(string=html, url_fetcher=_refuse).write_pdf()


register_exporter(
    "pdf",
    render_pdf,
    suffix=".pdf",
    media_type="application/pdf",
    description="the recording report as PDF (needs WeasyPrint)",
)
