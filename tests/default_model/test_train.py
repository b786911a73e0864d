"""``emoscope train-default`` on a small subset: seeded, reproducible, with a real report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.models.base import load_model
from emoscope.models.default import load_weights
from emoscope.models.default_training import TrainSettings, train_default


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
