"""MSP-Podcast (Lotfian & Busso 2019): ``Labels/labels_consensus.csv``, ``Audios``, ``Transcripts``.

The consensus file lists each segment (FileName), its primary emotion class (EmoClass: A angry,
S sad, H happy, U surprise, F fear, D disgust, C contempt, N neutral, O other, X no agreement),
arousal/valence/dominance (1-7), speaker (SpkrID, ``Unknown`` for some), gender and the official
partition (Split_Set: Train, Development, Test1, Test2, ...). Contempt, other and no-agreement
have no canonical label.
"""

from __future__ import annotations

import logging
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import (
    AUDIO_EXTENSIONS,
    check_folder,
    nothing_found,
    read_csv,
    read_text,
    require_columns,
)
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError
from emoscope.types import Utterance

log = logging.getLogger(__name__)

COLUMNS = ("FileName", "EmoClass", "SpkrID", "Gender", "Split_Set")
SPLITS = {"train": "train", "development": "dev"}
EXPECTED = "Labels/labels_consensus.csv (and Audios/, Transcripts/)"


def _split_name(value: str) -> str:
    """Map MSP-Podcast's Split_Set to train/dev/test1/test2/...

    Examples:
        >>> _split_name("Development"), _split_name("Test1")
        ('dev', 'test1')
    """
    v = value.strip().lower()
    return SPLITS.get(v, v)


def _index(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        p.stem: p
        for p in folder.rglob("*")
        if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
    }


def _dimension(row: dict[str, str], key: str) -> float | None:
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        return None


@register_recipe("msp-podcast")
def prepare_msp_podcast(corpus_dir: Path) -> Manifest:
    """MSP-Podcast, natural podcast speech (primary emotion, dimensions, official partitions).

    Args:
        corpus_dir: The release folder holding ``Labels/labels_consensus.csv``.

    Returns:
        One utterance per labelled segment, id ``msp-podcast/<stem>``, speaker
        ``msp-podcast/<SpkrID>`` (``None`` when unknown), split from Split_Set, and
        ``extra`` arousal, valence, dominance.

    Raises:
        ManifestError: If the consensus file is missing or lacks a column.
        BadLabelError: If an EmoClass value is unknown.
    """
    corpus_dir = check_folder(corpus_dir, corpus="MSP-Podcast", expected=EXPECTED)
    candidates = sorted(corpus_dir.rglob("labels_consensus.csv"), key=lambda p: len(p.parts))
    if not candidates:
        raise nothing_found(corpus_dir, corpus="MSP-Podcast", expected=EXPECTED)
    csv_path = candidates[0]
    root = csv_path.parent.parent
    rows = read_csv(csv_path)
    require_columns(csv_path, rows, COLUMNS)
    audio = _index(root / "Audios") or _index(root / "Audio")
    labels = corpus_labels("msp-podcast")
    utterances = []
    missing = 0
    for lineno, row in enumerate(rows, 2):
        stem = Path(row["FileName"].strip()).stem
        native = row["EmoClass"].strip()
        try:
            canonical = labels.canonical(native)
        except BadLabelError as exc:
            raise BadLabelError(f"{csv_path}, line {lineno}: {exc}") from None
        speaker = row["SpkrID"].strip()
        gender = row["Gender"].strip().lower()
        transcript_path = root / "Transcripts" / f"{stem}.txt"
        transcript = (
            " ".join(read_text(transcript_path).split()) if transcript_path.is_file() else None
        )
        clip = audio.get(stem)
        missing += clip is None
        extra = {
            k: v
            for k, v in (
                ("arousal", _dimension(row, "EmoAct")),
                ("valence", _dimension(row, "EmoVal")),
                ("dominance", _dimension(row, "EmoDom")),
            )
            if v is not None
        }
        utterances.append(
            Utterance(
                id=f"msp-podcast/{stem}",
                audio=str(clip) if clip else None,
                speaker=None if speaker.lower() in ("", "unknown") else f"msp-podcast/{speaker}",
                gender=gender if gender in ("male", "female") else None,
                transcript=transcript or None,
                label=native,
                canonical=canonical,
                corpus="msp-podcast",
                split=_split_name(row["Split_Set"]),
                extra=extra,
            )
        )
    if missing:
        log.warning("MSP-Podcast: %d of %d segments have no audio file", missing, len(rows))
    if not utterances:
        raise nothing_found(corpus_dir, corpus="MSP-Podcast", expected=EXPECTED)
    return Manifest(utterances)
