"""One audio feature vector per utterance: pooled Whisper encoder frames and eGeMAPS.

Examples:
    >>> AudioFeaturizer(stats=("mean", "std"), egemaps=True).dim
    856
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emoscope.features import egemaps as egemaps_module
from emoscope.features import whisper
from emoscope.features.cache import FeatureCache


class AudioFeaturizer:
    """Concatenates pooled Whisper tiny.en frames and (optionally) the eGeMAPS functionals.

    Args:
        stats: Pooling statistics of the encoder frames (see :func:`whisper.pool_frames`).
        egemaps: Whether to append the 88 eGeMAPS functionals.
        cache_root: Feature cache folder; ``None`` disables the cache.
        threads: Encoder threads (``None``: automatic).
    """

    def __init__(
        self,
        *,
        stats: Sequence[str] = ("mean", "std"),
        egemaps: bool = True,
        cache_root: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.stats = tuple(stats)
        self.use_egemaps = egemaps
        wcache = egcache = None
        if cache_root is not None:
            wcache = FeatureCache(cache_root, namespace=whisper.VERSION)
            egcache = FeatureCache(cache_root, namespace=egemaps_module.VERSION)
        self.encoder = whisper.WhisperEncoder(cache=wcache, threads=threads)
        self.egemaps = egemaps_module.EgemapsExtractor(cache=egcache)

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return len(self.stats) * 384 + (egemaps_module.N_FEATURES if self.use_egemaps else 0)

    def __call__(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array for 16 kHz mono waveforms."""
        if len(wavs) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.use_egemaps:
            frames = self.encoder.frames(wavs)
            return np.stack([whisper.pool_frames(f, stats=self.stats) for f in frames])
        from concurrent.futures import ThreadPoolExecutor

        # openSMILE (one core per clip) runs beside the Whisper encoder
        with ThreadPoolExecutor(max_workers=1) as pool:
            functionals = pool.submit(self.egemaps, wavs)
            frames = self.encoder.frames(wavs)
            pooled = np.stack([whisper.pool_frames(f, stats=self.stats) for f in frames])
            return np.concatenate([pooled, functionals.result()], axis=1).astype(np.float32)
