"""Acoustic cues in words, relative to the same speaker's usual in the recording.

Three eGeMAPSv02 functionals per segment: mean pitch (``F0semitoneFrom27.5Hz_sma3nz_amean``,
semitones), mean loudness (``loudness_sma3_amean``, sones) and pace (``VoicedSegmentsPerSec``,
a syllable-rate proxy). A speaker's baseline is the median over their segments in the recording
(over all segments when they have fewer than :data:`MIN_BASELINE`); a cue is named when it is
at least one spread (the segments' median absolute deviation, with a floor per cue) away.
Segments without a speaker are compared with the whole recording ("than usual in this
recording").

Examples:
    >>> base = {"pitch": [30.0, 31.0, 30.5], "loudness": [1.0, 1.1, 0.9], "rate": [3.0, 3.2, 3.1]}
    >>> describe({"pitch": 34.0, "loudness": 1.6, "rate": 3.1}, base)["description"]
    "louder and higher than this speaker's usual"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

FEATURES = {
    "pitch": "F0semitoneFrom27.5Hz_sma3nz_amean",
    "loudness": "loudness_sma3_amean",
    "rate": "VoicedSegmentsPerSec",
}
"""Cue -> eGeMAPSv02 functional."""

FLOORS = {"pitch": 1.0, "loudness": 0.1, "rate": 0.3}
"""Smallest spread per cue: 1 semitone, 0.1 sone, 0.3 voiced segments per second."""

MIN_BASELINE = 3
"""Segments a speaker needs for a baseline of their own."""

WORDS = {
    "loudness": ("louder", "quieter"),
    "pitch": ("higher", "lower"),
    "rate": ("faster", "slower"),
}


def cue_values(wavs: Sequence[np.ndarray]) -> list[dict[str, float | None]]:
    """Return pitch, loudness and pace per waveform (``None`` where not measurable).

    Pitch is ``None`` for a segment with no voiced frame (openSMILE gives 0).
    """
    from emoscope.features.egemaps import EgemapsExtractor

    extractor = EgemapsExtractor()
    names = extractor.feature_names()
    columns = {cue: names.index(feature) for cue, feature in FEATURES.items()}
    out = []
    for vec in extractor(list(wavs)):
        values: dict[str, float | None] = {cue: float(vec[i]) for cue, i in columns.items()}
        if not values["pitch"]:
            values["pitch"] = None
        out.append(values)
    return out


def baselines(
    values: Sequence[Mapping[str, float | None]], speakers: Sequence[str | None]
) -> list[dict[str, list[float]]]:
    """Return, per segment, the values of the segments its baseline is taken from."""
    by_speaker: dict[str | None, list[int]] = {}
    for i, spk in enumerate(speakers):
        by_speaker.setdefault(spk, []).append(i)
    everyone = list(range(len(values)))
    out = []
    for spk in speakers:
        members = by_speaker[spk] if len(by_speaker[spk]) >= MIN_BASELINE else everyone
        out.append(
            {
                cue: [float(values[j][cue]) for j in members if values[j][cue] is not None]  # type: ignore[arg-type]
                for cue in FEATURES
            }
        )
    return out


def describe(
    values: Mapping[str, float | None],
    baseline: Mapping[str, Sequence[float]],
    *,
    usual: str = "this speaker's usual",
) -> dict[str, Any]:
    """Compare one segment's cues with a baseline; return figures and a sentence.

    Args:
        values: The segment's cues (from :func:`cue_values`).
        baseline: The values its baseline is taken from (from :func:`baselines`).
        usual: What the baseline is, for the sentence.

    Returns:
        ``{cue: {"value", "baseline", "z", "relative"}}`` for each measurable cue, plus
        ``description``: e.g. "louder and higher than this speaker's usual".
    """
    result: dict[str, Any] = {}
    more, less = [], []
    for cue in ("loudness", "pitch", "rate"):
        value = values.get(cue)
        ref = np.asarray(baseline.get(cue) or [], dtype=np.float64)
        if value is None or ref.size == 0:
            continue
        median = float(np.median(ref))
        spread = max(float(np.median(np.abs(ref - median))) * 1.4826, FLOORS[cue])
        z = (float(value) - median) / spread
        relative = "usual"
        if z >= 1.0:
            relative = WORDS[cue][0]
            more.append(relative)
        elif z <= -1.0:
            relative = WORDS[cue][1]
            less.append(relative)
        result[cue] = {
            "value": round(float(value), 3),
            "baseline": round(median, 3),
            "z": round(z, 2),
            "relative": relative,
        }
    words = more + less
    if not result:
        sentence = "no acoustic cues could be measured"
    elif not words:
        sentence = f"close to {usual} pitch, loudness and pace"
    elif len(words) == 1:
        sentence = f"{words[0]} than {usual}"
    else:
        sentence = f"{', '.join(words[:-1])} and {words[-1]} than {usual}"
    result["description"] = sentence
    return result
