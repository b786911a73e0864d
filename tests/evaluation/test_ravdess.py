"""Evaluation on real RAVDESS actors (needs ../shared/data)."""

from __future__ import annotations

import json

import pytest

from emoscope.cli import main
from emoscope.data.recipes import prepare
from emoscope.models.base import load_model


def actors(manifest, numbers):
    wanted = {f"ravdess/{n:02d}" for n in numbers}
    return manifest.filter(lambda u: u.speaker in wanted)


@pytest.mark.data
@pytest.mark.slow
def test_egemaps_baseline_across_actors(shared_data, tmp_path):
    full = prepare("ravdess", shared_data / "ravdess")
    train = actors(full, (1, 2, 3, 4))
    test = actors(full, (19, 20)).to_jsonl(tmp_path / "test.jsonl")
    model_dir = load_model("egemaps-logreg").fit(train).save(tmp_path / "model")
    run = tmp_path / "run"
    assert main(["evaluate", str(test), "--model", str(model_dir), "-o", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 120 and metrics["errors"] == 0
    # other actors of the same corpus: in-corpus, not speaker leakage
    assert [(x["speakers"], x["corpora"]) for x in metrics["leakage"]] == [([], ["ravdess"])]
    assert metrics["labels"] == [
        "neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised",
    ]  # fmt: skip
    assert metrics["ua"] > 0.25  # chance on 7 classes is 0.14
    assert set(metrics["fairness"]["by_gender"]) == {"male", "female"}
    assert set(metrics["fairness"]["by_speaker"]) == {"ravdess/19", "ravdess/20"}
    # the same model on one of its training actors: the leakage guard speaks up
    seen = actors(full, (1,)).to_jsonl(tmp_path / "seen.jsonl")
    assert main(["evaluate", str(seen), "--model", str(model_dir), "-o", str(tmp_path / "s")]) == 0
    leak = json.loads((tmp_path / "s" / "metrics.json").read_text())["leakage"]
    assert leak[0]["speakers"] == ["ravdess/01"] and leak[0]["utterances"] == 60
    # a model that cannot adapt to speakers says so instead of ignoring --speaker-adapt
    args = ["evaluate", str(seen), "--model", str(model_dir), "-o", str(tmp_path / "a")]
    assert main([*args, "--speaker-adapt"]) == 2


@pytest.mark.data
@pytest.mark.slow
def test_default_model_on_ravdess_actors(shared_data, tmp_path):
    model = load_model("default")
    full = prepare("ravdess", shared_data / "ravdess")
    test = actors(full, (19, 20)).to_jsonl(tmp_path / "test.jsonl")
    run = tmp_path / "run"
    code = main(["evaluate", str(test), "--model", "default", "-o", str(run), "--batch-size", "32"])
    assert code == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 120 and metrics["errors"] == 0
    assert metrics["ua"] > 0.3  # well above chance (0.14) on 7 classes
    trained_on = set((getattr(model, "training_data", None) or {}).get("speakers") or ())
    overlap = sorted({"ravdess/19", "ravdess/20"} & trained_on)
    assert [x["speakers"] for x in metrics["leakage"] if x["speakers"]] == (
        [overlap] if overlap else []
    )
    # adapted to each test speaker from their own unlabelled clips: the speaker head decides
    adapted = tmp_path / "adapted"
    args = ["evaluate", str(test), "--model", "default", "-o", str(adapted), "--speaker-adapt"]
    assert main(args) == 0
    second = json.loads((adapted / "metrics.json").read_text())
    assert second["speaker_adaptation"] == {"all": {"ravdess/19": 60, "ravdess/20": 60}}
    assert second["n"] == 120 and second["errors"] == 0 and second["ua"] > 0.3
    assert second["config"]["run_hash"]["speaker_adapt"] is True
    first = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    later = [json.loads(line) for line in (adapted / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in first] == [p["id"] for p in later]
    assert any(a["probabilities"] != b["probabilities"] for a, b in zip(first, later, strict=True))
