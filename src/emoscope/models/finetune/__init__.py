"""Parameter-efficient fine-tuning (LoRA, via peft) of audio-language models for emotion.

- :mod:`.config`: :class:`FinetuneConfig`, every option of a run.
- :mod:`.batches`: zero-shot prompt + answer tokens, loss on the answer only; class balance.
- :mod:`.targets`: LoRA on the language model's (and optionally the audio encoder's) layers.
- :mod:`.trainer`: one fold: early stopping on validation UA, resumable checkpoints.
- :mod:`.crossval`: speaker-independent folds, a speaker-disjoint validation set inside each,
  the fold report (:mod:`.report`).
- :mod:`.merge`: fold an adapter into its base model (a full checkpoint folder).

torch, transformers and peft load only when training starts. See ``docs/finetuning.md``.
"""

from __future__ import annotations

from emoscope.models.finetune.config import FinetuneConfig

__all__ = ["FinetuneConfig"]
