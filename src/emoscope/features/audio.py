"""One audio feature vector per utterance: pooled Whisper encoder frames and eGeMAPS.

By default the frames are those of the encoder's last layer (CTranslate2, int8). With
``layers``, they come from the chosen hidden states of the encoder rebuilt in PyTorch
(:mod:`emoscope.features.whisper_layers`; 0: front end, 1-4: transformer blocks), each pooled
and concatenated (``layer_combine="concat"``) or averaged before pooling (``"mean"``).

Examples:
    >>> AudioFeaturizer(stats=("mean", "std"), egemaps=True).dim
    856
    >>> AudioFeaturizer(stats=("mean",), layers=(1, 2, 3, 4)).dim
    1624
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.features import egemaps as egemaps_module
from emoscope.features import whisper, whisper_layers
from emoscope.features.cache import FeatureCache


@functools.cache
def _blas_controller() -> Any:
    """The loaded thread pools, as threadpoolctl sees them (scanning costs milliseconds: once)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class AudioFeaturizer:
    """Concatenates pooled Whisper tiny.en frames and (optionally) the eGeMAPS functionals.

    Args:
        stats: Pooling statistics of the encoder frames (see :func:`whisper.pool_frames`).
        egemaps: Whether to append the 88 eGeMAPS functionals.
        cache_root: Feature cache folder; ``None`` disables the cache.
        threads: Encoder threads of the CTranslate2 encoder (``None``: automatic); the PyTorch
            encoder (``layers``) uses PyTorch's own thread setting.
        layers: Hidden states of the encoder to pool (e.g. ``(1, 2, 3, 4)``); ``None``: the
            last layer from the CTranslate2 int8 encoder (what the shipped weights use).
        layer_combine: ``"concat"`` (each layer pooled, side by side) or ``"mean"`` (the
            layers' frames averaged, then pooled).

    Raises:
        ValueError: If a layer is out of range or ``layer_combine`` unknown.
    """

    def __init__(
        self,
        *,
        stats: Sequence[str] = ("mean", "std"),
        egemaps: bool = True,
        cache_root: str | None = None,
        threads: int | None = None,
        layers: Sequence[int] | None = None,
        layer_combine: str = "concat",
    ) -> None:
        self.stats = tuple(stats)
        self.use_egemaps = egemaps
        self.layers = None if layers is None else tuple(int(i) for i in layers)
        self.layer_combine = layer_combine
        if self.layers is not None:
            if not self.layers or not all(0 <= i < whisper_layers.N_STATES for i in self.layers):
                raise ValueError(
                    f"layers must be hidden-state indices in 0-{whisper_layers.N_STATES - 1}. "
                    f"Got {self.layers}."
                )
            if layer_combine not in ("concat", "mean"):
                raise ValueError(f"Unknown layer_combine {layer_combine!r}. Known: concat, mean.")
        wcache = egcache = None
        if cache_root is not None:
            version = whisper.VERSION if self.layers is None else whisper_layers.VERSION
            wcache = FeatureCache(cache_root, namespace=version)
            egcache = FeatureCache(cache_root, namespace=egemaps_module.VERSION)
        self.encoder: whisper.WhisperEncoder
        if self.layers is None:
            self.encoder = whisper.WhisperEncoder(cache=wcache, threads=threads)
        else:
            self.encoder = whisper_layers.WhisperLayerEncoder(cache=wcache)
        self.egemaps = egemaps_module.EgemapsExtractor(cache=egcache)

    @property
    def dim(self) -> int:
        """Length of each vector."""
        n_blocks = 1 if self.layers is None or self.layer_combine == "mean" else len(self.layers)
        whisper_dim = n_blocks * len(self.stats) * 384
        return whisper_dim + (egemaps_module.N_FEATURES if self.use_egemaps else 0)

    def _pool(self, frames: list[np.ndarray]) -> np.ndarray:
        if self.layers is None:
            return np.stack([whisper.pool_frames(f, stats=self.stats) for f in frames])
        return np.stack(
            [
                whisper_layers.pool_layers(
                    f, layers=self.layers, stats=self.stats, combine=self.layer_combine
                )
                for f in frames
            ]
        )

    def __call__(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array for 16 kHz mono waveforms.

        numpy's BLAS runs on one thread meanwhile: its small products (log-mel filters,
        pooling) gained nothing from threads that then competed with the encoder and openSMILE
        (measured on 2 cores: 11 -> 20 clips/s one at a time, 19 -> 20 in batches of 16).
        """
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._features(wavs)

    def _features(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        if len(wavs) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.use_egemaps:
            return self._pool(self.encoder.frames(wavs))
        from concurrent.futures import ThreadPoolExecutor

        # openSMILE (one core per clip) runs beside the Whisper encoder
        with ThreadPoolExecutor(max_workers=1) as pool:
            functionals = pool.submit(self.egemaps, wavs)
            pooled = self._pool(self.encoder.frames(wavs))
            return np.concatenate([pooled, functionals.result()], axis=1).astype(np.float32)
