from __future__ import annotations

import sqlite3

import pytest

from emoscope.errors import UsageError
from emoscope.evaluation.store import Row, RunStore


def test_rows_round_trip_and_persist(tmp_path):
    path = tmp_path / "run.sqlite"
    with RunStore(path) as store:
        store.bind_config({"model": "m", "manifest_sha256": "abc"})
        store.add_batch(
            [
                Row("u1", ("a", "b"), (0.25, 0.75), seconds=0.1),
                Row("u2", error="AudioError: x.wav: not audio"),
            ]
        )
    with RunStore(path) as store:  # reopened: everything is still there
        rows = list(store.rows())
        assert [r.id for r in rows] == ["u1", "u2"]
        assert rows[0].probabilities == (0.25, 0.75) and rows[0].labels == ("a", "b")
        assert rows[0].ok and not rows[1].ok and rows[1].error.startswith("AudioError")
        assert store.count() == 2 and store.count(errors=True) == 1


def test_a_batch_with_a_stored_id_is_refused_whole(tmp_path):
    with RunStore(tmp_path / "run.sqlite") as store:
        store.add_batch([Row("u1", ("a",), (1.0,))])
        with pytest.raises(sqlite3.IntegrityError):
            store.add_batch([Row("u2", ("a",), (1.0,)), Row("u1", ("a",), (1.0,))])
        assert store.done_ids() == {"u1"}  # u2 was rolled back with its batch


def test_another_config_is_refused_with_the_differing_keys(tmp_path):
    path = tmp_path / "run.sqlite"
    with RunStore(path) as store:
        digest = store.bind_config({"model": "a", "folds": None})
        assert store.bind_config({"folds": None, "model": "a"}) == digest  # same config
    with RunStore(path) as store, pytest.raises(UsageError, match=r"differs in: model\)"):
        store.bind_config({"model": "b", "folds": None})
