"""Speaker adaptation inside analyze, checked against the default model's own adapt_speakers.

Real code path, real model: recordings are built from RAVDESS clips (two actors, one with too
few clips to adapt to) and from the demo, with timed transcripts so that each segment's samples
are known exactly; the documents are compared with what a freshly loaded default model gives for
the same utterances after ``adapt_speakers``. No prediction of the shipped weights is hard-coded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoscope.audio import iter_chunks
from emoscope.errors import EmoscopeError
from emoscope.models.base import load_model
from emoscope.pipeline import CONTEXT_TURNS, AnalyzeConfig, analyze, summarise
from emoscope.testing import write_audio
from emoscope.types import Utterance

RATE = 16000
STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}


def _fresh_default():
    try:
        return load_model("default")
    except EmoscopeError as exc:
        pytest.skip(f"the default model is not available: {exc}")


def _stamp(t: float) -> str:
    return f"00:{int(t // 60):02d}:{t % 60:06.3f}"


def _write_vtt(path, cues):
    lines = ["WEBVTT", ""]
    for start, end, speaker, text in cues:
        voice = f"<v {speaker}>" if speaker else ""
        lines += [f"{_stamp(start)} --> {_stamp(end)}", f"{voice}{text}", ""]
    path.write_text("\n".join(lines))
    return path


def _utterances(path, doc):
    """The utterances analyze gave the model: the same samples, text, context and speaker."""
    audio = np.concatenate([c for _, c in iter_chunks(path)])
    out, history = [], []
    for seg in doc.segments:
        wav = audio[int(round(seg.start * RATE)) : int(round(seg.end * RATE))]
        out.append(
            Utterance(
                id=seg.id,
                waveform=wav,
                transcript=seg.transcript,
                speaker=seg.speaker,
                context=tuple(history[-CONTEXT_TURNS:]),
            )
        )
        if seg.transcript:
            history.append(seg.transcript)
    return out


def _probs(doc):
    labels = doc.model.labels
    return np.array([[s.emotion.probabilities[k] for k in labels] for s in doc.segments])


def _audio_probs(doc):
    labels = doc.model.labels
    return np.array([[s.modalities["audio"][k] for k in labels] for s in doc.segments])


@pytest.fixture(scope="module")
def ravdess(shared_data, tmp_path_factory):
    """Ten clips of actor 03 ("Ann") and three of actor 04 ("Bob"), 1 s apart, with a VTT."""
    folder = tmp_path_factory.mktemp("ravdess-rec")
    picks = []
    for actor, n in (("03", 10), ("04", 3)):
        files = sorted((shared_data / "ravdess" / f"Actor_{actor}").glob("*.flac"))
        picks += [(actor, f) for f in files[:: max(1, len(files) // n)][:n]]
    order = [picks[i] for i in (0, 1, 10, 2, 3, 4, 11, 5, 6, 7, 12, 8, 9)]  # interleaved
    parts, cues, t = [np.zeros(RATE // 2, np.float32)], [], 0.5
    for actor, f in order:
        clip = np.concatenate([c for _, c in iter_chunks(f)])
        clip = clip[: len(clip) // 16 * 16]  # whole milliseconds: cue times are exact
        end = round(t + len(clip) / RATE, 3)
        name = "Ann" if actor == "03" else "Bob"
        cues.append((t, end, name, STATEMENTS[f.name.split("-")[4]]))
        parts += [clip, np.zeros(RATE, np.float32)]
        t = round(end + 1.0, 3)
    path = write_audio(folder / "two-actors.flac", np.concatenate(parts))
    return path, _write_vtt(folder / "two-actors.vtt", cues)


@pytest.fixture(scope="module")
def ravdess_docs(ravdess, models):
    path, vtt = ravdess
    on = analyze(path, AnalyzeConfig(transcript=str(vtt)), cache=models)
    off = analyze(path, AnalyzeConfig(transcript=str(vtt), speaker_adapt=False), cache=models)
    return on, off


@pytest.mark.data
def test_analyze_adapts_each_speaker_as_adapt_speakers_does(ravdess, ravdess_docs):
    path, _ = ravdess
    on, off = ravdess_docs
    assert [s.speaker for s in on.segments].count("spk-1") == 10
    assert [s.speaker for s in on.segments].count("spk-2") == 3
    utts = _utterances(path, on)
    reference = _fresh_default()
    plain = reference.predict_proba(utts)
    plain_audio = reference.predict_modalities(utts, missing="nan")["audio"]
    assert reference.adapt_speakers(utts) == {"spk-1": 10}  # spk-2: 3 < 8, plain head
    adapted = reference.predict_proba(utts)
    adapted_audio = reference.predict_modalities(utts, missing="nan")["audio"]
    ann = np.array([s.speaker == "spk-1" for s in on.segments])

    # adaptation on (the default): what adapt_speakers + predict give, segment by segment
    np.testing.assert_allclose(_probs(on), adapted, atol=1e-9)
    np.testing.assert_allclose(_audio_probs(on), adapted_audio, atol=1e-6)  # rounded to 1e-6
    assert not np.allclose(_probs(on)[ann], plain[ann], atol=1e-3)  # spk-1 really changed
    np.testing.assert_allclose(_probs(on)[~ann], plain[~ann], atol=1e-9)  # spk-2 kept plain
    for seg in on.segments:
        probs = seg.emotion.probabilities
        assert seg.emotion.label == max(probs, key=probs.get)
        assert ("low_confidence" in seg.flags) == (seg.emotion.confidence < 0.4)
    # summary and notes follow the adapted predictions
    assert on.summary.distribution == summarise(on.segments).distribution
    assert on.summary.changes == summarise(on.segments).changes
    note = next(n for n in on.summary.notes if n.startswith("Speaker adaptation:"))
    assert "spk-1 (10 segments)" in note and "own voice" in note
    assert "Unadapted (fewer than the 8 segments it needs): spk-2 (3 segments)" in note
    assert "--no-speaker-adapt" in note and "more neutral" in note
    assert on.provenance.config["speaker_adapt"] is True

    # adaptation off: the plain predictions, as before, and no note about it
    np.testing.assert_allclose(_probs(off), plain, atol=1e-9)
    np.testing.assert_allclose(_audio_probs(off), plain_audio, atol=1e-6)
    assert not any("adaptation" in n for n in off.summary.notes)
    assert off.provenance.config["speaker_adapt"] is False


@pytest.mark.data
def test_exports_and_report_show_the_adapted_predictions(ravdess_docs, tmp_path):
    from emoscope.export import write_export

    on, off = ravdess_docs
    labels = on.model.labels
    tables = {}
    for name, doc in (("on", on), ("off", off)):
        write_export(doc, "csv", tmp_path / f"{name}.csv")
        rows = (tmp_path / f"{name}.csv").read_text().splitlines()[1:]
        assert len(rows) == len(doc.segments)
        for row, seg in zip(rows, doc.segments, strict=True):
            probs = ",".join(f"{seg.emotion.probabilities[k]:.4f}" for k in labels)
            assert f",{seg.emotion.label},{seg.emotion.confidence:.4f},{probs}," in row
        tables[name] = rows
    assert tables["on"] != tables["off"]
    write_export(on, "html", tmp_path / "on.html")
    assert "relative to each speaker" in (tmp_path / "on.html").read_text()


def test_one_unattributed_recording_is_adapted_as_one_voice(demo_sample, models, truth, tmp_path):
    vtt = _write_vtt(
        tmp_path / "demo.vtt", [(t["start"], t["end"], None, t["text"]) for t in truth]
    )
    doc = analyze(demo_sample, AnalyzeConfig(transcript=str(vtt)), cache=models)
    if doc.model is None:
        pytest.skip("the default model is not available")
    assert len(doc.segments) == 8 and all(s.speaker is None for s in doc.segments)
    utts = [u.with_(speaker="the recording") for u in _utterances(demo_sample, doc)]
    reference = _fresh_default()
    assert reference.adapt_speakers(utts) == {"the recording": 8}
    np.testing.assert_allclose(_probs(doc), reference.predict_proba(utts), atol=1e-9)
    note = next(n for n in doc.summary.notes if n.startswith("Speaker adaptation:"))
    assert "all 8 segments were treated as one speaker" in note
    assert json.dumps(doc.to_json_dict())  # still a valid, serialisable document


@pytest.mark.data
def test_session_explains_with_the_adapted_model_and_leaves_the_shared_one(
    ravdess, ravdess_docs, models
):
    path, _ = ravdess
    on, _ = ravdess_docs
    shared = models.emotion_model("default")  # the very object analyze used
    assert shared.adapted_speakers == ()  # analyze adapted a session, never the shared model
    utts = _utterances(path, on)
    session = shared.adaptation_session()
    plain, _ = session.predict(utts)
    assert session.adapt({u.id: u.speaker for u in utts}) == {"spk-1": 10}
    adapted, parts = session.predictions([u.id for u in utts])
    np.testing.assert_allclose(adapted, _probs(on), atol=1e-9)
    np.testing.assert_allclose(parts["audio"], _audio_probs(on), atol=1e-6)
    # what --explain runs: a model that predicts the same adapted probabilities
    np.testing.assert_allclose(session.adapted_model().predict_proba(utts), adapted, atol=1e-9)
    assert shared.adapted_speakers == ()
    assert shared.adaptation_session() is not None
    assert load_model("default", modality="text").adaptation_session() is None


@pytest.mark.slow
def test_explanations_explain_the_adapted_predictions(demo_sample, models, truth, tmp_path):
    vtt = _write_vtt(
        tmp_path / "demo.vtt", [(t["start"], t["end"], None, t["text"]) for t in truth]
    )
    on = analyze(demo_sample, AnalyzeConfig(transcript=str(vtt), explain=True), cache=models)
    if on.model is None:
        pytest.skip("the default model is not available")
    off = analyze(
        demo_sample, AnalyzeConfig(transcript=str(vtt), speaker_adapt=False), cache=models
    )
    assert any(n.startswith("Speaker adaptation:") for n in on.summary.notes)
    assert not np.allclose(_probs(on), _probs(off), atol=1e-3)  # adaptation changed them
    for seg, plain in zip(on.segments, off.segments, strict=True):
        explained = seg.explanation
        assert explained is not None and explained["label"] == seg.emotion.label
        # the explained probability is the adapted one, not the unadapted one
        assert explained["probability"] == pytest.approx(seg.emotion.confidence, abs=1e-4)
        if abs(plain.emotion.probabilities[seg.emotion.label] - seg.emotion.confidence) > 1e-3:
            assert explained["probability"] != pytest.approx(
                plain.emotion.probabilities[seg.emotion.label], abs=1e-4
            )
