"""Explanations from the model protocol: ablation, occlusion and acoustic cues.

The toy model below is a real, deterministic model (not a mock): loud audio makes "angry"
likely, the words "alone"/"tired" make "sad" likely. What a correct explanation must say about
it is therefore known in advance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from emoscope.explain import METHOD, explain_segments
from emoscope.explain.cues import describe
from emoscope.models.base import load_model
from emoscope.schema import validate_document
from emoscope.testing import tone
from emoscope.testing.documents import sample_document
from emoscope.types import Utterance

RATE = 16000


class LoudOrLonely:
    labels = ("neutral", "sad", "angry")
    modalities = frozenset({"audio", "text"})

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        rows = []
        for u in batch:
            loud = 0.0
            if u.has_audio:
                wav = u.load_audio()
                loud = float(np.sqrt(np.mean(wav**2))) if len(wav) else 0.0
            words = (u.transcript or "").lower()
            lonely = sum(w in words for w in ("alone", "tired"))
            logits = np.array([1.0, 2.5 * lonely, 40.0 * loud])
            p = np.exp(logits - logits.max())
            rows.append(p / p.sum())
        return np.array(rows)


class AudioOnly(LoudOrLonely):
    modalities = frozenset({"audio"})


def burst(seconds: float = 2.0, *, at: tuple[float, float] = (1.0, 1.5)) -> np.ndarray:
    wav = tone(seconds, freq=150.0, amplitude=0.01)
    a, b = int(at[0] * RATE), int(at[1] * RATE)
    wav[a:b] = tone(at[1] - at[0], freq=150.0, amplitude=0.6)
    return wav


@pytest.fixture(scope="module")
def explained() -> list[dict]:
    utterances = [
        Utterance(id="a", waveform=burst(), transcript="I feel fine today", speaker="s"),
        Utterance(
            id="b", waveform=tone(2.0, amplitude=0.01), transcript="I am so alone", speaker="s"
        ),
    ]
    return explain_segments(LoudOrLonely(), utterances, cues=False)


def test_labels_explained_are_the_predicted_ones(explained: list[dict]) -> None:
    assert [e["label"] for e in explained] == ["angry", "sad"]


def test_modality_ablation_credits_the_right_modality(explained: list[dict]) -> None:
    loud, lonely = (e["modality"] for e in explained)
    assert loud["contribution"]["audio"] > 0.3 > abs(loud["contribution"]["text"])
    assert lonely["contribution"]["text"] > 0.3 > abs(lonely["contribution"]["audio"])
    assert set(loud) >= {"both", "audio", "text"}
    assert sum(loud["audio"].values()) == pytest.approx(1.0, abs=1e-3)


def test_temporal_occlusion_finds_the_loud_window(explained: list[dict]) -> None:
    temporal = explained[0]["temporal"]
    assert len(temporal["starts"]) == len(temporal["importance"]) == 4
    peak = int(np.argmax(temporal["importance"]))
    assert (temporal["starts"][peak], temporal["ends"][peak]) == (1.0, 1.5)
    assert temporal["peak"] == pytest.approx(1.25)
    others = [v for i, v in enumerate(temporal["importance"]) if i != peak]
    assert max(others) < temporal["importance"][peak] / 5


def test_word_occlusion_finds_the_word(explained: list[dict]) -> None:
    words = explained[1]["words"]
    assert [w["word"] for w in words] == ["I", "am", "so", "alone"]
    top = max(words, key=lambda w: w["importance"])
    assert top["word"] == "alone" and top["importance"] > 0.3
    assert all(abs(w["importance"]) < 1e-6 for w in words if w["word"] != "alone")


def test_parts_a_model_cannot_use_are_left_out() -> None:
    u = Utterance(id="a", waveform=burst(), transcript="alone", speaker="s")
    [e] = explain_segments(AudioOnly(), [u], cues=False)
    assert "temporal" in e and "modality" not in e and "words" not in e


def test_long_segments_keep_the_window_count_bounded() -> None:
    u = Utterance(id="a", waveform=tone(20.0, amplitude=0.1), transcript=None)
    [e] = explain_segments(LoudOrLonely(), [u], cues=False, max_windows=8)
    assert len(e["temporal"]["starts"]) == 8 and e["temporal"]["window_s"] == 2.5


def test_acoustic_cues_against_the_speakers_own_baseline() -> None:
    usual = [tone(1.5, freq=145.0 + 2 * i, amplitude=0.05, seed=i) for i in range(4)]
    excited = tone(1.5, freq=280.0, amplitude=0.5, seed=9)
    other = tone(1.5, freq=280.0, amplitude=0.5, seed=10)  # another speaker's usual
    utts = [Utterance(id=f"u{i}", waveform=w, speaker="a") for i, w in enumerate(usual)]
    utts.append(Utterance(id="x", waveform=excited, speaker="a"))
    utts += [
        Utterance(
            id=f"o{i}", waveform=tone(1.5, freq=280.0, amplitude=0.5, seed=20 + i), speaker="b"
        )
        for i in range(2)
    ]
    utts.append(Utterance(id="o", waveform=other, speaker="b"))
    out = explain_segments(LoudOrLonely(), utts, cues=True)
    cues = out[4]["cues"]
    assert cues["description"] == "louder and higher than this speaker's usual"
    assert cues["pitch"]["z"] > 1 and cues["loudness"]["z"] > 1
    assert out[0]["cues"]["pitch"]["relative"] == "usual"
    # speaker b speaks like that all the time: nothing remarkable for them
    assert out[-1]["cues"]["description"].startswith("close to this speaker's usual")


def test_describe_wording() -> None:
    base = {"pitch": [30.0, 30.0, 30.0], "loudness": [1.0, 1.0, 1.0], "rate": [3.0, 3.0, 3.0]}
    d = describe({"pitch": 27.0, "loudness": 0.5, "rate": 4.0}, base)
    assert d["description"] == "faster, quieter and lower than this speaker's usual"
    assert describe({"pitch": None, "loudness": None, "rate": None}, base)["description"] == (
        "no acoustic cues could be measured"
    )


def test_explanations_are_stored_in_a_valid_document(explained: list[dict]) -> None:
    doc = sample_document()
    segs = [
        s.model_copy(update={"explanation": explained[i % 2]}) for i, s in enumerate(doc.segments)
    ]
    prov = doc.provenance.model_copy(update={"explanation_method": METHOD})
    data = doc.model_copy(update={"segments": segs, "provenance": prov}).to_json_dict()
    assert validate_document(data).segments[0].explanation["label"] == "angry"


def test_works_with_a_registered_backend() -> None:
    """egemaps-logreg, fitted on quiet vs loud tones, explained through the same protocol."""
    train = [
        Utterance(id=f"q{i}", waveform=tone(1.0, amplitude=0.02, seed=i), canonical="neutral")
        for i in range(4)
    ] + [
        Utterance(id=f"l{i}", waveform=tone(1.0, amplitude=0.6, seed=9 + i), canonical="angry")
        for i in range(4)
    ]
    model = load_model("egemaps-logreg").fit(train)
    u = Utterance(id="t", waveform=tone(2.0, amplitude=0.6, seed=99), speaker="s")
    [e] = explain_segments(model, [u], cues=False)
    assert e["label"] == "angry"
    assert len(e["temporal"]["importance"]) == 4
    assert max(e["temporal"]["importance"]) > 0


def test_no_peak_when_silencing_never_lowers_the_label() -> None:
    # quiet audio: "neutral" wins and silencing any window only makes it more neutral
    u = Utterance(id="q", waveform=tone(1.0, amplitude=0.02), transcript=None)
    [e] = explain_segments(LoudOrLonely(), [u], cues=False)
    assert e["label"] == "neutral"
    assert max(e["temporal"]["importance"]) <= 0.01 and e["temporal"]["peak"] is None


def test_segments_without_speaker_compare_with_the_recording() -> None:
    utts = [Utterance(id=f"u{i}", waveform=tone(1.0, amplitude=0.05, seed=i)) for i in range(3)]
    utts.append(Utterance(id="x", waveform=tone(1.0, amplitude=0.6, seed=7)))
    out = explain_segments(LoudOrLonely(), utts, cues=True)
    assert out[-1]["cues"]["description"] == "louder than usual in this recording"


def test_explain_document_fills_segments_and_method() -> None:
    from emoscope.explain import explain_document

    doc = sample_document()
    utts = [
        Utterance(
            id=s.id,
            waveform=tone(s.duration, amplitude=0.05),
            transcript=s.transcript,
            speaker=s.speaker,
        )
        for s in doc.segments
    ]
    out = explain_document(LoudOrLonely(), doc, utts, cues=False)
    assert out.provenance.explanation_method == METHOD
    assert out.segments[3].explanation["label"] == "sad"  # "I feel so alone and tired"
    top = max(out.segments[3].explanation["words"], key=lambda w: w["importance"])
    assert top["word"] in {"alone", "tired."}
    validate_document(out.to_json_dict())
    with pytest.raises(ValueError, match="one utterance per segment"):
        explain_document(LoudOrLonely(), doc, utts[:2])
