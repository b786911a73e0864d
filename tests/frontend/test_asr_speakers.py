from __future__ import annotations

import numpy as np
import pytest

from emoscope.errors import UsageError
from emoscope.frontend.asr import WhisperAsr
from emoscope.frontend.checks import normalise, word_error_rate
from emoscope.frontend.segmentation import group_windows
from emoscope.frontend.speakers import cluster_speakers, parse_speakers
from emoscope.frontend.vad import SpeechRegion

# Measured with the bundled tiny.en, greedy, on the demo's espeak-ng voices: 0.074 (7 errors in
# 95 normalised words: "terrible" -> "terminal", "worries you" -> "were in your", ...). The
# bound leaves room for decoding differences across CPUs, not for a broken pipeline (> 0.5).
DEMO_WER_BOUND = 0.2


@pytest.fixture(scope="module")
def heard(models, demo_audio, truth):
    asr = models.asr(None, language=None)
    spans = [SpeechRegion(t["start"], t["end"]) for t in truth]
    out = []
    for window in group_windows(spans):
        first, last = int(window.start * 16000), int(window.end * 16000)
        out.append((window, asr.transcribe(demo_audio[first:last], offset=window.start)))
    return out


def test_demo_wer_below_measured_bound(heard, truth):
    hyp = normalise(" ".join(w.word for _, h in heard for w in h.words))
    ref = normalise(" ".join(t["text"] for t in truth))
    assert word_error_rate(ref, hyp) < DEMO_WER_BOUND


def test_word_times_fall_in_their_sentence(heard, truth):
    words = [w for _, h in heard for w in h.words]
    assert all(0 <= w.probability <= 1 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    inside = 0
    for w in words:
        mid = (w.start + w.end) / 2
        inside += any(t["start"] - 0.3 <= mid <= t["end"] + 0.3 for t in truth)
    assert inside / len(words) > 0.95


def test_encoder_output_is_kept_per_window(heard):
    for window, h in heard:
        assert h.encoder is not None and h.encoder.shape[1] == 384
        assert abs(len(h.encoder) - (window.end - window.start) * 50) <= 2
        frames = h.encoder_frames(window.segments[0].start, window.segments[0].end)
        assert abs(len(frames) - window.segments[0].duration * 50) <= 2


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
