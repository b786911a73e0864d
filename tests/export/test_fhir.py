"""FHIR R4 export validated with fhirclient (R4 4.0.1 models) and fhir.resources (R4B)."""

from __future__ import annotations

import json

import pytest

from emoscope.export import export_bytes
from emoscope.export.fhir import LABEL_SYSTEM
from emoscope.testing.documents import sample_document


@pytest.fixture(scope="module")
def bundle() -> dict:
    return json.loads(export_bytes(sample_document(), "fhir", recorded_at="2026-01-05T09:00:00Z"))


def test_validates_as_fhir_r4_with_fhirclient(bundle: dict) -> None:
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.observation import Observation

    parsed = Bundle(bundle, strict=True)  # raises FHIRValidationError on any R4 violation
    observations = [e.resource for e in parsed.entry if isinstance(e.resource, Observation)]
    assert len(observations) == 7  # 6 segments + 1 summary
    assert parsed.as_json()["type"] == "collection"


def test_validates_with_fhir_resources_r4b(bundle: dict) -> None:
    from fhir.resources.R4B.bundle import Bundle

    parsed = Bundle.model_validate(bundle)
    assert len(parsed.entry) == 8


def test_fhirclient_rejects_a_broken_bundle(bundle: dict) -> None:
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    broken = json.loads(json.dumps(bundle))
    del broken["entry"][1]["resource"]["status"]  # required in R4
    with pytest.raises(FHIRValidationError):
        Bundle(broken, strict=True)


def test_segment_observation_content(bundle: dict) -> None:
    doc = sample_document()
    entries = [e["resource"] for e in bundle["entry"]]
    device = entries[0]
    assert device["resourceType"] == "Device"
    assert device["deviceName"][0] == {"name": "default", "type": "model-name"}
    obs = entries[4]  # seg-0004, sad, 13.59-21.3 s
    seg = doc.segments[3]
    assert obs["valueCodeableConcept"]["coding"][0] == {"system": LABEL_SYSTEM, "code": "sad"}
    assert obs["effectivePeriod"] == {
        "start": "2026-01-05T09:00:13.590Z",
        "end": "2026-01-05T09:00:21.300Z",
    }
    probs = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
        for c in obs["component"]
        if c["code"]["coding"][0]["system"] == LABEL_SYSTEM
    }
    assert probs == pytest.approx(seg.emotion.probabilities, abs=1e-4)
    assert obs["device"]["reference"] == bundle["entry"][0]["fullUrl"]
    assert "low_confidence" in obs["note"][0]["text"]
    assert "not a diagnosis" in obs["note"][0]["text"]


def test_summary_observation_links_members(bundle: dict) -> None:
    summary = bundle["entry"][-1]["resource"]
    members = {m["reference"] for m in summary["hasMember"]}
    assert members == {e["fullUrl"] for e in bundle["entry"][1:-1]}
    assert summary["valueCodeableConcept"]["coding"][0]["code"] == "neutral"
    assert summary["effectivePeriod"]["end"] == "2026-01-05T09:00:30.000Z"


def test_no_transcript_text_in_fhir(bundle: dict) -> None:
    text = json.dumps(bundle)
    assert "Sarah" not in text and "alone" not in text


def test_ids_are_stable() -> None:
    a = export_bytes(sample_document(), "fhir")
    b = export_bytes(sample_document(), "fhir")
    assert a == b


def test_dimensions_as_components_still_valid_r4() -> None:
    from fhirclient.models.bundle import Bundle

    from emoscope.types import Dimensions

    doc = sample_document()
    seg = doc.segments[0].model_copy(update={"dimensions": Dimensions(valence=-0.5)})
    doc = doc.model_copy(update={"segments": [seg, *doc.segments[1:]]})
    bundle = json.loads(export_bytes(doc, "fhir"))
    Bundle(bundle, strict=True)
    comps = bundle["entry"][1]["resource"]["component"]
    valence = [c for c in comps if c["code"]["coding"][0]["code"] == "valence"]
    assert valence[0]["valueQuantity"]["value"] == -0.5
