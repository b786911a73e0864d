"""The run store: one SQLite file per evaluation run, predictions keyed by utterance id.

Each batch of predictions is written in one transaction, so a run killed at any moment (even
with SIGKILL) leaves only whole batches behind; starting it again skips the ids already stored.
The utterance id is the primary key: a prediction can never be stored twice. The store also
holds the hash of the run's configuration, so that a restart with other arguments is refused
instead of mixing two runs.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed batch survives a killed process
(it may be lost only on a power cut, and is then simply recomputed).

Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.sqlite"
    >>> with RunStore(path) as store:
    ...     digest = store.bind_config({"model": "m"})
    ...     store.add_batch([Row(id="u1", labels=("a", "b"), probabilities=(0.2, 0.8))])
    ...     store.add_batch([Row(id="u2", error="AudioError: unreadable")])
    ...     sorted(store.done_ids()), store.count(), store.count(errors=True)
    (['u1', 'u2'], 2, 1)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from emoscope.errors import UsageError

SCHEMA_VERSION = "1"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY,
    labels TEXT,
    probabilities TEXT,
    error TEXT,
    seconds REAL,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Row:
    """One stored outcome: the model's probabilities over its labels, or an error message."""

    id: str
    labels: tuple[str, ...] | None = None
    probabilities: tuple[float, ...] | None = None
    error: str | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the utterance was predicted (not an error)."""
        return self.error is None


def config_hash(config: Mapping[str, Any]) -> str:
    """Return the SHA-256 of a config's sorted JSON.

    Examples:
        >>> config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1})
        True
    """
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunStore:
    """Predictions of one run in a SQLite file (open it with ``with RunStore(path) as s:``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_DDL)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- configuration ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """Return a stored meta value, or ``None``."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a meta value (replacing an older one)."""
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def check_config(self, config: Mapping[str, Any]) -> bool:
        """Check ``config`` against the stored one without writing anything.

        Returns:
            Whether the store is already bound to ``config`` (``False``: not bound yet).

        Raises:
            UsageError: If the store holds a run with another config; the message names the
                keys that differ and the fix.
        """
        stored = self.get_meta("config_hash")
        if stored is None:
            return False
        if stored != config_hash(config):
            old = json.loads(self.get_meta("config") or "{}")
            new = json.loads(json.dumps(config, default=str))
            differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise UsageError(
                f"{self.path} holds a run with another configuration (differs in: "
                f"{', '.join(differ) or 'unknown'}). Resuming needs the same arguments; give "
                "another -o RUN_DIR for a new run, or --overwrite to start this one again."
            )
        return True

    def bind_config(self, config: Mapping[str, Any]) -> str:
        """Tie the store to ``config`` (first call) or check that it is the same config.

        Returns:
            The config hash.

        Raises:
            UsageError: If the store holds a run with another config (see
                :meth:`check_config`).
        """
        digest = config_hash(config)
        if not self.check_config(config):
            with self._transaction():
                self._db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("schema_version", SCHEMA_VERSION),
                        ("config_hash", digest),
                        ("config", json.dumps(config, sort_keys=True, default=str)),
                        ("created", str(time.time())),
                    ],
                )
        return digest

    # -- predictions -----------------------------------------------------------------------------

    def add_batch(self, rows: Sequence[Row]) -> None:
        """Store a batch of outcomes in one transaction.

        Raises:
            sqlite3.IntegrityError: If an id is already stored (nothing of the batch is kept).
        """
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO predictions (id, labels, probabilities, error, seconds, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        None if r.labels is None else json.dumps(list(r.labels)),
                        None
                        if r.probabilities is None
                        else json.dumps([float(p) for p in r.probabilities]),
                        r.error,
                        r.seconds,
                        now,
                    )
                    for r in rows
                ],
            )

    def done_ids(self) -> set[str]:
        """Return the ids stored so far (predictions and errors)."""
        return {r[0] for r in self._db.execute("SELECT id FROM predictions")}

    def count(self, *, errors: bool = False) -> int:
        """Return the number of stored rows (only error rows with ``errors=True``)."""
        sql = "SELECT COUNT(*) FROM predictions" + (" WHERE error IS NOT NULL" if errors else "")
        return int(self._db.execute(sql).fetchone()[0])

    def rows(self) -> Iterator[Row]:
        """Yield the stored rows in insertion order."""
        cursor = self._db.execute(
            "SELECT id, labels, probabilities, error, seconds FROM predictions ORDER BY rowid"
        )
        for id_, labels, probs, error, seconds in cursor:
            yield Row(
                id=id_,
                labels=None if labels is None else tuple(json.loads(labels)),
                probabilities=None if probs is None else tuple(json.loads(probs)),
                error=error,
                seconds=seconds,
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def open_rows(path: Path) -> list[Row]:
    """Return every row of the store at ``path`` (read-only use)."""
    with RunStore(path) as store:
        return list(store.rows())


def ids_of(rows: Iterable[Row]) -> list[str]:
    """Return the ids of ``rows`` in order."""
    return [r.id for r in rows]
