"""Parameter-efficient fine-tuning (LoRA, via peft) of audio-language models for emotion.

- :mod:`.config`: :class:`FinetuneConfig`, every option of a run.
- :mod:`.batches`: zero-shot prompt + answer tokens, loss on the answer only; class balance.
- :mod:`.targets`: LoRA on the language model's (and optionally the audio encoder's) layers.
- :mod:`.trainer`: one fold: early stopping on validation UA, resumable checkpoints.
- :mod:`.crossval`: speaker-independent folds, a speaker-disjoint validation set inside each,
  the fold report (:mod:`.report`).
- :mod:`.merge`: fold an adapter into its base model (a full checkpoint folder).
- :mod:`.backend`: an adapter folder as a model (``--model OUT_DIR/fold-00/adapter``),
  registered as ``lalm-adapter``.

torch, transformers and peft load only when training starts. See ``docs/finetuning.md``.
"""

from __future__ import annotations

from emoscope.models.base import register_model
from emoscope.models.finetune.backend import FinetunedConfig, FinetunedModel, finetuned_from_path
from emoscope.models.finetune.config import FinetuneConfig

__all__ = ["FinetuneConfig", "FinetunedConfig", "FinetunedModel"]

register_model("lalm-adapter", FinetunedConfig, FinetunedModel, from_path=finetuned_from_path)
