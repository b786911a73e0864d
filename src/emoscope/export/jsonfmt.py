"""The native format: the validated ``emoscope.prediction/1`` JSON document."""

from __future__ import annotations

import json
from typing import Any

from emoscope.export.registry import register_exporter
from emoscope.schema import validate_document
from emoscope.types import PredictionDocument


def render_json(doc: PredictionDocument, **_: Any) -> bytes:
    """Return the document as indented UTF-8 JSON, checked against the shipped schema."""
    data = doc.to_json_dict()
    validate_document(data, source=f"document {doc.recording.id}")
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


register_exporter(
    "json",
    render_json,
    suffix=".json",
    media_type="application/json",
    description="emoscope.prediction/1 (the native format, with its JSON Schema)",
)
