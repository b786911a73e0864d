from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from emoscope.audio import (
    audio_info,
    clipping_ratio,
    iter_chunks,
    load_audio,
    loudness_dbfs,
    sha256_file,
)
from emoscope.errors import AudioError
from emoscope.testing import tone, write_audio


def write_m4a(path: Path, samples: np.ndarray, rate: int) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_every_format_decodes_to_16k_mono_float32(tmp_path: Path, ext: str) -> None:
    rate = 44100 if ext != "m4a" else 22050
    x = tone(2.0, freq=330.0, rate=rate)
    path = tmp_path / f"x.{ext}"
    if ext == "m4a":
        write_m4a(path, x, rate)
    else:
        write_audio(path, x, rate=rate)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert audio.original_sample_rate == rate
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)
    # the tone survives decoding: its dominant frequency is still 330 Hz
    spectrum = np.abs(np.fft.rfft(audio.samples))
    peak_hz = np.argmax(spectrum) * 16000 / len(audio.samples)
    assert peak_hz == pytest.approx(330.0, abs=5.0)


def test_stereo_is_averaged_and_channels_reported(tmp_path: Path) -> None:
    left, right = tone(1.0, amplitude=0.4), np.zeros(16000, np.float32)
    path = write_audio(tmp_path / "st.wav", np.stack([left, right], axis=1))
    audio = load_audio(path)
    assert audio.channels == 2
    np.testing.assert_allclose(audio.samples, left / 2, atol=1e-4)


def test_start_end_cut(tmp_path: Path) -> None:
    x = np.arange(16000 * 3, dtype=np.float32) / (16000 * 3)
    path = write_audio(tmp_path / "ramp.wav", x, subtype="FLOAT")
    cut = load_audio(path, start=1.0, end=2.0).samples
    assert len(cut) == 16000
    assert cut[0] == pytest.approx(x[16000], abs=1e-6)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nope\.wav: no such file"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: the file is empty"):
        load_audio(path)


def test_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_text("these are my session notes, not audio\n" * 20)
    with pytest.raises(AudioError, match=r"notes\.mp3: not a readable audio file"):
        load_audio(path)


@pytest.mark.parametrize("ext", ["wav", "mp3", "flac"])
def test_truncated_file(tmp_path: Path, ext: str) -> None:
    full = write_audio(tmp_path / f"full.{ext}", tone(3.0))
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError, match=r"cut\.\w+: .*(truncated|not a readable)"):
        load_audio(cut)


def test_zero_length_audio(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "zero.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match=r"zero\.wav: contains no audio samples"):
        load_audio(path)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path)


def test_iter_chunks_matches_whole_file_and_resamples(tmp_path: Path) -> None:
    x = tone(5.3, rate=48000)
    path = write_audio(tmp_path / "long.flac", x, rate=48000)
    whole = load_audio(path).samples
    chunks = list(iter_chunks(path, chunk_s=2.0))
    assert [start for start, _ in chunks] == [0.0, 2.0, 4.0]
    joined = np.concatenate([c for _, c in chunks])
    assert abs(len(joined) - len(whole)) <= 2
    n = min(len(joined), len(whole))
    # streaming and one-shot soxr agree away from the edges
    np.testing.assert_allclose(joined[1000 : n - 1000], whole[1000 : n - 1000], atol=2e-3)


def test_iter_chunks_av_fallback(tmp_path: Path) -> None:
    path = write_m4a(tmp_path / "x.m4a", tone(2.5, rate=16000), 16000)
    assert audio_info(path).decoder == "av"
    total = sum(len(c) for _, c in iter_chunks(path, chunk_s=1.0))
    assert total == pytest.approx(2.5 * 16000, abs=2048)


def test_quality_figures() -> None:
    x = np.zeros(1000, np.float32)
    assert loudness_dbfs(x) == -120.0
    x[:10] = 1.0
    assert clipping_ratio(x) == pytest.approx(0.01)


def test_sha256_is_of_the_bytes(tmp_path: Path) -> None:
    import hashlib

    path = write_audio(tmp_path / "a.wav", tone(0.2))
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_info_reads_header_without_decoding(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "a.flac", np.zeros((32000, 2), np.float32), rate=32000)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.duration_s) == (32000, 2, 1.0)
    assert sf.info(str(path)).frames == 32000


def test_iter_chunks_refuses_a_truncated_file(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.wav", tone(3.0))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 3])
    with pytest.raises(AudioError, match=r"cut\.wav: the file is truncated"):
        list(iter_chunks(cut, chunk_s=1.0))
