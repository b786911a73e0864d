"""Predictions through the model protocol: per-modality probabilities, flags, summary, frames.

The backend here is a small but real model (keywords for text, loudness for audio), registered
like any other, so that the pipeline's handling of ``predict_modalities``, of the Whisper encoder
frames in ``Utterance.extra`` and of label changes is checked without the shipped weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from emoscope.labels import CANONICAL_LABELS
from emoscope.models import base
from emoscope.models.base import ModelConfig, register_model
from emoscope.pipeline import AnalyzeConfig, analyze
from emoscope.schema import validate_document
from emoscope.types import Utterance

NAME = "keyword-loudness-test"
WORDS = {
    "happy": "happy",
    "wonderful": "happy",
    "alone": "sad",
    "lying": "angry",
    "scared": "fearful",
}


@dataclass
class KeywordConfig(ModelConfig):
    """No options."""


class KeywordLoudness:
    """Text: a keyword vote; audio: louder is angrier. Records the encoder frames it was given."""

    labels = CANONICAL_LABELS
    modalities = frozenset({"audio", "text"})
    seen_frames: list[tuple[str, tuple[int, ...], float]] = []

    def __init__(self, config: KeywordConfig | None = None) -> None:
        self.config = config

    def _text(self, u: Utterance) -> np.ndarray:
        scores = np.full(len(self.labels), 0.1)
        for word, label in WORDS.items():
            if word in (u.transcript or "").lower():
                scores[self.labels.index(label)] += 3.0
        return scores / scores.sum()

    def _audio(self, u: Utterance) -> np.ndarray:
        wav = u.load_audio()
        rms = float(np.sqrt(np.mean(wav**2)))
        scores = np.full(len(self.labels), 0.1)
        scores[self.labels.index("angry" if rms > 0.1 else "neutral")] += 1.0
        frames = u.extra.get("whisper_encoder_frames")
        if frames is not None:
            self.seen_frames.append((u.id, np.asarray(frames).shape, len(wav) / 16000))
        return scores / scores.sum()

    def predict_modalities(self, batch: Sequence[Utterance], *, missing: str = "drop"):
        text = np.array([self._text(u) if u.has_text else np.full(7, np.nan) for u in batch])
        return {"audio": np.array([self._audio(u) for u in batch]), "text": text}

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        parts = self.predict_modalities(batch, missing="nan")
        text = np.where(np.isnan(parts["text"]), parts["audio"], parts["text"])
        fused = parts["audio"] + 2 * text
        return fused / fused.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def doc(demo_sample):
    # registered for this module only (a scoped registry), so that no other test sees it
    with base.MODELS.scoped():
        register_model(NAME, KeywordConfig, KeywordLoudness)
        KeywordLoudness.seen_frames.clear()
        yield analyze(demo_sample, AnalyzeConfig(model=NAME))


def test_labels_modalities_and_summary(doc, truth):
    validate_document(doc.to_json_dict())
    labels = [s.emotion.label for s in doc.segments]
    assert labels[1] == "happy" and labels[3] == "sad" and labels[6] == "fearful"
    for seg in doc.segments:
        assert set(seg.modalities) == {"audio", "text"}
        assert sum(seg.modalities["text"].values()) == pytest.approx(1.0, abs=1e-4)
    assert doc.model.name == NAME and doc.model.modalities == ["audio", "text"]
    changes = [(c.speaker, c.from_label, c.to_label) for c in doc.summary.changes]
    assert changes and changes[0] == (None, "neutral", "happy")
    assert doc.summary.dominant in doc.summary.distribution
    weights = [s.duration for s in doc.segments]
    expected = np.average([s.emotion.probabilities["sad"] for s in doc.segments], weights=weights)
    assert doc.summary.distribution["sad"] == pytest.approx(expected, abs=1e-5)


def test_encoder_frames_reach_the_model(doc):
    seen = KeywordLoudness.seen_frames  # predict_proba and predict_modalities both look
    assert {i for i, _, _ in seen} == {s.id for s in doc.segments}
    for _, shape, seconds in seen:
        assert shape[1] == 384 and abs(shape[0] - seconds * 50) <= 2
