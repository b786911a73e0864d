"""A learnable synthetic emotion task: the pitch of a tone decides the label."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoscope.data.manifest import Manifest
from emoscope.testing import tone, write_audio
from emoscope.types import Utterance


def pitch_manifest(
    folder: Path, *, n_speakers: int = 6, per_speaker: int = 6, seconds: float = 0.4, seed: int = 0
) -> Path:
    """Write WAVs and a manifest: low tones (100-160 Hz) are 'sad', high ones (380-480 Hz) 'happy'.

    Each speaker has as many of each; every clip's pitch and noise differ.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    utterances = []
    for s in range(n_speakers):
        for i in range(per_speaker):
            label = "sad" if i % 2 == 0 else "happy"
            freq = rng.uniform(100, 160) if label == "sad" else rng.uniform(380, 480)
            uid = f"spk{s}-{i:02d}"
            wav = tone(seconds, freq=float(freq), seed=s * 100 + i)
            path = write_audio(folder / f"{uid}.wav", wav)
            utterances.append(
                Utterance(
                    id=uid,
                    audio=str(path),
                    speaker=f"spk{s}",
                    label=label,
                    canonical=label,
                    corpus="synthetic-pitch",
                )
            )
    return Manifest(utterances).to_jsonl(folder / "manifest.jsonl")
