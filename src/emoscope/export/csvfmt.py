"""CSV: one row per segment, with one probability column per label.

Columns: recording and segment ids, times, speaker, label, confidence, ``p_<label>`` for each of
the model's labels, flags (``;``-separated), quality figures and the transcript (empty after
``--no-transcript``).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from emoscope.export.registry import register_exporter
from emoscope.types import PredictionDocument

BASE_COLUMNS = ("recording_id", "segment_id", "start", "end", "speaker", "label", "confidence")
TAIL_COLUMNS = ("flags", "alignment", "speech_ratio", "asr_confidence", "transcript")


def render_csv(doc: PredictionDocument, **_: Any) -> bytes:
    """Return the segments as CSV (UTF-8, header row, LF line ends).

    Examples:
        >>> from emoscope.testing.documents import sample_document
        >>> rows = render_csv(sample_document()).decode().splitlines()
        >>> len(rows), rows[1].split(",")[5]
        (7, 'neutral')
    """
    labels = list(doc.model.labels) if doc.model else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BASE_COLUMNS, *(f"p_{lab}" for lab in labels), *TAIL_COLUMNS])
    for seg in doc.segments:
        probs = seg.emotion.probabilities if seg.emotion else {}
        writer.writerow(
            [
                doc.recording.id,
                seg.id,
                f"{seg.start:.3f}",
                f"{seg.end:.3f}",
                seg.speaker or "",
                seg.emotion.label if seg.emotion else "",
                f"{seg.emotion.confidence:.4f}" if seg.emotion else "",
                *(f"{probs[lab]:.4f}" if lab in probs else "" for lab in labels),
                ";".join(seg.flags),
                seg.quality.alignment,
                "" if seg.quality.speech_ratio is None else f"{seg.quality.speech_ratio:.3f}",
                "" if seg.quality.asr_confidence is None else f"{seg.quality.asr_confidence:.3f}",
                seg.transcript or "",
            ]
        )
    return out.getvalue().encode("utf-8")


register_exporter(
    "csv",
    render_csv,
    suffix=".csv",
    media_type="text/csv",
    description="one row per segment with per-label probabilities",
)
