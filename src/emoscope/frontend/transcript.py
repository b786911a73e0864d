r"""A user's own transcript: reading it, and aligning plain text to what was heard.

Formats (by extension):

- ``.txt``: plain text. It has no times, so it is aligned to the audio through the recogniser's
  word times (:class:`TextAligner`), window by window, as the recording streams past.
- ``.srt`` and ``.vtt``: timed cues, used as they are: each cue becomes a segment. WebVTT voice
  tags (``<v Name>``) give the speaker.
- ``.json``: an emoscope prediction document (its ``segments``) or a list of
  ``{"start", "end", "text", "speaker"}`` objects.

Speaker names in a transcript are replaced by pseudonyms (``spk-1``, ``spk-2``... in order of
appearance) so that no name reaches the prediction document.

Examples:
    >>> cues = parse_srt("1\n00:00:01,000 --> 00:00:02,500\nHello there.\n")
    >>> [(c.start, c.end, c.text) for c in cues]
    [(1.0, 2.5, 'Hello there.')]
    >>> cues = parse_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Hi!</v>\n")
    >>> [(c.start, c.end, c.text, c.speaker) for c in cues]
    [(1.0, 2.0, 'Hi!', 'Ann')]
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from emoscope.errors import UsageError
from emoscope.frontend.checks import normalise
from emoscope.types import Word

TRANSCRIPT_FORMATS = (".txt", ".srt", ".vtt", ".json")


@dataclass(frozen=True)
class Cue:
    """One timed piece of a transcript."""

    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True)
class GivenTranscript:
    """A transcript as read: timed cues, or plain text."""

    source: str
    cues: tuple[Cue, ...] = ()
    text: str = ""

    @property
    def timed(self) -> bool:
        """Whether the transcript carries times (cues)."""
        return bool(self.cues)


_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})")
_ARROW = re.compile(rf"({_TIME.pattern})\s*-->\s*({_TIME.pattern})")
_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]+>")


def _seconds(stamp: str) -> float:
    match = _TIME.fullmatch(stamp.strip())
    if match is None:
        raise ValueError(stamp)
    hours, minutes, seconds, fraction = match.groups()
    whole = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return whole + int(fraction.ljust(3, "0")) / 1000


def _parse_cues(text: str, source: str) -> list[Cue]:
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        for i, line in enumerate(lines):
            match = _ARROW.search(line)
            if match is None:
                continue
            start = _seconds(match.group(1))
            end = _seconds(match.group(6))
            body = " ".join(lines[i + 1 :])
            voice = _VOICE.search(body)
            words = " ".join(_TAG.sub("", body).split())
            if end <= start:
                raise UsageError(
                    f"{source}: the cue at {match.group(0)!r} ends before it starts. "
                    "Fix the times (start --> end)."
                )
            if words:
                cues.append(Cue(start, end, words, voice.group(1).strip() if voice else None))
            break
    return cues


def parse_srt(text: str, *, source: str = "transcript") -> list[Cue]:
    """Return the cues of SubRip text."""
    return _parse_cues(text, source)


def parse_vtt(text: str, *, source: str = "transcript") -> list[Cue]:
    """Return the cues of WebVTT text (voice tags give the speaker)."""
    if not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise UsageError(f"{source}: a WebVTT file must start with 'WEBVTT'.")
    return _parse_cues(text, source)


def _parse_json(data: object, source: str) -> list[Cue]:
    items = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise UsageError(
            f"{source}: expected an emoscope prediction document or a list of "
            '{"start", "end", "text"} objects.'
        )
    cues = []
    for n, item in enumerate(items):
        try:
            text = item.get("text", item.get("transcript")) or ""
            start, end = float(item["start"]), float(item["end"])
        except (AttributeError, KeyError, TypeError, ValueError):
            raise UsageError(
                f"{source}: item {n} needs numeric 'start' and 'end' and a 'text' "
                "(or 'transcript')."
            ) from None
        if end <= start:
            raise UsageError(f"{source}: item {n} ends ({end}) before it starts ({start}).")
        if str(text).strip():
            cues.append(Cue(start, end, " ".join(str(text).split()), item.get("speaker")))
    return cues


def read_transcript(path: Path) -> GivenTranscript:
    """Read a transcript file.

    Raises:
        UsageError: If the file is missing, of an unknown kind, or malformed (the message names
            the file and the problem).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TRANSCRIPT_FORMATS:
        raise UsageError(
            f"--transcript {path}: unknown kind {suffix or '(none)'!r}. "
            f"Use one of {', '.join(TRANSCRIPT_FORMATS)}."
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"--transcript {path}: no such file.") from None
    except UnicodeDecodeError:
        raise UsageError(f"--transcript {path}: not UTF-8 text.") from None
    source = str(path)
    if suffix == ".txt":
        if not text.strip():
            raise UsageError(f"--transcript {path}: the file has no words.")
        return GivenTranscript(source=source, text=" ".join(text.split()))
    if suffix == ".json":
        try:
            cues = _parse_json(json.loads(text), source)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--transcript {path}: not JSON ({exc.msg}).") from None
    elif suffix == ".srt":
        cues = parse_srt(text, source=source)
    else:
        cues = parse_vtt(text, source=source)
    if not cues:
        raise UsageError(f"--transcript {path}: no timed cues with text found.")
    names: dict[str, str] = {}
    pseudonymous = []
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        speaker = None
        if cue.speaker:
            speaker = names.setdefault(str(cue.speaker), f"spk-{len(names) + 1}")
        pseudonymous.append(Cue(cue.start, cue.end, cue.text, speaker))
    return GivenTranscript(source=source, cues=tuple(pseudonymous))


