"""A recipe for any corpus: a folder of ``<label>/`` sub-folders, or a CSV with label columns.

- Folder: ``corpus_dir/<label>/.../<file>.<audio>``; the first folder level is the label, and
  ``speaker_level=2`` reads ``corpus_dir/<label>/<speaker>/...`` (or ``speaker_from`` a regex
  over the file stem, e.g. ``"^([0-9]+)_"``).
- CSV: one row per utterance with an audio column (path relative to the CSV, or absolute) and a
  label column; optional speaker, gender, transcript, split, start, end columns.

Canonical labels come from ``label_map`` (native -> canonical or null), else from common
spellings (``joy`` -> happy, ``anger`` -> angry, ...); other labels stay native only.
``labels`` closes the native label set: any other value raises an error listing the allowed ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from emoscope.data.labels import canonical_synonym
from emoscope.data.manifest import Manifest
from emoscope.data.recipes.common import (
    audio_files,
    nothing_found,
    read_csv,
    require_columns,
)
from emoscope.data.recipes.registry import register_recipe
from emoscope.errors import BadLabelError, ManifestError, UsageError
from emoscope.labels import CANONICAL
from emoscope.types import Utterance

EXPECTED = "<label>/<file>.<audio> sub-folders, or a CSV file with audio and label columns"
OPTIONAL_COLUMNS = ("gender", "transcript", "split", "session")


def _canonical(native: str, label_map: Mapping[str, str | None] | None) -> str | None:
    if label_map is not None and native in label_map:
        return label_map[native]
    return canonical_synonym(native)


def _check_labels(values: set[str], labels: Sequence[str] | None, where: Path) -> None:
    if labels is None:
        return
    bad = sorted(values - set(labels))
    if bad:
        raise BadLabelError(
            f"{where}: label(s) {', '.join(repr(b) for b in bad)} are not among the allowed "
            f"labels {', '.join(labels)}. Fix the data or widen `labels`."
        )


@register_recipe("generic")
def prepare_generic(
    corpus_dir: Path,
    *,
    corpus: str = "generic",
    labels: Sequence[str] | None = None,
    label_map: Mapping[str, str | None] | None = None,
    speaker_level: int | None = None,
    speaker_from: str | None = None,
    audio_column: str = "path",
    label_column: str = "label",
    speaker_column: str = "speaker",
) -> Manifest:
    """Any corpus: a folder of label sub-folders, or a CSV with audio and label columns.

    Args:
        corpus_dir: The folder, or the CSV file.
        corpus: The corpus name used in ids and ``Utterance.corpus``.
        labels: The closed set of native labels (default: whatever is found).
        label_map: Native -> canonical label (or ``None`` to keep a label out of canonical
            evaluation); labels not in it fall back to common spellings.
        speaker_level: Folder layout: the path level that names the speaker (2 =
            ``<label>/<speaker>/file``).
        speaker_from: Folder layout: a regex whose first group, searched in the file stem,
            is the speaker.
        audio_column: CSV: the column with audio paths.
        label_column: CSV: the column with labels.
        speaker_column: CSV: the column with speakers (optional in the file).

    Returns:
        One utterance per file or row, id ``<corpus>/<relative path without extension>`` (folder)
        or ``<corpus>/<row id or path>`` (CSV).

    Raises:
        ManifestError: If nothing usable is found, or a CSV column or audio file is missing.
        BadLabelError: If a label is outside ``labels`` or a ``label_map`` value is not canonical.
    """
    if label_map is not None:
        CANONICAL.check(v for v in label_map.values() if v is not None)
    path = Path(corpus_dir).expanduser()
    if path.is_file():
        return _from_csv(
            path, corpus, labels, label_map, audio_column, label_column, speaker_column
        )
    if not path.is_dir():
        raise ManifestError(
            f"{path}: no such folder or file. The generic recipe expects {EXPECTED}."
        )
    return _from_folder(path.resolve(), corpus, labels, label_map, speaker_level, speaker_from)


def _from_folder(
    root: Path,
    corpus: str,
    labels: Sequence[str] | None,
    label_map: Mapping[str, str | None] | None,
    speaker_level: int | None,
    speaker_from: str | None,
) -> Manifest:
    if speaker_level is not None and speaker_level < 2:
        raise UsageError(
            f"speaker_level must be 2 or more (level 1 is the label). Got {speaker_level}."
        )
    pattern = re.compile(speaker_from) if speaker_from else None
    files = [p for p in audio_files(root) if len(p.relative_to(root).parts) >= 2]
    if not files:
        raise nothing_found(root, corpus=corpus, expected=EXPECTED)
    _check_labels({p.relative_to(root).parts[0] for p in files}, labels, root)
    utterances = []
    for p in files:
        rel = p.relative_to(root)
        native = rel.parts[0]
        speaker = None
        if speaker_level is not None and len(rel.parts) > speaker_level:
            speaker = rel.parts[speaker_level - 1]
        elif pattern is not None:
            m = pattern.search(p.stem)
            speaker = m.group(1) if m and m.groups() else None
        utterances.append(
            Utterance(
                id=f"{corpus}/{rel.with_suffix('').as_posix()}",
                audio=str(p),
                speaker=f"{corpus}/{speaker}" if speaker else None,
                label=native,
                canonical=_canonical(native, label_map),
                corpus=corpus,
            )
        )
    return Manifest(utterances)


def _from_csv(
    path: Path,
    corpus: str,
    labels: Sequence[str] | None,
    label_map: Mapping[str, str | None] | None,
    audio_column: str,
    label_column: str,
    speaker_column: str,
) -> Manifest:
    rows = read_csv(path)
    if not rows:
        raise ManifestError(f"{path}: the CSV has no rows. Expected {EXPECTED}.")
    require_columns(path, rows, (audio_column, label_column))
    _check_labels({r[label_column].strip() for r in rows}, labels, path)
    utterances = []
    for lineno, row in enumerate(rows, 2):
        raw = row[audio_column].strip()
        if not raw:
            raise ManifestError(f"{path}, line {lineno}: the {audio_column!r} value is empty.")
        audio = Path(raw).expanduser()
        audio = audio if audio.is_absolute() else (path.parent / audio)
        if not audio.is_file():
            raise ManifestError(f"{path}, line {lineno}: audio file {audio} does not exist.")
        native = row[label_column].strip()
        speaker = (row.get(speaker_column) or "").strip()
        fields = {k: (row.get(k) or "").strip() or None for k in OPTIONAL_COLUMNS}
        times = {}
        for key in ("start", "end"):
            if (row.get(key) or "").strip():
                try:
                    times[key] = float(row[key])
                except ValueError:
                    raise ManifestError(
                        f"{path}, line {lineno}: {key} must be seconds. Got {row[key]!r}."
                    ) from None
        row_id = (row.get("id") or "").strip() or Path(raw).with_suffix("").as_posix()
        utterances.append(
            Utterance(
                id=f"{corpus}/{row_id}",
                audio=str(audio.resolve()),
                speaker=f"{corpus}/{speaker}" if speaker else None,
                label=native,
                canonical=_canonical(native, label_map),
                corpus=corpus,
                **fields,
                **times,
            )
        )
    return Manifest(utterances)
