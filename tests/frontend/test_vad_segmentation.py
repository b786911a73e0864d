from __future__ import annotations

import numpy as np
import pytest

from emoscope.errors import UsageError
from emoscope.frontend.segmentation import SegmentBounds, group_windows, merge_regions
from emoscope.frontend.vad import SpeechRegion
from emoscope.testing import speak
from emoscope.testing.recordings import chords

TOLERANCE_S = 0.3


def test_demo_segments_match_true_sentences(models, demo_audio, truth):
    chunks = [demo_audio[i : i + 16000 * 7] for i in range(0, len(demo_audio), 16000 * 7)]
    activity = models.vad().run(chunks)
    assert activity.n_samples == len(demo_audio)
    segments = merge_regions(activity.regions(max_speech_s=15.0))
    assert len(segments) == len(truth)
    for seg, true in zip(segments, truth, strict=True):
        assert abs(seg.start - true["start"]) <= TOLERANCE_S, (seg, true["text"])
        assert abs(seg.end - true["end"]) <= TOLERANCE_S, (seg, true["text"])
        assert activity.speech_ratio(seg.start, seg.end) > 0.6


def test_chunking_does_not_change_the_probabilities(models, demo_audio):
    whole = models.vad().run([demo_audio]).probs
    pieces = models.vad().run([demo_audio[i : i + 12345] for i in range(0, len(demo_audio), 12345)])
    np.testing.assert_allclose(whole, pieces.probs, atol=1e-5)


@pytest.mark.parametrize(
    "audio",
    [np.zeros(16000 * 20, dtype=np.float32), chords(20.0)],
    ids=["silence", "music"],
)
def test_silence_and_music_have_no_speech(models, audio):
    activity = models.vad().run([audio])
    assert activity.regions() == []


def test_long_speech_is_cut_at_pauses_within_max(models, espeak):
    text = " ".join(["I walked to the market, and then I walked back home again."] * 4)
    audio = speak(text, wpm=170)
    activity = models.vad().run([audio])
    bounds = SegmentBounds(min_s=1.0, max_s=6.0)
    segments = merge_regions(activity.regions(max_speech_s=bounds.max_s), bounds=bounds)
    assert len(segments) >= len(audio) / 16000 / 6.0 - 1
    assert all(s.duration <= 6.0 + 0.1 for s in segments)
    assert all(b.start >= a.end for a, b in zip(segments, segments[1:], strict=False))


def test_merge_respects_gap_and_max():
    regions = [SpeechRegion(0, 4), SpeechRegion(4.2, 8), SpeechRegion(8.3, 12)]
    assert merge_regions(regions, bounds=SegmentBounds(max_s=15)) == [SpeechRegion(0, 12)]
    assert merge_regions(regions, bounds=SegmentBounds(max_s=9)) == [
        SpeechRegion(0, 8),
        SpeechRegion(8.3, 12),
    ]
    assert len(merge_regions(regions, bounds=SegmentBounds(merge_gap_s=0.1))) == 3


def test_bad_bounds_are_usage_errors():
    with pytest.raises(UsageError, match="--min-segment"):
        SegmentBounds(min_s=5, max_s=2)


def test_windows_pack_at_most_28_s_of_speech():
    segments = [SpeechRegion(i * 10.0, i * 10.0 + 4.0) for i in range(20)]
    windows = group_windows(segments, max_window_s=28.0)
    assert [s for w in windows for s in w.segments] == segments
    for w in windows:
        assert sum(s.duration for s in w.segments) + 0.3 * (len(w.segments) - 1) <= 28.0
    assert [len(w.segments) for w in windows] == [6, 6, 6, 2]
    long = group_windows([SpeechRegion(0, 40), SpeechRegion(41, 45)], max_window_s=28.0)
    assert [len(w.segments) for w in long] == [1, 1]


def test_quality_flags_from_figures():
    from emoscope.frontend.quality import measure_quality, quality_flags
    from emoscope.testing import tone
    from emoscope.types import Word

    loud = np.clip(tone(2.0, amplitude=3.0), -1.0, 1.0)
    words = [Word(word="hm", start=0.0, end=0.5, probability=0.2)]
    q = measure_quality(loud, speech_ratio=0.1, words=words)
    assert q.clipping_ratio > 0.1 and q.asr_confidence == 0.2
    assert quality_flags(q, duration_s=2.0, n_words=1) == ["clipped", "low_speech"]
    quiet = measure_quality(tone(2.0, amplitude=0.001), speech_ratio=0.9, words=[])
    assert quality_flags(quiet, duration_s=0.5, n_words=0) == [
        "too_short",
        "quiet",
        "no_transcript",
    ]
