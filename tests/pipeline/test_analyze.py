from __future__ import annotations

import json

import numpy as np
import pytest

from emoscope.errors import AudioError, EmoscopeError, UsageError
from emoscope.frontend.checks import normalise, word_error_rate
from emoscope.models.base import load_model
from emoscope.pipeline import AnalyzeConfig, _AudioCursor, analyze, prepare, summarise
from emoscope.schema import validate_document
from emoscope.testing import write_audio
from emoscope.testing.recordings import chords
from emoscope.types import EmotionScores, Segment

TOLERANCE_S = 0.3
WER_BOUND = 0.2  # measured 0.053 on the demo (see tests/frontend/test_asr_speakers.py)
WRONG = "The quarterly report shows strong growth in the northern sales region this year."


@pytest.fixture(scope="module")
def chance_doc(demo_sample, models):
    return analyze(demo_sample, AnalyzeConfig(model="chance"), cache=models)


def _texts(truth):
    return [t["text"] for t in truth]


def test_demo_segments_words_and_predictions(chance_doc, truth):
    doc = validate_document(chance_doc.to_json_dict())
    assert doc.recording.duration_s == pytest.approx(38.4, abs=0.5)
    assert len(doc.segments) == len(truth)
    for seg, true in zip(doc.segments, truth, strict=True):
        assert abs(seg.start - true["start"]) <= TOLERANCE_S
        assert abs(seg.end - true["end"]) <= TOLERANCE_S
        assert seg.words and all(seg.start - 0.3 <= w.start <= seg.end + 0.3 for w in seg.words)
        assert seg.quality.alignment == "asr_only"
        assert seg.quality.speech_ratio > 0.5
        assert -45 < seg.quality.loudness_dbfs < 0 and seg.quality.clipping_ratio < 0.001
        assert not {"clipped", "quiet", "too_short", "mismatch"} & set(seg.flags)
        assert 0 < seg.quality.asr_confidence <= 1
        # chance predicts a uniform distribution: every segment says it is unsure
        assert seg.emotion is not None and seg.emotion.confidence == pytest.approx(1 / 7)
        assert "low_confidence" in seg.flags
    heard = normalise(" ".join(s.transcript for s in doc.segments))
    assert word_error_rate(normalise(" ".join(_texts(truth))), heard) < WER_BOUND
    assert doc.model.name == "chance" and doc.model.labels[0] == "neutral"
    assert sum(doc.summary.distribution.values()) == pytest.approx(1.0)
    assert doc.summary.speech_s == pytest.approx(sum(s.duration for s in doc.segments), abs=0.01)
    assert doc.provenance.config["model"] == "chance"


def _default_loads() -> bool:
    try:
        load_model("default")
    except EmoscopeError:
        return False
    return True


def test_default_model_predicts_or_says_it_cannot(demo_sample, models, tmp_path):
    notes = prepare(AnalyzeConfig(), cache=models)
    if _default_loads():
        doc = analyze(demo_sample, AnalyzeConfig(), cache=models)
        assert doc.model is not None and all(s.emotion for s in doc.segments)
        assert not notes
    else:  # never a placeholder label: no model, no emotions, and a note saying so
        assert any("No emotion predictions" in n for n in notes)
        silent = write_audio(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32))
        doc = analyze(silent, AnalyzeConfig(), cache=models)
        assert doc.model is None
        assert any("No emotion predictions" in n for n in doc.summary.notes)


def test_correct_plain_transcript_is_aligned_and_passes(demo_sample, models, truth, tmp_path):
    given = tmp_path / "demo.txt"
    given.write_text(demo_sample.with_name("demo.txt").read_text())
    doc = analyze(demo_sample, AnalyzeConfig(model=None, transcript=str(given)), cache=models)
    assert [s.transcript for s in doc.segments] == _texts(truth)
    assert all(s.quality.alignment == "ok" and "mismatch" not in s.flags for s in doc.segments)
    assert doc.summary.mismatched_segments == 0
    # tiny.en mishears up to half the words of a short segment ("What were in your most")
    assert all(s.quality.wer <= 0.5 for s in doc.segments)


def test_wrong_transcript_is_flagged(demo_sample, models, truth, tmp_path):
    texts = _texts(truth)
    texts[3] = WRONG  # a sentence that was not said, instead of one that was
    texts.append("And then we said goodbye to everyone who was still in the waiting room.")
    given = tmp_path / "wrong.txt"
    given.write_text(" ".join(texts))
    doc = analyze(demo_sample, AnalyzeConfig(model=None, transcript=str(given)), cache=models)
    flagged = [i for i, s in enumerate(doc.segments) if "mismatch" in s.flags]
    assert flagged == [3, 7]  # the replaced sentence, and the last one with the unsaid words
    assert doc.segments[3].quality.alignment == "mismatch"
    assert doc.segments[3].quality.wer > 0.6
    assert doc.segments[3].transcript == WRONG
    assert doc.segments[7].transcript.endswith("waiting room.")
    assert doc.summary.mismatched_segments == 2
    assert any("2 of 8 segment(s) are flagged 'mismatch'" in n for n in doc.summary.notes)


