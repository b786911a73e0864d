"""Corpus label sets and their explicit mappings to the canonical labels.

Every corpus has a closed set of native labels (as its documentation names them) and a mapping
from each to a canonical label (:data:`emoscope.labels.CANONICAL_LABELS`) or to ``None`` when
the native label has no canonical counterpart (EmoDB boredom, IEMOCAP frustration, ...).
Utterances whose label maps to ``None`` keep their native label and are left out of canonical
evaluation with a count (:meth:`emoscope.data.manifest.Manifest.unmapped_counts`); they are never
silently relabelled.

Examples:
    >>> corpus_labels("meld").canonical("joy")
    'happy'
    >>> corpus_labels("emodb").canonical("boredom") is None
    True
    >>> corpus_labels("ravdess").with_changes(calm=None).canonical("calm") is None
    True
    >>> corpus_labels("meld").canonical("joyful")
    Traceback (most recent call last):
    ...
    emoscope.errors.BadLabelError: Corpus 'meld' has no label 'joyful'. Allowed: neutral, ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from emoscope.errors import BadLabelError, UnknownNameError
from emoscope.labels import CANONICAL


@dataclass(frozen=True)
class CorpusLabels:
    """A corpus's closed set of native labels and their canonical mapping.

    Args:
        corpus: The corpus name (a recipe name).
        mapping: Native label -> canonical label or ``None``, in the corpus's documented order.
    """

    corpus: str
    mapping: Mapping[str, str | None]

    def __post_init__(self) -> None:
        CANONICAL.check(v for v in self.mapping.values() if v is not None)
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))

    @property
    def native(self) -> tuple[str, ...]:
        """The native labels, in the corpus's documented order."""
        return tuple(self.mapping)

    @property
    def unmapped(self) -> tuple[str, ...]:
        """Native labels without a canonical counterpart."""
        return tuple(k for k, v in self.mapping.items() if v is None)

    def check(self, values: Iterable[str]) -> None:
        """Raise :class:`BadLabelError` naming every value outside the native set."""
        bad = sorted({v for v in values if v not in self.mapping})
        if bad:
            noun = "label" if len(bad) == 1 else "labels"
            raise BadLabelError(
                f"Corpus {self.corpus!r} has no {noun} {', '.join(repr(b) for b in bad)}. "
                f"Allowed: {', '.join(self.mapping)}."
            )

    def canonical(self, native: str) -> str | None:
        """Return the canonical label of ``native`` (``None`` when it has none).

        Raises:
            BadLabelError: If ``native`` is not one of the corpus's labels.
        """
        self.check([native])
        return self.mapping[native]

    def with_changes(self, **changes: str | None) -> CorpusLabels:
        """Return a copy with some native labels mapped differently.

        Raises:
            BadLabelError: If a changed key is not a native label or a value is not canonical.
        """
        self.check(changes)
        return CorpusLabels(self.corpus, {**self.mapping, **changes})


_CORPUS_LABELS: dict[str, CorpusLabels] = {
    c.corpus: c
    for c in (
        CorpusLabels(
            "ravdess",
            {
                "neutral": "neutral",
                "calm": "neutral",  # a choice: prepare("ravdess", ..., calm_as_neutral=False)
                "happy": "happy",
                "sad": "sad",
                "angry": "angry",
                "fearful": "fearful",
                "disgust": "disgust",
                "surprised": "surprised",
            },
        ),
        CorpusLabels(
            "meld",
            {
                "neutral": "neutral",
                "joy": "happy",
                "sadness": "sad",
                "anger": "angry",
                "fear": "fearful",
                "disgust": "disgust",
                "surprise": "surprised",
            },
        ),
        CorpusLabels(
            "crema-d",
            {
                "ANG": "angry",
                "DIS": "disgust",
                "FEA": "fearful",
                "HAP": "happy",
                "NEU": "neutral",
                "SAD": "sad",
            },
        ),
        CorpusLabels(
            "iemocap",
            {
                "neu": "neutral",
                "hap": "happy",
                "exc": None,  # excited: happy only with merge_excited=True
                "sad": "sad",
                "ang": "angry",
                "fru": None,  # frustrated
                "sur": "surprised",
                "fea": "fearful",
                "dis": "disgust",
                "oth": None,  # other
                "xxx": None,  # no majority among annotators
            },
        ),
        CorpusLabels(
            "emodb",
            {
                "anger": "angry",
                "boredom": None,
                "disgust": "disgust",
                "fear": "fearful",
                "happiness": "happy",
                "sadness": "sad",
                "neutral": "neutral",
            },
        ),
        CorpusLabels(
            "tess",
            {
                "angry": "angry",
                "disgust": "disgust",
                "fear": "fearful",
                "happy": "happy",
                "neutral": "neutral",
                "pleasant_surprise": "surprised",
                "sad": "sad",
            },
        ),
        CorpusLabels(
            "savee",
            {
                "anger": "angry",
                "disgust": "disgust",
                "fear": "fearful",
                "happiness": "happy",
                "neutral": "neutral",
                "sadness": "sad",
                "surprise": "surprised",
            },
        ),
        CorpusLabels(
            "esd",
            {
                "Neutral": "neutral",
                "Happy": "happy",
                "Angry": "angry",
                "Sad": "sad",
                "Surprise": "surprised",
            },
        ),
        CorpusLabels(
            "msp-podcast",
            {
                "A": "angry",
                "S": "sad",
                "H": "happy",
                "U": "surprised",
                "F": "fearful",
                "D": "disgust",
                "C": None,  # contempt
                "N": "neutral",
                "O": None,  # other
                "X": None,  # no agreement
            },
        ),
    )
}

SYNONYMS: Mapping[str, str] = MappingProxyType(
    {
        **{lab: lab for lab in CANONICAL.labels},
        "neu": "neutral",
        "happiness": "happy",
        "joy": "happy",
        "hap": "happy",
        "sadness": "sad",
        "anger": "angry",
        "ang": "angry",
        "fear": "fearful",
        "fea": "fearful",
        "disgusted": "disgust",
        "dis": "disgust",
        "surprise": "surprised",
        "sur": "surprised",
    }
)
"""Common spellings of canonical labels, used by the generic recipe (lower-case keys)."""


def corpus_labels(corpus: str) -> CorpusLabels:
    """Return the label set and canonical mapping of ``corpus``.

    Raises:
        UnknownNameError: Listing the corpora with a fixed label set.
    """
    try:
        return _CORPUS_LABELS[corpus]
    except KeyError:
        raise UnknownNameError(
            f"No label set for corpus {corpus!r}. Known: {', '.join(sorted(_CORPUS_LABELS))}."
        ) from None


def known_corpora() -> list[str]:
    """Return the corpora that have a fixed label set, sorted."""
    return sorted(_CORPUS_LABELS)


def canonical_synonym(label: str) -> str | None:
    """Return the canonical label a free-form label spells, or ``None``.

    Examples:
        >>> canonical_synonym("Joy"), canonical_synonym("boredom")
        ('happy', None)
    """
    return SYNONYMS.get(label.strip().lower())
