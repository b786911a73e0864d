"""Per-segment quality figures and the flags they raise.

Examples:
    >>> import numpy as np
    >>> q = measure_quality(np.full(16000, 0.1, dtype=np.float32), speech_ratio=0.9, words=[])
    >>> q.loudness_dbfs, q.clipping_ratio, q.asr_confidence
    (-20.0, 0.0, None)
    >>> quality_flags(q, duration_s=0.6, n_words=0)
    ['too_short', 'no_transcript']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emoscope.audio import clipping_ratio, loudness_dbfs
from emoscope.types import Quality, Word


@dataclass(frozen=True)
class QualityLimits:
    """Where a figure starts to raise a flag."""

    min_duration_s: float = 1.0
    min_asr_confidence: float = 0.5
    max_clipping: float = 0.001
    min_speech_ratio: float = 0.3
    min_loudness_dbfs: float = -50.0


def asr_confidence(words: Sequence[Word]) -> float | None:
    """Duration-weighted mean probability of the recognised words (``None`` without words).

    Examples:
        >>> asr_confidence([Word(word="a", start=0, end=1, probability=0.9),
        ...                 Word(word="b", start=1, end=1.5, probability=0.3)])
        0.7
    """
    probs = [
        (w.probability, max(w.end - w.start, 0.02)) for w in words if w.probability is not None
    ]
    if not probs:
        return None
    total = sum(d for _, d in probs)
    return round(sum(p * d for p, d in probs) / total, 4)


def measure_quality(
    samples: np.ndarray,
    *,
    speech_ratio: float | None,
    words: Sequence[Word],
    alignment: str = "asr_only",
    wer: float | None = None,
    speech_rate_wps: float | None = None,
) -> Quality:
    """Return the quality figures of one segment's audio and words."""
    return Quality(
        speech_ratio=None if speech_ratio is None else round(speech_ratio, 4),
        asr_confidence=asr_confidence(words),
        alignment=alignment,  # type: ignore[arg-type]
        wer=wer,
        speech_rate_wps=speech_rate_wps,
        clipping_ratio=round(clipping_ratio(samples), 6),
        loudness_dbfs=round(loudness_dbfs(samples), 2),
    )


def quality_flags(
    quality: Quality, *, duration_s: float, n_words: int, limits: QualityLimits | None = None
) -> list[str]:
    """Return the flags (from :data:`emoscope.types.SEGMENT_FLAGS`) that the figures raise."""
    limits = limits or QualityLimits()
    flags = []
    if duration_s < limits.min_duration_s:
        flags.append("too_short")
    if quality.alignment == "mismatch":
        flags.append("mismatch")
    if quality.clipping_ratio is not None and quality.clipping_ratio > limits.max_clipping:
        flags.append("clipped")
    if quality.speech_ratio is not None and quality.speech_ratio < limits.min_speech_ratio:
        flags.append("low_speech")
    if quality.loudness_dbfs is not None and quality.loudness_dbfs < limits.min_loudness_dbfs:
        flags.append("quiet")
    if n_words == 0:
        flags.append("no_transcript")
    return flags
