"""Explain the predictions of any :class:`~emoscope.models.base.EmotionModel`, segment by segment.

Examples:
    >>> import numpy as np
    >>> from emoscope.types import PredictionDocument, Utterance
    >>> class Words:  # a text-only toy model: "sad" words make "sad" likely
    ...     labels = ("neutral", "sad")
    ...     modalities = frozenset({"text"})
    ...     def predict_proba(self, batch):
    ...         s = [0.2 + 0.6 * ("alone" in (u.transcript or "")) for u in batch]
    ...         return np.array([[1 - x, x] for x in s])
    >>> [e] = explain_segments(Words(), [Utterance(id="u", transcript="I am alone")], cues=False)
    >>> e["label"], max(e["words"], key=lambda w: w["importance"])["word"]
    ('sad', 'alone')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.explain.cues import baselines, cue_values, describe
from emoscope.explain.occlusion import (
    _predict,
    modality_ablation,
    temporal_occlusion,
    word_occlusion,
)
from emoscope.models.base import EmotionModel
from emoscope.types import PredictionDocument, Utterance

METHOD = "emoscope.explain/1: modality ablation, temporal and word occlusion, eGeMAPS cues"
"""What ``provenance.explanation_method`` says when explanations were computed."""


def explain_utterance(
    model: EmotionModel,
    utterance: Utterance,
    *,
    base: np.ndarray | None = None,
    window_s: float = 0.5,
    max_windows: int = 16,
    max_words: int = 80,
) -> dict[str, Any]:
    """Return the model-based parts of one utterance's explanation (no acoustic cues).

    Args:
        model: Any model that follows the protocol.
        utterance: The segment as an utterance (waveform or audio path, transcript).
        base: Its probabilities if already known (saves one model call).
        window_s: Temporal occlusion window (grown to keep at most ``max_windows``).
        max_windows: Most audio windows scored.
        max_words: Longest transcript (in words) for word occlusion.
    """
    if base is None:
        base = _predict(model, [utterance])[0]
    k = int(np.argmax(base))
    explanation: dict[str, Any] = {
        "label": model.labels[k],
        "probability": round(float(base[k]), 4),
    }
    parts = {
        "modality": modality_ablation(model, utterance, label_index=k, base=base),
        "temporal": temporal_occlusion(
            model,
            utterance,
            label_index=k,
            base=base,
            window_s=window_s,
            max_windows=max_windows,
        ),
        "words": word_occlusion(model, utterance, label_index=k, base=base, max_words=max_words),
    }
    explanation.update({name: value for name, value in parts.items() if value is not None})
    return explanation


def explain_segments(
    model: EmotionModel,
    utterances: Sequence[Utterance],
    *,
    cues: bool = True,
    window_s: float = 0.5,
    max_windows: int = 16,
    max_words: int = 80,
) -> list[dict[str, Any]]:
    """Explain each utterance of one recording; return one JSON-ready dict per utterance.

    Each dict has ``label`` (the explained, most probable label) and ``probability``, and where
    the model and the utterance allow: ``modality`` (``both``/``audio``/``text`` probabilities
    and ``contribution`` per modality), ``temporal`` (``starts``, ``ends``, ``importance`` per
    window, ``peak``), ``words`` (``index``, ``word``, ``importance``) and ``cues`` (pitch,
    loudness, pace against the speaker's usual, with a ``description``).

    Args:
        model: Any model that follows the protocol.
        utterances: The recording's segments as utterances, in order; ``speaker`` sets whose
            baseline the acoustic cues are measured against.
        cues: Compute acoustic cues (needs audio; openSMILE).
        window_s: Temporal occlusion window in seconds.
        max_windows: Most windows per segment.
        max_words: Longest transcript for word occlusion.
    """
    utterances = list(utterances)
    if not utterances:
        return []
    base = _predict(model, utterances)
    out = [
        explain_utterance(
            model,
            u,
            base=row,
            window_s=window_s,
            max_windows=max_windows,
            max_words=max_words,
        )
        for u, row in zip(utterances, base, strict=True)
    ]
    if cues:
        with_audio = [i for i, u in enumerate(utterances) if u.has_audio]
        if with_audio:
            values = cue_values([utterances[i].load_audio() for i in with_audio])
            speakers = [utterances[i].speaker for i in with_audio]
            for i, v, ref in zip(with_audio, values, baselines(values, speakers), strict=True):
                usual = (
                    "this speaker's usual"
                    if utterances[i].speaker is not None
                    else "usual in this recording"
                )
                out[i]["cues"] = describe(v, ref, usual=usual)
    return out


def explain_document(
    model: EmotionModel,
    doc: PredictionDocument,
    utterances: Sequence[Utterance],
    **options: Any,
) -> PredictionDocument:
    """Return ``doc`` with each segment's explanation filled in and the method recorded.

    Args:
        model: The model that produced the document's predictions.
        doc: The prediction document.
        utterances: One per segment, in the same order (what the model was given).
        **options: Passed to :func:`explain_segments`.

    Raises:
        ValueError: If the numbers of utterances and segments differ.
    """
    if len(utterances) != len(doc.segments):
        raise ValueError(
            f"explain_document needs one utterance per segment: {len(doc.segments)} segments, "
            f"{len(utterances)} utterances."
        )
    explanations = explain_segments(model, utterances, **options)
    segments = [
        seg.model_copy(update={"explanation": exp})
        for seg, exp in zip(doc.segments, explanations, strict=True)
    ]
    provenance = doc.provenance.model_copy(update={"explanation_method": METHOD})
    return doc.model_copy(update={"segments": segments, "provenance": provenance})
