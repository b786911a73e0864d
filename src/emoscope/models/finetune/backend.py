"""A fine-tuned adapter folder as a model: ``--model OUT_DIR/fold-00/adapter``.

The folder fine-tuning writes knows its base checkpoint (``adapter_config.json``), its labels,
prompt, condition and head (``finetune.json``) and what it was trained on
(``training_manifest.jsonl``). Given as ``--model``, it loads with all of them, so the model
predicts exactly as it was validated, with either head, and the evaluation leakage guard reads
its training speakers from :attr:`FinetunedModel.training_data`.

(``--model BASE --adapter DIR`` also works for ``lm``-head adapters: the zero-shot backend
applies the adapter with its own default labels and prompt.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import UsageError
from emoscope.models.base import ModelConfig
from emoscope.types import Utterance

META_FILE = "finetune.json"
TRAINING_MANIFEST = "training_manifest.jsonl"


@dataclass
class FinetunedConfig(ModelConfig):
    """Options of a fine-tuned adapter used as a model.

    Attributes:
        adapter: The adapter folder (``OUT_DIR/<fold>/adapter``).
        base: The base checkpoint; default: the one the adapter records.
        device: ``auto``, ``cpu``, ``cuda``, ...
        dtype: Base weight dtype (``auto``: bfloat16 on CUDA, float32 on CPU).
        batch_size: Utterances per forward pass.
    """

    adapter: str | None = None
    base: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 8


def is_finetuned_adapter(path: Path) -> bool:
    """Whether ``path`` is an adapter folder written by emoscope fine-tuning."""
    path = Path(path)
    return (path / "adapter_config.json").is_file() and (path / META_FILE).is_file()


def finetuned_from_path(path: Path) -> FinetunedConfig | None:
    """``from_path`` hook: recognise fine-tuning adapter folders."""
    return FinetunedConfig(adapter=str(path)) if is_finetuned_adapter(path) else None


class FinetunedModel:
    """An LALM with a fine-tuned LoRA adapter (and its classifier head, if it has one).

    Args:
        config: Which adapter folder, and where to run it.

    Attributes:
        labels: Column order of :meth:`predict_proba` (the labels it was trained on).
        modalities: What the model is given.
        training_data: ``{"speakers": [...], "corpora": [...]}`` of its training manifest.
    """

    def __init__(self, config: FinetunedConfig) -> None:
        from emoscope.data.manifest import Manifest
        from emoscope.models.finetune.config import FinetuneConfig
        from emoscope.models.finetune.merge import base_of_adapter
        from emoscope.models.lalm.backend import LALMModel

        if config.adapter is None or not is_finetuned_adapter(Path(config.adapter)):
            raise UsageError(
                f"lalm-adapter needs the adapter folder fine-tuning wrote (with {META_FILE}); "
                f"got {config.adapter!r}. Give --model OUT_DIR/<fold>/adapter."
            )
        self.config = config
        folder = Path(config.adapter)
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        self.finetune = FinetuneConfig.from_dict(
            {**meta["config"], "model": config.base or base_of_adapter(folder)}
        )
        self.finetune.dtype = config.dtype
        from emoscope.models.finetune.trainer import lalm_config

        lconf = lalm_config(self.finetune, device=config.device, adapter=str(folder))
        lconf.batch_size = config.batch_size
        self._lalm = LALMModel(lconf)
        self.labels: tuple[str, ...] = tuple(self.finetune.labels)
        self.modalities: frozenset[str] = self._lalm.modalities
        self.prompt_hash = self._lalm.prompt_hash
        train = (
            Manifest.from_jsonl(folder / TRAINING_MANIFEST)
            if (folder / TRAINING_MANIFEST).is_file()
            else Manifest()
        )
        self.training_data = {
            "speakers": sorted({u.speaker for u in train if u.speaker}),
            "corpora": sorted({u.corpus for u in train if u.corpus}),
        }
        self._head: Any = None

    @property
    def info(self) -> dict[str, Any]:
        """The prediction document's ``model`` block (the zero-shot one plus the adapter)."""
        info = dict(self._lalm.info)
        info["backend"] = f"lalm-adapter/{self._lalm.family.name}"
        folder = Path(self.config.adapter or "").resolve()
        info["adapter_id"] = f"{folder.parent.name}/{folder.name}"
        info["card"] = {**info.get("card", {}), "head": self.finetune.head}
        return info

    def _classifier(self) -> Any:
        if self._head is None:
            from safetensors.torch import load_file

            from emoscope.models.finetune.head import HEAD_FILE, build_head, hidden_size_of

            model = self._lalm.model
            head = build_head(hidden_size_of(model), len(self.labels), dropout=0.0)
            head.load_state_dict(load_file(str(Path(self.config.adapter or "") / HEAD_FILE)))
            self._head = head.to(model.device).eval()
        return self._head

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return ``(len(batch), len(labels))`` probabilities; rows sum to 1."""
        if self.finetune.head != "classifier":
            return self._lalm.predict_proba(batch)
        import torch

        from emoscope.models.finetune.batches import model_kwargs
        from emoscope.models.finetune.head import pooled_hidden
        from emoscope.models.lalm.prompting import build_inputs

        lalm = self._lalm
        head = self._classifier()
        rows = []
        batch = list(batch)
        for i in range(0, len(batch), self.config.batch_size):
            part = batch[i : i + self.config.batch_size]
            inputs = build_inputs(
                lalm.processor,
                part,
                lalm.prompt,
                condition=lalm.config.condition,
                mode=lalm.config.mode,
                labels=self.labels,
                family=lalm.family,
            ).to(lalm.model.device, dtype=lalm.model.dtype)
            kwargs = model_kwargs(
                dict(inputs), explicit_position_ids=lalm.family.explicit_position_ids
            )
            with torch.inference_mode():
                logits = head(pooled_hidden(lalm.model, kwargs)).float()
            rows.append(torch.softmax(logits, -1).cpu().numpy().astype(np.float64))
        return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)))
