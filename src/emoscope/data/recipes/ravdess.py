"""RAVDESS (Livingstone & Russo 2018): speech and song, ``Actor_NN/MM-VV-EE-II-SS-RR-AA.*``.

The file name encodes modality (01 audio-video, 02 video-only, 03 audio-only), vocal channel
(01 speech, 02 song), emotion (01 neutral ... 08 surprised), intensity (01 normal, 02 strong),
statement (01 "Kids are talking by the door.", 02 "Dogs are sitting by the door."), repetition
and actor (odd male, even female). Video-only files (modality 02) are skipped.

Calm has no canonical label of its own; by default it counts as neutral (``calm_as_neutral``),
a choice the user can switch off, which keeps calm native and out of canonical evaluation.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import (
    MEDIA_EXTENSIONS,
    audio_files,
    check_folder,
    nothing_found,
)
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError, UsageError
from emoscope.types import Utterance

EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
STATEMENTS: dict[str, str] = {
    "01": "Kids are talking by the door.",
    "02": "Dogs are sitting by the door.",
}
CHANNELS: dict[str, str] = {"01": "speech", "02": "song"}
INTENSITIES: dict[str, str] = {"01": "normal", "02": "strong"}
NAME = re.compile(r"(0[123])-(0[12])-(\d\d)-(0[12])-(0[12])-(0[12])-(\d\d)")
EXPECTED = "Actor_NN/MM-VV-EE-II-SS-RR-AA.<audio> files (e.g. Actor_01/03-01-01-01-01-01-01.wav)"


@register_recipe("ravdess")
def prepare_ravdess(
    corpus_dir: Path,
    *,
    calm_as_neutral: bool = True,
    channels: tuple[str, ...] = ("speech", "song"),
) -> Manifest:
    """RAVDESS speech and song (24 actors, 8 emotions, 2 fixed statements).

    Args:
        corpus_dir: The folder holding ``Actor_NN`` folders (or the files themselves).
        calm_as_neutral: Map calm to canonical neutral (default); when false calm keeps its native
            label and no canonical one.
        channels: Vocal channels to keep: ``"speech"``, ``"song"`` or both.

    Returns:
        One utterance per audio file, id ``ravdess/<file stem>``, speaker ``ravdess/NN``.

    Raises:
        ManifestError: If the folder holds no RAVDESS files.
        UsageError: If ``channels`` names an unknown channel.
        BadLabelError: If a file name carries an emotion code outside 01-08.
    """
    if isinstance(channels, str):
        channels = tuple(c.strip() for c in channels.split(","))
    bad = sorted(set(channels) - set(CHANNELS.values()))
    if bad or not channels:
        raise UsageError(
            f"RAVDESS channels must be among speech, song. Got {', '.join(bad) or 'none'}."
        )
    corpus_dir = check_folder(corpus_dir, corpus="RAVDESS", expected=EXPECTED)
    labels = corpus_labels("ravdess")
    if not calm_as_neutral:
        labels = labels.with_changes(calm=None)
    files = list(audio_files(corpus_dir, pattern=NAME, extensions=MEDIA_EXTENSIONS))
    audio_only = {p.stem[3:] for p in files if p.stem.startswith("03-")}
    utterances = []
    for path in files:
        modality, channel, emotion, intensity, statement, repetition, actor = NAME.fullmatch(
            path.stem
        ).groups()
        if modality == "02":  # video-only
            continue
        if modality == "01" and path.stem[3:] in audio_only:
            continue  # the same take as an audio-only file: keep one copy
        if emotion not in EMOTIONS:
            raise BadLabelError(
                f"{path}: RAVDESS emotion code {emotion!r} is not one of "
                f"{', '.join(f'{k} ({v})' for k, v in EMOTIONS.items())}."
            )
        if CHANNELS[channel] not in channels:
            continue
        native = EMOTIONS[emotion]
        utterances.append(
            Utterance(
                id=f"ravdess/{path.stem}",
                audio=str(path),
                speaker=f"ravdess/{actor}",
                gender="male" if int(actor) % 2 else "female",
                transcript=STATEMENTS[statement],
                label=native,
                canonical=labels.canonical(native),
                corpus="ravdess",
                extra={
                    "channel": CHANNELS[channel],
                    "intensity": INTENSITIES[intensity],
                    "statement": statement,
                    "repetition": int(repetition),
                    "modality": "audio-video" if modality == "01" else "audio",
                },
            )
        )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="RAVDESS", expected=EXPECTED)
    return Manifest(utterances)
