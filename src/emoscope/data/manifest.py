"""Manifest: an ordered list of :class:`~emoscope.types.Utterance` with JSONL/CSV read/write.

Examples:
    >>> from emoscope.types import Utterance
    >>> m = Manifest([Utterance(id="a", speaker="s1"), Utterance(id="b", speaker="s2")])
    >>> len(m), m.speakers()
    (2, ['s1', 's2'])
    >>> m.filter(lambda u: u.speaker == "s2").ids()
    ['b']
    >>> m = Manifest([Utterance(id="x", label="boredom"), Utterance(id="y", label="anger",
    ...     canonical="angry")])
    >>> m.canonical_subset().ids(), dict(m.unmapped_counts())
    (['y'], {'boredom': 1})
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from emoscope.errors import ManifestError
from emoscope.types import Utterance

CSV_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Utterance) if f.name not in ("waveform", "extra")
)
"""The fixed CSV columns, in order; ``extra`` fields follow as their own columns."""

_FLOAT_FIELDS = ("start", "end")
_INT_FIELDS = ("fold",)


class Manifest:
    """An ordered list of utterances with unique ids."""

    def __init__(self, utterances: Iterable[Utterance] = ()) -> None:
        self.utterances: list[Utterance] = list(utterances)
        seen: set[str] = set()
        dupes = sorted({u.id for u in self.utterances if u.id in seen or seen.add(u.id)})
        if dupes:
            raise ManifestError(
                f"Utterance ids in a manifest must be unique. Repeated: {dupes[:5]}"
                + (f" and {len(dupes) - 5} more." if len(dupes) > 5 else ".")
            )

    def __len__(self) -> int:
        return len(self.utterances)

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    def __getitem__(self, index: int) -> Utterance:
        return self.utterances[index]

    def __repr__(self) -> str:
        corpora = sorted({u.corpus for u in self.utterances if u.corpus})
        return f"Manifest({len(self)} utterances, corpora={corpora})"

    def __add__(self, other: Manifest) -> Manifest:
        return Manifest([*self.utterances, *other.utterances])

    def ids(self) -> list[str]:
        """Return the utterance ids in order."""
        return [u.id for u in self.utterances]

    def speakers(self) -> list[str]:
        """Return the distinct speakers, sorted (utterances without a speaker are left out)."""
        return sorted({u.speaker for u in self.utterances if u.speaker is not None})

    def filter(self, predicate: Callable[[Utterance], bool]) -> Manifest:
        """Return a manifest of the utterances for which ``predicate`` is true."""
        return Manifest(u for u in self.utterances if predicate(u))

    def map(self, func: Callable[[Utterance], Utterance]) -> Manifest:
        """Return a manifest of ``func(u)`` for every utterance (e.g. ``u.with_(fold=0)``)."""
        return Manifest(func(u) for u in self.utterances)

    def by_id(self, utterance_id: str) -> Utterance:
        """Return the utterance with id ``utterance_id``.

        Raises:
            KeyError: If there is none.
        """
        for u in self.utterances:
            if u.id == utterance_id:
                return u
        raise KeyError(f"No utterance with id {utterance_id!r} in this manifest.")

    def label_counts(self, *, canonical: bool = False) -> Counter[str]:
        """Count native labels (or canonical ones), leaving out utterances without one."""
        key = "canonical" if canonical else "label"
        return Counter(getattr(u, key) for u in self.utterances if getattr(u, key) is not None)

    def canonical_subset(self) -> Manifest:
        """Return the utterances that have a canonical label (for canonical evaluation)."""
        return self.filter(lambda u: u.canonical is not None)

    def unmapped_counts(self) -> Counter[str]:
        """Count the native labels of utterances left out of canonical evaluation.

        Utterances with a native label but no canonical one (e.g. EmoDB boredom) are counted;
        utterances without any label are counted under ``"<none>"``.
        """
        return Counter(u.label or "<none>" for u in self.utterances if u.canonical is None)

    def split(self, name: str) -> Manifest:
        """Return the utterances of the official split ``name`` (e.g. ``"train"``)."""
        return self.filter(lambda u: u.split == name)

    def splits(self) -> list[str]:
        """Return the distinct official split names, sorted."""
        return sorted({u.split for u in self.utterances if u.split is not None})

    def folds(self) -> list[int]:
        """Return the distinct fold numbers, sorted."""
        return sorted({u.fold for u in self.utterances if u.fold is not None})

    # ------------------------------------------------------------------ files

    def save(self, path: Path) -> Path:
        """Write JSONL, or CSV when ``path`` ends in ``.csv``."""
        path = Path(path)
        return self.to_csv(path) if path.suffix.lower() == ".csv" else self.to_jsonl(path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read JSONL, or CSV when ``path`` ends in ``.csv``."""
        path = Path(path)
        return cls.from_csv(path) if path.suffix.lower() == ".csv" else cls.from_jsonl(path)

    def to_jsonl(self, path: Path) -> Path:
        """Write one JSON object per line (atomically, through a temporary file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for u in self.utterances:
                fh.write(json.dumps(u.to_dict(), ensure_ascii=False) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_jsonl(cls, path: Path) -> Manifest:
        """Read a manifest written by :meth:`to_jsonl`.

        Raises:
            ManifestError: Naming the file and line of the first bad record.
        """
        path = _existing(path)
        utterances = []
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    if not isinstance(data, dict) or "id" not in data:
                        raise ValueError("missing the 'id' field")
                    utterances.append(Utterance.from_dict(data))
                except (ValueError, TypeError) as exc:
                    raise ManifestError(
                        f"{path}, line {lineno}: not a valid utterance ({exc})."
                    ) from None
        return cls(utterances)

    def to_csv(self, path: Path) -> Path:
        """Write a CSV: the utterance fields, ``context`` as a JSON list, then ``extra`` fields.

        Extra values that are not plain strings are written as JSON so they read back typed.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        extra_keys = sorted({k for u in self.utterances for k in u.extra})
        clash = sorted(set(extra_keys) & set(CSV_COLUMNS))
        if clash:
            raise ManifestError(f"Extra fields {clash} clash with utterance fields; rename them.")
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([*CSV_COLUMNS, *extra_keys])
            for u in self.utterances:
                row = [_cell(getattr(u, c), c) for c in CSV_COLUMNS]
                row += [_extra_cell(u.extra[k]) if k in u.extra else "" for k in extra_keys]
                writer.writerow(row)
        tmp.replace(path)
        return path

    @classmethod
    def from_csv(cls, path: Path) -> Manifest:
        """Read a manifest written by :meth:`to_csv` (or any CSV with an ``id`` column).

        Raises:
            ManifestError: If the file lacks an ``id`` column or a value cannot be read.
        """
        path = _existing(path)
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "id" not in reader.fieldnames:
                raise ManifestError(
                    f"{path}: a manifest CSV needs an 'id' column. "
                    f"Found: {', '.join(reader.fieldnames or []) or 'no header'}."
                )
            utterances = []
            for lineno, row in enumerate(reader, 2):
                try:
                    utterances.append(_from_row(row))
                except (ValueError, TypeError) as exc:
                    raise ManifestError(f"{path}, line {lineno}: {exc}.") from None
        return cls(utterances)


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ManifestError(
            f"{path}: no such manifest. Create one with `emoscope prepare CORPUS DIR -o {path}`."
        )
    return path


def _cell(value: Any, column: str) -> str:
    if column == "context":
        return json.dumps(list(value), ensure_ascii=False) if value else ""
    return "" if value is None else str(value)


def _extra_cell(value: Any) -> str:
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value  # plain text stays plain
    return json.dumps(value, ensure_ascii=False)  # typed (and JSON-looking text) as JSON


def _from_row(row: dict[str, str | None]) -> Utterance:
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None:
            raise ValueError("more values than header columns")
        value = raw if raw is not None else ""
        if key in CSV_COLUMNS:
            if value == "":
                continue
            if key in _FLOAT_FIELDS:
                data[key] = float(value)
            elif key in _INT_FIELDS:
                data[key] = int(value)
            elif key == "context":
                data[key] = tuple(json.loads(value))
            else:
                data[key] = value
        elif value != "":
            try:
                extra[key] = json.loads(value)
            except ValueError:
                extra[key] = value
    if "id" not in data:
        raise ValueError("the 'id' value is empty")
    return Utterance(**data, extra=extra)
