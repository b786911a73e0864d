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


def make_cremad(
    root: Path,
    *,
    actors: Sequence[int] = (1001, 1002, 1003),
    sentences: Sequence[str] = ("DFA", "IEO"),
    emotions: Sequence[str] = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"),
    demographics: bool = True,
) -> Path:
    """Write ``AudioWAV/AAAA_SSS_EEE_II.wav`` (and ``VideoDemographics.csv``)."""
    root = Path(root)
    i = 0
    for actor in actors:
        for sentence in sentences:
            for emotion in emotions:
                level = "XX" if sentence != "IEO" else ("HI" if emotion != "NEU" else "XX")
                _clip(root / "AudioWAV" / f"{actor}_{sentence}_{emotion}_{level}.wav", i)
                i += 1
    if demographics:
        with open(root / "VideoDemographics.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
            for n, actor in enumerate(actors):
                sex = "Male" if n % 2 == 0 else "Female"
                writer.writerow([actor, 30 + n, sex, "Caucasian", "Not Hispanic"])
    return root


def make_emodb(
    root: Path,
    *,
    speakers: Sequence[str] = ("03", "08", "09"),
    texts: Sequence[str] = ("a01", "b10"),
    letters: str = "WLEAFTN",
) -> Path:
    """Write ``wav/SSTTTEV.wav`` files (speaker, text code, emotion letter, version ``a``)."""
    root = Path(root)
    i = 0
    for speaker in speakers:
        for text in texts:
            for letter in letters:
                _clip(root / "wav" / f"{speaker}{text}{letter}a.wav", i)
                i += 1
    return root


TESS_FOLDERS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "Fear",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "pleasant_surprised",
    "sad": "Sad",
}


def make_tess(
    root: Path,
    *,
    words: Sequence[str] = ("back", "youth"),
    speakers: Sequence[str] = ("OAF", "YAF"),
) -> Path:
    """Write ``<SPK>_<emotion folder>/<SPK>_<word>_<emotion>.wav`` as TESS names them."""
    root = Path(root)
    i = 0
    for speaker in speakers:
        for emotion, folder in TESS_FOLDERS.items():
            for word in words:
                _clip(root / f"{speaker}_{folder}" / f"{speaker}_{word}_{emotion}.wav", i)
                i += 1
    return root


def make_savee(root: Path, *, speakers: Sequence[str] = ("DC", "JE"), flat: bool = False) -> Path:
    """Write ``AudioData/<SPK>/<code><NN>.wav`` (or flat ``<SPK>_<code><NN>.wav``), 2 per code."""
    root = Path(root)
    i = 0
    for speaker in speakers:
        for code in ("a", "d", "f", "h", "n", "sa", "su"):
            for number in (1, 2):
                name = f"{code}{number:02d}.wav"
                path = root / f"{speaker}_{name}" if flat else root / "AudioData" / speaker / name
                _clip(path, i)
                i += 1
    return root


ESD_EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")


def make_esd(
    root: Path,
    *,
    speakers: Sequence[str] = ("0001", "0002", "0011", "0012"),
    per_emotion: Sequence[int] = (1, 21, 51),
    split_folders: bool = False,
) -> Path:
    """Write ``<SPK>/<Emotion>/<SPK>_<NNNNNN>.wav`` and ``<SPK>/<SPK>.txt`` transcripts.

    ``per_emotion`` are positions within each emotion's 350 sentences (1-20 evaluation, 21-50
    test, 51-350 train); ``split_folders`` writes the release-1 ``train/evaluation/test`` level.
    """
    root = Path(root)
    i = 0
    for speaker in speakers:
        lines = []
        for e, emotion in enumerate(ESD_EMOTIONS):
            for position in per_emotion:
                number = e * 350 + position
                stem = f"{speaker}_{number:06d}"
                folder = root / speaker / emotion
                if split_folders:
                    split = (
                        "evaluation" if position <= 20 else "test" if position <= 50 else "train"
                    )
                    folder = folder / split
                _clip(folder / f"{stem}.wav", i)
                i += 1
                text = (
                    f"Sentence number {position}." if int(speaker) > 10 else f"第{position}句话。"
                )
                lines.append(f"{stem}\t{text}\t{emotion}")
        encoding = "utf-8" if int(speaker) > 10 else "gb18030"
        (root / speaker / f"{speaker}.txt").write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return root


