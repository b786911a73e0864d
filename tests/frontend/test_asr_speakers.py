from __future__ import annotations

import numpy as np
import pytest

from emoscope.errors import UsageError
from emoscope.frontend.asr import WhisperAsr
from emoscope.frontend.checks import normalise, word_error_rate
from emoscope.frontend.segmentation import group_windows
from emoscope.frontend.speakers import cluster_speakers, parse_speakers
from emoscope.frontend.vad import SpeechRegion

# Measured with the bundled tiny.en, greedy, on the demo's espeak-ng voices: 0.053 (5 errors in
# 95 normalised words: "terrible" -> "terminal", "worries you" -> "were he", "the" -> "my").
# The bound leaves room for decoding differences across CPUs, not for a broken pipeline (> 0.5).
DEMO_WER_BOUND = 0.2


@pytest.fixture(scope="module")
def heard(models, demo_audio, truth):
    asr = models.asr(None, language=None)
    spans = [SpeechRegion(t["start"], t["end"]) for t in truth]
    out = []
    for window in group_windows(spans):
        clips = [
            (s.start, demo_audio[int(s.start * 16000) : int(s.end * 16000)])
            for s in window.segments
        ]
        out.append((window, asr.transcribe(clips)))
    return out


def test_demo_wer_below_measured_bound(heard, truth):
    hyp = normalise(" ".join(w.word for _, h in heard for w in h.all_words))
    ref = normalise(" ".join(t["text"] for t in truth))
    assert word_error_rate(ref, hyp) < DEMO_WER_BOUND


def test_word_times_fall_in_their_sentence(heard, truth):
    words = [w for _, h in heard for w in h.all_words]
    assert all(0 <= w.probability <= 1 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    for window, h in heard:
        for span, piece_words in zip(window.segments, h.words, strict=True):
            assert piece_words, span
            assert all(span.start <= w.start <= w.end <= span.end for w in piece_words)


def test_encoder_output_is_kept_per_window(heard):
    for window, h in heard:
        packed = sum(s.duration for s in window.segments) + 0.3 * (len(window.segments) - 1)
        assert h.encoder is not None and h.encoder.shape[1] == 384
        assert abs(len(h.encoder) - packed * 50) <= 2
        for k, span in enumerate(window.segments):
            assert abs(len(h.encoder_frames(k)) - span.duration * 50) <= 2


def test_unknown_asr_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--asr-model"):
        WhisperAsr(str(tmp_path / "no-such-model"))


def test_speakers_of_the_demo(models, demo_audio, truth):
    encoder = models.speaker_encoder()
    emb = np.stack(
        [encoder.embed(demo_audio[int(t["start"] * 16000) : int(t["end"] * 16000)]) for t in truth]
    )
    expected = [{"A": "spk-1", "B": "spk-2"}[t["speaker"]] for t in truth]
    assert cluster_speakers(emb, n_speakers=2) == expected
    assert cluster_speakers(emb, n_speakers=None) == expected
    assert set(cluster_speakers(emb[[0, 2, 5, 7]], n_speakers=None)) == {"spk-1"}


def test_parse_speakers():
    assert parse_speakers("3") == 3
    with pytest.raises(UsageError, match="--speakers"):
        parse_speakers("many")
    with pytest.raises(UsageError):
        parse_speakers(0)
