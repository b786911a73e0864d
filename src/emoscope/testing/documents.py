"""A realistic prediction document built directly from the types, for tests and docs.

It mirrors the shipped demo recording (two speakers, a therapist and a client; neutral, happy,
sad, angry and fearful turns) with words, flags, quality figures and per-modality scores, so
exporters, reports and privacy code can be tested without running a model.

Examples:
    >>> doc = sample_document()
    >>> len(doc.segments), doc.summary.dominant
    (6, 'neutral')
"""

from __future__ import annotations

from typing import Any

from emoscope.labels import CANONICAL_LABELS
from emoscope.types import (
    Change,
    EmotionScores,
    ModelInfo,
    PredictionDocument,
    Provenance,
    Quality,
    RecordingInfo,
    Segment,
    Summary,
    Word,
)

_TURNS: tuple[tuple[str, float, float, str, str, tuple[str, ...]], ...] = (
    ("A", 0.5, 4.18, "neutral", "Hello Sarah, thank you for coming in today.", ()),
    ("B", 5.18, 8.5, "happy", "It was wonderful! I got the job on 3 March.", ()),
    ("A", 9.5, 12.59, "neutral", "Call me on 555-123-4567 or mail ann@example.org.", ()),
    ("B", 13.59, 21.3, "sad", "Not good. I feel so alone and tired.", ("low_confidence",)),
    ("B", 22.3, 26.59, "angry", "My brother Tom keeps lying to me!", ("mismatch",)),
    ("B", 27.59, 28.0, "fearful", "Scared.", ("too_short",)),
)


def _probabilities(label: str, strength: float) -> dict[str, float]:
    rest = (1.0 - strength) / (len(CANONICAL_LABELS) - 1)
    return {lab: (strength if lab == label else rest) for lab in CANONICAL_LABELS}


def _words(text: str, start: float, end: float) -> list[Word]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [
        Word(
            word=f" {tok}",
            start=round(start + i * step, 3),
            end=round(start + (i + 1) * step, 3),
            probability=0.9,
        )
        for i, tok in enumerate(tokens)
    ]


def sample_document(
    *, with_words: bool = True, explanation: dict[str, Any] | None = None
) -> PredictionDocument:
    """Return a valid two-speaker document over the canonical labels.

    Args:
        with_words: Include ASR words (with times) in each segment.
        explanation: If given, stored as every segment's ``explanation``.
    """
    segments = []
    for i, (speaker, start, end, label, text, flags) in enumerate(_TURNS, start=1):
        strength = 0.42 if "low_confidence" in flags else 0.7
        probs = _probabilities(label, strength)
        other = _probabilities("neutral" if label != "neutral" else "sad", 0.5)
        segments.append(
            Segment(
                id=f"seg-{i:04d}",
                start=start,
                end=end,
                speaker=f"spk-{speaker.lower()}",
                transcript=text,
                words=_words(text, start, end) if with_words else [],
                emotion=EmotionScores.from_probabilities(probs),
                modalities={"audio": probs, "text": other},
                quality=Quality(
                    speech_ratio=0.8,
                    asr_confidence=0.9,
                    alignment="mismatch" if "mismatch" in flags else "ok",
                    speech_rate_wps=2.5,
                    clipping_ratio=0.0,
                    loudness_dbfs=-23.0,
                ),
                flags=list(flags),
                explanation=explanation,
            )
        )
    speech = sum(s.duration for s in segments)
    distribution = {lab: 0.0 for lab in CANONICAL_LABELS}
    for s in segments:
        assert s.emotion is not None
        for lab, p in s.emotion.probabilities.items():
            distribution[lab] += p * s.duration / speech
    changes = [
        Change(time=13.59, speaker="spk-b", from_label="happy", to_label="sad"),
        Change(time=22.3, speaker="spk-b", from_label="sad", to_label="angry"),
        Change(time=27.59, speaker="spk-b", from_label="angry", to_label="fearful"),
    ]
    return PredictionDocument(
        recording=RecordingInfo(
            id="rec-0123456789ab",
            duration_s=30.0,
            sample_rate=16000,
            original_sample_rate=16000,
            channels=1,
            sha256="0" * 64,
        ),
        model=ModelInfo(
            name="default",
            version="0.1.0",
            backend="default",
            labels=list(CANONICAL_LABELS),
            modalities=["audio", "text"],
            card={"description": "A test model.", "intended_use": "Research."},
        ),
        segments=segments,
        summary=Summary(
            n_segments=len(segments),
            speech_s=round(speech, 3),
            distribution=distribution,
            dominant=max(distribution, key=distribution.__getitem__),
            changes=changes,
            mismatched_segments=1,
            notes=["One segment is shorter than the model's reliable minimum."],
        ),
        provenance=Provenance(
            emoscope_version="0.1.0", created="2026-11-25T10:00:00Z", config={"model": "default"}
        ),
    )
