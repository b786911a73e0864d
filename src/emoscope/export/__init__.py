"""Exports of a prediction document: JSON, W3C EmotionML 1.0, HL7 FHIR R4, CSV and HTML.

Every format is a view of the same :class:`~emoscope.types.PredictionDocument`, registered by
name with :func:`register_exporter`; :func:`write_export` writes one file atomically.

Examples:
    >>> available_formats()
    ['csv', 'emotionml', 'fhir', 'html', 'json', 'pdf']
    >>> import tempfile, pathlib
    >>> from emoscope.testing.documents import sample_document
    >>> out = write_export(sample_document(), "csv", pathlib.Path(tempfile.mkdtemp()) / "d.csv")
    >>> out.read_text().splitlines()[0][:38]
    'recording_id,segment_id,start,end,spea'
"""

from __future__ import annotations

from emoscope.export.registry import (
    Exporter,
    available_formats,
    export_bytes,
    get_exporter,
    register_exporter,
    write_export,
)

__all__ = [
    "Exporter",
    "available_formats",
    "export_bytes",
    "get_exporter",
    "register_exporter",
    "write_export",
]
