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


class TextAligner:
    """Aligns plain text to the recogniser's words, one window at a time (bounded memory).

    A pointer moves through the given words. For each window, the next stretch of given words is
    matched against the heard words (difflib); a matched given word takes the time of its heard
    word, an unmatched one the time interpolated between its matched neighbours. Given words
    never matched by the end of the recording go to the last window (and so fail its check).

    Examples:
        >>> heard = [Word(word="hello", start=0.0, end=0.4), Word(word="world", start=0.5, end=0.9)]
        >>> aligner = TextAligner("Hello, wide world! And more.")
        >>> [(w, round(t, 2)) for w, t in aligner.align(heard, last=False)]
        [('Hello,', 0.2), ('wide', 0.45), ('world!', 0.7)]
        >>> [w for w, _ in aligner.align([], last=True)]
        ['And', 'more.']
    """

    def __init__(self, text: str) -> None:
        self.words = text.split()
        self._norm = [" ".join(normalise(w)) for w in self.words]
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
        hyp = [" ".join(normalise(w.word)) for w in heard]
        times = [(w.start + w.end) / 2 for w in heard]
        span = len(self.words) if last else min(len(self.words), self.pointer + 2 * len(hyp) + 20)
        ref = self._norm[self.pointer : span]
        matcher = SequenceMatcher(None, ref, hyp, autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size]
        placed: dict[int, float] = {}
        for block in blocks:
            for k in range(block.size):
                placed[block.a + k] = times[block.b + k]
        if not placed:  # nothing in common: read the next words at the heard pace
            count = len(ref) if last else min(len(ref), len(hyp))
            out = [
                (self.words[self.pointer + i], times[min(i, len(times) - 1)]) for i in range(count)
            ]
            self.pointer += count
            return out
        last_ref = max(placed)
        last_hyp = max(b.b + b.size for b in blocks) - 1
        extra = len(hyp) - 1 - last_hyp  # heard words after the last match
        end = len(ref) if last else min(len(ref), last_ref + 1 + extra)
        keys = sorted(placed)
        out = []
        for i in range(end):
            if i in placed:
                t = placed[i]
            else:
                before = [k for k in keys if k < i]
                after = [k for k in keys if k > i]
                if before and after:
                    a, b = before[-1], after[0]
                    t = placed[a] + (placed[b] - placed[a]) * (i - a) / (b - a)
                elif after:
                    t = min(placed[after[0]], times[0])
                else:
                    t = times[min(len(times) - 1, last_hyp + (i - last_ref))]
            out.append((self.words[self.pointer + i], t))
        self.pointer += end
        return out
