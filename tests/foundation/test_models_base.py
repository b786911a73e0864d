from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from emoscope.errors import UnknownNameError, UsageError
from emoscope.models import base
from emoscope.models.base import ModelConfig, available_models, load_model, register_model
from emoscope.types import Utterance


@dataclass
class LoudnessConfig(ModelConfig):
    threshold_db: float = -30.0


class LoudnessModel:
    """A real (tiny) model: loud speech -> angry, quiet -> sad, from the audio's RMS level."""

    labels = ("sad", "angry")
    modalities = frozenset({"audio"})

    def __init__(self, config: LoudnessConfig) -> None:
        self.config = config

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        from emoscope.audio import loudness_dbfs

        db = np.array([loudness_dbfs(u.load_audio()) for u in batch])
        p_angry = 1 / (1 + np.exp(-(db - self.config.threshold_db)))
        return np.stack([1 - p_angry, p_angry], axis=1)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    with base.MODELS.scoped():
        register_model(
            "loudness",
            LoudnessConfig,
            LoudnessModel,
            from_path=lambda p: LoudnessConfig() if (p / "loudness.json").exists() else None,
        )
        yield


def test_register_and_load_with_overrides() -> None:
    assert "loudness" in available_models()
    model = load_model("loudness", threshold_db=-10.0)
    assert model.config.threshold_db == -10.0
    loud = Utterance(id="a", waveform=np.full(16000, 0.5, np.float32))
    quiet = Utterance(id="b", waveform=np.full(16000, 0.001, np.float32))
    proba = base.check_proba(model, model.predict_proba([loud, quiet]), 2)
    assert proba[0].argmax() == 1 and proba[1].argmax() == 0
    one_by_one = np.concatenate([model.predict_proba([u]) for u in (loud, quiet)])
    np.testing.assert_allclose(proba, one_by_one)


def test_duplicate_name_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("loudness", LoudnessConfig, LoudnessModel)


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="Known models: .*loudness"):
        load_model("no-such-model")


def test_directory_recognised_by_from_path(tmp_path: Path) -> None:
    (tmp_path / "loudness.json").write_text("{}")
    assert isinstance(load_model(str(tmp_path)), LoudnessModel)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(UsageError, match="no model backend recognises"):
        load_model(str(other))


def test_config_round_trip_warns_on_unknown_keys() -> None:
    cfg = LoudnessConfig(threshold_db=-12.5)
    assert LoudnessConfig.from_json(cfg.to_json()) == cfg
    with pytest.warns(UserWarning, match="unknown keys \\['bogus'\\]"):
        LoudnessConfig.from_dict({"threshold_db": 1.0, "bogus": 2})
