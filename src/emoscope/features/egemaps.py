"""The 88 eGeMAPSv02 functionals of an utterance (openSMILE).

Examples:
    >>> EgemapsExtractor()([]).shape
    (0, 88)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.features.cache import FeatureCache, audio_key

SAMPLE_RATE = 16000
VERSION = "egemapsv02-functionals-v1"
"""Cache namespace: change it whenever the features would change."""
N_FEATURES = 88

MIN_SAMPLES = SAMPLE_RATE // 10


class EgemapsExtractor:
    """eGeMAPSv02 functionals per utterance (lazy openSMILE, optional disk cache).

    Utterances shorter than 0.1 s are padded with silence to 0.1 s; values openSMILE cannot
    compute (NaN) become 0.

    Args:
        cache: Where to keep each utterance's vector (``None``: no cache).
        workers: Parallel threads for a batch (``None``: the CPU count).
    """

    def __init__(self, *, cache: FeatureCache | None = None, workers: int | None = None) -> None:
        self.cache = cache
        self.workers = workers or max(1, os.cpu_count() or 1)
        self._smile: Any = None

    def _load(self) -> Any:
        if self._smile is None:
            import opensmile

            self._smile = opensmile.Smile(
                feature_set=opensmile.FeatureSet.eGeMAPSv02,
                feature_level=opensmile.FeatureLevel.Functionals,
            )
        return self._smile

    def feature_names(self) -> list[str]:
        """Return the 88 functional names in column order."""
        return list(self._load().feature_names)

    def one(self, wav: np.ndarray) -> np.ndarray:
        """Return the 88 functionals of one waveform as float32."""
        wav = np.asarray(wav, dtype=np.float32)
        key = None
        if self.cache is not None:
            key = audio_key(wav)
            hit = self.cache.get(key)
            if hit is not None:
                return hit.astype(np.float32)
        if len(wav) < MIN_SAMPLES:
            wav = np.pad(wav, (0, MIN_SAMPLES - len(wav)))
        values = self._load().process_signal(wav, SAMPLE_RATE).to_numpy()[0]
        vec = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if self.cache is not None and key is not None:
            self.cache.put(key, vec)
        return vec

    def __call__(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        """Return an ``(n, 88)`` float32 array for the waveforms.

        Several waveforms are processed in parallel threads (openSMILE runs outside the GIL,
        one instance per call); each result depends on its waveform alone.
        """
        if len(wavs) == 0:
            return np.zeros((0, N_FEATURES), dtype=np.float32)
        self._load()
        if len(wavs) == 1 or self.workers == 1:
            return np.stack([self.one(w) for w in wavs])
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(self.workers, len(wavs))) as pool:
            return np.stack(list(pool.map(self.one, wavs)))
