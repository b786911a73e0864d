"""TESS (Dupuis & Pichora-Fuller 2010): Toronto emotional speech set, ``OAF_back_angry.wav``.

Two actresses (OAF aged 64, YAF aged 26) say "Say the word ___" with 200 target words in seven
emotions. The name holds the speaker, the target word and the emotion (``ps`` = pleasant
surprise); the folder names (``OAF_angry``, ``YAF_pleasant_surprised``, ...) are not relied on.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import audio_files, check_folder, nothing_found
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError
from emoscope.types import Utterance

EMOTIONS: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "pleasant_surprise",
    "sad": "sad",
}
SPEAKERS: dict[str, int] = {"OAF": 64, "YAF": 26}
NAME = re.compile(r"(OAF|YAF)_(.+)_([A-Za-z]+)", re.IGNORECASE)
EXPECTED = "SPEAKER_WORD_EMOTION.<audio> files (e.g. OAF_angry/OAF_back_angry.wav)"


@register_recipe("tess")
def prepare_tess(corpus_dir: Path) -> Manifest:
    """TESS, two actresses saying "Say the word ___" (7 emotions, 200 words).

    Args:
        corpus_dir: The folder holding the TESS files (in any sub-folders).

    Returns:
        One utterance per file, id ``tess/<stem>``, speaker ``tess/OAF`` or ``tess/YAF``,
        transcript "Say the word <word>."

    Raises:
        ManifestError: If the folder holds no TESS files.
        BadLabelError: If a name carries an unknown emotion.
    """
    corpus_dir = check_folder(corpus_dir, corpus="TESS", expected=EXPECTED)
    labels = corpus_labels("tess")
    utterances = []
    for path in audio_files(corpus_dir, pattern=NAME):
        stem = re.sub(r"_pleasant_surprised?$", "_ps", path.stem, flags=re.IGNORECASE)
        speaker, word, emotion = NAME.fullmatch(stem).groups()
        speaker, emotion = speaker.upper(), emotion.lower()
        if emotion not in EMOTIONS:
            raise BadLabelError(
                f"{path}: TESS emotion {emotion!r} is not one of {', '.join(EMOTIONS)}."
            )
        native = EMOTIONS[emotion]
        utterances.append(
            Utterance(
                id=f"tess/{path.stem}",
                audio=str(path),
                speaker=f"tess/{speaker}",
                gender="female",
                transcript=f"Say the word {word.lower()}.",
                label=native,
                canonical=labels.canonical(native),
                corpus="tess",
                extra={"word": word.lower(), "age": SPEAKERS[speaker]},
            )
        )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="TESS", expected=EXPECTED)
    return Manifest(utterances)
