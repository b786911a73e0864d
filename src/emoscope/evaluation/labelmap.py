"""Map a model's label set onto the canonical labels, by name, for evaluation.

A model may use any closed scheme. Evaluation is over the canonical labels, so each model label
is matched to a canonical label by name: the same name (case-insensitive), or one of a few
common synonyms (``joy`` -> ``happy``, ``anger`` -> ``angry``, ...). Model labels with no
canonical counterpart (``calm``, ``other``, ...) are dropped and the remaining probabilities
renormalised; both the dropped labels and the canonical labels the model cannot output are
reported in ``metrics.json``.

Examples:
    >>> m = LabelMap.build(("Neutral", "joy", "calm", "anger"))
    >>> m.to_canonical
    {'Neutral': 'neutral', 'joy': 'happy', 'calm': None, 'anger': 'angry'}
    >>> m.dropped
    ['calm']
    >>> m.project([0.1, 0.5, 0.2, 0.2], ("neutral", "happy", "angry", "sad"))
    [0.125, 0.625, 0.25, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emoscope.labels import CANONICAL_LABELS

SYNONYMS: dict[str, str] = {
    "neu": "neutral",
    "happiness": "happy",
    "joy": "happy",
    "hap": "happy",
    "sadness": "sad",
    "sad": "sad",
    "anger": "angry",
    "ang": "angry",
    "fear": "fearful",
    "fea": "fearful",
    "afraid": "fearful",
    "disgusted": "disgust",
    "dis": "disgust",
    "surprise": "surprised",
    "sur": "surprised",
}
"""Model label (lower case) -> canonical label, beyond identical names."""


def canonical_name(label: str) -> str | None:
    """Return the canonical label named by ``label``, or ``None``.

    Examples:
        >>> canonical_name("Fear"), canonical_name("boredom")
        ('fearful', None)
    """
    key = label.strip().lower()
    if key in CANONICAL_LABELS:
        return key
    return SYNONYMS.get(key)


@dataclass(frozen=True)
class LabelMap:
    """How one model's labels map onto the canonical labels."""

    model_labels: tuple[str, ...]
    to_canonical: dict[str, str | None]

    @classmethod
    def build(cls, model_labels: Sequence[str]) -> LabelMap:
        """Map each of ``model_labels`` by name."""
        labels = tuple(model_labels)
        return cls(labels, {lab: canonical_name(lab) for lab in labels})

    @property
    def dropped(self) -> list[str]:
        """Model labels without a canonical counterpart."""
        return [k for k, v in self.to_canonical.items() if v is None]

    @property
    def outputs(self) -> set[str]:
        """The canonical labels the model can output."""
        return {v for v in self.to_canonical.values() if v is not None}

    def project(self, probabilities: Sequence[float], labels: Sequence[str]) -> list[float]:
        """Return ``probabilities`` (over the model's labels) as a distribution over ``labels``.

        Probabilities of model labels that map to the same canonical label add up; those of
        dropped labels are removed and the rest renormalised. A row whose mass is all on
        dropped labels becomes uniform over the model's canonical outputs.
        """
        index = {lab: i for i, lab in enumerate(labels)}
        out = np.zeros(len(labels), dtype=np.float64)
        for model_label, p in zip(self.model_labels, probabilities, strict=True):
            target = self.to_canonical[model_label]
            if target is not None and target in index:
                out[index[target]] += float(p)
        total = out.sum()
        if total <= 0:
            for target in self.outputs:
                if target in index:
                    out[index[target]] = 1.0
            total = out.sum()
        return [float(v) for v in out / total] if total > 0 else out.tolist()
