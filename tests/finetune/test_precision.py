"""bf16 mixed precision and 4-bit QLoRA, run for real on the CPU (torch autocast, bitsandbytes).

Both train the tiny model on the pitch task (held-out speakers recognised), and their adapters
are float32 LoRA weights that reload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.torch import load_file

from emoscope.data.manifest import Manifest
from emoscope.models.finetune.config import FinetuneConfig
from emoscope.models.finetune.trainer import make_accelerator, open_session, train_fold

LABELS = ("neutral", "happy", "sad", "angry")
TEST_SPEAKERS = {"spk4", "spk5"}
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _config(model: Path, **options: Any) -> FinetuneConfig:
    return FinetuneConfig(
        model=str(model),
        labels=LABELS,
        rank=8,
        alpha=16,
        dropout=0.0,
        lr=5e-3,
        target_modules=TARGETS,
        max_steps=16,
        batch_size=6,
        eval_every=8,
        patience=0,
        gradient_checkpointing=False,
        **options,
    )


def _split(manifest_path: Path) -> tuple[Manifest, Manifest, Manifest]:
    m = Manifest.load(manifest_path)
    test = m.filter(lambda u: u.speaker in TEST_SPEAKERS)
    valid = m.filter(lambda u: u.speaker == "spk3")
    train = m.filter(lambda u: u.speaker not in TEST_SPEAKERS | {"spk3"})
    return train, valid, test


def _ua(proba: np.ndarray, test: Manifest) -> float:
    from emoscope.evaluation.metrics import unweighted_accuracy

    y = [LABELS.index(u.canonical) for u in test]
    return float(unweighted_accuracy(np.array(y), proba.argmax(1), n_labels=len(LABELS)))


def _first_lm_mlp(session: Any) -> Any:
    lalm = session.unwrapped.lalm
    return next(m for n, m in lalm.named_modules() if n.endswith("language_model.layers.0.mlp"))


def test_bf16_mixed_precision_trains_under_cpu_autocast(
    tiny_model: Path, pitch_task: Path, tmp_path: Path
) -> None:
    import torch

    from emoscope.models.base import load_model

    config = _config(tiny_model, mixed_precision="bf16")
    acc = make_accelerator(config)
    assert acc.mixed_precision == "bf16" and acc.device.type == "cpu"
    session = open_session(config, acc)
    train, valid, test = _split(pitch_task)

    seen: list[tuple[bool, torch.dtype]] = []  # (training?, dtype of the MLP's output)
    hook = _first_lm_mlp(session).register_forward_hook(
        lambda module, args, out: seen.append((module.training, out.dtype))
    )
    try:
        outcome = train_fold(session, tmp_path / "bf16", train=train, valid=valid)
    finally:
        hook.remove()
    # the language model's activations were bfloat16 in every training and validation forward
    assert {dtype for _, dtype in seen} == {torch.bfloat16}
    assert any(training for training, _ in seen) and not all(training for training, _ in seen)
    losses = [e["loss"] for e in outcome.history]
    assert len(losses) == 16 and np.mean(losses[-4:]) < 0.05 * np.mean(losses[:2])

    proba = session.predict_proba(list(test))
    assert _ua(proba, test) >= 0.9  # held-out speakers' pitch is told apart

    # the adapter on disk is float32 LoRA weights, and it reloads as a (float32) model
    adapter = tmp_path / "bf16" / "adapter"
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    assert weights and {t.dtype for t in weights.values()} == {torch.float32}
    reloaded = load_model(str(adapter))
    got = reloaded.predict_proba(list(test))
    assert _ua(got, test) >= 0.9
    assert np.abs(got - proba).max() < 0.1  # bf16 rounding only
    assert np.abs(got - proba).max() > 0.0  # ...but some: the session scores under bf16


def test_fp16_needs_cuda(tiny_model: Path) -> None:
    import torch

    from emoscope.errors import UsageError

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UsageError, match="fp16 needs a CUDA GPU.*bf16"):
        make_accelerator(_config(tiny_model, mixed_precision="fp16"))


def test_qlora_4bit_base_trains_on_cpu_and_the_adapter_reloads(
    tiny_model: Path, pitch_task: Path, tmp_path: Path
) -> None:
    bnb = pytest.importorskip("bitsandbytes")
    import torch

    from emoscope.models.base import load_model
    from emoscope.models.finetune.merge import merge_adapter

    config = _config(tiny_model, load_in_4bit=True)
    session = open_session(config, make_accelerator(config))
    lalm = session.unwrapped.lalm
    # every LoRA-wrapped layer of the language model is a frozen 4-bit NF4 linear
    wrapped = {
        n: m.base_layer
        for n, m in lalm.named_modules()
        if ".language_model." in n and hasattr(m, "base_layer")
    }
    assert len(wrapped) == 2 * len(TARGETS)  # 2 decoder layers
    for name, layer in wrapped.items():
        assert isinstance(layer, bnb.nn.Linear4bit), name
        assert layer.weight.dtype == torch.uint8 and not layer.weight.requires_grad
        assert layer.weight.quant_state.quant_type == "nf4"
    trainable = {n: p for n, p in lalm.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert {p.dtype for p in trainable.values()} == {torch.float32}

    train, valid, test = _split(pitch_task)
    # a validation pass must not change the gradients of the next training step (bitsandbytes'
    # CPU inference layout has no backward: see keep_4bit_differentiable)
    batch = list(train)[:3]
    targets = [LABELS.index(u.canonical) for u in batch]

    def gradients() -> dict[str, torch.Tensor]:
        session.module.train()
        session.loss(batch, targets, np.ones(3)).backward()
        grads = {n: p.grad.clone() for n, p in trainable.items()}
        for p in trainable.values():
            p.grad = None
        return grads

    before = gradients()
    session.predict_proba(list(valid)[:2])
    after = gradients()
    assert any(g.abs().max() > 0 for n, g in before.items() if "layers.0." in n)
    for name in before:
        torch.testing.assert_close(after[name], before[name], rtol=1e-5, atol=1e-7)

    outcome = train_fold(session, tmp_path / "q", train=train, valid=valid)
    losses = [e["loss"] for e in outcome.history]
    assert np.mean(losses[-4:]) < 0.05 * np.mean(losses[:2])
    utterances = list(test)
    proba = session.predict_proba(utterances)
    assert _ua(proba, test) >= 0.9

    adapter = tmp_path / "q" / "adapter"
    # onto a 4-bit base: the model of the training session (to bitsandbytes' CPU kernel paths,
    # which differ between a training-prepared and a plain model by ~1e-3 here, magnified by
    # the tiny model's x25 LM head)
    q_model = load_model(str(tiny_model), adapter=str(adapter), labels=LABELS, load_in_4bit=True)
    q_proba = q_model.predict_proba(utterances)
    np.testing.assert_allclose(q_proba, proba, atol=1e-2)
    assert (q_proba.argmax(1) == proba.argmax(1)).all()
    # the adapter folder alone remembers it was trained on a 4-bit base
    np.testing.assert_allclose(
        load_model(str(adapter)).predict_proba(utterances), q_proba, atol=1e-6
    )
    # onto the full-precision base: it still works (quantisation error only)
    full_model = load_model(str(tiny_model), adapter=str(adapter), labels=LABELS)
    full = full_model.predict_proba(utterances)
    assert _ua(full, test) >= 0.9
    assert 0.0 < np.abs(full - proba).max() < 0.5
    # merge-adapter folds it into the full-precision base
    merged = merge_adapter(adapter, tmp_path / "merged")
    merged_proba = load_model(str(merged), labels=LABELS).predict_proba(utterances)
    np.testing.assert_allclose(merged_proba, full, atol=1e-4)
