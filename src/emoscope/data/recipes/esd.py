"""ESD (Zhou et al. 2021): Emotional Speech Dataset, ``<speaker>/<Emotion>/<speaker>_<NNNNNN>.wav``.

Ten Mandarin (0001-0010) and ten English (0011-0020) speakers, each reading 350 parallel
sentences in five emotions (Neutral, Happy, Angry, Sad, Surprise). Transcripts come from each
speaker's ``<speaker>.txt`` (``id<TAB>text<TAB>emotion``). The official split is taken from
``train``/``evaluation``/``test`` sub-folders when present (release 1); otherwise from the
position within the emotion's 350 sentences, as documented: 1-20 evaluation, 21-50 test,
51-350 train.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import audio_files, check_folder, nothing_found, read_text
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError, UsageError
from emoscope.types import Utterance

NAME = re.compile(r"(00[0-2]\d)_(\d{6})")
SPLIT_FOLDERS = {"train": "train", "evaluation": "dev", "test": "test"}
LANGUAGES = ("en", "zh")
EXPECTED = "<speaker>/<Emotion>/<speaker>_<NNNNNN>.<audio> files (e.g. 0011/Angry/0011_000351.wav)"


def language_of(speaker: str) -> str:
    """Return ``"zh"`` for speakers 0001-0010 and ``"en"`` for 0011-0020.

    Examples:
        >>> language_of("0003"), language_of("0015")
        ('zh', 'en')
    """
    return "zh" if int(speaker) <= 10 else "en"


def _official_split(number: int) -> str:
    position = (number - 1) % 350 + 1
    return "dev" if position <= 20 else "test" if position <= 50 else "train"


def _transcripts(corpus_dir: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(corpus_dir.rglob("00[0-2][0-9].txt")):
        for line in read_text(path).splitlines():
            parts = line.strip().split("\t")
            if len(parts) >= 2 and NAME.fullmatch(parts[0].strip()):
                texts[parts[0].strip()] = parts[1].strip()
    return texts


@register_recipe("esd")
def prepare_esd(corpus_dir: Path, *, languages: tuple[str, ...] = LANGUAGES) -> Manifest:
    """ESD, parallel English and Mandarin emotional speech (20 speakers, 5 emotions).

    Args:
        corpus_dir: The folder holding the speaker folders ``0001`` ... ``0020``.
        languages: Which to keep: ``"en"``, ``"zh"`` or both.

    Returns:
        One utterance per file, id ``esd/<stem>``, speaker ``esd/<NNNN>``, split train/dev/test,
        ``extra["language"]``.

    Raises:
        ManifestError: If the folder holds no ESD files.
        UsageError: If ``languages`` names another language.
        BadLabelError: If an emotion folder is not one of ESD's five.
    """
    if isinstance(languages, str):
        languages = tuple(x.strip() for x in languages.split(","))
    if not languages or set(languages) - set(LANGUAGES):
        raise UsageError(f"ESD languages must be among en, zh. Got {', '.join(languages)}.")
    corpus_dir = check_folder(corpus_dir, corpus="ESD", expected=EXPECTED)
    labels = corpus_labels("esd")
    texts = _transcripts(corpus_dir)
    utterances = []
    for path in audio_files(corpus_dir, pattern=NAME):
        speaker, number = NAME.fullmatch(path.stem).groups()
        if language_of(speaker) not in languages:
            continue
        parent = path.parent.name.lower()
        emotion_dir = path.parent.parent if parent in SPLIT_FOLDERS else path.parent
        native = emotion_dir.name.capitalize()
        if native not in labels.mapping:
            raise BadLabelError(
                f"{path}: ESD emotion folder {emotion_dir.name!r} is not one of "
                f"{', '.join(labels.native)}."
            )
        split = SPLIT_FOLDERS.get(parent) or _official_split(int(number))
        utterances.append(
            Utterance(
                id=f"esd/{path.stem}",
                audio=str(path),
                speaker=f"esd/{speaker}",
                transcript=texts.get(path.stem),
                label=native,
                canonical=labels.canonical(native),
                corpus="esd",
                split=split,
                extra={"language": language_of(speaker)},
            )
        )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="ESD", expected=EXPECTED)
    return Manifest(utterances)
