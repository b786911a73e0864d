"""EmoDB (Burkhardt et al. 2005): Berlin Database of Emotional Speech, ``wav/03a01Fa.wav``.

The name holds the speaker (03 ... 16), the text code (a01 ... b10, filled in as the German
transcript from the corpus documentation), the emotion letter (W anger, L boredom, E disgust,
A fear, F happiness, T sadness, N neutral) and a version letter. Boredom has no canonical label:
it stays native and out of canonical evaluation.
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
    "W": "anger",  # Ärger (Wut)
    "L": "boredom",  # Langeweile
    "E": "disgust",  # Ekel
    "A": "fear",  # Angst
    "F": "happiness",  # Freude
    "T": "sadness",  # Trauer
    "N": "neutral",
}
SPEAKERS: dict[str, tuple[str, int]] = {
    "03": ("male", 31),
    "08": ("female", 34),
    "09": ("female", 21),
    "10": ("male", 32),
    "11": ("male", 26),
    "12": ("male", 30),
    "13": ("female", 32),
    "14": ("female", 35),
    "15": ("male", 25),
    "16": ("female", 31),
}
TEXTS: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
NAME = re.compile(r"(\d\d)([ab]\d\d)([A-Z])([a-z])")
EXPECTED = "wav/SSTTTEV.<audio> files (e.g. wav/03a01Fa.wav)"


@register_recipe("emodb")
def prepare_emodb(corpus_dir: Path) -> Manifest:
    """EmoDB, German acted speech (10 speakers, 7 emotions, 10 fixed sentences).

    Args:
        corpus_dir: The corpus folder (holding ``wav``), or ``wav`` itself.

    Returns:
        One utterance per file, id ``emodb/<stem>``, speaker ``emodb/<NN>``, native label the
        English emotion name (``extra["code"]`` keeps the letter).

    Raises:
        ManifestError: If the folder holds no EmoDB files.
        BadLabelError: If a name carries an unknown emotion letter.
    """
    corpus_dir = check_folder(corpus_dir, corpus="EmoDB", expected=EXPECTED)
    labels = corpus_labels("emodb")
    utterances = []
    for path in audio_files(corpus_dir, pattern=NAME):
        speaker, text, letter, version = NAME.fullmatch(path.stem).groups()
        if letter not in EMOTIONS:
            raise BadLabelError(
                f"{path}: EmoDB emotion letter {letter!r} is not one of "
                f"{', '.join(f'{k} ({v})' for k, v in EMOTIONS.items())}."
            )
        native = EMOTIONS[letter]
        gender, age = SPEAKERS.get(speaker, (None, None))
        extra: dict[str, object] = {"code": letter, "text_code": text, "version": version}
        if age is not None:
            extra["age"] = age
        utterances.append(
            Utterance(
                id=f"emodb/{path.stem}",
                audio=str(path),
                speaker=f"emodb/{speaker}",
                gender=gender,
                transcript=TEXTS.get(text),
                label=native,
                canonical=labels.canonical(native),
                corpus="emodb",
                extra={**extra, "language": "de"},
            )
        )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="EmoDB", expected=EXPECTED)
    return Manifest(utterances)
