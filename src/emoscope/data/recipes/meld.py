"""MELD (Poria et al. 2019): Friends dialogues, ``{train,dev,test}_sent_emo.csv``.

Whichever of the three CSVs are present are read (searched under the folder, so the repository
layout ``data/MELD/`` and a flat folder both work). Audio comes from the ``MELD.Raw`` layout when
present (``train/train_splits/dia0_utt0.mp4``, ``dev/dev_splits_complete/...``,
``test/output_repeated_splits_test/...``, or the same names converted to any audio format);
without it the manifest is text-only. Each utterance's ``context`` holds the text of the
preceding turns of its dialogue.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path

from emoscope.data.labels import corpus_labels
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import (
    MEDIA_EXTENSIONS,
    audio_files,
    check_folder,
    nothing_found,
    read_csv,
    require_columns,
)
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError, ManifestError, UsageError
from emoscope.types import Utterance

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
CLIP = re.compile(r"dia(\d+)_utt(\d+)")
EXPECTED = "train_sent_emo.csv, dev_sent_emo.csv and/or test_sent_emo.csv (and optionally MELD.Raw)"


def _find_csvs(corpus_dir: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    candidates = sorted(corpus_dir.rglob("*_sent_emo.csv"), key=lambda p: (len(p.parts), p))
    for split in SPLITS:
        for path in candidates:
            if path.name == f"{split}_sent_emo.csv" and not path.name.startswith("."):
                found[split] = path
                break
    return found


def _split_of(path: Path, root: Path) -> str | None:
    for part in path.relative_to(root).parts[:-1]:
        low = part.lower()
        for split in ("train", "dev"):
            if low.startswith(split):
                return split
        if "test" in low:
            return "test"
    return None


def _find_audio(corpus_dir: Path) -> dict[tuple[str, int, int], Path]:
    index: dict[tuple[str, int, int], Path] = {}
    for path in audio_files(corpus_dir, pattern=CLIP, extensions=MEDIA_EXTENSIONS):
        split = _split_of(path, corpus_dir)
        if split is None:
            continue
        dia, utt = CLIP.fullmatch(path.stem).groups()
        key = (split, int(dia), int(utt))
        # prefer converted audio over the MP4 video when both are there
        if key not in index or index[key].suffix.lower() == ".mp4":
            index[key] = path
    return index


def _seconds(stamp: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+):(\d+):(\d+)[,.](\d+)\s*", stamp or "")
    if not m:
        return None
    h, mi, s, ms = m.groups()
    return int(h) * 3600 + int(mi) * 60 + int(s) + int(ms) / 10 ** len(ms)


@register_recipe("meld")
def prepare_meld(
    corpus_dir: Path,
    *,
    context_turns: int = 3,
    require_audio: bool = False,
) -> Manifest:
    """MELD dialogues from Friends (7 emotions, official train/dev/test splits).

    Args:
        corpus_dir: The folder holding the ``*_sent_emo.csv`` files (and ``MELD.Raw`` if any).
        context_turns: How many preceding turns of the dialogue go into ``context``.
        require_audio: Drop utterances without an audio clip (default: keep them text-only).

    Returns:
        One utterance per CSV row, id ``meld/<split>/dia<D>_utt<U>``, speaker ``meld/<name>``,
        session ``meld/<split>/dia<D>``, split from the CSV file.

    Raises:
        ManifestError: If no CSV is found, a column is missing, or ``require_audio`` leaves none.
        BadLabelError: If an Emotion value is not one of MELD's seven.
    """
    if context_turns < 0:
        raise UsageError(f"MELD context_turns must be 0 or more. Got {context_turns}.")
    corpus_dir = check_folder(corpus_dir, corpus="MELD", expected=EXPECTED)
    csvs = _find_csvs(corpus_dir)
    if not csvs:
        raise nothing_found(corpus_dir, corpus="MELD", expected=EXPECTED)
    labels = corpus_labels("meld")
    audio = _find_audio(corpus_dir)
    utterances = []
    missing_audio = 0
    for split, csv_path in csvs.items():
        rows = read_csv(csv_path)
        require_columns(csv_path, rows, COLUMNS)
        history: dict[str, list[str]] = defaultdict(list)
        for lineno, row in enumerate(rows, 2):
            try:
                dia, utt = int(row["Dialogue_ID"]), int(row["Utterance_ID"])
            except ValueError:
                raise ManifestError(
                    f"{csv_path}, line {lineno}: Dialogue_ID and Utterance_ID must be integers. "
                    f"Got {row['Dialogue_ID']!r}, {row['Utterance_ID']!r}."
                ) from None
            native = row["Emotion"].strip().lower()
            try:
                canonical = labels.canonical(native)
            except BadLabelError as exc:
                raise BadLabelError(f"{csv_path}, line {lineno}: {exc}") from None
            text = " ".join(row["Utterance"].split())
            session = f"meld/{split}/dia{dia}"
            clip = audio.get((split, dia, utt))
            if clip is None:
                missing_audio += 1
                if require_audio:
                    history[session].append(text)
                    continue
            extra: dict[str, object] = {
                "dialogue": dia,
                "turn": utt,
                "sentiment": row.get("Sentiment", "").strip() or None,
            }
            for key in ("Season", "Episode"):
                if (row.get(key) or "").strip().isdigit():
                    extra[key.lower()] = int(row[key])
            start, end = _seconds(row.get("StartTime", "")), _seconds(row.get("EndTime", ""))
            if start is not None and end is not None and end > start:
                extra["episode_start"] = start
                extra["duration"] = round(end - start, 3)
            context = tuple(history[session][-context_turns:]) if context_turns else ()
            history[session].append(text)
            utterances.append(
                Utterance(
                    id=f"meld/{split}/dia{dia}_utt{utt}",
                    audio=str(clip) if clip is not None else None,
                    speaker=f"meld/{row['Speaker'].strip()}",
                    session=session,
                    transcript=text,
                    context=context,
                    label=native,
                    canonical=canonical,
                    corpus="meld",
                    split=split,
                    extra=extra,
                )
            )
    if audio and missing_audio:
        log.warning("MELD: %d utterances have no audio clip in %s", missing_audio, corpus_dir)
    if not utterances:
        raise ManifestError(
            f"{corpus_dir}: no MELD utterance has audio, and require_audio=True. Expected the "
            "MELD.Raw clips (train/train_splits/dia0_utt0.mp4, ...) under the folder."
        )
    return Manifest(utterances)
