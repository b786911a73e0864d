"""HL7 FHIR R4 (4.0.1) export: a ``collection`` Bundle of one Device and Observations.

- **Device**: the model (``deviceName`` of type ``model-name``, ``version``).
- **One Observation per segment** with an emotion: ``code`` = emoscope's
  ``speech-emotion-segment``; ``valueCodeableConcept`` = the predicted label coded in emoscope's
  label CodeSystem (:data:`LABEL_SYSTEM`); one ``component`` per label whose ``valueQuantity`` is
  its probability (UCUM unit ``1``), plus ``segment-start``/``segment-end`` components in seconds
  from the start of the recording (and ``valence``/``arousal``/``dominance`` in [-1, 1] when the
  document has dimensions); ``effectivePeriod`` is those times added to the recording's
  start (the ``recorded_at`` option; default: the analysis time ``provenance.created``, since the
  document does not know when the audio was recorded); ``device`` points at the Device; flags go
  in ``note``; ``status`` is ``preliminary`` (an automatic estimate, not a clinician's finding).
- **One summary Observation**: ``speech-emotion-summary``, the dominant label, the
  duration-weighted distribution as components, ``hasMember`` -> the segment Observations.

No patient is referenced (the bundle is pseudonymous); a receiving system links it to its own
record. Transcripts are not exported to FHIR. Each ``fullUrl`` is a stable ``urn:uuid:`` value
derived from the recording and segment ids.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from emoscope.export.registry import register_exporter
from emoscope.types import PredictionDocument, Segment

CODE_SYSTEM = "https://emoscope.dev/fhir/CodeSystem/observation"
"""emoscope's CodeSystem for what is observed (segment, summary, segment times)."""
LABEL_SYSTEM = "https://emoscope.dev/fhir/CodeSystem/emotion-label"
"""emoscope's CodeSystem for emotion labels (code = the model's label name)."""
IDENTIFIER_SYSTEM = "urn:emoscope:segment"
UCUM = "http://unitsofmeasure.org"
_NAMESPACE = uuid.UUID("6f0c1f4e-9a53-4c1b-8f4e-2f0f1d6e5a10")

NOTICE = "Automatic estimate of expressed emotion from speech; not a diagnosis."


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(parts))}"


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _instant(base: datetime, seconds: float) -> str:
    t = base + timedelta(seconds=seconds)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _probability(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 4), "unit": "probability", "system": UCUM, "code": "1"}


def _seconds(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": "s", "system": UCUM, "code": "s"}


def _segment_observation(
    seg: Segment, *, rec_id: str, base: datetime, device_ref: str
) -> dict[str, Any]:
    assert seg.emotion is not None
    components = [
        {"code": _concept(LABEL_SYSTEM, lab), "valueQuantity": _probability(p)}
        for lab, p in seg.emotion.probabilities.items()
    ]
    if seg.dimensions is not None:
        components += [
            {
                "code": _concept(CODE_SYSTEM, name, f"{name.capitalize()} (-1 to 1)"),
                "valueQuantity": {
                    "value": round(float(v), 4),
                    "unit": "1",
                    "system": UCUM,
                    "code": "1",
                },
            }
            for name, v in seg.dimensions.model_dump().items()
            if v is not None
        ]
    components += [
        {
            "code": _concept(CODE_SYSTEM, "segment-start", "Segment start"),
            "valueQuantity": _seconds(seg.start),
        },
        {
            "code": _concept(CODE_SYSTEM, "segment-end", "Segment end"),
            "valueQuantity": _seconds(seg.end),
        },
    ]
    notes = [NOTICE, f"Confidence {seg.emotion.confidence:.2f}."]
    if seg.speaker:
        notes.append(f"Speaker: {seg.speaker}.")
    if seg.flags:
        notes.append(f"Flags: {', '.join(seg.flags)}.")
    return {
        "resourceType": "Observation",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"{rec_id}/{seg.id}"}],
        "status": "preliminary",
        "code": _concept(CODE_SYSTEM, "speech-emotion-segment", "Emotion expressed in speech"),
        "effectivePeriod": {"start": _instant(base, seg.start), "end": _instant(base, seg.end)},
        "valueCodeableConcept": _concept(LABEL_SYSTEM, seg.emotion.label),
        "device": {"reference": device_ref},
        "note": [{"text": " ".join(notes)}],
        "component": components,
    }


def build_bundle(doc: PredictionDocument, *, recorded_at: str | None = None) -> dict[str, Any]:
    """Return the FHIR R4 Bundle as JSON-ready data.

    Args:
        doc: The prediction document.
        recorded_at: ISO 8601 UTC time the recording started (default: ``provenance.created``).

    Examples:
        >>> from emoscope.testing.documents import sample_document
        >>> bundle = build_bundle(sample_document())
        >>> bundle["resourceType"], len(bundle["entry"])
        ('Bundle', 8)
    """
    rec_id = doc.recording.id
    base = _parse_time(recorded_at or doc.provenance.created)
    device_url = _urn(rec_id, "device")
    model = doc.model
    device: dict[str, Any] = {
        "resourceType": "Device",
        "deviceName": [
            {"name": model.name if model else "emoscope", "type": "model-name"},
            {"name": "emoscope", "type": "manufacturer-name"},
        ],
        "version": [{"value": model.version if model else doc.provenance.emoscope_version}],
        "note": [
            {
                "text": f"emoscope {doc.provenance.emoscope_version}"
                + (f", backend {model.backend}" if model else "")
            }
        ],
    }
    entries = [{"fullUrl": device_url, "resource": device}]
    members = []
    for seg in doc.segments:
        if seg.emotion is None:
            continue
        url = _urn(rec_id, seg.id)
        members.append({"reference": url})
        entries.append(
            {
                "fullUrl": url,
                "resource": _segment_observation(
                    seg, rec_id=rec_id, base=base, device_ref=device_url
                ),
            }
        )
    summary: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"{rec_id}/summary"}],
        "status": "preliminary",
        "code": _concept(
            CODE_SYSTEM, "speech-emotion-summary", "Emotion expressed in speech, recording summary"
        ),
        "effectivePeriod": {
            "start": _instant(base, 0.0),
            "end": _instant(base, doc.recording.duration_s),
        },
        "device": {"reference": device_url},
        "note": [{"text": " ".join([NOTICE, *doc.summary.notes])}],
    }
    if doc.summary.dominant:
        summary["valueCodeableConcept"] = _concept(LABEL_SYSTEM, doc.summary.dominant)
    else:
        summary["dataAbsentReason"] = _concept(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed"
        )
    if doc.summary.distribution:
        summary["component"] = [
            {"code": _concept(LABEL_SYSTEM, lab), "valueQuantity": _probability(p)}
            for lab, p in doc.summary.distribution.items()
        ]
    if members:
        summary["hasMember"] = members
    entries.append({"fullUrl": _urn(rec_id, "summary"), "resource": summary})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:emoscope:recording", "value": rec_id},
        "type": "collection",
        "timestamp": _instant(_parse_time(doc.provenance.created), 0.0),
        "entry": entries,
    }


def render_fhir(doc: PredictionDocument, *, recorded_at: str | None = None, **_: Any) -> bytes:
    """Return the FHIR R4 Bundle as indented JSON (UTF-8)."""
    bundle = build_bundle(doc, recorded_at=recorded_at)
    return (json.dumps(bundle, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


register_exporter(
    "fhir",
    render_fhir,
    suffix=".fhir.json",
    media_type="application/fhir+json",
    description="HL7 FHIR R4 Bundle: a Device, one Observation per segment and a summary",
)
