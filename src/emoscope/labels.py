"""Closed label schemes: the canonical emotion labels and checks on probability vectors.

A :class:`LabelScheme` is a closed, ordered set of labels. Every value outside the set raises a
:class:`BadLabelError` that lists the offending values and the allowed ones (the audformat rule).

Examples:
    >>> CANONICAL.labels
    ('neutral', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised')
    >>> CANONICAL.index("sad")
    2
    >>> CANONICAL.check(["happy", "bored"])
    Traceback (most recent call last):
    ...
    emoscope.errors.BadLabelError: Label scheme 'canonical' has no label 'bored'. Allowed: ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from emoscope.errors import BadLabelError, BadProbabilitiesError

CANONICAL_LABELS: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
"""The big six emotions plus neutral, in the column order every canonical model uses."""

PROBABILITY_TOLERANCE = 1e-4
"""How far a probability vector may sum from 1 (float32 rounding) before it is refused."""


@dataclass(frozen=True)
class LabelScheme:
    """A closed, ordered set of labels.

    Args:
        name: The scheme's name, used in error messages and reports.
        labels: The labels, in the column order of probability vectors.

    Raises:
        ValueError: If the scheme is empty or has duplicate labels.

    Examples:
        >>> s = LabelScheme("binary", ("neg", "pos"))
        >>> s.normalize({"pos": 3.0, "neg": 1.0})
        {'neg': 0.25, 'pos': 0.75}
    """

    name: str
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.labels:
            raise ValueError(f"Label scheme {self.name!r} must have at least one label. Got none.")
        duplicates = sorted({x for x in self.labels if self.labels.count(x) > 1})
        if duplicates:
            raise ValueError(
                f"Label scheme {self.name!r} must not repeat labels. Repeated: {duplicates}."
            )

    def __contains__(self, label: object) -> bool:
        return label in self.labels

    def __len__(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        """Return the column of ``label``, raising :class:`BadLabelError` if it is unknown."""
        self.check([label])
        return self.labels.index(label)

    def check(self, values: Iterable[str]) -> None:
        """Raise :class:`BadLabelError` naming every value that is not in the scheme.

        Examples:
            >>> CANONICAL.check(["sad", "angry"])  # no error
        """
        bad = sorted({v for v in values if v not in self.labels})
        if bad:
            noun = "label" if len(bad) == 1 else "labels"
            shown = ", ".join(repr(b) for b in bad)
            raise BadLabelError(
                f"Label scheme {self.name!r} has no {noun} {shown}. "
                f"Allowed: {', '.join(self.labels)}."
            )

    def normalize(self, scores: Mapping[str, float]) -> dict[str, float]:
        """Turn non-negative scores over the scheme into probabilities that sum to 1.

        Raises:
            BadLabelError: If a key is not in the scheme.
            BadProbabilitiesError: If a score is negative or all are zero.
        """
        self.check(scores)
        values = np.array([float(scores.get(lab, 0.0)) for lab in self.labels])
        if (values < 0).any() or not np.isfinite(values).all() or values.sum() <= 0:
            raise BadProbabilitiesError(
                f"Scores over {self.name!r} must be finite, non-negative and not all zero. "
                f"Got {dict(scores)}."
            )
        values = values / values.sum()
        return {lab: float(v) for lab, v in zip(self.labels, values, strict=True)}


CANONICAL = LabelScheme("canonical", CANONICAL_LABELS)


def check_probabilities(
    probabilities: Mapping[str, float], *, scheme: LabelScheme | None = None, where: str = ""
) -> None:
    """Check that ``probabilities`` is a distribution over a closed set.

    Args:
        probabilities: Label -> probability.
        scheme: When given, the keys must be exactly its labels.
        where: Context for the error message (e.g. ``"segment seg-0003"``).

    Raises:
        BadLabelError: If a key is outside ``scheme`` or a label of it is missing.
        BadProbabilitiesError: If a value is outside [0, 1] or they do not sum to 1.

    Examples:
        >>> check_probabilities({"sad": 0.5, "happy": 0.5})
        >>> check_probabilities({"sad": 0.9, "happy": 0.5})
        Traceback (most recent call last):
        ...
        emoscope.errors.BadProbabilitiesError: Probabilities must sum to 1 (within 0.0001). Got 1.4.
    """
    prefix = f"{where}: " if where else ""
    if scheme is not None:
        scheme.check(probabilities)
        missing = [lab for lab in scheme.labels if lab not in probabilities]
        if missing:
            raise BadLabelError(
                f"{prefix}probabilities must cover every label of {scheme.name!r}. "
                f"Missing: {', '.join(missing)}."
            )
    if not probabilities:
        raise BadProbabilitiesError(f"{prefix}probabilities must not be empty.")
    for label, p in probabilities.items():
        if not (0.0 <= float(p) <= 1.0):
            raise BadProbabilitiesError(
                f"{prefix}probability of {label!r} must lie in [0, 1]. Got {p}."
            )
    total = float(sum(probabilities.values()))
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise BadProbabilitiesError(
            f"{prefix}Probabilities must sum to 1 (within {PROBABILITY_TOLERANCE}). "
            f"Got {round(total, 6)}."
        )


def probabilities_from_row(labels: Sequence[str], row: Sequence[float]) -> dict[str, float]:
    """Pair a ``predict_proba`` row with its labels, as plain floats.

    Examples:
        >>> probabilities_from_row(("a", "b"), np.array([0.25, 0.75], dtype=np.float32))
        {'a': 0.25, 'b': 0.75}
    """
    if len(labels) != len(row):
        raise BadProbabilitiesError(
            f"A probability row must have one value per label ({len(labels)}). Got {len(row)}."
        )
    return {lab: float(p) for lab, p in zip(labels, row, strict=True)}