def test_timed_transcript_cues_become_segments(demo_sample, models, truth, tmp_path):
    lines = ["WEBVTT", ""]
    cued = truth[:-1]  # the last sentence has no cue: the transcript does not cover it
    for i, t in enumerate(cued):
        text = WRONG if i == 1 else t["text"]
        lines += [f"00:{t['start']:06.3f} --> 00:{t['end']:06.3f}", f"<v {t['speaker']}>{text}", ""]
    vtt = tmp_path / "demo.vtt"
    vtt.write_text("\n".join(lines))
    doc = analyze(demo_sample, AnalyzeConfig(model=None, transcript=str(vtt)), cache=models)
    assert [(s.start, s.end) for s in doc.segments] == [(t["start"], t["end"]) for t in cued]
    assert [s.speaker for s in doc.segments] == [
        {"A": "spk-1", "B": "spk-2"}[t["speaker"]] for t in cued
    ]
    assert [i for i, s in enumerate(doc.segments) if "mismatch" in s.flags] == [1]
    assert doc.segments[0].quality.alignment == "ok"
    assert any("outside the transcript's cues" in n for n in doc.summary.notes)


@pytest.mark.parametrize("kind", ["silence", "music"])
def test_silence_and_music_give_no_segments(kind, models, tmp_path):
    audio = np.zeros(16000 * 15, np.float32) if kind == "silence" else chords(15.0)
    path = write_audio(tmp_path / f"{kind}.flac", audio)
    doc = analyze(path, AnalyzeConfig(model="chance"), cache=models)
    assert doc.segments == [] and doc.summary.n_segments == 0
    assert doc.summary.notes[0].startswith("No speech found")
    assert doc.summary.dominant is None
    validate_document(doc.to_json_dict())


def test_speakers_and_no_transcript(demo_sample, models, truth):
    config = AnalyzeConfig(model=None, speakers="auto", no_transcript=True)
    doc = analyze(demo_sample, config, cache=models)
    assert [s.speaker for s in doc.segments] == [
        {"A": "spk-1", "B": "spk-2"}[t["speaker"]] for t in truth
    ]
    assert all(s.transcript is None and s.words == [] for s in doc.segments)
    assert "hello" not in json.dumps(doc.to_json_dict()).lower()


def test_bad_options_fail_before_any_work(demo_sample, models, tmp_path):
    with pytest.raises(UsageError, match="no-such-model"):
        analyze(demo_sample, AnalyzeConfig(model="no-such-model"), cache=models)
    with pytest.raises(UsageError, match="--speakers"):
        prepare(AnalyzeConfig(model=None, speakers="lots"), cache=models)
    with pytest.raises(UsageError, match="unknown kind"):
        prepare(AnalyzeConfig(model=None, transcript=str(tmp_path / "t.docx")), cache=models)
    with pytest.raises(AudioError, match="empty"):
        (tmp_path / "empty.wav").write_bytes(b"")
        analyze(tmp_path / "empty.wav", AnalyzeConfig(model=None), cache=models)


def test_audio_cursor_reads_across_chunks():
    audio = np.arange(16000 * 10, dtype=np.float32)
    chunks = ((i / 16000, audio[i : i + 7000]) for i in range(0, len(audio), 7000))
    cursor = _AudioCursor(chunks)
    for start, end in [(0.1, 0.9), (1.2, 3.7), (3.5, 3.6), (6.0, 9.99), (9.5, 10.5)]:
        expected = audio[int(round(start * 16000)) : int(round(end * 16000))]
        np.testing.assert_array_equal(cursor.read(start, end), expected)


def _seg(i, start, end, speaker, probs):
    return Segment(
        id=f"s{i}",
        start=start,
        end=end,
        speaker=speaker,
        emotion=EmotionScores.from_probabilities(probs),
        flags=["mismatch"] if i == 2 else [],
    )


def test_summary_is_duration_weighted_with_changes_per_speaker():
    sad, happy = {"sad": 0.8, "happy": 0.2}, {"sad": 0.1, "happy": 0.9}
    segments = [
        _seg(1, 0, 4, "spk-1", sad),
        _seg(2, 4, 5, "spk-2", happy),
        _seg(3, 5, 6, "spk-1", happy),
        _seg(4, 6, 8, "spk-2", happy),
    ]
    summary = summarise(segments)
    assert summary.distribution["sad"] == pytest.approx((0.8 * 4 + 0.1 * 4) / 8)
    assert summary.dominant == "happy"  # 0.55 of the time-weighted mass
    assert [(c.time, c.speaker, c.from_label, c.to_label) for c in summary.changes] == [
        (5.0, "spk-1", "sad", "happy")
    ]
    assert summary.mismatched_segments == 1


def test_explain_fills_every_segment(models, tmp_path, espeak):
    from emoscope.testing import speak

    gap = np.zeros(16000, dtype=np.float32)
    audio = np.concatenate([gap, speak("I am so happy today."), gap, speak("Why did you go?"), gap])
    path = write_audio(tmp_path / "two.flac", audio)
    doc = analyze(path, AnalyzeConfig(model="chance", explain=True), cache=models)
    assert len(doc.segments) == 2
    assert doc.provenance.explanation_method.startswith("emoscope.explain")
    for seg in doc.segments:
        assert seg.explanation["label"] == seg.emotion.label
        assert {"modality", "temporal", "words"} <= set(seg.explanation)
    validate_document(doc.to_json_dict())
    bare = analyze(path, AnalyzeConfig(model=None, explain=True), cache=models)
    assert any(n.startswith("No explanations") for n in bare.summary.notes)


def test_broken_audio_is_an_audio_error_naming_the_file(models, tmp_path):
    from emoscope.testing import tone

    text = tmp_path / "notes.flac"
    text.write_text("not audio at all\n" * 10)
    full = write_audio(tmp_path / "full.wav", tone(2.0)).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full[:20000])
    for path, message in [(text, "not a readable audio file"), (cut, "truncated")]:
        with pytest.raises(AudioError, match=message) as info:
            analyze(path, AnalyzeConfig(model=None), cache=models)
        assert path.name in str(info.value)
