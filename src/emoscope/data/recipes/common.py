"""What recipes share: audio extensions, folder checks, file listing and CSV reading."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from pathlib import Path

from emoscope.errors import ManifestError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".wav",
        ".flac",
        ".mp3",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".aac",
        ".wma",
        ".aif",
        ".aiff",
        ".webm",
        ".sph",
    }
)
"""Extensions recipes accept as audio (users often convert corpora, e.g. WAV to FLAC)."""

MEDIA_EXTENSIONS: frozenset[str] = AUDIO_EXTENSIONS | {".mp4", ".mkv", ".avi", ".mov"}
"""Audio plus video containers whose sound track can be decoded (MELD ships MP4)."""


def is_audio(path: Path, *, extensions: frozenset[str] = AUDIO_EXTENSIONS) -> bool:
    """Whether ``path`` is a regular file with an audio extension (hidden files excluded)."""
    return path.suffix.lower() in extensions and not path.name.startswith(".") and path.is_file()


def check_folder(corpus_dir: Path, *, corpus: str, expected: str) -> Path:
    """Return ``corpus_dir`` resolved, or raise naming what the recipe expected there.

    Raises:
        ManifestError: If the folder does not exist.
    """
    corpus_dir = Path(corpus_dir).expanduser()
    if not corpus_dir.is_dir():
        raise ManifestError(
            f"{corpus_dir}: no such folder. The {corpus} recipe expects the corpus folder "
            f"holding {expected}."
        )
    return corpus_dir.resolve()


def nothing_found(corpus_dir: Path, *, corpus: str, expected: str) -> ManifestError:
    """Return the error for a folder that holds none of the corpus's files."""
    return ManifestError(
        f"{corpus_dir}: found no {corpus} files. Expected {expected}. "
        "Point the recipe at the folder the corpus was unpacked into."
    )


def audio_files(
    root: Path, *, pattern: re.Pattern[str] | None = None, extensions=AUDIO_EXTENSIONS
) -> Iterator[Path]:
    """Yield audio files under ``root`` (recursively, sorted) whose stem matches ``pattern``.

    Audio files whose stem does not match are logged and skipped.
    """
    skipped = 0
    for path in sorted(root.rglob("*")):
        if not is_audio(path, extensions=extensions):
            continue
        if pattern is not None and not pattern.fullmatch(path.stem):
            skipped += 1
            log.debug("skipping %s: its name does not follow the corpus's scheme", path)
            continue
        yield path
    if skipped:
        log.warning("%s: skipped %d audio files not named by the corpus's scheme", root, skipped)


def read_csv(path: Path, **kwargs) -> list[dict[str, str]]:
    """Read a CSV with a header into dicts (UTF-8 with BOM tolerance, then Windows-1252).

    Raises:
        ManifestError: If the file cannot be read as CSV.
    """
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with open(path, encoding=encoding, newline="") as fh:
                return list(csv.DictReader(fh, **kwargs))
        except UnicodeDecodeError:
            continue
        except csv.Error as exc:
            raise ManifestError(f"{path}: not a readable CSV file ({exc}).") from None
    raise ManifestError(f"{path}: neither UTF-8 nor Windows-1252 text. Re-save it as UTF-8.")


def read_text(path: Path) -> str:
    """Read a text file as UTF-8, falling back to GB18030 and then Latin-1."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def require_columns(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> None:
    """Raise :class:`ManifestError` naming the columns a CSV lacks.

    Raises:
        ManifestError: If a column is missing.
    """
    have = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in have]
    if missing:
        raise ManifestError(
            f"{path}: missing the column(s) {', '.join(missing)}. "
            f"Expected {', '.join(columns)}; found {', '.join(sorted(have)) or 'no header'}."
        )
