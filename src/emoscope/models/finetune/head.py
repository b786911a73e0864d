"""The classification-head variant: a linear layer on mean-pooled last hidden states.

Instead of training the answer tokens, the prompt (the same zero-shot prompt) goes through the
LALM (with LoRA) and the last layer's hidden states of its non-padding tokens are averaged and
mapped to the label set by a linear layer. It needs no answer vocabulary and gives calibrated
closed-set scores directly, at the price of a component the base model did not have.
"""

from __future__ import annotations

from typing import Any

HEAD_FILE = "classifier_head.safetensors"
"""The head's weights inside an adapter folder."""


def hidden_size_of(model: Any) -> int:
    """Return the width of the language model's last hidden state (the LM head's input)."""
    return int(model.get_output_embeddings().weight.shape[1])


def build_head(hidden: int, n_labels: int, *, dropout: float) -> Any:
    """Return ``Dropout -> Linear(hidden, n_labels)`` in float32."""
    import torch

    return torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_labels))


def pooled_hidden(model: Any, kwargs: dict[str, Any]) -> Any:
    """Return the mask-weighted mean of the last hidden states, ``(n, hidden)`` float32."""
    # the LM head's logits are not needed: let it see one position only
    hook = model.get_output_embeddings().register_forward_pre_hook(
        lambda _module, args: (args[0][:, -1:, :], *args[1:])
    )
    try:
        out = model(**kwargs, output_hidden_states=True, use_cache=False)
    finally:
        hook.remove()
    hidden = out.hidden_states[-1].float()
    mask = kwargs["attention_mask"].to(hidden.device)
    if mask.shape[1] != hidden.shape[1]:  # a model that merged audio frames itself
        mask = mask.new_ones(hidden.shape[:2])
    mask = mask.float()[..., None]
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
