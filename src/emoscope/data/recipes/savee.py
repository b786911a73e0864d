"""SAVEE (Haq & Jackson 2009): Surrey Audio-Visual Expressed Emotion, ``AudioData/DC/a01.wav``.

Four male speakers (DC, JE, JK, KL), seven emotions coded a (anger), d (disgust), f (fear),
h (happiness), n (neutral), sa (sadness), su (surprise), 15 sentences each (30 neutral).
Both the original layout (``AudioData/<speaker>/<code><NN>.wav``) and the common flat one
(``<speaker>_<code><NN>.wav``) are read. The TIMIT sentence texts are not in the file names,
so transcripts are left empty.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import audio_files, check_folder, nothing_found
from emoscope.data.recipes.registry import register_recipe
from emoscope.types import Utterance

EMOTIONS: dict[str, str] = {
    "a": "anger",
    "d": "disgust",
    "f": "fear",
    "h": "happiness",
    "n": "neutral",
    "sa": "sadness",
    "su": "surprise",
}
SPEAKERS = ("DC", "JE", "JK", "KL")
NAME = re.compile(r"(?:(DC|JE|JK|KL)_)?(a|d|f|h|n|sa|su)(\d\d)")
EXPECTED = "AudioData/<DC|JE|JK|KL>/<code><NN>.<audio> files (e.g. AudioData/DC/a01.wav)"


@register_recipe("savee")
def prepare_savee(corpus_dir: Path) -> Manifest:
    """SAVEE, British English (4 male speakers, 7 emotions, 480 utterances).

    Args:
        corpus_dir: The corpus folder (holding ``AudioData``), or a flat folder of
            ``DC_a01.wav``-style files.

    Returns:
        One utterance per file, id ``savee/<speaker>_<code><NN>``, speaker ``savee/<speaker>``.

    Raises:
        ManifestError: If the folder holds no SAVEE files.
    """
    corpus_dir = check_folder(corpus_dir, corpus="SAVEE", expected=EXPECTED)
    labels = corpus_labels("savee")
    utterances = []
    for path in audio_files(corpus_dir, pattern=NAME):
        prefix, code, number = NAME.fullmatch(path.stem).groups()
        speaker = prefix or path.parent.name
        if speaker not in SPEAKERS:
            continue  # a file like a01.wav outside a speaker folder is not SAVEE's
        native = EMOTIONS[code]
        utterances.append(
            Utterance(
                id=f"savee/{speaker}_{code}{number}",
                audio=str(path),
                speaker=f"savee/{speaker}",
                gender="male",
                label=native,
                canonical=labels.canonical(native),
                corpus="savee",
                extra={"code": code, "number": int(number)},
            )
        )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="SAVEE", expected=EXPECTED)
    return Manifest(utterances)
