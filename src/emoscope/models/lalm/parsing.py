"""Map a model's free-text answer to a label of a closed set.

The parser looks for label words, their inflections and common synonyms ("furious" -> angry,
"joyful" -> happy), skips negated mentions ("not angry"), and takes the first remaining mention.
An answer it cannot map gives ``None``: callers report it (uniform probabilities and a count),
they never pick a label silently.

Examples:
    >>> from emoscope.labels import CANONICAL_LABELS as L
    >>> parse_label("The speaker sounds furious.", L)
    'angry'
    >>> parse_label("Joyful!", L)
    'happy'
    >>> parse_label("not angry, rather sad", L)
    'sad'
    >>> parse_label("I cannot tell.", L) is None
    True
    >>> parse_choice("(B)", ("sad", "happy"))
    'happy'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "neutral": ("neutral", "neutrally", "neutrality", "calm", "calmly", "indifferent"),
    "calm": ("calm", "calmly", "calmness", "relaxed", "serene", "peaceful"),
    "happy": (
        "happy",
        "happily",
        "happiness",
        "happier",
        "joy",
        "joyful",
        "joyfully",
        "joyous",
        "glad",
        "gladly",
        "cheerful",
        "cheerfully",
        "delighted",
        "pleased",
        "elated",
        "amused",
        "excited",
        "enthusiastic",
    ),
    "sad": (
        "sad",
        "sadly",
        "sadness",
        "sadder",
        "unhappy",
        "unhappiness",
        "sorrow",
        "sorrowful",
        "depressed",
        "melancholy",
        "melancholic",
        "gloomy",
        "grief",
        "grieving",
        "miserable",
        "disappointed",
        "disappointment",
        "crying",
        "tearful",
    ),
    "angry": (
        "angry",
        "anger",
        "angrily",
        "angered",
        "angrier",
        "mad",
        "furious",
        "furiously",
        "fury",
        "rage",
        "raging",
        "enraged",
        "irritated",
        "irritation",
        "annoyed",
        "annoyance",
        "hostile",
        "outraged",
        "frustrated",
        "frustration",
    ),
    "fearful": (
        "fearful",
        "fear",
        "fearfully",
        "afraid",
        "scared",
        "frightened",
        "fright",
        "anxious",
        "anxiety",
        "nervous",
        "nervously",
        "terrified",
        "terror",
        "panic",
        "panicked",
        "worried",
        "worry",
        "fearfulness",
    ),
    "disgust": (
        "disgust",
        "disgusted",
        "disgusting",
        "disgustedly",
        "revulsion",
        "revolted",
        "repulsed",
        "repelled",
        "grossed",
        "contempt",
        "contemptuous",
    ),
    "surprised": (
        "surprised",
        "surprise",
        "surprising",
        "surprisingly",
        "astonished",
        "astonishment",
        "amazed",
        "amazement",
        "shocked",
        "shock",
        "startled",
    ),
    "frustrated": ("frustrated", "frustration", "frustrating"),
    "excited": ("excited", "excitement", "exciting", "thrilled"),
    "bored": ("bored", "boredom", "boring", "uninterested"),
    "contempt": ("contempt", "contemptuous", "scorn", "disdain"),
}
"""Label -> words that name it. A word listed under several labels maps to the label whose own
entry is most specific: an exact label name wins, then the first label (in the model's label
order) whose synonyms contain the word."""

NEGATIONS = frozenset({"not", "no", "never", "neither", "nor", "without", "isn't", "wasn't"})
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[.,;:!?]")
_LETTER = re.compile(r"^\W*(?:(?i:answer|option)\W*)?\(?([A-Z])\)?(?:[\s.,:)]|$)")


def word_table(
    labels: Sequence[str], *, answers: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return word -> label for ``labels``: the labels, their answer words and synonyms.

    Examples:
        >>> word_table(("sad", "angry"))["furious"]
        'angry'
    """
    table: dict[str, str] = {}
    for label in labels:  # synonyms first, in label order: the first label claiming a word wins
        for word in SYNONYMS.get(label, ()):
            table.setdefault(word, label)
    for label in labels:  # a label's own name or answer word always maps to it
        table[label.lower()] = label
        if answers and label in answers:
            for word in _WORD.findall(answers[label].lower()):
                table[word] = label
    return table


def parse_label(
    text: str, labels: Sequence[str], *, answers: Mapping[str, str] | None = None
) -> str | None:
    """Return the first label that ``text`` names (not negated), or ``None``.

    Args:
        text: The model's answer.
        labels: The closed label set.
        answers: Optional label -> answer word (the prompt's verbalizers).
    """
    table = word_table(labels, answers=answers)
    tokens = _TOKEN.findall(text.lower().replace("n't", " not"))
    for i, token in enumerate(tokens):
        label = table.get(token)
        if label is None:
            continue
        window = tokens[max(0, i - 2) : i]
        while window and any(not w[0].isalpha() for w in window):  # a clause ends at punctuation
            window = window[1:]
        if any(w in NEGATIONS for w in window):
            continue
        return label
    return None


def parse_choice(
    text: str, labels: Sequence[str], *, answers: Mapping[str, str] | None = None
) -> str | None:
    """Return the label of a lettered answer ("B", "(B)", "B. happy"), else parse words.

    Examples:
        >>> parse_choice("Answer: A", ("sad", "happy"))
        'sad'
        >>> parse_choice("happy", ("sad", "happy"))
        'happy'
        >>> parse_choice("Z", ("sad", "happy")) is None
        True
    """
    match = _LETTER.match(text.strip())
    if match:
        index = ord(match.group(1)) - ord("A")
        if 0 <= index < len(labels):
            return labels[index]
        return None
    return parse_label(text, labels, answers=answers)
