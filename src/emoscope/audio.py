"""Decode any common audio format to 16 kHz mono float32, with checks and chunked reading.

Libraries: `soundfile` (libsndfile: wav, flac, ogg/vorbis, opus, mp3) first, `PyAV` (FFmpeg's
libraries inside the wheel, so no ffmpeg binary: m4a/aac and anything else) as the fallback,
and `soxr` for high-quality resampling. Every failure is an :class:`~emoscope.errors.AudioError`
whose message names the file and the problem.

Examples:
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tone.wav"
    >>> sf.write(p, np.zeros((44100, 2), dtype=np.float32) + 0.1, 44100)
    >>> a = load_audio(p)
    >>> (a.sample_rate, a.original_sample_rate, a.channels, round(a.duration_s, 2))
    (16000, 44100, 2, 1.0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from emoscope.errors import AudioError

TARGET_SAMPLE_RATE = 16000
CLIP_LEVEL = 0.999


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file, before decoding it."""

    path: Path
    sample_rate: int
    channels: int
    duration_s: float
    decoder: str


@dataclass(frozen=True)
class Audio:
    """Decoded audio: mono float32 samples at ``sample_rate`` and facts about the source."""

    samples: np.ndarray
    sample_rate: int
    original_sample_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono float32 audio with soxr (high quality).

    Examples:
        >>> resample(np.zeros(48000, dtype=np.float32), 48000, 16000).shape
        (16000,)
    """
    if from_rate == to_rate:
        return np.asarray(samples, dtype=np.float32)
    return soxr.resample(np.asarray(samples, dtype=np.float32), from_rate, to_rate).astype(
        np.float32
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file. Check the path.")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file.")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes).")


def audio_info(path: Path) -> AudioInfo:
    """Read the container's header: rate, channels, duration.

    Raises:
        AudioError: If the file is missing, empty or not audio.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
        return AudioInfo(path, int(info.samplerate), int(info.channels), float(info.duration), "sf")
    except (sf.LibsndfileError, RuntimeError):
        pass
    import av

    try:
        with av.open(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise AudioError(f"{path}: has no audio stream (is it a video or an image?).")
            stream = streams[0]
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            rate, channels = int(stream.rate or 0), int(stream.channels or 0)
            if rate <= 0 or channels <= 0:
                raise AudioError(f"{path}: not a readable audio file (no sample rate or channels).")
            return AudioInfo(path, rate, channels, duration, "av")
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises many types (InvalidDataError, ValueError...)
        raise AudioError(
            f"{path}: not a readable audio file ({type(exc).__name__}). "
            "Supported: wav, flac, ogg/opus, mp3, m4a/aac and other FFmpeg formats."
        ) from exc


def _read_soundfile(
    path: Path, start: float | None, end: float | None
) -> tuple[np.ndarray, int, int]:
    with sf.SoundFile(str(path)) as fh:
        rate, channels = fh.samplerate, fh.channels
        first = int(round((start or 0.0) * rate))
        last = fh.frames if end is None else min(fh.frames, int(round(end * rate)))
        if first:
            fh.seek(min(first, fh.frames))
        data = fh.read(max(0, last - first), dtype="float32", always_2d=True)
    return data, rate, channels


def _read_av(path: Path, start: float | None, end: float | None) -> tuple[np.ndarray, int, int]:
    import av

    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: has no audio stream (is it a video, an image or text?).")
        stream = container.streams.audio[0]
        rate, channels = int(stream.rate or 0), int(stream.channels or 0)
        if rate <= 0 or channels <= 0:
            raise AudioError(f"{path}: not a readable audio file (no sample rate or channels).")
        resampler = av.AudioResampler(format="flt", layout="mono" if channels == 1 else None)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                arr = out.to_ndarray()  # packed float: (1, samples * channels)
                chunks.append(arr.reshape(-1, channels))
    data = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
    first = int(round((start or 0.0) * rate))
    last = len(data) if end is None else int(round(end * rate))
    return data[first:last], rate, channels


def _wav_declared_seconds(path: Path) -> float | None:
    """Return the duration a RIFF/WAVE header declares, or None if it is not a plain WAV."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = None
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                fmt = fh.read(size)
                byte_rate = int.from_bytes(fmt[8:12], "little")
                fh.seek(size % 2, 1)
            elif cid == b"data":
                return size / byte_rate if byte_rate else None
            else:
                fh.seek(size + size % 2, 1)


def _check_complete(path: Path, decoded_s: float) -> None:
    """Refuse a file whose header promises more audio than could be decoded (truncated)."""
    declared = _wav_declared_seconds(path)
    if declared is None:
        try:
            declared = float(sf.info(str(path)).duration)
        except (sf.LibsndfileError, RuntimeError):
            return
    if declared > 0 and decoded_s < declared - max(0.1, 0.02 * declared):
        raise AudioError(
            f"{path}: the file is truncated or corrupt: its header declares {declared:.2f} s "
            f"but only {decoded_s:.2f} s could be decoded. Re-export or re-copy the file."
        )


def load_audio(
    path: Path,
    *,
    sample_rate: int = TARGET_SAMPLE_RATE,
    start: float | None = None,
    end: float | None = None,
) -> Audio:
    """Decode ``path`` (optionally the part from ``start`` to ``end`` seconds) to mono float32.

    Args:
        path: An audio file in any supported format.
        sample_rate: The rate to resample to (16 kHz, what every model here expects).
        start: Where to start reading, in seconds.
        end: Where to stop reading, in seconds.

    Returns:
        The decoded audio and the source's original rate and channel count.

    Raises:
        AudioError: Missing, empty, not audio, truncated or corrupt file, or no samples.
    """
    path = Path(path)
    _check_file(path)
    if sample_rate <= 0:
        raise AudioError(
            f"The 'sample_rate' parameter of load_audio must be a positive int. Got {sample_rate}."
        )
    try:
        data, rate, channels = _read_soundfile(path, start, end)
    except (sf.LibsndfileError, RuntimeError) as sf_exc:
        try:
            data, rate, channels = _read_av(path, start, end)
        except Exception as exc:
            if isinstance(exc, AudioError):
                raise
            detail = str(sf_exc).split(":")[-1].strip() or type(exc).__name__
            raise AudioError(
                f"{path}: not a readable audio file ({detail}). "
                "Supported: wav, flac, ogg/opus, mp3, m4a/aac and other FFmpeg formats."
            ) from exc
    if start is None and end is None:
        _check_complete(path, data.shape[0] / rate)
    if data.shape[0] == 0:
        raise AudioError(
            f"{path}: contains no audio samples (zero-length audio, or a truncated file)."
        )
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: contains invalid (NaN or infinite) samples.")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return Audio(resample(mono, rate, sample_rate), sample_rate, rate, channels)


def iter_chunks(
    path: Path, *, chunk_s: float = 30.0, sample_rate: int = TARGET_SAMPLE_RATE
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(start_s, samples)`` of consecutive chunks without loading the whole file.

    Memory stays bounded by the chunk length, whatever the file's length. Files that only PyAV
    reads are decoded frame by frame and resampled as a stream. A file whose header promises
    more audio than could be decoded (truncated) raises :class:`AudioError` once its decodable
    part has been read, before the last chunk.

    Examples:
        >>> import soundfile as sf, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.flac"
        >>> sf.write(p, np.zeros(16000 * 5, dtype=np.float32), 16000)
        >>> [(s, len(c)) for s, c in iter_chunks(p, chunk_s=2.0)]
        [(0.0, 32000), (2.0, 32000), (4.0, 16000)]
    """
    path = Path(path)
    info = audio_info(path)
    step = int(round(chunk_s * sample_rate))
    offset = 0
    buffer = np.zeros(0, dtype=np.float32)

    def frames() -> Iterator[np.ndarray]:
        if info.decoder == "sf":
            with sf.SoundFile(str(path)) as fh:
                block = max(1, int(chunk_s * info.sample_rate))
                for data in fh.blocks(blocksize=block, dtype="float32", always_2d=True):
                    yield data.mean(axis=1)
        else:
            import av

            with av.open(str(path)) as container:
                stream = container.streams.audio[0]
                resampler = av.AudioResampler(format="flt", layout="mono")
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1)

    stream = soxr.ResampleStream(info.sample_rate, sample_rate, 1, dtype="float32")
    try:
        for mono in frames():
            buffer = np.concatenate([buffer, stream.resample_chunk(mono.astype(np.float32))])
            while len(buffer) >= step:
                yield offset / sample_rate, buffer[:step]
                buffer = buffer[step:]
                offset += step
        buffer = np.concatenate([buffer, stream.resample_chunk(np.zeros(0, np.float32), last=True)])
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"{path}: decoding failed after {offset / sample_rate:.1f} s ({exc})."
        ) from exc
    _check_complete(path, (offset + len(buffer)) / sample_rate)
    if len(buffer):
        yield offset / sample_rate, buffer
    elif offset == 0:
        raise AudioError(
            f"{path}: contains no audio samples (zero-length audio, or a truncated file)."
        )


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clipping_ratio(samples: np.ndarray, *, level: float = CLIP_LEVEL) -> float:
    """Share of samples at or above ``level`` of full scale.

    Examples:
        >>> clipping_ratio(np.array([0.0, 1.0, -1.0, 0.5], dtype=np.float32))
        0.5
    """
    if len(samples) == 0:
        return 0.0
    return float(np.mean(np.abs(samples) >= level))


def loudness_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-120 for digital silence).

    Examples:
        >>> round(loudness_dbfs(np.full(100, 0.5, dtype=np.float32)), 2)
        -6.02
    """
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return float(20.0 * np.log10(rms)) if rms > 1e-6 else -120.0
