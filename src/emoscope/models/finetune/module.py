"""The trained module: the LALM with LoRA and, optionally, the classifier head.

One ``torch.nn.Module`` whose ``forward`` returns the training loss, so that a distributed
wrapper (DDP under ``accelerate launch``) sees every trainable parameter in one forward pass.
"""

from __future__ import annotations

from typing import Any

import torch

from emoscope.models.finetune.batches import IGNORE, answer_loss
from emoscope.models.finetune.head import pooled_hidden


class TrainModule(torch.nn.Module):
    """``lalm`` (a PEFT model) and an optional ``head``; ``forward`` returns the loss.

    Args:
        lalm: The PEFT-wrapped audio-language model.
        head: The classifier head, or ``None`` to train the answer tokens.
    """

    def __init__(self, lalm: Any, head: torch.nn.Module | None = None) -> None:
        super().__init__()
        self.lalm = lalm
        self.head = head

    def forward(
        self,
        kwargs: dict[str, Any],
        weights: torch.Tensor,
        labels: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the weighted loss of one micro-batch.

        Args:
            kwargs: The model's inputs (ids, masks, positions, audio features).
            weights: ``(n,)`` per-utterance weights.
            labels: ``(n, L)`` answer-token targets (language-model head).
            targets: ``(n,)`` label indices (classifier head).
        """
        if self.head is not None:
            logits = self.head(pooled_hidden(self.lalm, kwargs)).float()
            per = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
            weights = weights.to(per)
            return (per * weights).sum() / weights.sum()
        # only the answer positions need the (large-vocabulary) LM head: it gets the last
        # T + 1 hidden states (the answers are right-aligned after the left-padded prompts)
        keep = labels.shape[1] - int((labels != IGNORE).any(0).nonzero()[0]) + 1
        hook = self.lalm.get_output_embeddings().register_forward_pre_hook(
            lambda _module, args: (args[0][:, -keep:, :], *args[1:])
        )
        try:
            out = self.lalm(**kwargs, use_cache=False)
        finally:
            hook.remove()
        return answer_loss(out.logits, labels[:, -out.logits.shape[1] :], weights)
