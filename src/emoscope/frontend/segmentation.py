"""Speech regions -> utterance-sized segments, and segments -> ASR windows.

Regions from the voice activity detector are merged across short pauses (a breath, a comma)
while the result stays within ``max_s``; longer pauses end a segment. Regions longer than
``max_s`` are already cut at their longest inner pause by the detector
(:meth:`~emoscope.frontend.vad.VoiceActivity.regions`). Segments shorter than ``min_s`` are
kept (a "yes" is an utterance too) and flagged ``too_short`` later.

Examples:
    >>> regions = [SpeechRegion(0.5, 1.1), SpeechRegion(1.3, 2.9), SpeechRegion(4.0, 6.0)]
    >>> [(s.start, s.end) for s in merge_regions(regions)]
    [(0.5, 2.9), (4.0, 6.0)]
    >>> [[(s.start, s.end) for s in w.segments] for w in group_windows(
    ...     [SpeechRegion(0, 10), SpeechRegion(11, 20), SpeechRegion(61, 69)], max_window_s=28)]
    [[(0, 10), (11, 20), (61, 69)]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from emoscope.errors import UsageError
from emoscope.frontend.vad import SpeechRegion


@dataclass(frozen=True)
class SegmentBounds:
    """How long a segment may be, and which pauses end one (seconds)."""

    min_s: float = 1.0
    max_s: float = 15.0
    merge_gap_s: float = 0.6

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.max_s:
            raise UsageError(
                "Segment bounds need 0 < --min-segment <= --max-segment. "
                f"Got min {self.min_s} s, max {self.max_s} s."
            )
        if self.merge_gap_s < 0:
            raise UsageError(f"The merge gap must be >= 0 s. Got {self.merge_gap_s}.")


def merge_regions(
    regions: Sequence[SpeechRegion], *, bounds: SegmentBounds | None = None
) -> list[SpeechRegion]:
    """Merge consecutive regions separated by less than ``merge_gap_s`` into segments.

    A merge never makes a segment longer than ``max_s``.

    Args:
        regions: Speech regions in time order.
        bounds: The segment bounds (defaults: 1-15 s, pauses of 0.6 s end a segment).

    Returns:
        The segments, in time order.
    """
    bounds = bounds or SegmentBounds()
    out: list[SpeechRegion] = []
    for region in regions:
        if out:
            last = out[-1]
            gap = region.start - last.end
            if gap < bounds.merge_gap_s and region.end - last.start <= bounds.max_s:
                out[-1] = SpeechRegion(last.start, region.end)
                continue
        out.append(region)
    return out


@dataclass(frozen=True)
class Window:
    """A stretch of audio (<= 28 s) that the recogniser decodes at once, and its segments."""

    start: float
    end: float
    segments: tuple[SpeechRegion, ...]


def group_windows(
    segments: Sequence[SpeechRegion], *, max_window_s: float = 28.0, separator_s: float = 0.3
) -> list[Window]:
    """Group consecutive segments into windows whose packed speech fits ``max_window_s``.

    Whisper decodes 30 s windows at a fixed cost; one window per segment would pay for the
    encoder many times and cut words, so segments share windows. The recogniser decodes a
    window's segments packed together (pauses between them replaced by ``separator_s`` of
    silence), so what must fit is the segments' total length plus the separators. A segment
    longer than ``max_window_s`` (possible with a timed transcript) gets a window of its own
    that the recogniser reads in pieces.
    """
    windows: list[Window] = []
    current: list[SpeechRegion] = []
    packed = 0.0
    for seg in segments:
        if current and packed + separator_s + seg.duration > max_window_s:
            windows.append(_window(current))
            current, packed = [], 0.0
        packed += seg.duration + (separator_s if current else 0.0)
        current.append(seg)
    if current:
        windows.append(_window(current))
    return windows


def _window(segments: list[SpeechRegion]) -> Window:
    return Window(segments[0].start, max(s.end for s in segments), tuple(segments))
