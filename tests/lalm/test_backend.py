"""The LALM backend through the model registry, on tiny checkpoints loaded like real weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.errors import UsageError
from emoscope.models.base import available_models, check_proba, get_entry, load_model
from emoscope.models.lalm import LALMConfig, LALMModel, calibrate
from emoscope.models.lalm.config import Qwen2AudioConfig
from emoscope.models.lalm.loading import ModelLoadError
from emoscope.models.lalm.prompting import content_free_utterances
from emoscope.testing import __main__ as testing_cli
from emoscope.types import ModelInfo, Utterance

FAMILIES = [
    "qwen2-audio",
    "audio-flamingo-3",
    "qwen2.5-omni",
    "voxtral",
    "phi-4-multimodal",
    "granite-speech",
]


def test_every_family_is_registered_with_its_config() -> None:
    assert set(FAMILIES) <= set(available_models())
    for name in FAMILIES:
        entry = get_entry(name)
        config = entry.config_cls()
        assert isinstance(config, LALMConfig) and config.family == name
        assert entry.config_cls.from_json(config.to_json()) == config


def test_a_checkpoint_directory_is_recognised_by_its_family(
    tiny_qwen2_audio: Path, tiny_af3: Path, tmp_path: Path
) -> None:
    q = load_model(str(tiny_qwen2_audio))
    a = load_model(str(tiny_af3), mode="choice")
    assert isinstance(q, LALMModel) and q.family.name == "qwen2-audio"
    assert a.family.name == "audio-flamingo-3" and a.config.mode == "choice"
    assert get_entry("qwen2-audio").from_path(tiny_af3) is None
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UsageError, match="no model backend recognises"):
        load_model(str(tmp_path))


def test_predictions_are_distributions_and_info_names_the_prompt(
    tiny_af3: Path, utterances: list[Utterance]
) -> None:
    model = load_model(str(tiny_af3), condition="both", labels=["happy", "sad", "angry"])
    proba = check_proba(model, model.predict_proba(utterances), len(utterances))
    assert proba.shape == (4, 3) and (proba >= 0).all()
    assert model.modalities == frozenset({"audio", "text"})
    info = model.info
    assert info["name"] == tiny_af3.name and info["backend"] == "lalm/audio-flamingo-3"
    assert info["prompt_id"] == "emotion-v1" and len(info["prompt_hash"]) == 16
    assert info["labels"] == ["happy", "sad", "angry"]
    described = model.model_info()
    assert isinstance(described, ModelInfo) and described.prompt_hash == info["prompt_hash"]
    other = load_model(str(tiny_af3), condition="audio", labels=["happy", "sad", "angry"])
    assert other.info["prompt_hash"] != info["prompt_hash"]


def test_calibration_divides_out_the_content_free_prior(
    tiny_qwen2_audio: Path, utterances: list[Utterance]
) -> None:
    plain = load_model(str(tiny_qwen2_audio))
    calibrated = load_model(str(tiny_qwen2_audio), calibrate=True)
    raw = plain.predict_proba(utterances)
    cal = calibrated.predict_proba(utterances)
    silence = content_free_utterances("audio")
    prior = plain.predict_proba(silence).mean(axis=0)
    np.testing.assert_allclose(calibrated.prior_, prior, atol=1e-6)
    # the prior is far from uniform on a random model, so calibration must move predictions
    assert prior.max() > 2.0 / 7
    np.testing.assert_allclose(cal, calibrate(raw, prior), atol=1e-6)
    assert np.abs(cal - raw).max() > 0.05
    # by design, the content-free input itself becomes uniform
    np.testing.assert_allclose(calibrated.predict_proba(silence), 1.0 / 7, atol=1e-6)


def test_calibration_prior_of_the_text_condition_averages_its_inputs(
    tiny_qwen2_audio: Path,
) -> None:
    plain = load_model(str(tiny_qwen2_audio), condition="text", mode="choice")
    cal = load_model(str(tiny_qwen2_audio), condition="text", mode="choice", calibrate=True)
    cal.predict_proba([Utterance(id="x", transcript="hello")])
    inputs = content_free_utterances("text")
    assert len(inputs) == 2
    np.testing.assert_allclose(cal.prior_, plain.predict_proba(inputs).mean(axis=0), atol=1e-6)


def test_generate_mode_reports_unparseable_answers(
    tiny_qwen2_audio: Path, utterances: list[Utterance]
) -> None:
    from emoscope.models.lalm.parsing import parse_label

    model = load_model(str(tiny_qwen2_audio), mode="generate", max_new_tokens=6)
    texts = model.generate_text(utterances)
    assert len(texts) == 4 and all(isinstance(t, str) for t in texts)
    proba = model.predict_proba(utterances)
    assert model.last_answers_ == texts  # greedy decoding: the same answers again
    uniform = np.isclose(proba, 1 / 7).all(axis=1)
    onehot = np.isclose(proba.max(axis=1), 1.0)
    assert (uniform | onehot).all()
    assert model.n_unparsed_ == len(model.last_unparsed_) == int(uniform.sum())
    assert model.last_unparsed_ == [
        u.id for u, flag in zip(utterances, uniform, strict=True) if flag
    ]
    for text, row in zip(texts, proba, strict=True):
        label = parse_label(text, model.labels, answers={"disgust": "disgusted"})
        if label is not None:
            assert model.labels[int(row.argmax())] == label


def test_modality_is_the_evaluate_cli_name_of_the_condition() -> None:
    config = Qwen2AudioConfig(modality="both")
    assert config.condition == "both" and config.modalities == frozenset({"audio", "text"})
    assert Qwen2AudioConfig.from_json(config.to_json()) == config
    with pytest.raises(UsageError, match="condition must be one of"):
        Qwen2AudioConfig(modality="video")


def test_config_errors_name_the_fix(tiny_qwen2_audio: Path) -> None:
    with pytest.raises(UsageError, match="calibrate works with the score and choice"):
        Qwen2AudioConfig(mode="generate", calibrate=True)
    with pytest.raises(UsageError, match="condition must be one of"):
        Qwen2AudioConfig(condition="video")
    with pytest.raises(UsageError, match="batch_size must be a positive integer"):
        Qwen2AudioConfig(batch_size=0)
    with pytest.raises(ValueError, match="must not repeat labels"):
        Qwen2AudioConfig(labels=("sad", "sad"))


def test_a_missing_checkpoint_fails_at_once_with_a_clear_error(
    tiny_qwen2_audio: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache.*hf download"):
        load_model("qwen2-audio", model="no-such-org/no-such-model-xyz")
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model("qwen2-audio", model=str(tmp_path / "nothing-here"))
    with pytest.raises(ModelLoadError, match="not a PEFT adapter"):
        load_model("qwen2-audio", model=str(tiny_qwen2_audio), adapter=str(tmp_path))


def test_the_cli_reports_a_missing_model_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from emoscope.cli import main

    code = main(["analyze", "x.wav", "--model", "qwen2-audio", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Qwen/Qwen2-Audio-7B-Instruct" in err and "Traceback" not in err


def test_tiny_lalm_command_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

    assert testing_cli.main(["tiny-lalm", str(tmp_path / "t"), "--family", "qwen2-audio"]) == 0
    model = Qwen2AudioForConditionalGeneration.from_pretrained(tmp_path / "t")
    processor = AutoProcessor.from_pretrained(tmp_path / "t")
    assert model.config.audio_token_id == processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_an_options_file_in_a_model_folder_sets_mode_condition_and_prompt(
    tiny_qwen2_audio: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "qwen-choice"
    folder.mkdir()
    (folder / "ckpt").symlink_to(tiny_qwen2_audio, target_is_directory=True)
    options = {
        "family": "qwen2-audio",
        "model": "ckpt",
        "mode": "choice",
        "condition": "both",
        "prompt": "emotion-described-v1",
        "calibrate": True,
    }
    (folder / "emoscope-lalm.json").write_text(json.dumps(options))
    model = load_model(str(folder))
    assert isinstance(model, LALMModel)
    assert (model.config.mode, model.config.condition, model.config.calibrate) == (
        "choice",
        "both",
        True,
    )
    assert model.config.model == str(folder / "ckpt") and model.prompt_id == "emotion-described-v1"
    assert model.predict_proba(
        [Utterance(id="x", waveform=np.zeros(8000, np.float32), transcript="hi")]
    ).shape == (1, 7)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "emoscope-lalm.json").write_text("[1, 2]")
    with pytest.raises(UsageError, match="JSON object of LALM options"):
        load_model(str(tmp_path / "bad"))


def test_both_asks_an_utterance_with_what_it_has(
    tiny_dir: Path, utterances: list[Utterance]
) -> None:
    both = load_model(str(tiny_dir), condition="both", calibrate=True)
    audio = load_model(str(tiny_dir), condition="audio", calibrate=True)
    text = load_model(str(tiny_dir), condition="text", calibrate=True)
    no_text = utterances[1].with_(transcript=None)
    no_audio = utterances[2].with_(waveform=None)
    mixed = [utterances[0], no_text, no_audio, utterances[3]]
    proba = both.predict_proba(mixed)
    np.testing.assert_allclose(proba[1], audio.predict_proba([no_text])[0], atol=1e-5)
    np.testing.assert_allclose(proba[2], text.predict_proba([no_audio])[0], atol=1e-5)
    np.testing.assert_allclose(proba[[0, 3]], both.predict_proba([mixed[0], mixed[3]]), atol=1e-5)
    assert set(both.priors_) == {"audio", "text", "both"}
