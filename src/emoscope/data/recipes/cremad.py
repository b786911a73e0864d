"""CREMA-D (Cao et al. 2014): ``AudioWAV/AAAA_SSS_EEE_II.wav``, 91 actors, 12 sentences.

The name holds the actor (1001-1091), the sentence code (filled in as the transcript from the
corpus documentation), the acted emotion (ANG, DIS, FEA, HAP, NEU, SAD) and the intensity
(LO, MD, HI, XX unspecified). ``VideoDemographics.csv`` (ActorID, Age, Sex, Race, Ethnicity),
when present, gives gender and age.
"""

from __future__ import annotations

import re
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import (
    audio_files,
    check_folder,
    nothing_found,
    read_csv,
)
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError
from emoscope.types import Utterance

SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock.",
    "TIE": "That is exactly what happened.",
    "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.",
    "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.",
    "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.",
    "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.",
    "TSI": "The surface is slick.",
    "WSI": "We'll stop in a couple of minutes.",
}
INTENSITIES: dict[str, str] = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
NAME = re.compile(r"(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})")
EXPECTED = "AudioWAV/AAAA_SSS_EEE_II.<audio> files (e.g. AudioWAV/1001_DFA_ANG_XX.wav)"


def _demographics(corpus_dir: Path) -> dict[str, dict[str, str]]:
    for path in sorted(corpus_dir.rglob("VideoDemographics.csv")):
        return {row["ActorID"].strip(): row for row in read_csv(path) if row.get("ActorID")}
    return {}


@register_recipe("crema-d")
def prepare_cremad(corpus_dir: Path) -> Manifest:
    """CREMA-D acted speech (91 actors, 6 emotions, 12 fixed sentences).

    Args:
        corpus_dir: The corpus folder (holding ``AudioWAV``), or ``AudioWAV`` itself.

    Returns:
        One utterance per file, id ``crema-d/<stem>``, speaker ``crema-d/<actor>``, the acted
        emotion code as native label.

    Raises:
        ManifestError: If the folder holds no CREMA-D files.
        BadLabelError: If a name carries an unknown emotion or sentence code.
    """
    corpus_dir = check_folder(corpus_dir, corpus="CREMA-D", expected=EXPECTED)
    labels = corpus_labels("crema-d")
    demographics = _demographics(corpus_dir)
    utterances = []
    for path in audio_files(corpus_dir, pattern=NAME):
        actor, sentence, emotion, intensity = NAME.fullmatch(path.stem).groups()
        try:
            canonical = labels.canonical(emotion)
        except BadLabelError as exc:
            raise BadLabelError(f"{path}: {exc}") from None
        if sentence not in SENTENCES or intensity not in INTENSITIES:
            raise BadLabelError(
                f"{path}: unknown CREMA-D sentence or intensity code. Sentences: "
                f"{', '.join(SENTENCES)}; intensities: {', '.join(INTENSITIES)}."
            )
        demo = demographics.get(actor, {})
        sex = (demo.get("Sex") or "").strip().lower()
        extra: dict[str, object] = {"sentence": sentence, "intensity": INTENSITIES[intensity]}
        if (demo.get("Age") or "").strip().isdigit():
            extra["age"] = int(demo["Age"])
        for key in ("Race", "Ethnicity"):
            if (demo.get(key) or "").strip():
                extra[key.lower()] = demo[key].strip()
        utterances.append(
            Utterance(
                id=f"crema-d/{path.stem}",
                audio=str(path),
                speaker=f"crema-d/{actor}",
                gender=sex if sex in ("male", "female") else None,
                transcript=SENTENCES[sentence],
                label=emotion,
                canonical=canonical,
                corpus="crema-d",
                extra=extra,
            )
        )
    if not utterances:
        raise nothing_found(corpus_dir, corpus="CREMA-D", expected=EXPECTED)
    return Manifest(utterances)
