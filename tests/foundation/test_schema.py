from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from emoscope.errors import BadProbabilitiesError, SchemaError
from emoscope.labels import CANONICAL_LABELS
from emoscope.schema import (
    generate_schema,
    load_schema,
    read_document,
    validate_document,
    write_document,
)
from emoscope.types import (
    EmotionScores,
    ModelInfo,
    PredictionDocument,
    Provenance,
    RecordingInfo,
    Segment,
    Summary,
    Word,
)


def probs(top: str, p: float = 0.7) -> dict[str, float]:
    rest = (1 - p) / (len(CANONICAL_LABELS) - 1)
    return {lab: (p if lab == top else rest) for lab in CANONICAL_LABELS}


def make_doc(**changes) -> PredictionDocument:
    segments = [
        Segment(
            id="seg-0001",
            start=0.5,
            end=2.0,
            speaker="spk-1",
            transcript="I am so happy",
            words=[Word(word="I", start=0.5, end=0.6, probability=0.9)],
            emotion=EmotionScores.from_probabilities(probs("happy")),
            flags=["low_confidence"],
        ),
        Segment(
            id="seg-0002",
            start=2.5,
            end=4.0,
            emotion=EmotionScores.from_probabilities(probs("sad", 0.5)),
            modalities={"audio": probs("sad", 0.6), "text": probs("neutral", 0.4)},
        ),
    ]
    fields = dict(
        recording=RecordingInfo(id="rec-1", duration_s=4.0, sample_rate=16000, sha256="a" * 64),
        model=ModelInfo(
            name="default",
            version="1",
            backend="test",
            labels=list(CANONICAL_LABELS),
            modalities=["audio", "text"],
        ),
        segments=segments,
        summary=Summary(n_segments=2, speech_s=3.0, dominant="happy"),
        provenance=Provenance(emoscope_version="0", created="2026-11-25T10:00:00Z"),
    )
    fields.update(changes)
    return PredictionDocument(**fields)


def test_shipped_schema_matches_the_models() -> None:
    assert load_schema() == json.loads(json.dumps(generate_schema(), sort_keys=True))


def test_round_trip(tmp_path: Path) -> None:
    doc = make_doc()
    path = write_document(doc, tmp_path / "out" / "doc.json")
    back = read_document(path)
    assert back == doc
    data = json.loads(path.read_text())
    assert data["schema"] == "emoscope.prediction/1"
    assert data["segments"][0]["emotion"]["label"] == "happy"


def test_schema_rejects_wrong_schema_id() -> None:
    data = make_doc().to_json_dict()
    data["schema"] = "something/2"
    with pytest.raises(SchemaError, match="at schema"):
        validate_document(data)


def test_schema_rejects_probability_out_of_range() -> None:
    data = make_doc().to_json_dict()
    data["segments"][0]["emotion"]["confidence"] = 1.5
    with pytest.raises(SchemaError, match="segments/0/emotion/confidence"):
        validate_document(data)


def test_probabilities_must_sum_to_one() -> None:
    bad = probs("happy")
    bad["sad"] += 0.2
    with pytest.raises((ValidationError, BadProbabilitiesError)):
        EmotionScores(label="happy", confidence=0.7, probabilities=bad)


def test_probabilities_must_be_over_the_models_labels() -> None:
    data = make_doc().to_json_dict()
    p = data["segments"][0]["emotion"]["probabilities"]
    p["bored"] = p.pop("surprised")
    with pytest.raises(SchemaError, match="exactly the model's labels"):
        validate_document(data)


def test_segments_must_be_ordered_and_inside() -> None:
    data = make_doc().to_json_dict()
    data["segments"].reverse()
    with pytest.raises(SchemaError, match="ordered"):
        validate_document(data)
    data = make_doc().to_json_dict()
    data["segments"][1]["end"] = 9.0
    with pytest.raises(SchemaError, match="after the recording"):
        validate_document(data)


def test_start_before_end() -> None:
    with pytest.raises(ValidationError, match="start before it ends"):
        Segment(id="s", start=2.0, end=1.0)


def test_no_emotion_without_model() -> None:
    with pytest.raises(ValidationError, match="no model"):
        make_doc(model=None)


def test_unknown_flag_rejected() -> None:
    data = make_doc().to_json_dict()
    data["segments"][0]["flags"] = ["made_up"]
    with pytest.raises(SchemaError, match="flags"):
        validate_document(data)


def test_write_refuses_invalid_and_writes_nothing(tmp_path: Path) -> None:
    doc = make_doc()
    broken = doc.model_copy(update={"segments": list(reversed(doc.segments))})
    with pytest.raises(SchemaError):
        write_document(broken, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_read_document_errors(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="no such file"):
        read_document(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="not JSON"):
        read_document(bad)
