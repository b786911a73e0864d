"""Voice activity detection with silero-vad (its ONNX model ships in the package).

The recording is fed chunk by chunk (:func:`emoscope.audio.iter_chunks`); the model keeps its
state across chunks, so the speech probabilities are those of one continuous pass, and memory
holds only one float per 32 ms frame (about 450 KB per hour).

Examples:
    >>> activity = VoiceActivity(np.array([0.0, 0.9, 0.9, 0.1], dtype=np.float32), n_samples=2048)
    >>> round(activity.duration_s, 3), round(activity.speech_ratio(0.0, 0.128), 2)
    (0.128, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from emoscope.audio import TARGET_SAMPLE_RATE

FRAME = 512
"""Samples per silero-vad frame at 16 kHz (32 ms)."""


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of a recording, in seconds.

    Examples:
        >>> SpeechRegion(1.0, 2.5).duration
        1.5
    """

    start: float
    end: float

    @property
    def duration(self) -> float:
        """The region's length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class VadOptions:
    """silero-vad's decision settings (its own defaults, except the pause length and padding)."""

    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 100
    speech_pad_ms: int = 30


class VoiceActivity:
    """Speech probabilities of a whole recording, one per 32 ms frame."""

    def __init__(self, probs: np.ndarray, *, n_samples: int) -> None:
        self.probs = np.asarray(probs, dtype=np.float32)
        self.n_samples = int(n_samples)

    @property
    def frame_s(self) -> float:
        """Seconds per frame."""
        return FRAME / TARGET_SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return self.n_samples / TARGET_SAMPLE_RATE

    def speech_ratio(self, start: float, end: float, *, threshold: float = 0.5) -> float:
        """Share of the frames between ``start`` and ``end`` seconds that are speech."""
        first = int(start / self.frame_s)
        last = max(first + 1, int(np.ceil(end / self.frame_s)))
        window = self.probs[first:last]
        return float(np.mean(window >= threshold)) if len(window) else 0.0

    def regions(
        self, *, options: VadOptions | None = None, max_speech_s: float = float("inf")
    ) -> list[SpeechRegion]:
        """Return the speech regions; a region longer than ``max_speech_s`` is cut at its pauses.

        Uses silero-vad's own decision rule (hysteresis, minimum speech and silence, padding).
        """
        from silero_vad.utils_vad import get_speech_timestamps_from_probs

        options = options or VadOptions()
        if not len(self.probs):
            return []
        stamps = get_speech_timestamps_from_probs(
            self.probs.tolist(),
            sampling_rate=TARGET_SAMPLE_RATE,
            threshold=options.threshold,
            min_speech_duration_ms=options.min_speech_ms,
            min_silence_duration_ms=options.min_silence_ms,
            speech_pad_ms=options.speech_pad_ms,
            max_speech_duration_s=max_speech_s,
            audio_length_samples=self.n_samples,
        )
        rate = TARGET_SAMPLE_RATE
        return [
            SpeechRegion(round(s["start"] / rate, 3), round(s["end"] / rate, 3))
            for s in stamps
            if s["end"] > s["start"]
        ]


class SileroVad:
    """The silero-vad model, run over a stream of 16 kHz chunks.

    Uses the package's "sequence" ONNX export: one ONNX call per block of up to 512 frames
    (16 s) instead of one per 32 ms frame, with the same per-frame probabilities as the
    streaming model (the LSTM state and the 64-sample context are carried across calls and
    across chunks). No torch is needed.

    Examples:
        >>> vad = SileroVad()
        >>> activity = vad.run([np.zeros(16000, dtype=np.float32)])
        >>> len(activity.probs), activity.regions()
        (32, [])
    """

    CONTEXT = 64
    MAX_FRAMES = 512

    def __init__(self) -> None:
        import warnings

        from silero_vad import load_silero_vad

        with warnings.catch_warnings():  # silero-vad uses a deprecated importlib call
            warnings.simplefilter("ignore", DeprecationWarning)
            self._model = load_silero_vad(onnx=True, sequence=True)

    def run(self, chunks: Iterable[np.ndarray]) -> VoiceActivity:
        """Return the speech probabilities of the concatenated ``chunks`` (16 kHz mono)."""
        hidden = np.zeros((1, 1, 128), dtype=np.float32)
        cell = np.zeros((1, 1, 128), dtype=np.float32)
        context = np.zeros(self.CONTEXT, dtype=np.float32)
        probs: list[np.ndarray] = []
        rest = np.zeros(0, dtype=np.float32)
        n_samples = 0

        def forward(frames: np.ndarray) -> None:
            nonlocal hidden, cell, context
            for first in range(0, len(frames), self.MAX_FRAMES):
                block = frames[first : first + self.MAX_FRAMES]
                contexts = np.empty((len(block), self.CONTEXT), dtype=np.float32)
                contexts[0] = context
                contexts[1:] = block[:-1, -self.CONTEXT :]
                context = block[-1, -self.CONTEXT :].copy()
                values, hidden, cell = self._model.session.run(
                    ["speech_probs", "hn", "cn"],
                    {"input": np.concatenate([contexts, block], axis=1), "h": hidden, "c": cell},
                )
                probs.append(np.asarray(values, dtype=np.float32).reshape(-1))

        for chunk in chunks:
            n_samples += len(chunk)
            buffer = np.concatenate([rest, np.asarray(chunk, dtype=np.float32)])
            n_frames = len(buffer) // FRAME
            if n_frames:
                forward(buffer[: n_frames * FRAME].reshape(n_frames, FRAME))
            rest = buffer[n_frames * FRAME :]
        if len(rest):
            last = np.zeros((1, FRAME), dtype=np.float32)
            last[0, : len(rest)] = rest
            forward(last)
        out = np.concatenate(probs) if probs else np.zeros(0, dtype=np.float32)
        return VoiceActivity(out, n_samples=n_samples)
