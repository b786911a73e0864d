"""Closed-set label scoring: the log-likelihood of every label as the assistant's answer.

:func:`score_labels` runs the prompts once (left-padded, explicit position ids, key-value cache
on), repeats the cache once per label (``cache.batch_repeat_interleave(K)``) and runs all label
continuations in one more forward pass. It equals scoring every (utterance, label) pair with its
own full forward pass (:func:`score_labels_naive`, the reference the tests compare with), at a
fraction of the cost: the prompt (hundreds of audio tokens) is encoded once, not K times.

Fine-tuning reuses :func:`continuation_ids` and :func:`score_labels` to evaluate adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.errors import UsageError


def continuation_ids(
    tokenizer: Any, answers: Sequence[str], *, suffix: str = ""
) -> list[list[int]]:
    """Return the token ids of each answer followed by ``suffix`` (the end-of-turn marker).

    Raises:
        UsageError: If an answer tokenizes to nothing.
    """
    ids = []
    for answer in answers:
        tokens = tokenizer(answer + suffix, add_special_tokens=False)["input_ids"]
        if not tokens:
            raise UsageError(f"The answer {answer!r} tokenizes to no tokens; give a non-empty one.")
        ids.append(list(tokens))
    return ids


def position_ids_of(attention_mask: Any) -> Any:
    """Return ``cumsum(attention_mask) - 1`` clamped at 0: positions that ignore left padding."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def _model_inputs(inputs: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(inputs).items() if k not in ("num_audio_tokens",)}


def score_labels(
    model: Any,
    inputs: Any,
    continuations: Sequence[Sequence[int]],
    *,
    explicit_position_ids: bool = True,
    pad_token_id: int = 0,
    per_pass: int | None = None,
) -> Any:
    """Return the summed log-probability of each continuation after each prompt.

    Args:
        model: A causal (multimodal) LM from transformers.
        inputs: A left-padded processor batch (:func:`~emoscope.models.lalm.prompting.
            build_inputs`), on the model's device.
        continuations: K token-id lists, one per label (see :func:`continuation_ids`).
        explicit_position_ids: Pass ``cumsum(mask) - 1`` positions (needed for left padding
            with most models; ``False`` for multimodal-RoPE models that compute their own).
        pad_token_id: Any valid id, used to fill continuations shorter than the longest.
        per_pass: Continuations per continuation pass (``None``: all K at once). The prompt's
            key-value cache is copied this many times per utterance; lower it to save memory.

    Returns:
        A float32 tensor of shape ``(n, K)`` (on CPU) of summed token log-probabilities.

    Raises:
        UsageError: If the batch is not left-padded.
    """
    import torch

    mask = inputs["attention_mask"]
    if not bool(mask[:, -1].all()):
        raise UsageError(
            "Label scoring needs left-padded prompts (every row must end where the answer "
            "starts). Set processor.tokenizer.padding_side = 'left'."
        )
    k = len(continuations)
    t_max = max(len(c) for c in continuations)
    device = mask.device
    kwargs = _model_inputs(inputs)
    positions = position_ids_of(mask)
    if explicit_position_ids:
        kwargs["position_ids"] = positions
    with torch.inference_mode():
        out = model(**kwargs, use_cache=t_max > 1)
        first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # (n, V)
        firsts = torch.tensor([c[0] for c in continuations], dtype=torch.long, device=device)
        scores = first[:, firsts]  # (n, K)
        if t_max > 1:
            cache = out.cache if hasattr(out, "cache") else out.past_key_values
            step = per_pass or k
            for start in range(0, k, step):
                chunk = continuations[start : start + step]
                scores[:, start : start + len(chunk)] += _continuation_pass(
                    model,
                    cache,
                    mask,
                    positions[:, -1],
                    chunk,
                    explicit_position_ids=explicit_position_ids,
                    pad_token_id=pad_token_id,
                    restore=start + step < k,
                )
    return scores.float().cpu()


