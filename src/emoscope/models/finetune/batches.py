"""Training batches: the zero-shot prompt plus the answer, loss on the answer tokens only.

The prompt part is exactly what zero-shot scoring feeds the model
(:func:`~emoscope.models.lalm.prompting.build_inputs`, left-padded, ending where the answer
starts); the answer part is exactly what it scores
(:func:`~emoscope.models.lalm.scoring.continuation_ids`: the label's answer word or letter and
the end-of-turn marker). So the adapter is trained on the very inputs it is later evaluated on.

The order of the utterances is a pure function of ``(seed, epoch)``, so a resumed run replays
the same batches without storing them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emoscope.types import Utterance

IGNORE = -100
"""Label id the loss ignores (prompt and padding positions)."""


@dataclass(frozen=True)
class PromptSpec:
    """What turns utterances into prompts (shared by training and scoring)."""

    processor: Any
    prompt: Any
    family: Any
    condition: str
    mode: str
    labels: tuple[str, ...]
    continuations: list[list[int]]
    explicit_position_ids: bool
    pad_token_id: int


def prompt_inputs(spec: PromptSpec, batch: Sequence[Utterance]) -> Any:
    """Return the left-padded prompt batch of zero-shot scoring."""
    from emoscope.models.lalm.prompting import build_inputs

    return build_inputs(
        spec.processor,
        batch,
        spec.prompt,
        condition=spec.condition,
        mode=spec.mode,
        labels=spec.labels,
        family=spec.family,
    )


def answer_batch(spec: PromptSpec, batch: Sequence[Utterance], targets: Sequence[int]) -> Any:
    """Return model inputs of prompt + answer, with ``labels`` set on the answer tokens only.

    The answers are appended after the left-padded prompts and padded on the right; position
    ids follow the attention mask (so padding moves no token).

    Examples:
        >>> import torch
        >>> ids = torch.tensor([[0, 5, 6], [7, 8, 9]]); mask = torch.tensor([[0, 1, 1], [1, 1, 1]])
        >>> out = append_answers({"input_ids": ids, "attention_mask": mask}, [[1, 2], [3]],
        ...                      pad_token_id=0)
        >>> out["input_ids"].tolist()
        [[0, 5, 6, 1, 2], [7, 8, 9, 3, 0]]
        >>> out["labels"].tolist()
        [[-100, -100, -100, 1, 2], [-100, -100, -100, 3, -100]]
        >>> out["attention_mask"].tolist()
        [[0, 1, 1, 1, 1], [1, 1, 1, 1, 0]]
    """
    inputs = dict(prompt_inputs(spec, batch))
    answers = [spec.continuations[t] for t in targets]
    return append_answers(inputs, answers, pad_token_id=spec.pad_token_id)


def append_answers(
    inputs: dict[str, Any], answers: Sequence[Sequence[int]], *, pad_token_id: int
) -> dict[str, Any]:
    """Append right-padded answer tokens to left-padded prompts; set ``labels`` on them."""
    import torch

    ids = inputs["input_ids"]
    mask = inputs["attention_mask"]
    n, t = ids.shape[0], max(len(a) for a in answers)
    ans = torch.full((n, t), pad_token_id, dtype=ids.dtype)
    ans_mask = torch.zeros((n, t), dtype=mask.dtype)
    for i, a in enumerate(answers):
        ans[i, : len(a)] = torch.tensor(list(a), dtype=ids.dtype)
        ans_mask[i, : len(a)] = 1
    labels = torch.cat([torch.full_like(ids, IGNORE), ans.masked_fill(ans_mask == 0, IGNORE)], 1)
    out = dict(inputs)
    out["input_ids"] = torch.cat([ids, ans], dim=1)
    out["attention_mask"] = torch.cat([mask, ans_mask], dim=1)
    out["labels"] = labels
    return out


def model_kwargs(inputs: dict[str, Any], *, explicit_position_ids: bool) -> dict[str, Any]:
    """Return the forward-pass keyword arguments (no labels; positions from the mask)."""
    from emoscope.models.lalm.scoring import position_ids_of

    kwargs = {k: v for k, v in inputs.items() if k not in ("labels", "num_audio_tokens")}
    if explicit_position_ids:
        kwargs["position_ids"] = position_ids_of(kwargs["attention_mask"])
    return kwargs


def answer_loss(logits: Any, labels: Any, weights: Any) -> Any:
    """Weighted mean over utterances of each one's mean answer-token cross-entropy.

    Args:
        logits: ``(n, L, V)`` logits of prompt + answer.
        labels: ``(n, L)`` target ids, :data:`IGNORE` off the answer.
        weights: ``(n,)`` per-utterance weights (class balance).
    """
    import torch

    shift_labels = labels[:, 1:]
    keep = shift_labels != IGNORE
    # only the answer positions go through the softmax (the vocabulary is large)
    rows, cols = keep.nonzero(as_tuple=True)
    token_nll = torch.nn.functional.cross_entropy(
        logits[:, :-1, :][rows, cols].float(), shift_labels[rows, cols], reduction="none"
    )
    per_utt = torch.zeros(labels.shape[0], dtype=token_nll.dtype, device=token_nll.device)
    per_utt = per_utt.index_add(0, rows, token_nll) / keep.sum(1).clamp(min=1)
    weights = weights.to(per_utt)
    return (per_utt * weights).sum() / weights.sum()


def class_weights(targets: Sequence[int], n_labels: int) -> np.ndarray:
    """Inverse-frequency weights over the classes present, mean 1 over the utterances.

    Examples:
        >>> class_weights([0, 0, 0, 1], 3).round(3).tolist()
        [0.667, 2.0, 0.0]
    """
    counts = Counter(int(t) for t in targets)
    n = len(targets)
    k = len(counts)
    return np.array([n / (k * counts[c]) if counts.get(c) else 0.0 for c in range(n_labels)])


def epoch_order(
    targets: Sequence[int], *, seed: int, epoch: int, balanced: bool = False
) -> np.ndarray:
    """Return the utterance order of one epoch: a shuffle, or a class-balanced draw.

    ``balanced`` draws ``len(targets)`` indices with replacement, each class equally likely.
    The order depends only on ``(seed, epoch)``.

    Examples:
        >>> a = epoch_order([0, 1, 1, 1], seed=3, epoch=1)
        >>> sorted(a.tolist()), (a == epoch_order([0, 1, 1, 1], seed=3, epoch=1)).all()
        ([0, 1, 2, 3], np.True_)
    """
    rng = np.random.default_rng([seed, epoch])
    n = len(targets)
    if not balanced:
        return rng.permutation(n)
    w = class_weights(targets, max(targets) + 1)[np.asarray(targets)]
    return rng.choice(n, size=n, replace=True, p=w / w.sum())
