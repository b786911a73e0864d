from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from emoscope.data.manifest import Manifest
from emoscope.errors import UsageError
from emoscope.models.base import EmotionModel, load_model
from emoscope.types import Utterance


def test_egemaps_logreg_round_trip_without_pickle(test_manifest, fitted_model):
    model = load_model(str(fitted_model))
    assert isinstance(model, EmotionModel)
    assert model.labels == ("neutral", "happy", "sad", "angry")
    assert model.modalities == frozenset({"audio"})
    doc = json.loads((fitted_model / "emoscope-model.json").read_text())
    assert doc["backend"] == "egemaps-logreg" and doc["training_data"]["corpora"] == ["train"]
    with zipfile.ZipFile(fitted_model / "weights.npz") as zf:  # plain .npy arrays only
        assert sorted(zf.namelist()) == ["coef.npy", "intercept.npy", "mean.npy", "scale.npy"]
    np.load(fitted_model / "weights.npz", allow_pickle=False)["coef"]  # loads without pickle

    utts = [u for u in Manifest.from_jsonl(test_manifest) if u.canonical][:6]
    batch = model.predict_proba(utts)
    assert batch.shape == (6, 4) and np.allclose(batch.sum(axis=1), 1)
    single = np.vstack([model.predict_proba([u]) for u in utts])
    assert np.allclose(batch, single)
    again = load_model(str(fitted_model)).predict_proba(utts)
    assert np.array_equal(batch, again)
    # in-memory waveforms give the same features as the files
    wav = [u.with_(audio=None, waveform=u.load_audio()) for u in utts]
    assert np.allclose(model.predict_proba(wav), batch)


def test_egemaps_logreg_fit_is_deterministic_and_learns(train_manifest, test_manifest):
    train = Manifest.from_jsonl(train_manifest)
    a = load_model("egemaps-logreg").fit(train)
    b = load_model("egemaps-logreg").fit(train)
    assert np.array_equal(a.coef_, b.coef_)
    test = [u for u in Manifest.from_jsonl(test_manifest) if u.canonical]
    pred = np.array(a.labels)[a.predict_proba(test).argmax(axis=1)]
    accuracy = np.mean(pred == np.array([u.canonical for u in test]))
    assert accuracy > 0.5  # 4 classes: chance is 0.25


def test_egemaps_logreg_errors(tmp_path):
    with pytest.raises(UsageError, match="not fitted"):
        load_model("egemaps-logreg").predict_proba([Utterance(id="x")])
    with pytest.raises(UsageError, match="at least two canonical labels"):
        load_model("egemaps-logreg").fit([Utterance(id="x", canonical="sad")])
    with pytest.raises(UsageError, match="not a saved egemaps-logreg"):
        load_model("egemaps-logreg", path=str(tmp_path))


def test_chance_is_uniform():
    model = load_model("chance")
    proba = model.predict_proba([Utterance(id="a"), Utterance(id="b", transcript="hi")])
    assert proba.shape == (2, 7) and np.allclose(proba, 1 / 7)
