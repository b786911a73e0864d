"""Modality ablation, temporal occlusion over the audio and word occlusion over the transcript.

Each function asks the model for probabilities of changed copies of one utterance, all in one
``predict_proba`` batch, and reports the change of the explained label's probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.models.base import EmotionModel, check_proba
from emoscope.types import Utterance

SAMPLE_RATE = 16000
MIN_IMPORTANCE = 0.01
"""A window must lower p(label) by more than this to be called the most telling moment."""


def _predict(model: EmotionModel, batch: Sequence[Utterance]) -> np.ndarray:
    return check_proba(model, model.predict_proba(list(batch)), len(batch))


def _probs(model: EmotionModel, row: np.ndarray) -> dict[str, float]:
    return {lab: round(float(p), 4) for lab, p in zip(model.labels, row, strict=True)}


def without_text(utterance: Utterance) -> Utterance:
    """Return the utterance with its transcript removed (audio only)."""
    return utterance.with_(transcript=None, context=())


def without_audio(utterance: Utterance, *, silence: bool = False) -> Utterance:
    """Return the utterance with its audio removed, or replaced by silence of the same length."""
    if not silence:
        return utterance.with_(audio=None, waveform=None)
    n = len(utterance.load_audio()) if utterance.has_audio else SAMPLE_RATE
    return utterance.with_(audio=None, waveform=np.zeros(n, dtype=np.float32))


def modality_ablation(
    model: EmotionModel, utterance: Utterance, *, label_index: int, base: np.ndarray
) -> dict[str, Any] | None:
    """Return probabilities with audio only and text only, and what each modality adds.

    ``contribution[m]`` is p(label | both) - p(label | without m). ``None`` when the model uses
    one modality or the utterance lacks one.
    """
    if not {"audio", "text"} <= set(model.modalities):
        return None
    if not (utterance.has_audio and utterance.has_text):
        return None
    text_blank = "removed"
    audio_only = without_text(utterance)
    try:
        rows = _predict(model, [audio_only, without_audio(utterance)])
    except Exception:  # a model that cannot run without audio: give it silence instead
        text_blank = "silence"
        rows = _predict(model, [audio_only, without_audio(utterance, silence=True)])
    audio_row, text_row = rows
    p = float(base[label_index])
    return {
        "both": _probs(model, base),
        "audio": _probs(model, audio_row),
        "text": _probs(model, text_row),
        "contribution": {
            "audio": round(p - float(text_row[label_index]), 4),
            "text": round(p - float(audio_row[label_index]), 4),
        },
        "audio_removed_as": text_blank,
    }


def temporal_occlusion(
    model: EmotionModel,
    utterance: Utterance,
    *,
    label_index: int,
    base: np.ndarray,
    window_s: float = 0.5,
    max_windows: int = 16,
) -> dict[str, Any] | None:
    """Silence each window of the audio in turn; report the drop of p(label) per window.

    The window grows beyond ``window_s`` for long utterances so that at most ``max_windows``
    copies are scored. Times are seconds from the utterance's start; ``peak`` is the centre of
    the most important window, or ``None`` when no window lowers p(label) by more than
    :data:`MIN_IMPORTANCE`. ``None`` without audio or
    for a text-only model.
    """
    if "audio" not in model.modalities or not utterance.has_audio:
        return None
    wav = utterance.load_audio()
    duration = len(wav) / SAMPLE_RATE
    if duration <= 0:
        return None
    window = max(window_s, duration / max_windows)
    step = int(round(window * SAMPLE_RATE))
    starts = list(range(0, len(wav), step))
    batch = []
    for s in starts:
        occluded = wav.copy()
        occluded[s : s + step] = 0.0
        batch.append(utterance.with_(audio=None, start=None, end=None, waveform=occluded))
    rows = _predict(model, batch)
    p = float(base[label_index])
    importance = [round(p - float(r[label_index]), 4) for r in rows]
    peak = int(np.argmax(importance))
    centre = (starts[peak] + min(len(wav), starts[peak] + step)) / 2 / SAMPLE_RATE
    return {
        "window_s": round(window, 3),
        "starts": [round(s / SAMPLE_RATE, 3) for s in starts],
        "ends": [round(min(len(wav), s + step) / SAMPLE_RATE, 3) for s in starts],
        "importance": importance,
        # the centre of the window whose silencing lowers p(label) most; None if none does
        "peak": round(centre, 3) if importance[peak] > MIN_IMPORTANCE else None,
    }


def word_occlusion(
    model: EmotionModel,
    utterance: Utterance,
    *,
    label_index: int,
    base: np.ndarray,
    max_words: int = 80,
) -> list[dict[str, Any]] | None:
    """Leave out each word of the transcript in turn; report the drop of p(label) per word.

    Words are the transcript's whitespace-separated tokens (punctuation stays attached).
    ``None`` without a transcript, for an audio-only model, or past ``max_words`` words.
    """
    if "text" not in model.modalities or not utterance.has_text:
        return None
    tokens = (utterance.transcript or "").split()
    if len(tokens) > max_words:
        return None
    batch = [
        utterance.with_(transcript=" ".join(tokens[:i] + tokens[i + 1 :]))
        for i in range(len(tokens))
    ]
    rows = _predict(model, batch)
    p = float(base[label_index])
    return [
        {"index": i, "word": tok, "importance": round(p - float(rows[i][label_index]), 4)}
        for i, tok in enumerate(tokens)
    ]
