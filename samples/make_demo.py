"""Make the demo recording with espeak-ng: two synthetic voices, varied pitch, rate and loudness.

Run from the repository root: ``python samples/make_demo.py``. Writes ``samples/demo.flac``
(16 kHz mono), ``samples/demo.txt`` (the true transcript) and ``samples/demo.truth.json``
(each sentence's speaker, intended emotion, voice settings and true start/end in seconds).
The voices are synthetic (espeak-ng, GPL-3.0 program; its output is not covered by the GPL).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from emoscope.testing import speak

RATE = 16000
GAP_S = 1.0
# (speaker, voice, intended emotion, words per minute, pitch 0-99, amplitude 0-200, text)
SCRIPT = [
    (
        "A",
        "en-us",
        "neutral",
        160,
        45,
        100,
        "Hello, thank you for coming in today. How was your week?",
    ),
    (
        "B",
        "en-us+f3",
        "happy",
        200,
        85,
        150,
        "It was wonderful! I got the job, and I am so happy about it!",
    ),
    ("A", "en-us", "neutral", 160, 45, 100, "That is good to hear. And how are things at home?"),
    (
        "B",
        "en-us+f3",
        "sad",
        110,
        20,
        60,
        "Not good. I feel so alone and tired. Nothing seems to matter anymore.",
    ),
    (
        "B",
        "en-us+f3",
        "angry",
        190,
        70,
        190,
        "And my brother keeps lying to me! I told him to stop, and he never listens!",
    ),
    ("A", "en-us", "neutral", 160, 45, 100, "What worries you most about that?"),
    (
        "B",
        "en-us+f3",
        "fearful",
        210,
        90,
        80,
        "I am scared that something terrible is going to happen to us.",
    ),
    (
        "A",
        "en-us",
        "neutral",
        150,
        45,
        100,
        "Let us talk about it again next week, at the same time.",
    ),
]


def main() -> None:
    """Write the demo files next to this script."""
    here = Path(__file__).parent
    pieces, truth, t = [np.zeros(int(0.5 * RATE), np.float32)], [], 0.5
    for speaker, voice, emotion, wpm, pitch, amp, text in SCRIPT:
        speech = speak(text, voice=voice, wpm=wpm, pitch=pitch, amplitude=amp)
        # trim espeak's own leading/trailing silence so that the truth times are tight
        voiced = np.flatnonzero(np.abs(speech) > 1e-3)
        speech = speech[voiced[0] : voiced[-1] + 1]
        truth.append(
            {
                "speaker": speaker,
                "emotion": emotion,
                "text": text,
                "start": round(t, 3),
                "end": round(t + len(speech) / RATE, 3),
                "voice": voice,
                "wpm": wpm,
                "pitch": pitch,
                "amplitude": amp,
            }
        )
        pieces += [speech, np.zeros(int(GAP_S * RATE), np.float32)]
        t += len(speech) / RATE + GAP_S
    audio = np.concatenate(pieces)
    sf.write(here / "demo.flac", audio, RATE, subtype="PCM_16")
    (here / "demo.txt").write_text(" ".join(s["text"] for s in truth) + "\n")
    (here / "demo.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"demo.flac: {len(audio) / RATE:.1f} s, {len(truth)} sentences")


if __name__ == "__main__":
    main()
