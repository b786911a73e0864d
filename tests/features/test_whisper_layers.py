"""Per-layer Whisper tiny.en frames: the CTranslate2 weights rebuilt in PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoscope.features.cache import FeatureCache
from emoscope.features.whisper_layers import (
    N_STATES,
    TorchWhisperEncoder,
    WhisperLayerEncoder,
    default_model_file,
    pool_layers,
    read_ct2_variables,
)


@pytest.fixture(scope="module")
def speech(demo_sample: Path) -> list[np.ndarray]:
    """Two stretches of the demo recording: 2.3 s and 3 s of speech."""
    from emoscope.audio import load_audio

    samples = load_audio(demo_sample).samples
    return [samples[16000 : 16000 + 36800], samples[48000 : 48000 + 48000]]


@pytest.fixture(scope="module")
def encoder() -> TorchWhisperEncoder:
    return TorchWhisperEncoder()


def test_reader_gives_the_encoder_weights_in_float16() -> None:
    variables = read_ct2_variables(default_model_file(), prefix="encoder/")
    assert variables["encoder/conv1/weight"].shape == (384, 80, 3)
    assert variables["encoder/conv1/weight"].dtype == np.float16
    assert variables["encoder/layer_3/self_attention/linear_0/weight"].shape == (1152, 384)
    assert not any(name.startswith("decoder/") for name in variables)


def test_reader_names_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"\x07\x00\x00\x00junk")
    with pytest.raises(ValueError, match="not a readable CTranslate2 model.bin"):
        read_ct2_variables(bad)


def test_last_state_matches_ctranslate2_float32(
    encoder: TorchWhisperEncoder, speech: list[np.ndarray]
) -> None:
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    wav = speech[1]
    mel = FeatureExtractor(feature_size=80)(wav, padding=160)[:, :300].astype(np.float32)
    ct2 = ctranslate2.models.Whisper(
        str(default_model_file().parent), device="cpu", compute_type="float32", intra_threads=1
    )
    reference = np.asarray(ct2.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))
    states = encoder.hidden_states(mel[None])
    assert states.shape == (1, N_STATES, 150, 384)
    assert np.abs(states[0, -1] - reference[0]).max() < 1e-3
    # the middle layers are different representations, not copies of the last
    assert np.abs(states[0, 2] - reference[0]).max() > 1.0


def test_layer_frames_keep_real_audio_only_and_cache_exactly(
    tmp_path: Path, speech: list[np.ndarray]
) -> None:
    cache = FeatureCache(tmp_path, namespace="layers-test")
    fresh = WhisperLayerEncoder(cache=cache).frames(speech)
    assert [f.shape for f in fresh] == [(N_STATES, 115, 384), (N_STATES, 150, 384)]
    # one utterance alone gives the same frames as in a batch (padding depends on it alone)
    alone = WhisperLayerEncoder().frames([speech[0]])[0]
    np.testing.assert_array_equal(alone, fresh[0])
    cached = WhisperLayerEncoder(cache=cache).frames(speech)
    for a, b in zip(fresh, cached, strict=True):
        np.testing.assert_array_equal(a, b)


def test_pool_layers_concat_and_mean() -> None:
    frames = np.stack([np.full((3, 2), float(i)) for i in range(N_STATES)])
    assert pool_layers(frames, layers=(1, 3)).tolist() == [1.0, 1.0, 3.0, 3.0]
    assert pool_layers(frames, layers=(1, 3), combine="mean").tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="out of range"):
        pool_layers(frames, layers=(5,))


def test_audio_featurizer_pools_the_chosen_layers(speech: list[np.ndarray]) -> None:
    from emoscope.features.audio import AudioFeaturizer

    frames = WhisperLayerEncoder().frames(speech)
    concat = AudioFeaturizer(stats=("mean",), egemaps=False, layers=(2, 3))
    assert concat.dim == 768
    x = concat(speech)
    assert x.shape == (2, 768)
    np.testing.assert_allclose(x[1, :384], frames[1][2].mean(axis=0), rtol=1e-6, atol=1e-6)
    averaged = AudioFeaturizer(
        stats=("mean", "std"), egemaps=False, layers=(2, 3), layer_combine="mean"
    )
    assert averaged(speech).shape == (2, averaged.dim) == (2, 768)
    with pytest.raises(ValueError, match="hidden-state indices"):
        AudioFeaturizer(layers=(7,))