def _continuation_pass(
    model: Any,
    cache: Any,
    mask: Any,
    last_positions: Any,
    continuations: Sequence[Sequence[int]],
    *,
    explicit_position_ids: bool,
    pad_token_id: int,
    restore: bool,
) -> Any:
    """Score tokens 2.. of ``continuations`` on a prompt cache; return ``(n, c)`` sums."""
    import torch

    n, c = mask.shape[0], len(continuations)
    t = max(len(x) for x in continuations)
    device = mask.device
    if t < 2:
        return torch.zeros((n, c), device=device)
    cont = torch.full((c, t), pad_token_id, dtype=torch.long, device=device)
    cont_mask = torch.zeros((c, t), dtype=mask.dtype, device=device)
    for j, x in enumerate(continuations):
        cont[j, : len(x)] = torch.tensor(list(x), dtype=torch.long, device=device)
        cont_mask[j, : len(x)] = 1
    cache.batch_repeat_interleave(c)
    step_mask = cont_mask[:, :-1].repeat(n, 1)  # row i*c + j: continuation j after prompt i
    step_kwargs: dict[str, Any] = {
        "input_ids": cont[:, :-1].repeat(n, 1),
        "attention_mask": torch.cat([mask.repeat_interleave(c, dim=0), step_mask], dim=1),
        "cache": cache,
        "use_cache": True,
    }
    if explicit_position_ids:
        last = last_positions.repeat_interleave(c)
        step_kwargs["position_ids"] = (
            last[:, None] + 1 + torch.arange(t - 1, device=device)[None, :]
        )
    logits = model(**step_kwargs).logits.float()  # (n*c, t-1, V)
    targets = cont[:, 1:].repeat(n, 1)
    token_lp = torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
    token_lp = token_lp * cont_mask[:, 1:].repeat(n, 1)
    if restore:  # back to one copy of the prompt per utterance for the next chunk
        cache.crop(-(t - 1))
        cache.batch_select_indices(torch.arange(0, n * c, c, device=device))
    return token_lp.sum(-1).view(n, c)


def score_labels_naive(
    model: Any,
    single_inputs: Sequence[Any],
    continuations: Sequence[Sequence[int]],
) -> Any:
    """Reference scorer: one full forward pass per (utterance, label) pair, no cache, no padding.

    Args:
        model: A causal (multimodal) LM.
        single_inputs: One processor batch *of one utterance* per row.
        continuations: K token-id lists.

    Returns:
        A float32 tensor ``(n, K)`` of summed token log-probabilities.
    """
    import torch

    rows = []
    with torch.inference_mode():
        for inputs in single_inputs:
            kwargs = _model_inputs(inputs)
            ids = kwargs.pop("input_ids")
            mask = kwargs.pop("attention_mask")
            keep = mask[0].bool()
            ids, mask = ids[:, keep], mask[:, keep]
            row = []
            for c in continuations:
                c_ids = torch.tensor([list(c)], dtype=torch.long, device=ids.device)
                full = torch.cat([ids, c_ids], dim=1)
                full_mask = torch.ones_like(full)
                logits = model(input_ids=full, attention_mask=full_mask, **kwargs).logits.float()
                lp = torch.log_softmax(logits[0, ids.shape[1] - 1 : -1], dim=-1)
                row.append(lp.gather(-1, c_ids[0][:, None]).sum())
            rows.append(torch.stack(row))
    return torch.stack(rows).cpu()


def combine_forms(scores: np.ndarray, label_of: Sequence[int], n_labels: int) -> np.ndarray:
    """Add up (in probability space) the scores of several answer forms of the same label.

    Args:
        scores: ``(n, F)`` log-likelihoods, one column per answer form.
        label_of: The label index of each form.
        n_labels: K.

    Returns:
        ``(n, K)`` log-likelihoods: ``log sum_f exp(scores[:, f])`` over each label's forms.

    Examples:
        >>> s = np.log([[0.1, 0.2, 0.3]])
        >>> np.round(np.exp(combine_forms(s, [0, 1, 0], 2)), 3)
        array([[0.4, 0.2]])
    """
    s = np.asarray(scores, dtype=np.float64)
    out = np.full((s.shape[0], n_labels), -np.inf)
    for f, k in enumerate(label_of):
        out[:, k] = np.logaddexp(out[:, k], s[:, f])
    return out


def scores_to_probabilities(
    scores: np.ndarray, lengths: Sequence[int], *, length_normalize: bool = False
) -> np.ndarray:
    """Softmax over the closed set of (optionally length-normalised) log-likelihoods.

    Examples:
        >>> p = scores_to_probabilities(np.log([[0.2, 0.1]]), [1, 1])
        >>> np.round(p, 3)
        array([[0.667, 0.333]])
    """
    s = np.asarray(scores, dtype=np.float64)
    if length_normalize:
        s = s / np.asarray(lengths, dtype=np.float64)[None, :]
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    return p / p.sum(axis=1, keepdims=True)
