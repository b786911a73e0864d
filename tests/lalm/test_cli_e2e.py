"""``emoscope analyze`` and ``emoscope evaluate`` end to end with a tiny LALM checkpoint folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emoscope.audio import load_audio
from emoscope.cli import main
from emoscope.data.manifest import Manifest
from emoscope.models.base import load_model
from emoscope.schema import validate_document
from emoscope.testing import tone, write_audio
from emoscope.types import Utterance


def _options_folder(root: Path, checkpoint: Path, **options: object) -> Path:
    root.mkdir(parents=True)
    data = {"family": "qwen2-audio", "model": str(checkpoint), **options}
    (root / "emoscope-lalm.json").write_text(json.dumps(data))
    return root


def test_analyze_predicts_every_segment_with_the_lalm(
    tiny_qwen2_audio: Path, demo_sample: Path, tmp_path: Path
) -> None:
    folder = _options_folder(tmp_path / "qwen-both", tiny_qwen2_audio, condition="both")
    out = tmp_path / "out"
    assert main(["analyze", str(demo_sample), "--model", str(folder), "-o", str(out)]) == 0
    data = json.loads((out / "demo.json").read_text())
    doc = validate_document(data)
    model = load_model(str(folder))
    assert doc.model is not None
    assert doc.model.backend == "lalm/qwen2-audio" and doc.model.modalities == ["audio", "text"]
    assert (doc.model.prompt_id, doc.model.prompt_hash) == (model.prompt_id, model.prompt_hash)
    segments = [s for s in doc.segments if s.emotion is not None]
    assert len(segments) >= 3 and all(s.transcript for s in segments)
    # each segment's probabilities are the model's on that stretch of audio and its transcript
    audio = load_audio(demo_sample).samples
    for seg in segments[:2]:
        clip = audio[round(seg.start * 16000) : round(seg.end * 16000)]
        expected = model.predict_proba(
            [Utterance(id="x", waveform=clip, transcript=seg.transcript)]
        )
        got = [seg.emotion.probabilities[label] for label in model.labels]
        np.testing.assert_allclose(got, expected[0], atol=1e-5)


def test_evaluate_runs_a_manifest_through_the_lalm(tiny_qwen2_audio: Path, tmp_path: Path) -> None:
    texts = {
        "neutral": "It is a table.",
        "happy": "What a lovely day!",
        "sad": "I miss her so much.",
        "angry": "Get out of here!",
    }
    utts = []
    for s in range(2):
        for i, (label, text) in enumerate(texts.items()):
            uid = f"s{s}-{label}"
            wav = tone(0.6 + 0.3 * i, freq=120.0 + 40 * i + 10 * s, seed=s)
            path = write_audio(tmp_path / "audio" / f"{uid}.wav", wav)
            utts.append(
                Utterance(
                    id=uid,
                    audio=str(path),
                    speaker=f"spk{s}",
                    label=label,
                    canonical=label,
                    transcript=text,
                    corpus="synth",
                    fold=s + 1,
                )
            )
    manifest = Manifest(utts).to_jsonl(tmp_path / "m.jsonl")
    run = tmp_path / "run"
    args = ["evaluate", str(manifest), "--model", str(tiny_qwen2_audio), "-o", str(run)]
    assert main([*args, "--modality", "both", "--resamples", "20"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    model = load_model(str(tiny_qwen2_audio), condition="both")
    assert metrics["n"] == 8 and metrics["prompt_hash"] == model.prompt_hash
    assert sorted(r["id"] for r in rows) == sorted(u.id for u in utts)
    # the stored probabilities are the model's, under the condition --modality chose
    first = next(r for r in rows if r["id"] == "s1-sad")
    expected = model.predict_proba([u for u in utts if u.id == "s1-sad"])[0]
    got = [first["probabilities"][label] for label in model.labels]
    np.testing.assert_allclose(got, expected, atol=1e-5)