IEMOCAP_TURNS = (
    ("F", "neu", "Excuse me."),
    ("M", "hap", "Do you have your forms?"),
    ("F", "exc", "Yes! I got them!"),
    ("M", "sad", "I lost mine."),
    ("F", "ang", "That is not fair."),
    ("M", "fru", "This line is so long."),
    ("F", "xxx", "Whatever."),
    ("M", "sur", "Oh, really?"),
)


def make_iemocap(
    root: Path, *, sessions: Sequence[int] = (1, 2), sentences_audio: bool = True
) -> Path:
    """Write ``IEMOCAP_full_release/SessionN`` with one improvised and one scripted dialogue.

    Each dialogue has the eight turns of :data:`IEMOCAP_TURNS`, an EmoEvaluation file, a
    transcription, and either per-turn audio (``sentences/wav``) or one dialogue file
    (``dialog/wav``).
    """
    root = Path(root) / "IEMOCAP_full_release"
    i = 0
    for s in sessions:
        session = root / f"Session{s}"
        for dialog in (f"Ses{s:02d}F_impro01", f"Ses{s:02d}M_script01_1"):
            evaluation = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            transcript = []
            counts = {"F": 0, "M": 0}
            t = 1.0
            for who, label, text in IEMOCAP_TURNS:
                turn = f"{dialog}_{who}{counts[who]:03d}"
                counts[who] += 1
                evaluation += [
                    f"[{t:.4f} - {t + 0.1:.4f}]\t{turn}\t{label}\t[2.5000, 3.0000, 3.5000]",
                    f"C-E1:\t{label};\t()",
                    "",
                ]
                transcript.append(f"{turn} [{t:08.4f}-{t + 0.1:08.4f}]: {text}")
                if sentences_audio:
                    _clip(session / "sentences" / "wav" / dialog / f"{turn}.wav", i)
                i += 1
                t += 0.2
            for sub, content in (("EmoEvaluation", evaluation), ("transcriptions", transcript)):
                path = session / "dialog" / sub / f"{dialog}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(content) + "\n", encoding="utf-8")
            if not sentences_audio:
                write_audio(session / "dialog" / "wav" / f"{dialog}.wav", tone(t + 0.5, seed=s))
    return root


MSP_CLASSES = ("A", "S", "H", "U", "F", "D", "C", "N", "O", "X")


def make_msp_podcast(root: Path, *, speakers: int = 3, transcripts: bool = True) -> Path:
    """Write ``Labels/labels_consensus.csv``, ``Audios/`` and ``Transcripts/``.

    One segment per emotion class per speaker; the last speaker is ``Unknown``; speakers are
    split Train / Development / Test1 in turn.
    """
    root = Path(root)
    (root / "Labels").mkdir(parents=True, exist_ok=True)
    splits = ("Train", "Development", "Test1")
    i = 0
    with open(root / "Labels" / "labels_consensus.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"]
        )
        for spk in range(speakers):
            speaker_id = "Unknown" if spk == speakers - 1 else str(100 + spk)
            gender = "Unknown" if speaker_id == "Unknown" else ("Male", "Female")[spk % 2]
            for c in MSP_CLASSES:
                name = f"MSP-PODCAST_{spk + 1:04d}_{i:04d}.wav"
                writer.writerow([name, c, 4.2, 3.0, 5.0, speaker_id, gender, splits[spk % 3]])
                _clip(root / "Audios" / name, i)
                if transcripts:
                    (root / "Transcripts").mkdir(exist_ok=True)
                    (root / "Transcripts" / f"{Path(name).stem}.txt").write_text(
                        f"segment {i} words\n"
                    )
                i += 1
    return root
