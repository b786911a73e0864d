"""Synthetic recordings for the analyze tests and benchmark: music, silence, long conversations.

Examples:
    >>> music = chords(2.0)
    >>> music.dtype, len(music)
    (dtype('float32'), 32000)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from emoscope.testing import RATE, speak

SENTENCES: tuple[str, ...] = (
    "Hello, thank you for coming in today. How was your week?",
    "It was wonderful, I got the job and I am so happy about it.",
    "That is good to hear. And how are things at home?",
    "Not good. I feel so alone and tired, nothing seems to matter anymore.",
    "My brother keeps lying to me and he never listens.",
    "What worries you most about that?",
    "I am scared that something terrible is going to happen to us.",
    "Let us talk about it again next week, at the same time.",
)
"""A short therapy-like exchange (the demo's script, slightly varied)."""


def chords(seconds: float, *, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Return a piano-like chord progression (decaying harmonic notes), float32 mono.

    Music without voice: what analyze must not mistake for speech.
    """
    progression = ((261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6),
                   (196.0, 246.9, 293.7))  # fmt: skip
    beat = int(0.5 * rate)
    t = np.arange(beat) / rate
    envelope = np.exp(-3.0 * t)
    out = np.zeros(int(seconds * rate), dtype=np.float64)
    for i, start in enumerate(range(0, len(out), beat)):
        chord = progression[(i // 4) % len(progression)]
        note = (
            sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for f in chord for k in range(1, 5))
            * envelope
        )
        piece = note[: len(out) - start]
        out[start : start + len(piece)] += piece
    out *= 0.25 / max(1e-9, np.max(np.abs(out)))
    noise = np.random.default_rng(seed).normal(0, 0.002, len(out))
    return (out + noise).astype(np.float32)


def write_long_conversation(
    path: Path,
    *,
    minutes: float,
    gap_s: float = 1.0,
    pause_s: float = 0.0,
    sentences: Sequence[str] = SENTENCES,
    voices: Sequence[str] = ("en-us", "en-us+f3"),
) -> Path:
    """Write a long 16 kHz FLAC of espeak-ng sentences, by repeating them, in bounded memory.

    Args:
        path: The FLAC file to write.
        minutes: Length of the recording.
        gap_s: Silence after each sentence.
        pause_s: Extra silence after each full round of sentences (sparser speech).
        sentences: What is said, in turn by each voice.
        voices: espeak-ng voices taking turns.

    Returns:
        The path written.
    """
    pieces = [speak(s, voice=voices[i % len(voices)]) for i, s in enumerate(sentences)]
    gap = np.zeros(int(gap_s * RATE), dtype=np.float32)
    pause = np.zeros(int(pause_s * RATE), dtype=np.float32)
    total = int(minutes * 60 * RATE)
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(path), "w", samplerate=RATE, channels=1, subtype="PCM_16") as fh:
        while written < total:
            for piece in [*(x for p in pieces for x in (p, gap)), pause]:
                block = piece[: total - written]
                fh.write(block)
                written += len(block)
                if written >= total:
                    break
    return path
