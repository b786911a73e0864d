"""Speed of the embedded default model on 3-s clips, and the size of its shipped weights.

Run: ``python benchmarks/default_model_speed.py [--n 64] [--threads 2]``. Uses real RAVDESS
clips (cut to 3 s) when ../shared/data is present, else synthetic speech (espeak-ng) or tones.
Prints a table: utterances per second for each modality and batch size, cold-cache features.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from emoscope.models.base import load_model
from emoscope.models.default import CONFIG_FILE, WEIGHTS_FILE, shipped_weights_dir
from emoscope.types import Utterance

RATE = 16000
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess"


def clips(n: int) -> tuple[list[np.ndarray], str]:
    if DATA.is_dir():
        from emoscope.audio import load_audio

        files = sorted(DATA.glob("Actor_*/*.flac"))[:: max(1, 1200 // n)][:n]
        out = []
        for f in files:
            wav = load_audio(f).samples[: 3 * RATE]
            out.append(np.pad(wav, (0, 3 * RATE - len(wav))))
        return out, "RAVDESS clips cut/padded to 3 s"
    from emoscope.testing import has_espeak, speak, tone

    if has_espeak():
        base = speak("I really did not expect to see you here today, this is wonderful.")
        wav = np.resize(base, 3 * RATE)
        return [wav * (0.5 + 0.5 * i / n) for i in range(n)], "espeak-ng speech, 3 s"
    return [tone(3.0, freq=120 + 5 * i, seed=i) for i in range(n)], "synthetic tones, 3 s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=64, help="clips per measurement")
    parser.add_argument("--threads", type=int, default=None, help="encoder threads")
    args = parser.parse_args()
    wavs, source = clips(args.n)
    texts = ["Kids are talking by the door.", "Dogs are sitting by the door."]
    utts = [Utterance(id=f"c{i}", waveform=w, transcript=texts[i % 2]) for i, w in enumerate(wavs)]
    weights = shipped_weights_dir()
    size = sum((weights / f).stat().st_size for f in (WEIGHTS_FILE, CONFIG_FILE))
    print(f"clips: {len(utts)} x 3 s ({source}); CPU cores: {os.cpu_count()}")
    print(f"shipped weights: {size / 1024:.1f} KiB ({WEIGHTS_FILE} + {CONFIG_FILE})")
    print()
    print("| modality | batch | utterances/s | ms/utterance |")
    print("|---|---|---|---|")
    for modality in ("audio", "text", "both"):
        model = load_model("default", modality=modality, threads=args.threads)
        model.predict_proba(utts[:2])  # load models (not timed)
        for batch in (1, 16):
            start = time.perf_counter()
            for i in range(0, len(utts), batch):
                # fresh objects: the model's one-batch memo must not help
                model.predict_proba([u.with_(id=u.id + "x") for u in utts[i : i + batch]])
            dt = time.perf_counter() - start
            print(f"| {modality} | {batch} | {len(utts) / dt:.1f} | {1000 * dt / len(utts):.1f} |")


if __name__ == "__main__":
    main()
