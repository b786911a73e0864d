"""Fake corpus trees with each corpus's real naming scheme, for tests and docs.

Each ``make_<corpus>(root, ...)`` writes a tiny corpus (short synthetic tones, or text files)
under ``root`` in the layout the corpus's authors distribute and returns ``root``.

Examples:
    >>> import tempfile
    >>> from emoscope.data.recipes import prepare
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     m = prepare("ravdess", make_ravdess(Path(tmp), actors=(1, 2), emotions=("01", "05")))
    ...     len(m), m.speakers()
    (8, ['ravdess/01', 'ravdess/02'])
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from emoscope.testing import tone, write_audio

SECONDS = 0.1
"""Length of every fake clip: enough to decode, small enough to write hundreds quickly."""


def _clip(path: Path, index: int = 0) -> Path:
    return write_audio(path, tone(SECONDS, freq=150.0 + 10 * (index % 20), seed=index))


def make_ravdess(
    root: Path,
    *,
    actors: Sequence[int] = (1, 2, 3, 4),
    emotions: Sequence[str] = ("01", "02", "03", "04", "05", "06", "07", "08"),
    statements: Sequence[str] = ("01", "02"),
    song: bool = False,
    ext: str = "wav",
) -> Path:
    """Write ``Actor_NN/03-VV-EE-01-SS-01-NN.<ext>`` files (speech, plus song when asked).

    Song files leave out disgust (07) and surprised (08), as the real corpus does.
    """
    root = Path(root)
    i = 0
    channels = ("01", "02") if song else ("01",)
    for actor in actors:
        for channel in channels:
            for emotion in emotions:
                if channel == "02" and emotion in ("07", "08"):
                    continue
                for statement in statements:
                    name = f"03-{channel}-{emotion}-01-{statement}-01-{actor:02d}.{ext}"
                    _clip(root / f"Actor_{actor:02d}" / name, i)
                    i += 1
    return root


MELD_HEADER = (
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
)
MELD_AUDIO_DIRS = {
    "train": "train/train_splits",
    "dev": "dev/dev_splits_complete",
    "test": "test/output_repeated_splits_test",
}
_MELD_ROWS = (
    ("Oh my God, you are here!", "Rachel", "surprise", "positive"),
    ("Yeah, I came back.", "Ross", "neutral", "neutral"),
    ("That is great news.", "Monica", "joy", "positive"),
    ("No, it is terrible.", "Chandler", "anger", "negative"),
    ("I am so sorry.", "Rachel", "sadness", "negative"),
    ("Ew, what is that?", "Phoebe", "disgust", "negative"),
    ("Please do not leave me.", "Joey", "fear", "negative"),
)


def make_meld(
    root: Path,
    *,
    splits: Sequence[str] = ("train", "dev"),
    dialogues: int = 3,
    audio: bool = False,
    ext: str = "wav",
) -> Path:
    """Write ``<split>_sent_emo.csv`` files; with ``audio`` also the ``MELD.Raw`` clip folders.

    Each dialogue has seven turns, one per MELD emotion, spoken by the six friends.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n = 0
    for split in splits:
        with open(root / f"{split}_sent_emo.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(MELD_HEADER)
            for dia in range(dialogues):
                for utt, (text, speaker, emotion, sentiment) in enumerate(_MELD_ROWS):
                    n += 1
                    start = f"00:01:{utt * 3:02d},100"
                    end = f"00:01:{utt * 3 + 2:02d},600"
                    writer.writerow(
                        [n, text, speaker, emotion, sentiment, dia, utt, 3, 7, start, end]
                    )
                    if audio:
                        name = f"dia{dia}_utt{utt}.{ext}"
                        _clip(root / "MELD.Raw" / MELD_AUDIO_DIRS[split] / name, n)
    return root
