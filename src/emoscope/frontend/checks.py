"""The alignment check: does a given transcript match what was heard?

Per segment, the given words are compared with the recogniser's words (word error rate after a
light normalisation: case, punctuation, common English contractions) and with a plausible speech
rate. A segment fails the check (``mismatch``) when its word error rate exceeds ``max_wer``, when
its given text is implausibly fast or slow for the segment's length, or when the recogniser
clearly heard speech that the transcript does not have.

Examples:
    >>> normalise("I'm so HAPPY, aren't you?")
    ['i', 'am', 'so', 'happy', 'are', 'not', 'you']
    >>> word_error_rate(["a", "b", "c", "d"], ["a", "x", "c"])
    0.5
    >>> check = check_alignment("It was wonderful.", "it was wonderful", duration_s=1.5)
    >>> check.status, check.wer
    ('ok', 0.0)
    >>> check_alignment("the cat sat on the mat", "hello there", duration_s=1.5).status
    'mismatch'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CONTRACTIONS = {
    "i'm": "i am",
    "you're": "you are",
    "we're": "we are",
    "they're": "they are",
    "it's": "it is",
    "that's": "that is",
    "what's": "what is",
    "there's": "there is",
    "let's": "let us",
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "i've": "i have",
    "we've": "we have",
    "you've": "you have",
    "i'll": "i will",
    "you'll": "you will",
    "i'd": "i would",
}
_TOKEN = re.compile(r"[a-z0-9\u00c0-\u024f]+(?:'[a-z]+)?")


def normalise(text: str) -> list[str]:
    """Return the lower-case words of ``text`` without punctuation, contractions expanded."""
    words: list[str] = []
    for token in _TOKEN.findall(text.lower().replace("\u2019", "'")):
        if token in CONTRACTIONS:
            words.extend(CONTRACTIONS[token].split())
        elif token.endswith("n't"):
            words.extend([token[:-3], "not"])
        elif token.endswith("'re"):
            words.extend([token[:-3], "are"])
        else:
            words.append(token)
    return words


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Return (substitutions + deletions + insertions) / max(1, len(reference))."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1] / max(1, len(reference))


@dataclass(frozen=True)
class CheckOptions:
    """Limits of the alignment check."""

    max_wer: float = 0.6
    min_rate_wps: float = 0.5
    max_rate_wps: float = 6.5
    min_rate_duration_s: float = 2.0
    unheard_words: int = 3


@dataclass(frozen=True)
class AlignmentCheck:
    """The outcome for one segment: status, figures and the reasons for a mismatch."""

    status: str
    wer: float | None
    speech_rate_wps: float | None
    reasons: tuple[str, ...] = field(default=())


def check_alignment(
    given: str, heard: str, *, duration_s: float, options: CheckOptions | None = None
) -> AlignmentCheck:
    """Compare a segment's given transcript with what the recogniser heard.

    Args:
        given: The user's transcript of the segment.
        heard: The recogniser's transcript of the segment.
        duration_s: The segment's length (for the speech-rate check).
        options: The limits.

    Returns:
        ``ok`` or ``mismatch`` with the word error rate, the given text's speech rate (words per
        second) and, for a mismatch, the reasons in words.
    """
    options = options or CheckOptions()
    ref, hyp = normalise(given), normalise(heard)
    wer = word_error_rate(ref, hyp)
    rate = len(ref) / max(duration_s, 0.1)
    reasons = []
    if ref and wer > options.max_wer:
        reasons.append(f"word error rate {wer:.2f} > {options.max_wer}")
    if not ref and len(hyp) >= options.unheard_words:
        reasons.append(f"the transcript has no words here but {len(hyp)} words were heard")
    if rate > options.max_rate_wps:
        reasons.append(f"{rate:.1f} words/s is faster than anyone speaks")
    if ref and duration_s >= options.min_rate_duration_s and rate < options.min_rate_wps:
        reasons.append(f"{rate:.2f} words/s is too few words for {duration_s:.1f} s of speech")
    return AlignmentCheck(
        status="mismatch" if reasons else "ok",
        wer=round(wer, 4),
        speech_rate_wps=round(rate, 3),
        reasons=tuple(reasons),
    )
