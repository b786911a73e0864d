"""The fine-tuned MiniLM text classifier: it learns, is seeded, and round-trips as arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from emoscope.features.text_classifier import (
    TextClassifier,
    TextClassifierSettings,
    array_bytes,
    train_text_classifier,
)

WORDS = ("sunny", "gloomy", "furious")
SUBJECTS = ("My neighbour", "The old teacher", "Our team", "That little dog", "Her brother")
FRAMES = ("{s} seemed {w} this morning.", "Honestly, {s} was {w} after lunch.")


def _corpus() -> tuple[list[str], list[tuple[str, ...]], np.ndarray]:
    """30 sentences in which only the adjective decides the label (0, 1, 2)."""
    texts, contexts, labels = [], [], []
    for i, subject in enumerate(SUBJECTS):
        for j, frame in enumerate(FRAMES):
            for k, word in enumerate(WORDS):
                texts.append(frame.format(s=subject, w=word))
                contexts.append(("Where were you?", "At home.")[: (i + j + k) % 3])
                labels.append(k)
    return texts, contexts, np.array(labels)


def _settings(**changes: object) -> TextClassifierSettings:
    base = {
        "n_classes": 3,
        "trained_layers": 1,
        "epochs": 6,
        "lr": 3e-4,
        "head_lr": 1e-2,
        "batch_size": 8,
        "warmup": 0.0,
        "max_tokens": 32,
        "context_turns": 1,
    }
    base.update(changes)
    return TextClassifierSettings(**base)


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean())


@pytest.fixture(scope="module")
def lora_run() -> dict[str, object]:
    """A LoRA training whose per-epoch logits on its own texts are recorded."""
    texts, contexts, labels = _corpus()
    history: list[np.ndarray] = []
    arrays = train_text_classifier(
        texts,
        contexts,
        labels,
        settings=_settings(lora_rank=4),
        seed=0,
        evaluate={"train": (texts, contexts)},
        on_epoch=lambda _e, out: history.append(out["train"]),
    )
    return {"arrays": arrays, "history": history}


def _nll(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def test_lora_training_learns_the_deciding_word(lora_run: dict) -> None:
    _, _, labels = _corpus()
    history = lora_run["history"]
    assert len(history) == 6
    assert _nll(history[-1], labels) < 0.5 * _nll(history[0], labels)
    assert _accuracy(history[-1], labels) >= 0.9


def test_arrays_are_float32_plain_and_small_for_lora(lora_run: dict) -> None:
    arrays = lora_run["arrays"]
    assert all(v.dtype == np.float32 for v in arrays.values())
    assert arrays["head.weight"].shape == (3, 384)
    assert arrays["lora.encoder.layer.5.attention.self.query.A"].shape == (4, 384)
    assert arrays["lora.encoder.layer.5.intermediate.dense.B"].shape == (1536, 4)
    assert not any(k.startswith("encoder.") for k in arrays)
    assert array_bytes(arrays) < 200_000


def test_safetensors_roundtrip_merged_lora_and_batch_independence(
    lora_run: dict, tmp_path: Path
) -> None:
    texts, contexts, labels = _corpus()
    path = tmp_path / "text.safetensors"
    save_file(lora_run["arrays"], str(path))
    settings = _settings(lora_rank=4).to_dict()
    clf = TextClassifier(load_file(str(path)), settings, batch_size=7)
    logits = clf.predict_logits(texts, contexts)
    again = TextClassifier(lora_run["arrays"], settings).predict_logits(texts, contexts)
    np.testing.assert_array_equal(logits, again)
    # the merged weights reproduce the training-time (unmerged) logits of the last epoch
    np.testing.assert_allclose(logits, lora_run["history"][-1], atol=2e-4)
    assert _accuracy(logits, labels) >= 0.9
    one_by_one = np.concatenate(
        [clf.predict_logits([t], [c]) for t, c in zip(texts[:8], contexts[:8], strict=True)]
    )
    np.testing.assert_array_equal(one_by_one, logits[:8])
    assert clf.predict_logits([]).shape == (0, 3)


def test_context_changes_the_input_only_when_asked(lora_run: dict) -> None:
    texts, contexts, _ = _corpus()
    with_ctx = TextClassifier(lora_run["arrays"], _settings(lora_rank=4))
    without = TextClassifier(lora_run["arrays"], _settings(lora_rank=4, context_turns=0))
    rows = [i for i, c in enumerate(contexts) if c]
    a = with_ctx.predict_logits([texts[i] for i in rows], [contexts[i] for i in rows])
    b = without.predict_logits([texts[i] for i in rows], [contexts[i] for i in rows])
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, without.predict_logits([texts[i] for i in rows]))
    pooled_all = TextClassifier(lora_run["arrays"], _settings(lora_rank=4, pool="all"))
    c = pooled_all.predict_logits([texts[i] for i in rows], [contexts[i] for i in rows])
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("lora_rank", [0, 2])
def test_two_seeded_runs_give_identical_arrays(lora_rank: int) -> None:
    texts, contexts, labels = _corpus()
    s = _settings(lora_rank=lora_rank, epochs=1)
    a = train_text_classifier(texts, contexts, labels, settings=s, seed=3)
    b = train_text_classifier(texts, contexts, labels, settings=s, seed=3)
    c = train_text_classifier(texts, contexts, labels, settings=s, seed=4)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not np.array_equal(a["head.weight"], c["head.weight"])
    if lora_rank == 0:
        assert a["encoder.layer.5.output.dense.weight"].shape == (384, 1536)
        assert "encoder.layer.4.output.dense.weight" not in a


def test_full_mode_arrays_replace_the_top_layer(tmp_path: Path) -> None:
    texts, contexts, labels = _corpus()
    s = _settings(epochs=4)
    arrays = train_text_classifier(texts, contexts, labels, settings=s, seed=0)
    save_file(arrays, str(tmp_path / "w.safetensors"))
    clf = TextClassifier(load_file(str(tmp_path / "w.safetensors")), s.to_dict())
    assert _accuracy(clf.predict_logits(texts, contexts), labels) >= 0.9


def test_bad_inputs_are_named() -> None:
    texts, contexts, labels = _corpus()
    with pytest.raises(ValueError, match="one entry per text"):
        train_text_classifier(texts, contexts, labels[:-1], settings=_settings())
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        train_text_classifier(texts, contexts, labels + 1, settings=_settings())
    with pytest.raises(ValueError, match="trained_layers must be 1-6"):
        _settings(trained_layers=7).check()
    with pytest.raises(ValueError, match="pool must be 'text' or 'all'"):
        _settings(pool="cls").check()
    with pytest.raises(ValueError, match="Unknown text classifier settings"):
        TextClassifierSettings.from_dict({"rank": 3})
