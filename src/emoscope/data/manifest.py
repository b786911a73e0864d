"""Manifest: an ordered list of :class:`~emoscope.types.Utterance` with JSONL read/write.

Examples:
    >>> from emoscope.types import Utterance
    >>> m = Manifest([Utterance(id="a", speaker="s1"), Utterance(id="b", speaker="s2")])
    >>> len(m), m.speakers()
    (2, ['s1', 's2'])
    >>> m.filter(lambda u: u.speaker == "s2").ids()
    ['b']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from emoscope.errors import ManifestError
from emoscope.types import Utterance


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

    def ids(self) -> list[str]:
        """Return the utterance ids in order."""
        return [u.id for u in self.utterances]

    def speakers(self) -> list[str]:
        """Return the distinct speakers, sorted (utterances without a speaker are left out)."""
        return sorted({u.speaker for u in self.utterances if u.speaker is not None})

    def filter(self, predicate: Callable[[Utterance], bool]) -> Manifest:
        """Return a manifest of the utterances for which ``predicate`` is true."""
        return Manifest(u for u in self.utterances if predicate(u))

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
        path = Path(path)
        if not path.is_file():
            raise ManifestError(
                f"{path}: no such manifest. "
                f"Create one with `emoscope prepare CORPUS DIR -o {path}`."
            )
        utterances = []
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    if "id" not in data:
                        raise ValueError("missing the 'id' field")
                    utterances.append(Utterance.from_dict(data))
                except (ValueError, TypeError) as exc:
                    raise ManifestError(
                        f"{path}, line {lineno}: not a valid utterance ({exc})."
                    ) from None
        return cls(utterances)
