"""``emoscope train-default`` on a small subset: seeded, reproducible, with a real report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.models.base import load_model
from emoscope.models.default import DefaultModel, DefaultModelConfig, load_weights, softmax
from emoscope.models.default_training import TrainSettings, text_log_prior, train_default


@pytest.mark.data
@pytest.mark.slow
def test_train_default_subset_is_deterministic(shared_data, tmp_path):
    # two runs, each with its own empty feature cache: the whole chain is recomputed
    args = ["train-default", "--data", str(shared_data), "--actors", "1-2", "--meld-limit", "150"]
    args += ["--boot", "20"]
    for run in ("a", "b"):
        out = tmp_path / run
        code = main([*args, "-o", str(out), "--cache-dir", str(tmp_path / f"cache-{run}")])
        assert code == 0
    a, meta_a = load_weights(tmp_path / "a")
    b, meta_b = load_weights(tmp_path / "b")
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert meta_a == meta_b
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    audio = report["ravdess_audio_spk"]
    assert audio["n"] == 120 and set(audio["per_group"]) == {"female", "male"}
    assert audio["ci95"]["ua"][0] <= audio["ua"] <= audio["ci95"]["ua"][1]
    assert audio["ua"] > 0.3  # trained on one actor, tested on the other: still above 1/7
    assert report["meld_dev_text"]["n"] == 150
    assert (tmp_path / "a" / "report.md").read_text().startswith("# Default model")
    # the trained folder is a model the registry loads by its path
    model = load_model(str(tmp_path / "a"), modality="text")
    assert model.predict_proba([]).shape == (0, 7)


def test_settings_round_trip_to_json():
    s = TrainSettings(actors=(1, 2), meld_limit=10)
    data = json.loads(json.dumps(s.to_dict()))
    assert data["actors"] == [1, 2] and data["audio_head"]["kind"] == "linear"


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="RAVDESS"):
        train_default(tmp_path, settings=TrainSettings(boot=1), cache_root=tmp_path / "c")


def test_cli_rejects_bad_options(tmp_path):
    assert main(["train-default", "--data", str(tmp_path / "nowhere")]) == 2
    assert main(["train-default", "--data", str(tmp_path), "--actors", "x"]) == 2


def test_fusion_is_the_same_with_or_without_the_text_offsets():
    # the prior that fusion divides out carries the offsets / T: fused probabilities do not move
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 300)
    z, offsets, t = rng.normal(0, 2, (20, 7)), rng.normal(0, 0.5, 7), 1.3
    audio = softmax(rng.normal(0, 2, (20, 7)))
    model = DefaultModel(DefaultModelConfig(modality="both"))
    fused = []
    for o in (None, offsets):
        model.priors["text"] = text_log_prior(labels, 7, offsets=o, temperature=t).astype(float)
        text = softmax((z + (0 if o is None else o)) / t)
        fused.append(model.fuse({"audio": audio, "text": text}))
    np.testing.assert_allclose(fused[0], fused[1], atol=1e-6)
    alone = softmax((z + offsets) / t)  # text alone keeps its offsets
    np.testing.assert_allclose(model.fuse({"text": alone}), alone, atol=1e-9)
