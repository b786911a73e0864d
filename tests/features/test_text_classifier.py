"""The fine-tuned MiniLM text classifier: it learns, is seeded, and round-trips as arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from emoscope.features.text_classifier import (
    ADDED_SETTINGS,
    TextClassifier,
    TextClassifierSettings,
    array_bytes,
    fit_logit_offsets,
    holdout_slices,
    train_text_classifier,
    weighted_f1,
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
        "members": 1,
        "holdout": 0.0,
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


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_weighted_f1_matches_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 4, 200)
    assert weighted_f1(y, p, 5) == pytest.approx(f1_score(y, p, average="weighted"), abs=1e-12)


def test_logit_offsets_move_the_argmax_towards_an_under_predicted_class() -> None:
    # class 2 is rare and its logit is always 0.6 too low: the argmax never predicts it
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=600, p=[0.6, 0.3, 0.1])
    logits = rng.normal(0, 0.5, (600, 3)) + 1.5 * np.eye(3)[y]
    logits[:, 2] -= 1.2
    before = weighted_f1(y, logits.argmax(1), 3)
    offsets = fit_logit_offsets(logits, y)
    after = (logits + offsets).argmax(1)
    assert offsets.dtype == np.float32 and offsets.shape == (3,)
    assert abs(float(offsets.mean())) < 1e-6
    assert offsets[2] > offsets[0] and offsets[2] > offsets[1]
    assert (after == 2).sum() > (logits.argmax(1) == 2).sum()
    assert weighted_f1(y, after, 3) > before + 0.02
    np.testing.assert_array_equal(offsets, fit_logit_offsets(logits, y))  # deterministic
    # nothing to gain: no offset
    np.testing.assert_array_equal(fit_logit_offsets(np.eye(3)[y], y), np.zeros(3, np.float32))


def test_holdout_slices_are_disjoint_whole_groups() -> None:
    groups = [f"d{i // 3}" for i in range(60)]  # 20 dialogues of 3 utterances
    slices = holdout_slices(groups, members=3, fraction=0.1, seed=5)
    assert [int(m.sum()) for m in slices] == [6, 6, 6]
    assert not (slices[0] & slices[1]).any() and not (slices[1] & slices[2]).any()
    for m in slices:
        inside = {groups[i] for i in np.flatnonzero(m)}
        assert all(m[i] for i, g in enumerate(groups) if g in inside)
    again = holdout_slices(groups, members=3, fraction=0.1, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(slices, again, strict=True))
    with pytest.raises(ValueError, match="need more than 20 groups"):
        holdout_slices(groups, members=3, fraction=0.4, seed=5)


@pytest.fixture(scope="module")
def ensemble_run() -> dict[str, object]:
    """Two members, each leaving out one of the five subjects, with logit offsets."""
    texts, contexts, labels = _corpus()
    groups = [t.split(" seemed")[0].split(", ")[-1].split(" was")[0] for t in texts]
    s = _settings(lora_rank=4, epochs=4, members=2, holdout=0.2)
    details: dict[str, object] = {}
    arrays = train_text_classifier(
        texts, contexts, labels, settings=s, seed=1, groups=groups, details=details
    )
    return {"arrays": arrays, "settings": s, "groups": groups, "details": details}


def test_ensemble_arrays_hold_each_member_and_the_offsets(ensemble_run: dict) -> None:
    arrays, details = ensemble_run["arrays"], ensemble_run["details"]
    assert len(set(ensemble_run["groups"])) == 5
    assert arrays["head.weight"].shape == arrays["member1.head.weight"].shape == (3, 384)
    assert "member1.lora.encoder.layer.5.output.dense.A" in arrays
    assert not any(k.startswith("member2.") for k in arrays)
    assert arrays["logit_offsets"].shape == (3,)
    assert not np.array_equal(arrays["head.weight"], arrays["member1.head.weight"])
    assert details["holdout_n"] == 12  # two subjects of six sentences each
    assert details["holdout_weighted_f1_offsets"] >= details["holdout_weighted_f1"]
    np.testing.assert_allclose(details["logit_offsets"], arrays["logit_offsets"], atol=1e-4)


def test_ensemble_is_seeded_and_reloads_identically(ensemble_run: dict, tmp_path: Path) -> None:
    texts, contexts, labels = _corpus()
    s = ensemble_run["settings"]
    again = train_text_classifier(
        texts, contexts, labels, settings=s, seed=1, groups=ensemble_run["groups"]
    )
    arrays = ensemble_run["arrays"]
    assert sorted(again) == sorted(arrays)
    for key in arrays:
        np.testing.assert_array_equal(again[key], arrays[key], err_msg=key)
    save_file(arrays, str(tmp_path / "ens.safetensors"))
    clf = TextClassifier(load_file(str(tmp_path / "ens.safetensors")), s.to_dict(), batch_size=5)
    logits = clf.predict_logits(texts, contexts)
    np.testing.assert_array_equal(logits, TextClassifier(arrays, s).predict_logits(texts, contexts))
    one_by_one = np.concatenate(
        [clf.predict_logits([t], [c]) for t, c in zip(texts[:6], contexts[:6], strict=True)]
    )
    np.testing.assert_array_equal(one_by_one, logits[:6])
    assert _accuracy(logits, labels) >= 0.9


def test_ensemble_averages_the_members_log_probabilities(ensemble_run: dict) -> None:
    texts, contexts, _ = _corpus()
    arrays, s = ensemble_run["arrays"], ensemble_run["settings"]
    single = _settings(lora_rank=4)
    m0 = {k: v for k, v in arrays.items() if not k.startswith("member") and k != "logit_offsets"}
    m1 = {k[len("member1.") :]: v for k, v in arrays.items() if k.startswith("member1.")}
    z0 = TextClassifier(m0, single).predict_logits(texts, contexts)
    z1 = TextClassifier(m1, single).predict_logits(texts, contexts)
    expected = (_log_softmax(z0) + _log_softmax(z1)) / 2 + arrays["logit_offsets"]
    got = TextClassifier(arrays, s).predict_logits(texts, contexts)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # the offsets are added to the output as they are
    no_offsets = {k: v for k, v in arrays.items() if k != "logit_offsets"}
    plain = TextClassifier(no_offsets, s).predict_logits(texts, contexts)
    np.testing.assert_allclose(
        got - plain, np.broadcast_to(arrays["logit_offsets"], got.shape), atol=1e-6
    )


def test_arrays_of_other_members_settings_are_named(ensemble_run: dict) -> None:
    arrays = ensemble_run["arrays"]
    with pytest.raises(ValueError, match=r"member1\..*belongs to no member of 1"):
        TextClassifier(arrays, _settings(lora_rank=4, members=1))
    with pytest.raises(ValueError, match=r"no head.weight for member\(s\) \[2\] of 3"):
        TextClassifier(arrays, _settings(lora_rank=4, members=3, holdout=0.1))
    with pytest.raises(ValueError, match="members \\* holdout < 1"):
        _settings(members=4, holdout=0.25).check()


def test_stored_settings_without_the_added_fields_load_as_they_were_trained() -> None:
    stored = {k: v for k, v in _settings(members=3, holdout=0.1).to_dict().items()}
    for key in ADDED_SETTINGS:
        stored.pop(key)
    s = TextClassifierSettings.from_dict(stored)
    assert (s.members, s.holdout, s.label_smoothing) == (1, 0.0, 0.0)
    assert TextClassifierSettings.from_dict({**stored, "members": 2}).members == 2
