"""Synthetic data helpers for tests and docs (like lhotse's ``testing/dummies.py``).

Area-specific helpers live in submodules (``emoscope.testing.corpora``, ``.tiny_lalm``, ...).

Examples:
    >>> wav = tone(0.5, freq=220.0)
    >>> wav.dtype, wav.shape
    (dtype('float32'), (8000,))
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000


def tone(
    seconds: float, *, freq: float = 220.0, amplitude: float = 0.3, rate: int = RATE, seed: int = 0
) -> np.ndarray:
    """Return a harmonic tone with a little noise (a crude voiced sound), float32 mono."""
    t = np.arange(int(seconds * rate)) / rate
    wav = sum(amplitude / k * np.sin(2 * np.pi * freq * k * t) for k in (1, 2, 3))
    noise = np.random.default_rng(seed).normal(0, amplitude * 0.01, len(t))
    return np.asarray(wav + noise, dtype=np.float32)


def write_audio(path: Path, samples: np.ndarray, *, rate: int = RATE, **kwargs: object) -> Path:
    """Write samples with soundfile (format from the extension) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, rate, **kwargs)
    return path


def has_espeak() -> bool:
    """Whether the espeak-ng program is installed."""
    return shutil.which("espeak-ng") is not None


def speak(
    text: str, *, voice: str = "en-us", wpm: int = 160, pitch: int = 50, amplitude: int = 100
) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng; return 16 kHz mono float32.

    Raises:
        RuntimeError: If espeak-ng is not installed (tests skip on :func:`has_espeak`).
    """
    import tempfile

    import soxr

    if not has_espeak():
        raise RuntimeError("espeak-ng is not installed: `apt-get install espeak-ng`.")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                str(wpm),
                "-p",
                str(pitch),
                "-a",
                str(amplitude),
                "-w",
                str(out),
                text,
            ],
            check=True,
            capture_output=True,
        )
        data, rate = sf.read(out, dtype="float32")
    return soxr.resample(data, rate, RATE).astype(np.float32)


CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
"""Flags for headless Chromium in tests: no sandbox (root), and no background connections."""


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB since it started (its own program).

    Reads ``VmHWM`` from ``/proc/self/status`` on Linux: unlike ``getrusage``'s ``ru_maxrss``,
    it is not inherited from the parent across fork and exec (a child of a 1.5 GB pytest
    process would otherwise report 1.5 GB). Falls back to ``ru_maxrss`` elsewhere.

    Examples:
        >>> peak_rss_mb() > 0
        True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