def _tokens(words: Sequence[str]) -> tuple[list[str], list[int]]:
    """Normalised tokens of ``words`` and, for each token, the index of its word."""
    tokens, owners = [], []
    for i, word in enumerate(words):
        for token in normalise(word):
            tokens.append(token)
            owners.append(i)
    return tokens, owners


def _ends_sentence(word: str) -> bool:
    return word.rstrip("\"')\u201d\u2019").endswith((".", "?", "!", ";", ":"))


class TextAligner:
    """Aligns plain text to the recogniser's words, one window at a time (bounded memory).

    A pointer moves through the given words. For each window, the next stretch of given words is
    matched token by token against the heard words (difflib, after :func:`normalise`, so that
    "I'm" matches "I am"): a matched word takes the time of its heard word; a misheard stretch
    is spread over the heard words it replaces; words not heard at all join the sentence they
    belong to (the neighbour before them, unless a sentence ends first). Given words never
    matched by the end of the recording go to the last window (and so fail its check).

    Examples:
        >>> heard = [Word(word="hello", start=0.0, end=0.4), Word(word="world", start=0.5, end=0.9)]
        >>> aligner = TextAligner("Hello, wide world! And more.")
        >>> [(w, round(t, 2)) for w, t in aligner.align(heard, last=False)]
        [('Hello,', 0.2), ('wide', 0.2), ('world!', 0.7)]
        >>> [w for w, _ in aligner.align([], last=True)]
        ['And', 'more.']
    """

    def __init__(self, text: str) -> None:
        self.words = text.split()
        self.pointer = 0

    @property
    def remaining(self) -> int:
        """Given words not yet placed."""
        return len(self.words) - self.pointer

    def align(self, heard: Sequence[Word], *, last: bool) -> list[tuple[str, float]]:
        """Place the given words that belong to this window; return ``(word, time)`` pairs.

        Args:
            heard: The recogniser's words of the window (absolute times).
            last: Whether this is the recording's last window (all remaining words go here).
        """
        if not heard:
            if last and self.remaining:
                rest = self.words[self.pointer :]
                self.pointer = len(self.words)
                return [(w, float("inf")) for w in rest]
            return []
        times = [(w.start + w.end) / 2 for w in heard]
        h_tok, h_owner = _tokens([w.word for w in heard])
        span = len(self.words) if last else min(len(self.words), self.pointer + 2 * len(heard) + 20)
        given = self.words[self.pointer : span]
        r_tok, r_owner = _tokens(given)
        opcodes = SequenceMatcher(None, r_tok, h_tok, autojunk=False).get_opcodes()
        equal = [op for op in opcodes if op[0] == "equal"]
        if not equal or not h_tok:  # nothing in common: read the next words at the heard pace
            count = len(given) if last else min(len(given), len(heard))
            out = [(given[i], times[min(i, len(times) - 1)]) for i in range(count)]
            self.pointer += count
            return out
        _, _, last_i, _, last_j = equal[-1]
        end_tok = len(r_tok) if last else min(len(r_tok), last_i + len(h_tok) - last_j)
        token_times = [0.0] * end_tok

        def at(j: int) -> float:
            return times[h_owner[min(max(j, 0), len(h_tok) - 1)]]

        for tag, i1, i2, j1, j2 in opcodes:
            for i in range(i1, min(i2, end_tok)):
                if tag == "equal":
                    token_times[i] = at(j1 + i - i1)
                elif tag == "replace":
                    token_times[i] = at(j1 + (i - i1) * (j2 - j1) // (i2 - i1))
                elif tag == "delete":
                    before = r_owner[i1 - 1] if i1 > 0 else None
                    joins_next = before is None or any(
                        _ends_sentence(given[k]) for k in range(before, r_owner[i])
                    )
                    if j1 == 0 or (joins_next and j1 < len(h_tok)):
                        token_times[i] = at(j1)
                    else:
                        token_times[i] = at(j1 - 1)
        n_words = (r_owner[end_tok - 1] + 1) if end_tok else 0
        if last:
            n_words = len(given)
        word_times: list[float | None] = [None] * n_words
        for i in range(end_tok):
            if word_times[r_owner[i]] is None:
                word_times[r_owner[i]] = token_times[i]
        filled = _fill(word_times, default=times[-1])
        self.pointer += n_words
        return list(zip(given[:n_words], filled, strict=True))


def _fill(values: list[float | None], *, default: float) -> list[float]:
    """Give words without tokens (a lone dash) the time of the word before (or after) them."""
    previous = next((v for v in values if v is not None), default)
    out: list[float] = []
    for v in values:
        previous = v if v is not None else previous
        out.append(previous)
    return out
